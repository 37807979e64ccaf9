//! A trained model on disk: a directory with `config.json` (architecture, preprocessing, class
//! labels, training settings, seed), `model.safetensors` (parameters under PyTorch names and
//! layouts) and `history.csv` (one row per epoch, when trained by the epoch loop).
//! Every file is written atomically (temporary file, then rename).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use learnable::models::mlp::{Mlp, MlpConfig};
use learnable::{ParamStore, Tensor};
use serde::{Deserialize, Serialize};

/// Current config.json format version.
pub const FORMAT_VERSION: u32 = 1;

/// What config.json holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Always "learnable-model".
    pub format: String,
    /// Format version.
    pub version: u32,
    /// linear, ridge, logistic, softmax or mlp.
    pub kind: String,
    /// How the parameters were found: "closed-form", "lbfgs" or "gradient-descent".
    pub solver: String,
    /// The network that computes the outputs (closed-form models are a single Linear layer).
    pub network: MlpConfig,
    /// "classification" or "regression".
    pub task: String,
    /// Class labels in logit order (classification only).
    pub classes: Vec<String>,
    /// Name of the target column.
    pub target: String,
    /// Names of the model's input features, in order (after one-hot encoding).
    pub feature_names: Vec<String>,
    /// Preprocessing fitted on the training split (encoding, imputation, standardisation).
    pub preprocessing: learnable::data::prepare::Preprocessing,
    /// Where the training data came from (bundled dataset or CSV file and target).
    pub source: learnable::data::prepare::Source,
    /// Split and preprocessing options of training (to rebuild the same test split).
    pub options: learnable::data::prepare::Options,
    /// Training settings (hyperparameters, seed, optimizer).
    pub training: serde_json::Value,
    /// Metrics measured at the end of training (test accuracy, etc.).
    pub metrics: serde_json::Value,
}

/// A loaded model: config, parameters and the network bound to them.
pub struct ModelDir {
    /// config.json
    pub config: ModelConfig,
    /// model.safetensors
    pub store: ParamStore,
    /// The network.
    pub net: Mlp,
}

impl ModelDir {
    /// Writes config.json, model.safetensors and (if given) history.csv into `dir` atomically.
    pub fn save(
        dir: &Path,
        config: &ModelConfig,
        store: &ParamStore,
        history_csv: Option<&str>,
    ) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        store.save(dir.join("model.safetensors"))?;
        let json = serde_json::to_string_pretty(config)?;
        learnable::io::write_atomic(dir.join("config.json"), json.as_bytes())?;
        if let Some(h) = history_csv {
            learnable::io::write_atomic(dir.join("history.csv"), h.as_bytes())?;
        }
        Ok(())
    }

    /// Loads a model directory, checking the format, tensor names and shapes.
    pub fn load(dir: &Path) -> Result<ModelDir> {
        let cfg_path = dir.join("config.json");
        if dir.is_file() {
            bail!(
                "--model expects the model directory (the folder holding config.json), not the file {}",
                dir.display()
            );
        }
        if !dir.is_dir() {
            bail!(
                "model directory {} does not exist (train one with `learnable train --out DIR`)",
                dir.display()
            );
        }
        let config: ModelConfig = learnable::io::read_json_file(
            &cfg_path,
            learnable::io::MAX_CONFIG_BYTES,
            "model config",
        )?;
        if config.format != "learnable-model" || config.version != FORMAT_VERSION {
            bail!(
                "{}: unsupported format {:?} version {} (expected learnable-model version {FORMAT_VERSION})",
                cfg_path.display(),
                config.format,
                config.version
            );
        }
        config
            .network
            .validate()
            .map_err(|e| e.in_file_field(&cfg_path, "network"))?;
        let out_dim = config.network.output_dim;
        match config.task.as_str() {
            "classification" if config.classes.len() != out_dim => bail!(
                "{}: {} classes for {out_dim} network outputs (a classifier needs one class per output)",
                cfg_path.display(),
                config.classes.len()
            ),
            "regression" if out_dim != 1 => bail!(
                "{}: a regressor has 1 output, the network has {out_dim}",
                cfg_path.display()
            ),
            "classification" | "regression" => {}
            other => bail!(
                "{}: task {other:?} (expected \"classification\" or \"regression\")",
                cfg_path.display()
            ),
        }
        let weights = dir.join("model.safetensors");
        let mut tensors = learnable::io::load_safetensors(&weights)?;
        // Check names and shapes against config.json before allocating anything, then build the
        // store from the loaded tensors themselves (a hostile config cannot make us allocate).
        let specs = config.network.layer_specs();
        let mut expected = Vec::new();
        for (wn, bn, [out, inp]) in &specs {
            expected.push((wn.clone(), vec![*out, *inp]));
            expected.push((bn.clone(), vec![*out]));
        }
        for (name, shape) in &expected {
            match tensors.get(name) {
                None => bail!(
                    "{} has no tensor {name} that {} describes (shape {shape:?})",
                    weights.display(),
                    cfg_path.display()
                ),
                Some(t) if t.shape() != shape.as_slice() => bail!(
                    "{}: tensor {name} has shape {:?}, {} describes {shape:?}",
                    weights.display(),
                    t.shape(),
                    cfg_path.display()
                ),
                Some(_) => {}
            }
        }
        if let Some(extra) = tensors
            .keys()
            .find(|k| !expected.iter().any(|(n, _)| n == *k))
        {
            bail!(
                "{}: tensor {extra} is not part of the network {} describes",
                weights.display(),
                cfg_path.display()
            );
        }
        let mut store = ParamStore::new();
        for (name, _) in &expected {
            let t = tensors.remove(name).context("tensor checked above")?;
            store.add(name.clone(), t)?;
        }
        let net = Mlp::from_store(config.network.clone(), &store)?;
        Ok(ModelDir { config, store, net })
    }

    /// Raw outputs (logits for classifiers) for standardised inputs `x` `[rows, features]`.
    pub fn outputs(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.net.predict(&self.store, x)?)
    }

    /// True for classifiers.
    pub fn is_classifier(&self) -> bool {
        self.config.task == "classification"
    }
}

/// The default output directory for a run: `runs/<source>-<kind>`.
pub fn default_out_dir(source: &str, kind: &str) -> PathBuf {
    let stem = Path::new(source)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| source.to_string());
    PathBuf::from("runs").join(format!("{stem}-{kind}"))
}
