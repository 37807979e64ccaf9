//! Fitting a model, the library's estimator API: a typed configuration ([`FitConfig`]) with
//! every hyperparameter and its default in one place, prepared data ([`FitData`]) and
//! [`fit`] / [`fit_with`], which return a [`TrainedModel`] ready to evaluate, save and serve.
//!
//! ```no_run
//! use learnable::data::{Options, Source};
//! use learnable::fit::{FitConfig, FitData, fit};
//!
//! let data = FitData::prepare(&Source::Bundled("iris".into()), &Options::default())?;
//! let config = FitConfig { hidden: vec![16], epochs: 50, ..FitConfig::default() };
//! let model = fit(&config, &data)?;
//! model.save("runs/iris")?;
//! # Ok::<(), learnable::Error>(())
//! ```
//!
//! As in scikit-learn, hyperparameters are plain data with defaults, validated once at fit time
//! ([`FitConfig::validate`]) with errors that name the parameter, its value and the allowed
//! range; fitting returns a different type, so predicting before fitting cannot compile.
//!
//! How each kind is fitted:
//! - `linear`, `ridge` with [`Solver::Exact`]: least squares in f64 (SVD, minimum norm on
//!   rank-deficient data; ridge: the L2 penalty `alpha` on the weights), as scikit-learn's
//!   `LinearRegression` / `Ridge`;
//! - `logistic`, `softmax` with [`Solver::Exact`]: L-BFGS to convergence on the L2-regularised
//!   log-loss with scikit-learn's `C`, as `LogisticRegression(solver="lbfgs")`;
//! - `mlp`, and every kind with [`Solver::GradientDescent`]: the epoch loop
//!   ([`crate::train::fit`]) with the chosen optimizer, schedule, clipping and early stopping.
//!   Regression targets are standardised with the training split's mean and std (as
//!   `TransformedTargetRegressor` with a `StandardScaler`); the last layer is rescaled after
//!   training (`W·std`, `b·std + mean`), so the stored model outputs original units.
//!
//! Every model is stored as an MLP network (a closed-form or L-BFGS fit is one Linear layer; a
//! binary logistic model's logit `z` becomes the two logits `[0, z]`), so evaluation, prediction,
//! sampling and serving are one code path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpointer;
use crate::data::{self, Dataset, Options, Preprocessing, Source, Target, Task};
use crate::error::{Error, Result};
use crate::model_dir::FitRecord;
use crate::models::mlp::{Activation, Mlp, MlpConfig};
use crate::optim::{AdamConfig, AdamWConfig, LrSchedule, OptimizerConfig, SgdConfig};
use crate::param::ParamStore;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::train::{self, Both, Observer, Silent, Split, Targets, TrainConfig, TrainState};
use crate::trained::TrainedModel;

/// Which model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Least squares `y = w·x + b`.
    Linear,
    /// Least squares with an L2 penalty `alpha` on the weights.
    Ridge,
    /// Binary logistic regression, L2-regularised with `C`.
    Logistic,
    /// Multinomial (softmax) logistic regression, L2-regularised with `C`.
    Softmax,
    /// Multilayer perceptron trained by mini-batch gradient descent.
    Mlp,
}

impl ModelKind {
    /// The lowercase name (`linear`, ..., `mlp`), as in config.json.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Linear => "linear",
            ModelKind::Ridge => "ridge",
            ModelKind::Logistic => "logistic",
            ModelKind::Softmax => "softmax",
            ModelKind::Mlp => "mlp",
        }
    }

    /// The task the kind solves, if it solves only one.
    pub fn task(self) -> Option<Task> {
        match self {
            ModelKind::Linear | ModelKind::Ridge => Some(Task::Regression),
            ModelKind::Logistic | ModelKind::Softmax => Some(Task::Classification),
            ModelKind::Mlp => None,
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "linear" => ModelKind::Linear,
            "ridge" => ModelKind::Ridge,
            "logistic" => ModelKind::Logistic,
            "softmax" => ModelKind::Softmax,
            "mlp" => ModelKind::Mlp,
            _ => {
                return Err(Error::invalid(
                    "model",
                    s,
                    "linear, ridge, logistic, softmax or mlp",
                ));
            }
        })
    }
}

/// How linear models (linear, ridge, logistic, softmax) are fitted; an MLP always uses the
/// epoch loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Least squares (linear, ridge) or L-BFGS to convergence (logistic, softmax).
    Exact,
    /// The epoch loop: mini-batch gradient descent with the chosen optimizer.
    #[serde(rename = "gd")]
    GradientDescent,
}

/// The optimizer of the epoch loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `torch.optim.SGD` with `momentum`; `weight_decay` is L2 added to the gradient.
    Sgd,
    /// `torch.optim.Adam`; `weight_decay` is L2 added to the gradient.
    Adam,
    /// `torch.optim.AdamW` (decoupled weight decay, Loshchilov & Hutter 2019).
    #[serde(rename = "adamw")]
    AdamW,
}

impl OptimizerKind {
    /// The optimizer's usual name: `SGD`, `Adam`, `AdamW`.
    pub fn display_name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::AdamW => "AdamW",
        }
    }
}

/// The learning-rate schedule over optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The same learning rate at every step.
    Constant,
    /// Linear warmup over `warmup_steps`, then cosine decay to 0 at the last step
    /// (Loshchilov & Hutter 2017, as Hugging Face's `get_cosine_schedule_with_warmup`).
    Cosine,
}

/// Every hyperparameter of a fit, with its default. Plain data: build it with struct update
/// syntax (`FitConfig { epochs: 10, ..FitConfig::default() }`); [`fit`] validates it.
///
/// Fields that a kind/solver does not use are ignored by it (`hidden` for a linear model,
/// `alpha` for anything but ridge, ...); the model directory records only what was used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitConfig {
    /// The model kind. Default `mlp`.
    pub model: ModelKind,
    /// How linear kinds are fitted. Default `exact`.
    pub solver: Solver,
    /// MLP hidden layer widths, input to output. Default `[128, 64]`.
    pub hidden: Vec<usize>,
    /// MLP hidden activation. Default ReLU (the only one with the fused inference kernel).
    pub activation: Activation,
    /// Dropout probability after each hidden layer, in [0, 1). Default 0.
    pub dropout: f32,
    /// Passes over the training split (>= 1). Default 40.
    pub epochs: usize,
    /// Rows per mini-batch (>= 1). Default 32.
    pub batch_size: usize,
    /// Base learning rate (> 0). Default 1e-3 ([`crate::optim::DEFAULT_LEARNING_RATE`]).
    pub learning_rate: f64,
    /// Optimizer of the epoch loop. Default AdamW.
    pub optimizer: OptimizerKind,
    /// Weight decay (AdamW: decoupled; SGD/Adam: L2 in the gradient), >= 0. Default 0.01
    /// (PyTorch's AdamW default).
    pub weight_decay: f64,
    /// SGD momentum in [0, 1). Default 0.9.
    pub momentum: f64,
    /// Learning-rate schedule. Default constant.
    pub schedule: ScheduleKind,
    /// Warmup steps of the cosine schedule. Default 0.
    pub warmup_steps: u64,
    /// Clip the global gradient L2 norm to this value (> 0). Default none.
    pub max_grad_norm: Option<f32>,
    /// Label smoothing of the cross-entropy loss, in [0, 1). Default 0.
    pub label_smoothing: f32,
    /// Stop after this many epochs (>= 1) without a better validation loss; the best weights
    /// are kept. Default none.
    pub patience: Option<usize>,
    /// Ridge penalty (>= 0). Default 1 (scikit-learn's).
    pub alpha: f64,
    /// Inverse regularisation strength of logistic/softmax regression (> 0). Default 1
    /// (scikit-learn's).
    #[serde(rename = "C")]
    pub c: f64,
    /// Seed of the initialisation, shuffling and dropout streams.
    pub seed: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            model: ModelKind::Mlp,
            solver: Solver::Exact,
            hidden: vec![128, 64],
            activation: Activation::Relu,
            dropout: 0.0,
            epochs: 40,
            batch_size: 32,
            learning_rate: crate::optim::DEFAULT_LEARNING_RATE,
            optimizer: OptimizerKind::AdamW,
            weight_decay: 0.01,
            momentum: 0.9,
            schedule: ScheduleKind::Constant,
            warmup_steps: 0,
            max_grad_norm: None,
            label_smoothing: 0.0,
            patience: None,
            alpha: 1.0,
            c: 1.0,
            seed: 0,
        }
    }
}

impl FitConfig {
    /// True when this configuration runs the epoch loop (an MLP, or a linear kind with the
    /// gradient-descent solver); false for a closed-form or L-BFGS fit.
    pub fn uses_epoch_loop(&self) -> bool {
        self.model == ModelKind::Mlp || self.solver == Solver::GradientDescent
    }

    /// Checks every setting this configuration uses.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first invalid parameter (as the field is named
    /// here: `batch_size`, `C`, ...), its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        let finite_at_least = |name: &str, v: f64, min: f64, strict: bool| -> Result<()> {
            let ok = v.is_finite() && if strict { v > min } else { v >= min };
            if ok {
                Ok(())
            } else {
                let op = if strict { ">" } else { ">=" };
                Err(Error::invalid(name, v, &format!("finite and {op} {min}")))
            }
        };
        match self.model {
            ModelKind::Ridge if !self.uses_epoch_loop() => {
                finite_at_least("alpha", self.alpha, 0.0, false)?
            }
            ModelKind::Logistic | ModelKind::Softmax if !self.uses_epoch_loop() => {
                finite_at_least("C", self.c, 0.0, true)?
            }
            _ => {}
        }
        if !self.uses_epoch_loop() {
            return Ok(());
        }
        if self.model == ModelKind::Mlp {
            if self.hidden.contains(&0) {
                return Err(Error::invalid(
                    "hidden",
                    format!("{:?}", self.hidden),
                    "widths >= 1",
                ));
            }
            if !(0.0..1.0).contains(&self.dropout) {
                return Err(Error::invalid("dropout", self.dropout, "[0, 1)"));
            }
        }
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", 0, ">= 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, ">= 1"));
        }
        finite_at_least("learning_rate", self.learning_rate, 0.0, true)?;
        finite_at_least("weight_decay", self.weight_decay, 0.0, false)?;
        if self.optimizer == OptimizerKind::Sgd && !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid("momentum", self.momentum, "[0, 1)"));
        }
        if self.patience == Some(0) {
            return Err(Error::invalid(
                "patience",
                0,
                ">= 1 (0 would stop after the first epoch)",
            ));
        }
        Ok(())
    }

    /// The optimizer configuration of the epoch loop.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        match self.optimizer {
            OptimizerKind::Sgd => OptimizerConfig::Sgd(SgdConfig {
                learning_rate: self.learning_rate,
                momentum: self.momentum,
                weight_decay: self.weight_decay,
                ..SgdConfig::default()
            }),
            OptimizerKind::Adam => OptimizerConfig::Adam(AdamConfig {
                learning_rate: self.learning_rate,
                weight_decay: self.weight_decay,
                ..AdamConfig::default()
            }),
            OptimizerKind::AdamW => OptimizerConfig::AdamW(AdamWConfig {
                learning_rate: self.learning_rate,
                weight_decay: self.weight_decay,
                ..AdamWConfig::default()
            }),
        }
    }

    /// The loop's configuration for `train_rows` training rows (the cosine schedule spans all
    /// steps of all epochs).
    pub fn train_config(&self, train_rows: usize) -> TrainConfig {
        let schedule = match self.schedule {
            ScheduleKind::Constant => LrSchedule::Constant,
            ScheduleKind::Cosine => LrSchedule::CosineWithWarmup {
                warmup_steps: self.warmup_steps,
                total_steps: (train_rows.div_ceil(self.batch_size.max(1)) * self.epochs) as u64,
                min_lr: 0.0,
            },
        };
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            schedule,
            patience: self.patience,
            max_grad_norm: self.max_grad_norm,
            label_smoothing: self.label_smoothing,
            seed: self.seed,
        }
    }

    /// The settings a resumed run must repeat, by name, for [`Checkpointer`]: every field but
    /// `epochs`, `patience` and `learning_rate` (more epochs, another patience and a lower
    /// learning rate after a divergence are how a run is continued), plus the data's source and
    /// split options. Values are JSON (strings unquoted).
    pub fn resume_settings(&self, source: &Source, options: &Options) -> BTreeMap<String, String> {
        fn add(out: &mut BTreeMap<String, String>, v: serde_json::Value) {
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    let s = match v {
                        serde_json::Value::String(s) => s,
                        // A list of names (`drop`, `features`) reads as the user typed it.
                        serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) => a
                            .iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        serde_json::Value::Null => "(none)".into(),
                        v => v.to_string(),
                    };
                    out.insert(k, s);
                }
            }
        }
        let mut out = BTreeMap::new();
        add(&mut out, serde_json::to_value(options).unwrap_or_default());
        // The split's seed is the fit's seed unless the caller chose another one.
        out.remove("seed");
        if options.seed != self.seed {
            out.insert("split_seed".into(), options.seed.to_string());
        }
        add(&mut out, serde_json::to_value(self).unwrap_or_default());
        for k in ["epochs", "patience", "learning_rate"] {
            out.remove(k);
        }
        let source = match source {
            Source::Bundled(n) => format!("dataset {n}"),
            Source::Csv { path, target } => {
                format!("file {} target {target}", path.display())
            }
        };
        out.insert("source".into(), source);
        out
    }
}

/// Training data ready for [`fit`]: the three splits as engine tensors, their description and
/// the preprocessing fitted on the training split (stored with the model).
#[derive(Clone, Debug)]
pub struct FitData {
    /// Where the rows came from (stored with the model so evaluation can rebuild the split).
    pub source: Source,
    /// The split and preprocessing options used.
    pub options: Options,
    /// Training split: standardised features `[rows, features]` and targets.
    pub train: Split,
    /// Validation split, if it has rows.
    pub val: Option<Split>,
    /// Test split, if it has rows.
    pub test: Option<Split>,
    /// The fitted preprocessing (encoding, imputation, standardisation).
    pub preprocessing: Preprocessing,
    /// The training split as read (f64 features for the closed-form solvers).
    pub train_rows: Dataset,
    /// Columns whose type was guessed categorical (one-hot encoded), for a note to the user.
    pub guessed_categorical: Vec<String>,
}

impl FitData {
    /// Loads, splits (seeded; stratified for classification), fits the preprocessing on the
    /// training rows and applies it to every split (see [`crate::data::prepare()`]).
    ///
    /// # Errors
    /// Those of [`crate::data::prepare()`], and [`Error::InvalidArgument`] naming the row and
    /// feature of a value beyond the f32 range after preprocessing.
    pub fn prepare(source: &Source, options: &Options) -> Result<FitData> {
        // (A model kind that implies the task, e.g. linear on a whole-number CSV target, is the
        // caller's to set in `options.task`: see `ModelKind::task`.)
        let p = data::prepare(source, options)?;
        let nonempty = |d: &Dataset| -> Result<Option<Split>> {
            if d.n_rows() == 0 {
                Ok(None)
            } else {
                Ok(Some(to_split(d)?))
            }
        };
        Ok(FitData {
            source: source.clone(),
            options: options.clone(),
            train: to_split(&p.train)?,
            val: nonempty(&p.val)?,
            test: nonempty(&p.test)?,
            preprocessing: p.preprocessing,
            train_rows: p.train,
            guessed_categorical: p.guessed_categorical,
        })
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.preprocessing.task()
    }

    /// Class labels in logit order (classification), or `None`.
    pub fn classes(&self) -> Option<&[String]> {
        (self.task() == Task::Classification).then(|| self.preprocessing.class_names())
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.train.x.last_dim()
    }

    /// A short name of the source: the dataset name or the file path.
    pub fn source_name(&self) -> String {
        match &self.source {
            Source::Bundled(n) => n.clone(),
            Source::Csv { path, .. } => path.display().to_string(),
        }
    }
}

/// The engine's view of a dataset: f32 features `[rows, features]` and targets.
///
/// # Errors
/// [`Error::Missing`] if the dataset has no target; [`Error::Data`] naming the row (1-based) and
/// feature of a value beyond the f32 range (e.g. 1e39 in a CSV).
pub fn to_split(ds: &Dataset) -> Result<Split> {
    let y = match ds.target() {
        Target::Classes(c) => Targets::Classes(c.clone()),
        Target::Values(v) => Targets::Values(Tensor::new(
            v.iter().map(|&x| x as f32).collect(),
            &[v.len(), 1],
        )?),
        Target::Missing => {
            return Err(Error::Missing(format!(
                "{} has no target column",
                ds.name()
            )));
        }
    };
    Split::new(finite_features(ds)?, y)
}

/// The f32 features `[rows, features]` of `ds`.
///
/// # Errors
/// [`Error::Data`] naming the row (1-based, in the dataset's order) and the feature
/// when a value is not finite in f32, e.g. a CSV value of 1e39 that standardisation leaves
/// beyond f32's range (about 3.4e38), which would silently give garbage outputs.
pub fn finite_features(ds: &Dataset) -> Result<Tensor> {
    let x = ds.features_tensor();
    if let Some(i) = x.data().iter().position(|v| !v.is_finite()) {
        let nf = ds.n_features().max(1);
        let name = ds.feature_names().get(i % nf).cloned().unwrap_or_default();
        let v = ds.features_f64()[i];
        return Err(Error::Data(format!(
            "{}: feature '{name}' of row {} is {v:e} after preprocessing, beyond the f32 range (about ±3.4e38)",
            ds.name(),
            i / nf + 1
        )));
    }
    Ok(x)
}

/// How a fit runs besides its hyperparameters: where it checkpoints, whether it resumes, who
/// watches. The default: no checkpoint, no observer.
#[derive(Default)]
pub struct FitOptions<'a> {
    /// Write a checkpoint into this directory after every epoch (usually
    /// `MODEL_DIR/checkpoint`). Without `resume`, an existing checkpoint there is replaced.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir` (same settings, see
    /// [`FitConfig::resume_settings`]).
    pub resume: bool,
    /// Receives the loop's progress (a progress bar); `None`: silent.
    pub observer: Option<&'a mut dyn Observer>,
}

/// Fits `config` on `data` without checkpoints: [`fit_with`] with default options.
pub fn fit(config: &FitConfig, data: &FitData) -> Result<TrainedModel> {
    fit_with(config, data, FitOptions::default())
}

/// Fits `config` on `data`, checkpointing and resuming as `options` say, and evaluates the
/// result on the test split (or the training split when there is none).
///
/// # Errors
/// [`Error::InvalidArgument`] for an invalid setting (see [`FitConfig::validate`]) or a kind
/// that does not fit the target (a regression kind on class labels, a classifier on numbers,
/// `logistic` on more than two classes); [`Error::Diverged`] when training diverges (the last
/// checkpoint, if any, holds the last good epoch: see [`Checkpointer::saved_epoch`] via the
/// checkpoint directory); [`Error::ResumeMismatch`] / [`Error::Format`] when resuming from a
/// checkpoint of other settings or a torn one; I/O errors of the checkpoint.
pub fn fit_with(
    config: &FitConfig,
    data: &FitData,
    options: FitOptions<'_>,
) -> Result<TrainedModel> {
    let started = Instant::now();
    config.validate()?;
    check_task(config, data)?;
    let mut warnings = Vec::new();
    let (store, net, record, history, scaling) = if config.uses_epoch_loop() {
        let (store, net, state, scaling) = fit_gd(config, data, options)?;
        (
            store,
            net,
            FitRecord::loop_record(config),
            Some(state),
            scaling,
        )
    } else {
        let (store, net, solver) = fit_exact(config, data, &mut warnings)?;
        (
            store,
            net,
            FitRecord::exact_record(config, solver),
            None,
            None,
        )
    };
    let mut model = TrainedModel::from_fit(config, data, store, net, record, history, scaling)?;
    model.warnings = warnings;
    model.evaluate_final(data, started.elapsed().as_secs_f64())?;
    Ok(model)
}

/// Refuses a kind that cannot fit the target.
fn check_task(config: &FitConfig, data: &FitData) -> Result<()> {
    let target = data.preprocessing.target_column();
    match (config.model.task(), data.task()) {
        (Some(Task::Regression), Task::Classification) => Err(Error::invalid(
            "model",
            config.model,
            &format!(
                "logistic, softmax or mlp: {} is a regression model but the target '{target}' is categorical",
                config.model
            ),
        )),
        (Some(Task::Classification), Task::Regression) => Err(Error::invalid(
            "model",
            config.model,
            &format!(
                "linear, ridge or mlp: {} is a classifier but the target '{target}' is numeric (or set the task to classification)",
                config.model
            ),
        )),
        _ if config.model == ModelKind::Logistic
            && data.classes().is_some_and(|c| c.len() != 2) =>
        {
            Err(Error::invalid(
                "model",
                config.model,
                &format!(
                    "softmax or mlp: logistic is binary but the target has {} classes",
                    data.classes().map_or(0, |c| c.len())
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Closed-form / L-BFGS fits, stored as a single Linear layer. Returns the solver description.
fn fit_exact(
    config: &FitConfig,
    data: &FitData,
    warnings: &mut Vec<String>,
) -> Result<(ParamStore, Mlp, String)> {
    use crate::models::linear_regression::LinearRegressionConfig;
    use crate::models::logistic_regression::LogisticRegressionConfig;
    let ds = &data.train_rows;
    let (x, n, d) = (ds.features_f64().into_owned(), ds.n_rows(), ds.n_features());
    let (weight, bias, out_dim, solver) = match config.model {
        ModelKind::Linear | ModelKind::Ridge => {
            let y = ds.values().map(|v| v.to_vec()).unwrap_or_default();
            let cfg = if config.model == ModelKind::Linear {
                LinearRegressionConfig::ols()
            } else {
                LinearRegressionConfig::ridge(config.alpha)
            };
            let fitted = cfg.fit(&x, n, d, &y)?;
            let w: Vec<f32> = fitted.coef().iter().map(|&v| v as f32).collect();
            let solver = match fitted.lstsq_info() {
                Some(info) => format!("least squares (SVD, rank {} of {d})", info.rank),
                None => "least squares".to_string(),
            };
            (w, vec![fitted.intercept() as f32], 1, solver)
        }
        ModelKind::Logistic | ModelKind::Softmax => {
            let y = ds.labels().map(|v| v.to_vec()).unwrap_or_default();
            let k = data.classes().map_or(0, |c| c.len());
            let cfg = LogisticRegressionConfig {
                c: config.c,
                ..LogisticRegressionConfig::default()
            };
            let fitted = cfg.fit(&x, n, d, &y)?;
            if fitted.n_classes() != k {
                return Err(Error::invalid(
                    "classes in the training split",
                    fitted.n_classes(),
                    &format!(
                        "all {k} classes (use a larger dataset or smaller validation/test sizes)"
                    ),
                ));
            }
            // A binary model's single logit z becomes the two logits [0, z]: softmax([0, z]) =
            // [1 − σ(z), σ(z)], so every classifier is stored and served as softmax logits.
            let (mut w, mut b): (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
            if fitted.n_outputs() == 1 {
                w.extend(std::iter::repeat_n(0.0f32, d));
                b.push(0.0);
            }
            w.extend(fitted.coef().iter().map(|&v| v as f32));
            b.extend(fitted.intercept().iter().map(|&v| v as f32));
            if let Some(info) = fitted.fit_info().filter(|i| !i.converged) {
                warnings.push(format!(
                    "lbfgs stopped at max_iter ({} iterations) without converging (max|grad| {:.2e}); the model is not at the optimum",
                    info.n_iter, info.grad_max
                ));
            }
            (w, b, k, format!("lbfgs ({} iterations)", fitted.n_iter()))
        }
        ModelKind::Mlp => {
            return Err(Error::invalid(
                "solver",
                "exact",
                "gd for an mlp (it is trained by gradient descent)",
            ));
        }
    };
    let net_config = MlpConfig {
        input_dim: d,
        hidden: vec![],
        output_dim: out_dim,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut store = ParamStore::new();
    store.add("layers.0.weight", Tensor::new(weight, &[out_dim, d])?)?;
    store.add("layers.0.bias", Tensor::new(bias, &[out_dim])?)?;
    let net = Mlp::from_store(net_config, &store)?;
    Ok((store, net, solver))
}

/// Mean and population std (ddof = 0; 1 when the std is 0 or not finite) of a regression
/// split's targets, as scikit-learn's StandardScaler; `None` for class targets.
fn target_stats(split: &Split) -> Option<(f64, f64)> {
    let Targets::Values(v) = &split.y else {
        return None;
    };
    let n = v.numel().max(1) as f64;
    let mean = v.data().iter().map(|&a| a as f64).sum::<f64>() / n;
    let var = v
        .data()
        .iter()
        .map(|&a| (a as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt();
    Some((
        mean,
        if std > 0.0 && std.is_finite() {
            std
        } else {
            1.0
        },
    ))
}

/// `split` with regression targets mapped to `(y - mean) / std`.
fn scale_targets(split: &Split, (mean, std): (f64, f64)) -> Split {
    let mut s = split.clone();
    if let Targets::Values(v) = &mut s.y {
        v.data_mut()
            .iter_mut()
            .for_each(|a| *a = ((*a as f64 - mean) / std) as f32);
    }
    s
}

/// The network architecture the configuration asks for on `data`.
pub(crate) fn network_config(config: &FitConfig, data: &FitData) -> MlpConfig {
    let output_dim = data.classes().map_or(1, |c| c.len());
    let (hidden, activation, dropout) = if config.model == ModelKind::Mlp {
        (config.hidden.clone(), config.activation, config.dropout)
    } else {
        (vec![], Activation::Relu, 0.0)
    };
    MlpConfig {
        input_dim: data.n_features(),
        hidden,
        output_dim,
        activation,
        dropout,
    }
}

/// The epoch loop, with checkpoints and resume. Returns the (mean, std) of the target
/// standardisation of a regression.
#[allow(clippy::type_complexity)]
fn fit_gd(
    config: &FitConfig,
    data: &FitData,
    options: FitOptions<'_>,
) -> Result<(ParamStore, Mlp, TrainState, Option<(f64, f64)>)> {
    let scaling = target_stats(&data.train);
    let scaled = scaling.map(|ms| {
        (
            scale_targets(&data.train, ms),
            data.val.as_ref().map(|v| scale_targets(v, ms)),
        )
    });
    let (train_split, val_split) = match &scaled {
        Some((t, v)) => (t, v.as_ref()),
        None => (&data.train, data.val.as_ref()),
    };
    let mut store = ParamStore::new();
    let net = Mlp::new(
        network_config(config, data),
        &mut store,
        &mut Rng::new(config.seed, "init"),
    )?;
    let mut opt = config.optimizer_config().build()?;
    let cfg = config.train_config(data.train.y.len());
    cfg.validate()?;
    let FitOptions {
        checkpoint_dir,
        resume,
        observer,
    } = options;
    let mut silent = Silent;
    let user: &mut dyn Observer = match observer {
        Some(o) => o,
        None => &mut silent,
    };
    let state = match checkpoint_dir {
        Some(dir) => {
            let mut ck = Checkpointer::new(
                dir.clone(),
                config.resume_settings(&data.source, &data.options),
            );
            let restored = if resume {
                Some(ck.resume(&mut store, opt.as_mut())?)
            } else {
                crate::checkpoint::recover(&dir)?;
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                }
                None
            };
            let mut both = Both(&mut ck, user);
            train::fit(
                &net,
                &mut store,
                opt.as_mut(),
                train_split,
                val_split,
                &cfg,
                restored,
                &mut both,
            )?
        }
        None if resume => {
            return Err(Error::invalid(
                "resume",
                true,
                "only with a checkpoint directory to resume from",
            ));
        }
        None => train::fit(
            &net,
            &mut store,
            opt.as_mut(),
            train_split,
            val_split,
            &cfg,
            None,
            user,
        )?,
    };
    if let Some((mean, std)) = scaling {
        let specs = net.config.layer_specs();
        let (w_name, b_name, _) = specs
            .last()
            .ok_or_else(|| Error::Missing("the network has no layers".into()))?;
        for (name, shift) in [(w_name, 0.0), (b_name, mean)] {
            let id = store
                .id(name)
                .ok_or_else(|| Error::Missing(format!("parameter {name} missing")))?;
            store
                .get_mut(id)
                .value
                .data_mut()
                .iter_mut()
                .for_each(|a| *a = (*a as f64 * std + shift) as f32);
        }
    }
    Ok((store, net, state, scaling))
}
