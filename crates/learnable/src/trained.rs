//! A trained model in memory: what [`crate::fit::fit`] returns and [`TrainedModel::load`] reads
//! back from a model directory ([`crate::model_dir`]): its config, its parameters, the network
//! bound to them, and the epoch history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fit::{DataShape, FitConfig, FitData};
use crate::model_dir::{
    Architecture, FORMAT, FORMAT_VERSION, FitRecord, ModelConfig, ModelDir, TargetScaling,
    sha256_hex,
};
use crate::models::mlp::Mlp;
use crate::param::ParamStore;
use crate::tensor::Tensor;
use crate::train::{Split, TrainState};

/// A fitted model: config (everything config.json holds), parameters and network.
#[derive(Clone, Debug)]
pub struct TrainedModel {
    /// The model's config.json.
    pub config: ModelConfig,
    /// The parameters (model.safetensors).
    pub store: ParamStore,
    /// The network bound to `store`.
    pub net: Mlp,
    /// The epoch loop's state and per-epoch history (history.csv), if it ran in this process.
    pub history: Option<TrainState>,
    /// Warnings of the fit (e.g. L-BFGS stopped at its iteration limit).
    pub warnings: Vec<String>,
    /// The directory it was loaded from, if any (named in error messages).
    pub dir: Option<PathBuf>,
}

impl FitRecord {
    /// The record of a fit of `config` on `data` by `solver`: every setting the fit used (the
    /// fields of [`FitConfig`] not in [`FitConfig::unused_settings`]), without those stored
    /// elsewhere in config.json (model kind, architecture, seed) and without `solver` for a
    /// closed-form or L-BFGS fit (`solver` describes it).
    pub(crate) fn of(config: &FitConfig, data: &DataShape, solver: String) -> FitRecord {
        let unused = config.unused_settings_on(data);
        let elsewhere = [
            "model",
            "hidden",
            "activation",
            "dropout",
            "seed",
            "n_layer",
            "n_head",
            "n_embd",
            "block_size",
        ];
        let mut settings = match serde_json::to_value(config) {
            Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        settings.retain(|k: &String, _| {
            !elsewhere.contains(&k.as_str())
                && !unused.iter().any(|(u, _)| u == k)
                && (k != "solver" || config.uses_epoch_loop())
        });
        FitRecord {
            solver,
            settings,
            ..FitRecord::default()
        }
    }
}

impl TrainedModel {
    /// Assembles the model of a finished fit.
    pub(crate) fn from_fit(
        config: &FitConfig,
        data: &FitData,
        store: ParamStore,
        net: Mlp,
        mut record: FitRecord,
        history: Option<TrainState>,
        scaling: Option<(f64, f64)>,
    ) -> Result<TrainedModel> {
        if let Some(h) = &history {
            record.stop_reason = h.stop_reason.clone();
            // Training saw standardised targets: an MSE in original units is std² times it.
            let factor = scaling.map_or(1.0, |(_, std)| std * std);
            record.best_val_loss = h.best.map(|(l, e)| (l * factor, e));
        }
        record.target_scaling = scaling.map(|(mean, std)| TargetScaling { mean, std });
        let pre = &data.preprocessing;
        let model_config = ModelConfig {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            kind: config.model,
            architecture: Architecture::Mlp(net.config.clone()),
            task: pre.task(),
            classes: data.classes().map(<[String]>::to_vec).unwrap_or_default(),
            target: pre.target_column().to_string(),
            feature_names: pre.feature_names(),
            preprocessing: pre.clone(),
            source: data.source.clone(),
            options: data.options.clone(),
            seed: config.seed,
            training: record,
            metrics: BTreeMap::new(),
            weights_sha256: None,
        };
        Ok(TrainedModel {
            config: model_config,
            store,
            net,
            history,
            warnings: Vec::new(),
            dir: None,
        })
    }

    /// Measures loss and accuracy (or R²) on the test split, or on the training split when
    /// there is none, and records them in `config.metrics` with the training time.
    pub(crate) fn evaluate_final(&mut self, data: &FitData, seconds: f64) -> Result<()> {
        let (name, split): (&str, &Split) = match &data.test {
            Some(t) if !t.y.is_empty() => ("test", t),
            _ => ("train", &data.train),
        };
        let (loss, metric) = self.evaluate(split)?;
        let metric_name = self.metric_name();
        let m = &mut self.config.metrics;
        m.insert(format!("{name}_loss"), loss);
        m.insert(format!("{name}_{metric_name}"), metric);
        m.insert("train_seconds".into(), seconds);
        Ok(())
    }

    /// Mean loss (cross-entropy with the fit's label smoothing and class weights, or MSE) and accuracy (or R²) of
    /// the model on a split of standardised features.
    pub fn evaluate(&self, split: &Split) -> Result<(f64, f64)> {
        let mut cfg = crate::train::TrainConfig::default();
        let training = &self.config.training;
        if let Some(ls) = training
            .settings
            .get("label_smoothing")
            .and_then(|v| v.as_f64())
        {
            cfg.label_smoothing = ls as f32;
        }
        cfg.class_weight = training.class_weight.clone();
        crate::train::evaluate(&self.net, &self.store, split, &cfg)
    }

    /// `accuracy` for classifiers, `r2` for regressors.
    pub fn metric_name(&self) -> &'static str {
        if self.is_classifier() {
            "accuracy"
        } else {
            "r2"
        }
    }

    /// True for classifiers.
    pub fn is_classifier(&self) -> bool {
        self.config.is_classifier()
    }

    /// Class labels in logit order (empty for a regressor).
    pub fn classes(&self) -> &[String] {
        &self.config.classes
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.store.num_params()
    }

    /// Raw outputs (logits for classifiers, values for regressors) `[rows, outputs]` for
    /// preprocessed features `x` `[rows, features]`. Packs the weights on every call; for
    /// repeated inference use a [`crate::inference::Predictor`].
    ///
    /// # Errors
    /// [`Error::Shape`] if `x` is not `[rows, features]`.
    pub fn outputs(&self, x: &Tensor) -> Result<Tensor> {
        self.net.predict(&self.store, x)
    }

    /// Writes the model directory `dir` as one unit: history.csv (if any) and model.safetensors
    /// first, config.json (with the weights' SHA-256) last, each atomically; stale temporary
    /// files of an interrupted earlier save are removed. The checkpoint (if any) is left as it
    /// is, so training can be resumed for more epochs.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that could not be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let md = ModelDir::new(dir.as_ref());
        std::fs::create_dir_all(&md.dir).map_err(|e| Error::io(&md.dir, e))?;
        md.clean_temporary_files();
        let weights = crate::io::safetensors_bytes(self.store.named_values(), None)?;
        let mut config = self.config.clone();
        config.weights_sha256 = Some(sha256_hex(&weights));
        if let Some(h) = &self.history {
            crate::io::write_atomic(md.history(), h.history_csv().as_bytes())?;
        }
        crate::io::write_atomic(md.weights(), &weights)?;
        crate::io::write_atomic(md.config(), config.to_json()?.as_bytes())?;
        Ok(())
    }

    /// Loads a model directory: config.json (version 2 or 1, checked), then model.safetensors,
    /// whose SHA-256 must match the config's (when it records one) and whose tensors must be
    /// exactly the network's, with the shapes the config describes and finite values.
    ///
    /// # Errors
    /// Those of [`ModelDir::read_config`] (a missing directory, a directory holding only a
    /// checkpoint, a bad config); [`Error::Format`] naming the file and tensor for a weights
    /// file that does not belong to the config (an interrupted save), a missing, extra or
    /// misshapen tensor, or NaN/infinite values.
    pub fn load(dir: impl AsRef<Path>) -> Result<TrainedModel> {
        let md = ModelDir::new(dir.as_ref());
        let config = md.read_config()?;
        let weights = md.weights();
        let bad = |reason: String| Error::Format {
            path: weights.display().to_string(),
            reason,
        };
        // Check the header (its length against the file size and cap, every tensor's range)
        // before reading the data, so a hostile or huge file is refused before it is read.
        let meta = std::fs::metadata(&weights).map_err(|e| Error::io(&weights, e))?;
        if !meta.is_file() {
            return Err(bad("not a regular file".into()));
        }
        crate::size::safetensors_header::open_header(&weights)?;
        let bytes = std::fs::read(&weights).map_err(|e| Error::io(&weights, e))?;
        if let Some(want) = &config.weights_sha256 {
            if &sha256_hex(&bytes) != want {
                return Err(bad(format!(
                    "its SHA-256 differs from the one in {}: the weights and the config come from different saves (an interrupted or mixed save); train again",
                    md.config().display()
                )));
            }
        }
        let mut tensors = crate::io::parse_safetensors(&bytes, &weights.display().to_string())?;
        // Check names and shapes against config.json, then build the store from the loaded
        // tensors themselves (a hostile config cannot make us allocate).
        let specs = config.architecture.mlp().layer_specs();
        let mut expected = Vec::new();
        for (wn, bn, [out, inp]) in &specs {
            expected.push((wn.clone(), vec![*out, *inp]));
            expected.push((bn.clone(), vec![*out]));
        }
        for (name, shape) in &expected {
            match tensors.get(name) {
                None => {
                    return Err(bad(format!(
                        "no tensor {name} that {} describes (shape {shape:?})",
                        md.config().display()
                    )));
                }
                Some(t) if t.shape() != shape.as_slice() => {
                    return Err(bad(format!(
                        "tensor {name} has shape {:?}, {} describes {shape:?}",
                        t.shape(),
                        md.config().display()
                    )));
                }
                Some(t) if !t.all_finite() => {
                    let i = t.data().iter().position(|v| !v.is_finite()).unwrap_or(0);
                    return Err(bad(format!(
                        "tensor {name} holds {} (first at index {i}); the model cannot be used",
                        t.data()[i]
                    )));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = tensors
            .keys()
            .find(|k| !expected.iter().any(|(n, _)| n == *k))
        {
            return Err(bad(format!(
                "tensor {extra} is not part of the network {} describes",
                md.config().display()
            )));
        }
        let mut store = ParamStore::new();
        for (name, _) in &expected {
            let t = tensors
                .remove(name)
                .ok_or_else(|| bad(format!("no tensor {name}")))?;
            store.add(name.clone(), t)?;
        }
        let net = Mlp::from_store(config.architecture.mlp().clone(), &store)?;
        Ok(TrainedModel {
            config,
            store,
            net,
            history: None,
            warnings: Vec::new(),
            dir: Some(md.dir),
        })
    }
}
