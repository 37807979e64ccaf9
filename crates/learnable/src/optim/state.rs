//! Per-parameter optimizer buffers (momentum, first and second moments) and their files.
//!
//! [`SlotState`] keeps, for each trainable parameter, one buffer per *slot* (`momentum_buffer`
//! for SGD, `exp_avg` and `exp_avg_sq` for Adam, PyTorch's state names), created at the
//! parameter's first update. It is saved as a safetensors file whose tensors are named
//! `<slot>.<parameter>` (`exp_avg.layers.0.weight`) and whose metadata holds
//!
//! | key | value |
//! |---|---|
//! | `format` | `learnable-optimizer-state` |
//! | `optimizer` | `sgd`, `adam` or `adamw` |
//! | `step` | steps taken, decimal |
//! | `learning_rate` | the current learning rate (shortest round-trip decimal) |
//! | `config` | the optimizer's configuration as JSON (for reading; not restored) |
//!
//! The buffers are stored as the exact f32 values, so a run resumed from a saved state continues
//! bit for bit as the uninterrupted run would have.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, Result, fmt_shape};
use crate::param::{ParamId, ParamStore, Parameter};
use crate::tensor::Tensor;

/// The `format` metadata value of an optimizer state file.
pub const STATE_FORMAT: &str = "learnable-optimizer-state";

/// The buffers of one parameter.
#[derive(Clone, Debug)]
struct Entry {
    /// The parameter's name when the buffers were created (guards against a different store).
    name: String,
    /// One buffer per slot, each of the parameter's shape.
    bufs: Vec<Tensor>,
}

/// Buffers of every trainable parameter, indexed by [`ParamId`].
#[derive(Clone, Debug)]
pub struct SlotState {
    kind: &'static str,
    slots: &'static [&'static str],
    entries: Vec<Option<Entry>>,
}

/// What a state file holds besides the buffers.
#[derive(Clone, Debug, PartialEq)]
pub struct StateHeader {
    /// Steps taken.
    pub step: u64,
    /// Learning rate at the time of saving.
    pub learning_rate: f64,
}

impl SlotState {
    /// No buffers yet. `kind` names the optimizer in files (`adamw`), `slots` the buffers kept
    /// per parameter (may be empty, e.g. SGD without momentum).
    pub fn new(kind: &'static str, slots: &'static [&'static str]) -> Self {
        SlotState {
            kind,
            slots,
            entries: Vec::new(),
        }
    }

    /// Checks that every existing buffer still matches its parameter in `store` (same name and
    /// shape), so that an optimizer is never applied to a different model by mistake.
    pub fn check_store(&self, store: &ParamStore) -> Result<()> {
        for (i, entry) in self.entries.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let p = (i < store.len()).then(|| store.get(ParamId(i)));
            match p {
                Some(p) if p.name == entry.name => {
                    if p.value.shape() != entry.bufs[0].shape() {
                        return Err(Error::Other(format!(
                            "optimizer state for {} has shape {}, but the parameter now has shape {}",
                            entry.name,
                            fmt_shape(entry.bufs[0].shape()),
                            fmt_shape(p.value.shape())
                        )));
                    }
                }
                _ => {
                    return Err(Error::Other(format!(
                        "optimizer state was built for parameter {} at index {i}, which this \
                         store does not hold there; use one optimizer per model",
                        entry.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates zero buffers for parameter `id` if it has none; returns true if it created them
    /// (the parameter's first update).
    pub fn ensure(&mut self, id: ParamId, p: &Parameter) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        if self.entries.len() <= id.0 {
            self.entries.resize(id.0 + 1, None);
        }
        if self.entries[id.0].is_some() {
            return false;
        }
        let bufs = self
            .slots
            .iter()
            .map(|_| Tensor::zeros(p.value.shape()))
            .collect();
        self.entries[id.0] = Some(Entry {
            name: p.name.clone(),
            bufs,
        });
        true
    }

    /// The buffers of parameter `id`, one per slot (empty if [`SlotState::ensure`] was not called
    /// or there are no slots).
    pub fn bufs_mut(&mut self, id: ParamId) -> &mut [Tensor] {
        match self.entries.get_mut(id.0) {
            Some(Some(e)) => &mut e.bufs,
            _ => &mut [],
        }
    }

    /// The buffer of `slot` for parameter `name`, if present (for inspection and tests).
    pub fn buffer(&self, slot: &str, name: &str) -> Option<&Tensor> {
        let k = self.slots.iter().position(|s| *s == slot)?;
        self.entries
            .iter()
            .flatten()
            .find(|e| e.name == name)
            .map(|e| &e.bufs[k])
    }

    /// Writes the buffers and `header` to `path` atomically. `config_json` is stored for readers.
    pub fn save(&self, path: &Path, header: &StateHeader, config_json: String) -> Result<()> {
        let mut named: Vec<(String, &Tensor)> = Vec::new();
        for e in self.entries.iter().flatten() {
            for (slot, buf) in self.slots.iter().zip(&e.bufs) {
                named.push((format!("{slot}.{}", e.name), buf));
            }
        }
        let metadata = HashMap::from([
            ("format".to_string(), STATE_FORMAT.to_string()),
            ("optimizer".to_string(), self.kind.to_string()),
            ("step".to_string(), header.step.to_string()),
            (
                "learning_rate".to_string(),
                header.learning_rate.to_string(),
            ),
            ("config".to_string(), config_json),
        ]);
        let bytes = crate::io::safetensors_bytes(
            named.iter().map(|(n, t)| (n.as_str(), *t)),
            Some(metadata),
        )?;
        crate::io::write_atomic(path, &bytes)
    }

    /// Reads a file written by [`SlotState::save`] for the parameters of `store`, replacing the
    /// buffers only if the whole file is valid. Errors: [`Error::Io`] if unreadable,
    /// [`Error::Format`] naming the file and the mismatch otherwise.
    pub fn load(&mut self, path: &Path, store: &ParamStore) -> Result<StateHeader> {
        let origin = path.display().to_string();
        let fmt = |reason: String| Error::Format {
            path: origin.clone(),
            reason,
        };
        let crate::io::SafetensorsFile {
            tensors,
            metadata: meta,
        } = crate::io::read_safetensors(path)?;
        let get = |key: &str| meta.get(key).map(String::as_str);
        if get("format") != Some(STATE_FORMAT) {
            return Err(fmt(format!(
                "not an optimizer state file (metadata format is not {STATE_FORMAT})"
            )));
        }
        if get("optimizer") != Some(self.kind) {
            return Err(fmt(format!(
                "holds {} state, but this optimizer is {}",
                get("optimizer").unwrap_or("unknown"),
                self.kind
            )));
        }
        let step: u64 = get("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| fmt("metadata step is missing or not a whole number".into()))?;
        let learning_rate: f64 = get("learning_rate")
            .and_then(|s| s.parse().ok())
            .filter(|lr: &f64| lr.is_finite() && *lr >= 0.0)
            .ok_or_else(|| {
                fmt("metadata learning_rate is missing or not a finite number >= 0".into())
            })?;
        let entries = self.entries_from(&tensors, step, store).map_err(fmt)?;
        self.entries = entries;
        Ok(StateHeader {
            step,
            learning_rate,
        })
    }

    /// Matches named buffers to the parameters of `store`; the error is the reason text.
    fn entries_from(
        &self,
        tensors: &BTreeMap<String, Tensor>,
        step: u64,
        store: &ParamStore,
    ) -> std::result::Result<Vec<Option<Entry>>, String> {
        let mut found: Vec<Vec<Option<Tensor>>> = vec![vec![None; self.slots.len()]; store.len()];
        for (key, t) in tensors {
            let (slot, name) = key
                .split_once('.')
                .ok_or_else(|| format!("unexpected tensor {key}"))?;
            let k = self.slots.iter().position(|s| *s == slot).ok_or_else(|| {
                format!(
                    "unexpected tensor {key}: {} keeps only {:?}",
                    self.kind, self.slots
                )
            })?;
            let id = store
                .id(name)
                .ok_or_else(|| format!("tensor {key}: the model has no parameter {name}"))?;
            let p = store.get(id);
            if !p.trainable {
                return Err(format!("tensor {key}: parameter {name} is not trainable"));
            }
            if t.shape() != p.value.shape() {
                return Err(format!(
                    "tensor {key} has shape {}, but parameter {name} has shape {}",
                    fmt_shape(t.shape()),
                    fmt_shape(p.value.shape())
                ));
            }
            if !t.all_finite() {
                return Err(format!("tensor {key} holds NaN or infinity"));
            }
            found[id.0][k] = Some(t.clone());
        }
        let mut entries = Vec::with_capacity(store.len());
        for (i, bufs) in found.into_iter().enumerate() {
            let p = store.get(ParamId(i));
            let have = bufs.iter().filter(|b| b.is_some()).count();
            let want = if step > 0 && p.trainable {
                self.slots.len()
            } else {
                0
            };
            if have != want {
                let missing: Vec<String> = self
                    .slots
                    .iter()
                    .zip(&bufs)
                    .filter(|(_, b)| b.is_none() == (want > 0))
                    .map(|(s, _)| format!("{s}.{}", p.name))
                    .collect();
                return Err(if want > 0 {
                    format!("missing tensor(s) {} at step {step}", missing.join(", "))
                } else {
                    format!("unexpected tensor(s) {} at step {step}", missing.join(", "))
                });
            }
            entries.push(if have > 0 {
                Some(Entry {
                    name: p.name.clone(),
                    bufs: bufs.into_iter().flatten().collect(),
                })
            } else {
                None
            });
        }
        Ok(entries)
    }
}
