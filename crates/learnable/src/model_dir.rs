//! A trained model on disk: the model directory.
//!
//! | file | what |
//! |---|---|
//! | `config.json` | [`ModelConfig`]: format and version, model kind, architecture, task, class labels, target, feature names, the preprocessing fitted on the training split, the data source and split options, the settings the fit used, the seed (once), final metrics, and the SHA-256 of `model.safetensors` |
//! | `model.safetensors` | the parameters under PyTorch's names and layouts (`layers.0.weight` is `[out, in]` as in `nn.Linear`) |
//! | `history.csv` | one row per epoch of the epoch loop (absent for closed-form and L-BFGS fits) |
//! | `checkpoint/` | the last epoch's training state for resuming ([`crate::checkpoint`]) |
//!
//! **One unit.** Every file is written atomically (temporary file, fsync, rename) and
//! `config.json` is written last, holding the SHA-256 of the `model.safetensors` it belongs to;
//! loading checks it, so a save that a kill interrupted (new weights, old config, or the other
//! way round) is refused with a clear message instead of serving a mixed model. Leftover
//! temporary files of an interrupted write are removed by the next save.
//!
//! **Versions.** Version 2 (this one) replaced version 1's `network` and free-form `training`
//! with `architecture` (an enum that will gain a GPT variant) and a typed [`FitRecord`], and
//! stores the seed once. Version 1 directories still load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{Options, Preprocessing, Source, Task};
use crate::error::{Error, Result};
use crate::fit::ModelKind;
use crate::models::mlp::MlpConfig;

/// `config.json`'s `format` value.
pub const FORMAT: &str = "learnable-model";
/// The current `config.json` version.
pub const FORMAT_VERSION: u32 = 2;
/// The largest config.json read (64 MiB; a model's config is a few KB to a few MB with a large
/// one-hot vocabulary).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// The network that computes a model's outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// A multilayer perceptron (a closed-form or L-BFGS linear model is one with no hidden
    /// layer).
    Mlp(MlpConfig),
}

impl Architecture {
    /// The MLP configuration.
    pub fn mlp(&self) -> &MlpConfig {
        match self {
            Architecture::Mlp(c) => c,
        }
    }

    /// Number of outputs (logits for classifiers).
    pub fn output_dim(&self) -> usize {
        self.mlp().output_dim
    }
}

/// How the fit ran: the solver, the settings it actually used, and what ended it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FitRecord {
    /// `gradient descent`, `least squares (SVD, rank 4 of 4)`, `lbfgs (12 iterations)`.
    pub solver: String,
    /// The settings of [`crate::fit::FitConfig`] this fit used, by name (a closed-form linear
    /// fit has none; ridge only `alpha`; L-BFGS only `C`; the epoch loop its optimizer, schedule,
    /// epochs, batch size, ...). The architecture is in [`ModelConfig::architecture`] and the
    /// seed in [`ModelConfig::seed`].
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Why the epoch loop ended (`completed 40 epochs`, `early stopping after epoch 12: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// The best validation loss (original units for a regression) and its 1-based epoch; its
    /// weights are the stored ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_val_loss: Option<(f64, usize)>,
    /// A regression trained by the epoch loop saw `(y - mean) / std`; the stored last layer
    /// already maps back to original units, so this is for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scaling: Option<TargetScaling>,
    /// The per-class loss weights the fit used (`class_weight` balanced: computed on the
    /// training split), in class order; the loss reported for this model uses them too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_weight: Option<Vec<f32>>,
}

/// Mean and std of a regression target's standardisation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetScaling {
    /// Mean of the training targets.
    pub mean: f64,
    /// Population std of the training targets (1 if it was 0).
    pub std: f64,
}

/// What `config.json` holds (version 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The model kind that was fitted.
    pub kind: ModelKind,
    /// The network.
    pub architecture: Architecture,
    /// Classification or regression.
    pub task: Task,
    /// Class labels in logit order (classification only).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Name of the target column.
    pub target: String,
    /// Names of the model's input features, in order (after one-hot encoding).
    pub feature_names: Vec<String>,
    /// Preprocessing fitted on the training split (encoding, imputation, standardisation).
    pub preprocessing: Preprocessing,
    /// Where the training data came from.
    pub source: Source,
    /// Split and preprocessing options (to rebuild the same test split). Its `seed` is stored
    /// once, as [`ModelConfig::seed`], when the two are equal.
    pub options: Options,
    /// The seed of the initialisation, shuffling and dropout streams (and of the split).
    pub seed: u64,
    /// How the fit ran.
    pub training: FitRecord,
    /// Metrics measured at the end of training (`test_accuracy`, `test_loss`, ...).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// SHA-256 (lowercase hex) of the `model.safetensors` written with this config; `None` in
    /// version 1 directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

impl ModelConfig {
    /// The raw input columns a CSV given to `predict` must contain (header names before one-hot
    /// encoding and scaling, the target excluded), in the stored order, with the known
    /// categories of each categorical column.
    pub fn input_columns(&self) -> Vec<crate::data::encode::InputColumn> {
        self.preprocessing.input_columns()
    }

    /// True for classifiers.
    pub fn is_classifier(&self) -> bool {
        self.task == Task::Classification
    }

    /// The config as JSON text, with the options' seed left out when it equals [`Self::seed`].
    pub fn to_json(&self) -> Result<String> {
        let mut v = serde_json::to_value(self).map_err(|e| Error::Other(e.to_string()))?;
        if self.options.seed == self.seed {
            if let Some(o) = v.get_mut("options").and_then(|o| o.as_object_mut()) {
                o.remove("seed");
            }
        }
        serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))
    }

    /// Parses config.json text of version 2 or 1; `path` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the field (`architecture.mlp.hidden[0]: invalid
    /// value: integer -5, expected usize`), an unknown format or version.
    pub fn from_json(text: &str, path: &Path) -> Result<ModelConfig> {
        let bad = |reason: String| Error::Format {
            path: path.display().to_string(),
            reason,
        };
        let mut v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let format = v.get("format").and_then(|f| f.as_str()).unwrap_or("");
        let version = v.get("version").and_then(|f| f.as_u64());
        if v.get("model_type").is_some() {
            return Err(Error::invalid(
                "model directory",
                path.parent().unwrap_or(path).display(),
                "a tabular model (linear, ridge, logistic, softmax or mlp): this directory holds a \
                 language model (gpt); use `learnable generate --model DIR --prompt TEXT`",
            ));
        }
        if format != FORMAT {
            return Err(bad(format!(
                "not a learnable model config (format {format:?}, expected {FORMAT:?})"
            )));
        }
        match version {
            Some(2) => {
                // Fill the options' seed from the top-level one when it was left out.
                let seed = v.get("seed").cloned();
                if let (Some(seed), Some(o)) =
                    (seed, v.get_mut("options").and_then(|o| o.as_object_mut()))
                {
                    o.entry("seed").or_insert(seed);
                }
                parse_value::<ModelConfig>(v, path)
            }
            Some(1) => Ok(parse_value::<ModelConfigV1>(v, path)?.upgrade(path)?),
            other => Err(bad(format!(
                "unsupported version {} (this learnable reads versions 1 and {FORMAT_VERSION})",
                other.map_or("(none)".to_string(), |v| v.to_string())
            ))),
        }
    }

    /// Checks the config's internal consistency: the network, and one class per output for a
    /// classifier or one output for a regressor.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |reason: String| Error::Format {
            path: path.display().to_string(),
            reason,
        };
        self.architecture
            .mlp()
            .validate()
            .map_err(|e| e.in_file_field(path, "architecture.mlp"))?;
        let out = self.architecture.output_dim();
        match self.task {
            Task::Classification if self.classes.len() != out => Err(bad(format!(
                "{} classes for {out} network outputs (a classifier needs one class per output)",
                self.classes.len()
            ))),
            Task::Regression if out != 1 => Err(bad(format!(
                "a regressor has 1 output, the network has {out}"
            ))),
            _ => Ok(()),
        }
    }
}

/// Deserialises `v`, naming the field path in errors (`training.settings`, `options.seed`).
fn parse_value<T: serde::de::DeserializeOwned>(v: serde_json::Value, path: &Path) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| Error::Format {
        path: path.display().to_string(),
        reason: format!("field {}: {}", e.path(), e.inner()),
    })
}

/// config.json version 1 (learnable before the library lifecycle), read for compatibility.
#[derive(Deserialize)]
struct ModelConfigV1 {
    kind: String,
    solver: String,
    network: MlpConfig,
    task: Task,
    #[serde(default)]
    classes: Vec<String>,
    target: String,
    feature_names: Vec<String>,
    preprocessing: Preprocessing,
    source: Source,
    options: Options,
    #[serde(default)]
    training: serde_json::Value,
    #[serde(default)]
    metrics: serde_json::Value,
}

impl ModelConfigV1 {
    fn upgrade(self, path: &Path) -> Result<ModelConfig> {
        let kind: ModelKind = self.kind.parse().map_err(|_| Error::Format {
            path: path.display().to_string(),
            reason: format!("field kind: unknown model kind {:?}", self.kind),
        })?;
        let t = &self.training;
        let seed = t
            .get("seed")
            .and_then(|s| s.as_u64())
            .unwrap_or(self.options.seed);
        let mut settings = BTreeMap::new();
        if let Some(tc) = t.get("train_config").and_then(|v| v.as_object()) {
            for (k, v) in tc {
                if k != "seed" {
                    settings.insert(k.clone(), v.clone());
                }
            }
        }
        let metrics = self
            .metrics
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ModelConfig {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            kind,
            architecture: Architecture::Mlp(self.network),
            task: self.task,
            classes: self.classes,
            target: self.target,
            feature_names: self.feature_names,
            preprocessing: self.preprocessing,
            source: self.source,
            options: self.options,
            seed,
            training: FitRecord {
                solver: self.solver,
                settings,
                stop_reason: t
                    .get("stop_reason")
                    .and_then(|s| s.as_str())
                    .map(str::to_string),
                best_val_loss: None,
                target_scaling: t
                    .get("target_scaling")
                    .and_then(|s| serde_json::from_value(s.clone()).ok()),
                class_weight: None,
            },
            metrics,
            weights_sha256: None,
        })
    }
}

/// The paths of a model directory's files.
#[derive(Clone, Debug)]
pub struct ModelDir {
    /// The directory.
    pub dir: PathBuf,
}

impl ModelDir {
    /// The model directory `dir` (nothing is read).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelDir { dir: dir.into() }
    }
    /// `config.json`
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }
    /// `model.safetensors`
    pub fn weights(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }
    /// `history.csv`
    pub fn history(&self) -> PathBuf {
        self.dir.join("history.csv")
    }
    /// `checkpoint/`
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }

    /// True if the directory holds a finished model (its config.json) or a training checkpoint:
    /// what a new run must not overwrite without being asked to.
    pub fn holds_a_model(&self) -> bool {
        self.config().exists() || crate::checkpoint::committed_epoch(&self.checkpoint()).is_some()
    }

    /// Removes temporary files that an interrupted atomic write left (`.NAME.tmpPID`).
    pub fn clean_temporary_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let is_tmp = name.starts_with('.')
                && name.rsplit_once(".tmp").is_some_and(|(_, pid)| {
                    !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
                });
            if is_tmp && e.path().is_file() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Reads and checks `config.json`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `dir` is a file or does not exist;
    /// [`Error::OnlyCheckpoint`] when it holds only a training checkpoint; [`Error::Format`]
    /// for a config.json that is too large, not JSON, of an unknown version, or inconsistent.
    pub fn read_config(&self) -> Result<ModelConfig> {
        let dir = &self.dir;
        if dir.is_file() {
            return Err(Error::invalid(
                "model directory",
                dir.display(),
                "the model directory (the folder holding config.json), not a file in it",
            ));
        }
        if !dir.is_dir() {
            return Err(Error::invalid(
                "model directory",
                dir.display(),
                "an existing directory written by training (it does not exist)",
            ));
        }
        let path = self.config();
        if !path.exists() {
            if let Some(epoch) = crate::checkpoint::committed_epoch(&self.checkpoint()) {
                return Err(Error::OnlyCheckpoint {
                    dir: dir.display().to_string(),
                    epoch,
                });
            }
            return Err(Error::Format {
                path: path.display().to_string(),
                reason: "missing: the directory is not a model directory written by training"
                    .into(),
            });
        }
        let text = crate::io::read_to_string_capped(&path, MAX_CONFIG_BYTES, "model config")?;
        let config = ModelConfig::from_json(&text, &path)?;
        config.validate(&path)?;
        Ok(config)
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
