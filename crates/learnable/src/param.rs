//! Named parameters with gradient buffers, as PyTorch's `named_parameters()` would list them.
//!
//! A [`ParamStore`] owns every parameter of a model: its dotted PyTorch-style name
//! (`layers.0.weight`), its value and its gradient buffer. Models hold [`ParamId`]s; the tape
//! borrows values during the forward pass and returns [`Gradients`] that
//! [`ParamStore::accumulate`] adds into the buffers, so several backward passes accumulate
//! exactly as `loss.backward()` does in PyTorch.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, Result, fmt_shape};
use crate::tensor::Tensor;

/// Index of a parameter in its [`ParamStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub usize);

/// One learnable tensor: name, value, gradient buffer (same shape), trainable flag.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Dotted name, e.g. `layers.0.weight`.
    pub name: String,
    /// Current value.
    pub value: Tensor,
    /// Accumulated gradient d loss / d value, same shape as `value`.
    pub grad: Tensor,
    /// Whether optimizers update it.
    pub trainable: bool,
    /// Whether the optimizer's weight decay applies to it (default true). GPT-2 recipes
    /// (nanoGPT's `configure_optimizers`) decay only matrices (weights of linear layers and
    /// embeddings), not biases or LayerNorm gains: see [`ParamStore::decay_matrices_only`].
    pub weight_decay: bool,
}

/// Gradients of one backward pass, one entry per parameter that the loss depends on.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    /// (parameter, d loss / d parameter) pairs.
    pub grads: Vec<(ParamId, Tensor)>,
    /// Gradients of inputs recorded with `Tape::input_with_grad`.
    pub inputs: Vec<(crate::tape::Var, Tensor)>,
}

impl Gradients {
    /// The gradient of parameter `id`, if the loss depends on it.
    pub fn param(&self, id: ParamId) -> Option<&Tensor> {
        self.grads.iter().find(|(p, _)| *p == id).map(|(_, g)| g)
    }

    /// The gradient of an input made with `Tape::input_with_grad`.
    pub fn input(&self, v: crate::tape::Var) -> Option<&Tensor> {
        self.inputs.iter().find(|(p, _)| *p == v).map(|(_, g)| g)
    }
}

/// All parameters of a model, in registration order.
#[derive(Clone, Debug, Default)]
pub struct ParamStore {
    params: Vec<Parameter>,
    index: HashMap<String, usize>,
    /// `grad_zero[i]`: parameter i's gradient is known to be all zeros (set by `zero_grad`,
    /// cleared by anything that may write it), so `accumulate_owned` can move a buffer in.
    grad_zero: Vec<bool>,
}

impl ParamStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a trainable parameter; errors if the name is taken.
    pub fn add(&mut self, name: impl Into<String>, value: Tensor) -> Result<ParamId> {
        let name = name.into();
        if self.index.contains_key(&name) {
            return Err(Error::Other(format!("parameter {name} registered twice")));
        }
        let grad = Tensor::zeros(value.shape());
        self.index.insert(name.clone(), self.params.len());
        self.params.push(Parameter {
            name,
            value,
            grad,
            trainable: true,
            weight_decay: true,
        });
        self.grad_zero.push(true);
        Ok(ParamId(self.params.len() - 1))
    }

    /// Applies the optimizer's weight decay only to parameters of two or more dimensions
    /// (matrices: linear weights, embeddings) and not to biases or LayerNorm parameters, as
    /// nanoGPT's `configure_optimizers` builds its two AdamW parameter groups (PyTorch: one
    /// group with `weight_decay`, one with 0).
    pub fn decay_matrices_only(&mut self) {
        for p in &mut self.params {
            p.weight_decay = p.value.shape().len() >= 2;
        }
    }

    /// The parameter with id `id`.
    pub fn get(&self, id: ParamId) -> &Parameter {
        &self.params[id.0]
    }

    /// The parameter with id `id`, mutable.
    pub fn get_mut(&mut self, id: ParamId) -> &mut Parameter {
        self.grad_zero[id.0] = false;
        &mut self.params[id.0]
    }

    /// The value of parameter `id`.
    pub fn value(&self, id: ParamId) -> &Tensor {
        &self.params[id.0].value
    }

    /// Looks a parameter up by name.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.index.get(name).map(|&i| ParamId(i))
    }

    /// Number of parameter tensors.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True if there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Iterates `(id, parameter)` in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Parameter)> {
        self.params.iter().enumerate().map(|(i, p)| (ParamId(i), p))
    }

    /// Iterates parameters mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Parameter> {
        self.grad_zero.fill(false);
        self.params.iter_mut()
    }

    /// Total number of scalar parameters (each tensor counted once).
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|p| p.value.numel()).sum()
    }

    /// Number of scalar parameters that optimizers update.
    pub fn num_trainable(&self) -> usize {
        self.params
            .iter()
            .filter(|p| p.trainable)
            .map(|p| p.value.numel())
            .sum()
    }

    /// Sets every gradient buffer to zero (PyTorch's `zero_grad(set_to_none=False)`).
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.grad.data_mut().fill(0.0);
        }
        self.grad_zero.fill(true);
    }

    /// Adds one backward pass's gradients into the buffers.
    pub fn accumulate(&mut self, grads: &Gradients) {
        for (id, g) in &grads.grads {
            let buf = self.params[id.0].grad.data_mut();
            for (b, x) in buf.iter_mut().zip(g.data()) {
                *b += *x;
            }
            self.grad_zero[id.0] = false;
        }
    }

    /// As [`ParamStore::accumulate`], taking ownership: a gradient whose buffer is still all
    /// zeros since [`ParamStore::zero_grad`] is moved in instead of added (same result, one
    /// pass over the parameters less on the hot path of a training step).
    pub fn accumulate_owned(&mut self, grads: Gradients) {
        for (id, g) in grads.grads {
            let i = id.0;
            if self.grad_zero[i] && g.shape() == self.params[i].grad.shape() {
                self.params[i].grad = g;
            } else {
                for (b, x) in self.params[i].grad.data_mut().iter_mut().zip(g.data()) {
                    *b += *x;
                }
            }
            self.grad_zero[i] = false;
        }
    }

    /// Multiplies every gradient by `factor` (used for gradient accumulation and clipping).
    pub fn scale_grads(&mut self, factor: f32) {
        for p in &mut self.params {
            for g in p.grad.data_mut() {
                *g *= factor;
            }
        }
    }

    /// Checks every gradient is finite; the error names the first bad parameter and `step`.
    pub fn check_grads_finite(&self, step: u64) -> Result<()> {
        for p in &self.params {
            if !p.grad.all_finite() {
                return Err(Error::NonFinite {
                    what: "gradient",
                    step,
                    name: p.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Copies every value from `other`, which must hold the same names and shapes in the same order.
    pub fn copy_values_from(&mut self, other: &ParamStore) -> Result<()> {
        if other.params.len() != self.params.len() {
            return Err(Error::Other(
                "copy_values_from: stores differ in size".into(),
            ));
        }
        for (dst, src) in self.params.iter_mut().zip(&other.params) {
            if dst.name != src.name || dst.value.shape() != src.value.shape() {
                return Err(Error::Other(format!(
                    "copy_values_from: {} does not match {}",
                    dst.name, src.name
                )));
            }
            dst.value.data_mut().copy_from_slice(src.value.data());
        }
        Ok(())
    }

    /// Named values, for saving.
    pub fn named_values(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.params.iter().map(|p| (p.name.as_str(), &p.value))
    }

    /// Saves every value to a safetensors file (atomically), names as PyTorch's state_dict.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::save_safetensors(path, self.named_values())
    }

    /// Replaces values with those in `tensors`: every parameter must be present with its shape,
    /// and no extra tensor may be present. `origin` names the source in errors.
    pub fn load_values(&mut self, tensors: &BTreeMap<String, Tensor>, origin: &str) -> Result<()> {
        for name in tensors.keys() {
            if !self.index.contains_key(name) {
                return Err(Error::Format {
                    path: origin.to_string(),
                    reason: format!("unexpected tensor {name}"),
                });
            }
        }
        for p in &mut self.params {
            let t = tensors.get(&p.name).ok_or_else(|| Error::Format {
                path: origin.to_string(),
                reason: format!("missing tensor {}", p.name),
            })?;
            if t.shape() != p.value.shape() {
                return Err(Error::Format {
                    path: origin.to_string(),
                    reason: format!(
                        "tensor {} has shape {}, expected {}",
                        p.name,
                        fmt_shape(t.shape()),
                        fmt_shape(p.value.shape())
                    ),
                });
            }
            if !t.all_finite() {
                return Err(Error::Format {
                    path: origin.to_string(),
                    reason: format!("tensor {} holds NaN or infinity", p.name),
                });
            }
            p.value = t.clone();
        }
        Ok(())
    }

    /// Loads values from a safetensors file (see [`ParamStore::load_values`]).
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tensors = crate::io::load_safetensors(path)?;
        self.load_values(&tensors, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grads(id: ParamId, v: &[f32]) -> Gradients {
        Gradients {
            grads: vec![(id, Tensor::new(v.to_vec(), &[v.len()]).unwrap())],
            inputs: vec![],
        }
    }

    #[test]
    fn accumulate_owned_adds_exactly_as_accumulate_does() {
        // Two backward passes of [1, 2] and [0.5, -4] sum to [1.5, -2] (by hand), whether the
        // first buffer is moved in or added, and a written gradient is never overwritten.
        let mut a = ParamStore::new();
        let id = a.add("w", Tensor::zeros(&[2])).unwrap();
        let mut b = a.clone();
        a.zero_grad();
        a.accumulate(&grads(id, &[1.0, 2.0]));
        a.accumulate(&grads(id, &[0.5, -4.0]));
        b.zero_grad();
        b.accumulate_owned(grads(id, &[1.0, 2.0]));
        b.accumulate_owned(grads(id, &[0.5, -4.0]));
        assert_eq!(a.get(id).grad.data(), &[1.5, -2.0]);
        assert_eq!(b.get(id).grad.data(), &[1.5, -2.0]);
        b.zero_grad();
        b.get_mut(id).grad.data_mut()[0] = 7.0;
        b.accumulate_owned(grads(id, &[1.0, 1.0]));
        assert_eq!(b.get(id).grad.data(), &[8.0, 1.0]);
    }
}
