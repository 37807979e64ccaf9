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

mod config;
mod data;

pub use config::{
    ClassWeight, DataShape, FitConfig, ModelKind, OptimizerKind, ScheduleKind, Solver,
};
pub use data::{FitData, finite_features, to_split};

use std::path::PathBuf;
use std::time::Instant;

use crate::checkpoint::Checkpointer;
use crate::data::Task;
use crate::error::{Error, Result};
use crate::model_dir::FitRecord;
use crate::models::mlp::{Activation, Mlp, MlpConfig};
use crate::param::ParamStore;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::train::{self, Both, Observer, Silent, Split, Targets, TrainState};
use crate::trained::TrainedModel;

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
    let (store, net, solver, history, scaling) = if config.uses_epoch_loop() {
        let (store, net, state, scaling) = fit_gd(config, data, options)?;
        let solver = "gradient descent".to_string();
        (store, net, solver, Some(state), scaling)
    } else {
        let (store, net, solver) = fit_exact(config, data, &mut warnings)?;
        (store, net, solver, None, None)
    };
    let mut record = FitRecord::of(config, &data.shape(), solver);
    record.class_weight = class_weights(config, data)?;
    let mut model = TrainedModel::from_fit(config, data, store, net, record, history, scaling)?;
    model.warnings = warnings;
    model.evaluate_final(data, started.elapsed().as_secs_f64())?;
    Ok(model)
}

/// Refuses a kind that cannot fit the target.
fn check_task(config: &FitConfig, data: &FitData) -> Result<()> {
    let target = data.preprocessing.target_column();
    if config.model.is_language_model() {
        return Err(Error::invalid(
            "model",
            config.model,
            &format!(
                "a tabular model (linear, ridge, logistic, softmax or mlp) for the table {}: gpt is a language model, trained on text",
                data.source_name()
            ),
        ));
    }
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
        ModelKind::Mlp | ModelKind::Gpt => {
            return Err(Error::invalid(
                "solver",
                "exact",
                "gd (an mlp or a gpt is trained by gradient descent)",
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

/// The per-class loss weights `config.class_weight` asks for on the training split (`None` for
/// unweighted classes, a regression, or a closed-form/L-BFGS fit, which takes no weights).
///
/// # Errors
/// [`Error::InvalidArgument`] naming `class_weight` when a class has no training rows (its
/// balanced weight would be infinite).
pub fn class_weights(config: &FitConfig, data: &FitData) -> Result<Option<Vec<f32>>> {
    match (config.class_weight, &data.train.y, data.classes()) {
        (ClassWeight::Balanced, Targets::Classes(y), Some(classes)) if config.uses_epoch_loop() => {
            crate::loss::balanced_class_weight(y, classes.len()).map(Some)
        }
        _ => Ok(None),
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
        config.network(data),
        &mut store,
        &mut Rng::new(config.seed, "init"),
    )?;
    let mut opt = config.optimizer_config().build()?;
    let mut cfg = config.train_config(data.train.y.len());
    cfg.class_weight = class_weights(config, data)?;
    cfg.validate()?;
    let settings = config.resume_settings(&data.source, &data.options);
    let state = run_loop(
        &net,
        &mut store,
        opt.as_mut(),
        train_split,
        val_split,
        &cfg,
        settings,
        options,
    )?;
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

/// The training loop with the checkpoint and resume of `options`: every fit (tabular or
/// language model) runs [`train::fit`] through here. `settings` are what a resumed run must
/// repeat ([`Checkpointer`]). Without `resume`, an existing checkpoint in the directory is
/// replaced.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `resume` without a checkpoint directory; checkpoint,
/// resume and loop errors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_loop<M, S>(
    net: &M,
    store: &mut ParamStore,
    opt: &mut dyn crate::optim::Optimizer,
    train: &S,
    val: Option<&S>,
    cfg: &crate::train::TrainConfig,
    settings: std::collections::BTreeMap<String, String>,
    options: FitOptions<'_>,
) -> Result<TrainState>
where
    M: crate::models::Model + ?Sized,
    S: crate::train::BatchSource<Input = M::Input> + ?Sized,
{
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
    if resume && checkpoint_dir.is_none() {
        return Err(Error::invalid(
            "resume",
            true,
            "only with a checkpoint directory to resume from",
        ));
    }
    let mut checkpointer = None;
    let mut restored = None;
    if let Some(dir) = checkpoint_dir {
        let mut ck = Checkpointer::new(dir.clone(), settings);
        if resume {
            restored = Some(ck.resume(store, opt)?);
        } else {
            crate::checkpoint::recover(&dir)?;
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
        }
        checkpointer = Some(ck);
    }
    let mut both;
    let watcher: &mut dyn Observer = match checkpointer.as_mut() {
        Some(ck) => {
            both = Both(ck, user);
            &mut both
        }
        None => user,
    };
    train::fit(net, store, opt, train, val, cfg, restored, watcher)
}
