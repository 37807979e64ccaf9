//! Validation and learning curves: training and validation scores of k-fold fits as one
//! hyperparameter, or the training-set size, changes (scikit-learn's `validation_curve` and
//! `learning_curve`, with the same unshuffled folds by default).

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde_json::{Value, json};

use super::folds::{complement, k_fold};
use super::setting::with_setting;
use crate::data::Target;
use crate::error::{Error, Result};
use crate::fit::{FitConfig, FitData, fit, to_split};
use crate::rng::Rng;

/// How the folds are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurveOptions {
    /// Number of folds (>= 2). Default 5, as scikit-learn's `cv=None`.
    pub folds: usize,
    /// Shuffle the rows before cutting folds, with this seed; `None` (default): consecutive
    /// rows, as scikit-learn's unshuffled `KFold`/`StratifiedKFold`.
    pub shuffle_seed: Option<u64>,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            folds: 5,
            shuffle_seed: None,
        }
    }
}

/// The scores at one value of the varied setting (or one training size), one per fold.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    /// The value as the user wrote it (or the training-set size).
    pub value: String,
    /// Training rows of each fold's fit.
    pub train_rows: usize,
    /// Score (accuracy or R²) on each fold's training rows.
    pub train_scores: Vec<f64>,
    /// Score on each fold's validation rows.
    pub val_scores: Vec<f64>,
    /// Mean loss (cross-entropy or MSE) on each fold's training rows.
    pub train_losses: Vec<f64>,
    /// Mean loss on each fold's validation rows.
    pub val_losses: Vec<f64>,
}

/// Mean and population standard deviation (`ddof = 0`, as `np.std`).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

impl CurvePoint {
    /// Mean and std of the training scores.
    pub fn train(&self) -> (f64, f64) {
        mean_std(&self.train_scores)
    }

    /// Mean and std of the validation scores.
    pub fn val(&self) -> (f64, f64) {
        mean_std(&self.val_scores)
    }
}

/// A validation curve (scores per value of `param`) or a learning curve (`param` =
/// `train_size`, scores per training-set size).
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The varied setting's name (`train_size` for a learning curve).
    pub param: String,
    /// `accuracy` (classifiers) or `r2` (regressors): higher is better.
    pub metric: &'static str,
    /// Number of folds.
    pub folds: usize,
    /// One point per value, in the order given.
    pub points: Vec<CurvePoint>,
}

impl Curve {
    /// Every number as JSON: per point the value, training rows, per-fold scores and losses,
    /// means and standard deviations.
    pub fn to_json(&self) -> Value {
        let points: Vec<Value> = self
            .points
            .iter()
            .map(|p| {
                let (tm, ts) = p.train();
                let (vm, vs) = p.val();
                json!({
                    "value": p.value, "train_rows": p.train_rows,
                    "train_score_mean": tm, "train_score_std": ts,
                    "val_score_mean": vm, "val_score_std": vs,
                    "train_scores": p.train_scores, "val_scores": p.val_scores,
                    "train_losses": p.train_losses, "val_losses": p.val_losses,
                })
            })
            .collect();
        json!({"param": self.param, "metric": self.metric, "folds": self.folds, "points": points})
    }

    /// One CSV row per value and fold: `param,fold,train_rows,train_score,val_score,
    /// train_loss,val_loss` (the header names the setting).
    pub fn to_csv(&self) -> String {
        let mut s = format!(
            "{},fold,train_rows,train_{m},val_{m},train_loss,val_loss\n",
            self.param,
            m = self.metric
        );
        for p in &self.points {
            for f in 0..p.val_scores.len() {
                s.push_str(&format!(
                    "{},{f},{},{},{},{},{}\n",
                    p.value,
                    p.train_rows,
                    p.train_scores[f],
                    p.val_scores[f],
                    p.train_losses[f],
                    p.val_losses[f]
                ));
            }
        }
        s
    }
}

/// One fit to run: a configuration and its fold's rows.
struct Job {
    point: usize,
    config: FitConfig,
    train: Vec<usize>,
    /// Index of the fold whose rows are the validation rows.
    fold: usize,
}

/// Training scores and validation scores of `config` with setting `param` at each of `values`
/// (config.json names, see [`super::setting`]), over k folds of `data`'s training split.
///
/// Each fold's model is fitted with [`fit`] on the other folds (no validation split, so
/// nothing is selected on the fold being scored) and scored on both. The preprocessing is the
/// one `data` fitted on its whole training split. Fits run in parallel over values and folds;
/// each fit is deterministic, so the curve is the same at any thread count. `progress(done,
/// total)` is called after each fit.
///
/// Errors, before any fit: an unknown setting or a bad value (naming it), no values, bad
/// fold counts (see [`k_fold`]); then the first failing fit's error in (value, fold) order.
pub fn validation_curve(
    config: &FitConfig,
    data: &FitData,
    param: &str,
    values: &[String],
    options: CurveOptions,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<Curve> {
    if values.is_empty() {
        return Err(Error::invalid("values", "[]", "at least one value"));
    }
    let configs = values
        .iter()
        .map(|v| with_setting(config, param, v))
        .collect::<Result<Vec<_>>>()?;
    // A setting the model ignores would give a flat curve: say so instead.
    let field = if super::setting::DERIVED.contains(&param) {
        "hidden"
    } else {
        param
    };
    if let Some((_, why)) = configs[0]
        .unused_settings(data)
        .into_iter()
        .find(|(name, _)| *name == field)
    {
        return Err(Error::invalid(
            "param",
            param,
            &format!("a setting the model uses ({why})"),
        ));
    }
    let folds = folds_of(data, options)?;
    let n = data.train_rows.n_rows();
    let mut jobs = Vec::new();
    for (point, c) in configs.iter().enumerate() {
        for (fold, val) in folds.iter().enumerate() {
            jobs.push(Job {
                point,
                config: c.clone(),
                train: complement(n, val),
                fold,
            });
        }
    }
    run(data, param, values.to_vec(), &folds, jobs, progress)
}

/// Scores against the training-set size: for each fraction in `sizes` (in (0, 1], of a
/// fold's training rows; scikit-learn's default is 0.1, 0.325, 0.55, 0.775, 1.0), fits on the
/// first `floor(fraction · rows)` training rows of each fold and scores on them and on the
/// fold's validation rows (scikit-learn's `learning_curve`; with `shuffle_seed`, the fold's
/// training rows are shuffled first, as its `shuffle=True`). As [`validation_curve`] otherwise.
///
/// Errors: a fraction outside (0, 1] or giving no rows (naming it), a classification subset
/// with a single class (suggesting shuffling), and those of
/// [`validation_curve`].
pub fn learning_curve(
    config: &FitConfig,
    data: &FitData,
    sizes: &[f64],
    options: CurveOptions,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<Curve> {
    if sizes.is_empty() {
        return Err(Error::invalid("sizes", "[]", "at least one size"));
    }
    config.validate()?;
    let folds = folds_of(data, options)?;
    let n = data.train_rows.n_rows();
    let min_train = folds.iter().map(|v| n - v.len()).min().unwrap_or(0);
    let mut jobs = Vec::new();
    let mut labels = Vec::new();
    for (point, &frac) in sizes.iter().enumerate() {
        let rows = (frac * min_train as f64).floor() as usize;
        if !(frac > 0.0 && frac <= 1.0) || rows == 0 {
            return Err(Error::invalid(
                "sizes",
                frac,
                &format!(
                    "fractions in (0, 1] of a fold's {min_train} training rows, giving at least one row"
                ),
            ));
        }
        labels.push(rows.to_string());
        for (f, val) in folds.iter().enumerate() {
            let mut train = complement(n, val);
            if let Some(seed) = options.shuffle_seed {
                // scikit-learn's learning_curve(shuffle=True): the fold's training rows in a
                // seeded order before taking the first ones.
                Rng::new(seed, &format!("learning-curve-fold-{f}")).shuffle(&mut train);
            }
            train.truncate(rows);
            if let Target::Classes(labels) = data.train_rows.target() {
                if train.iter().all(|&i| labels[i] == labels[train[0]]) {
                    return Err(Error::invalid(
                        "sizes",
                        frac,
                        &format!(
                            "sizes whose rows hold at least two classes: the first {rows} training rows of fold {} are all one class; shuffle the rows (--shuffle) or use larger sizes",
                            f + 1
                        ),
                    ));
                }
            }
            jobs.push(Job {
                point,
                config: config.clone(),
                train,
                fold: f,
            });
        }
    }
    run(data, "train_size", labels, &folds, jobs, progress)
}

fn folds_of(data: &FitData, options: CurveOptions) -> Result<Vec<Vec<usize>>> {
    let n = data.train_rows.n_rows();
    let labels = match data.train_rows.target() {
        Target::Classes(c) => Some(c.as_slice()),
        _ => None,
    };
    k_fold(n, options.folds, labels, options.shuffle_seed)
}

fn run(
    data: &FitData,
    param: &str,
    values: Vec<String>,
    folds: &[Vec<usize>],
    jobs: Vec<Job>,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<Curve> {
    // Each fold's validation split, built once for every value.
    let val_splits = folds
        .iter()
        .map(|val| to_split(&data.train_rows.select(val)?))
        .collect::<Result<Vec<_>>>()?;
    let done = AtomicUsize::new(0);
    let total = jobs.len();
    let results: Vec<Result<(f64, f64, f64, f64)>> = jobs
        .par_iter()
        .map(|job| {
            let fold = fold_data(data, &job.train)?;
            let model = fit(&job.config, &fold)?;
            // `fit` scores the model on its training rows when there is no test split.
            let metrics = &model.config.metrics;
            let (train_loss, train_score) = match (
                metrics.get("train_loss"),
                metrics.get(&format!("train_{}", model.metric_name())),
            ) {
                (Some(&l), Some(&s)) => (l, s),
                _ => model.evaluate(&fold.train)?,
            };
            let (val_loss, val_score) = model.evaluate(&val_splits[job.fold])?;
            if let Some(p) = progress {
                p(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            }
            Ok((train_score, val_score, train_loss, val_loss))
        })
        .collect();
    let metric = if data.classes().is_some() {
        "accuracy"
    } else {
        "r2"
    };
    let mut points: Vec<CurvePoint> = values
        .into_iter()
        .map(|value| CurvePoint {
            value,
            train_rows: 0,
            train_scores: Vec::new(),
            val_scores: Vec::new(),
            train_losses: Vec::new(),
            val_losses: Vec::new(),
        })
        .collect();
    for (job, r) in jobs.iter().zip(results) {
        let (ts, vs, tl, vl) = r?;
        let p = &mut points[job.point];
        p.train_rows = job.train.len();
        p.train_scores.push(ts);
        p.val_scores.push(vs);
        p.train_losses.push(tl);
        p.val_losses.push(vl);
    }
    Ok(Curve {
        param: param.to_string(),
        metric,
        folds: folds.len(),
        points,
    })
}

/// `data` with its training split cut to `train` and no validation or test split.
fn fold_data(data: &FitData, train: &[usize]) -> Result<FitData> {
    let train_rows = data.train_rows.select(train)?;
    Ok(FitData {
        source: data.source.clone(),
        options: data.options.clone(),
        train: to_split(&train_rows)?,
        val: None,
        test: None,
        preprocessing: data.preprocessing.clone(),
        train_rows,
        guessed_categorical: Vec::new(),
    })
}
