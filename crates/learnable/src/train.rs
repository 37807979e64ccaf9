//! One training loop for every gradient-trained model.
//!
//! Epochs over seeded mini-batches: forward, loss, backward, optional gradient clipping, an
//! optimizer step with the scheduled learning rate; after each epoch, validation loss and
//! metric, early stopping on validation loss with patience, and a hook for checkpoints. The loop
//! is plain and top-to-bottom, as nanoGPT's `train.py`.
//!
//! Determinism and resume: the shuffle order of epoch `e` comes from the stream
//! `shuffle-epoch-{e}` of the seed and dropout masks from `dropout-epoch-{e}`, so a run resumed
//! after epoch `k` (parameters, optimizer state and [`TrainState`] restored) ends at exactly the
//! same parameters as an uninterrupted run.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::loss::CrossEntropyOptions;
use crate::optim::{LrSchedule, Optimizer};
use crate::param::ParamStore;
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// A model the loop can train: a forward pass from a `[batch, features]` input.
pub trait Model {
    /// Outputs (logits or predictions) `[batch, outputs]` for `x` `[batch, features]`.
    fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: Var,
        rng: &mut Rng,
    ) -> Result<Var>;
}

impl Model for crate::models::mlp::Mlp {
    fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: Var,
        rng: &mut Rng,
    ) -> Result<Var> {
        crate::models::mlp::Mlp::forward(self, tape, store, x, rng)
    }
}

/// What the model is trained to predict.
#[derive(Clone, Debug)]
pub enum Targets {
    /// Class indices in `0..n_classes`, one per row; loss: softmax cross-entropy; metric: accuracy.
    Classes(Vec<usize>),
    /// Real values `[rows, outputs]`; loss: mean squared error; metric: R².
    Values(Tensor),
}

impl Targets {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.rows(),
        }
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn gather(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Classes(c) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(gather_rows(v, idx)),
        }
    }
}

/// A set of rows: inputs `x` `[rows, features]` and their targets.
#[derive(Clone, Debug)]
pub struct Split {
    /// Inputs `[rows, features]`.
    pub x: Tensor,
    /// Targets, one per row.
    pub y: Targets,
}

impl Split {
    /// Checks that `x` is 2-D and has as many rows as `y`.
    pub fn new(x: Tensor, y: Targets) -> Result<Self> {
        if x.ndim() != 2 || x.rows() != y.len() {
            return Err(Error::shape(
                "Split::new",
                format!("[{}, features]", y.len()),
                x.shape(),
            ));
        }
        Ok(Split { x, y })
    }
}

/// Copies the rows `idx` of a `[rows, d]` tensor.
pub fn gather_rows(x: &Tensor, idx: &[usize]) -> Tensor {
    let d = x.last_dim();
    let mut out = Vec::with_capacity(idx.len() * d);
    for &i in idx {
        out.extend_from_slice(x.row(i));
    }
    let mut shape = x.shape().to_vec();
    shape[0] = idx.len();
    Tensor::new(out, &shape).expect("gather_rows shape")
}

/// Hyperparameters of the loop (the optimizer is built by the caller).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training rows. Default 30.
    pub epochs: usize,
    /// Rows per mini-batch (the last batch of an epoch may be smaller). Default 64.
    pub batch_size: usize,
    /// Base learning rate; the schedule scales it per step.
    pub learning_rate: f64,
    /// Learning-rate schedule over optimizer steps.
    pub schedule: LrSchedule,
    /// Stop after this many epochs without a better validation loss (None: never).
    pub patience: Option<usize>,
    /// Clip the global gradient norm to this value (None: no clipping).
    pub max_grad_norm: Option<f32>,
    /// Label smoothing for cross-entropy, in [0, 1). Default 0.
    pub label_smoothing: f32,
    /// Seed of the shuffling and dropout streams.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 64,
            learning_rate: 1e-3,
            schedule: LrSchedule::Constant,
            patience: None,
            max_grad_norm: None,
            label_smoothing: 0.0,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Validates every field; errors name the field, value and allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", 0, ">= 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, ">= 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::invalid(
                "learning_rate",
                self.learning_rate,
                "> 0 and finite",
            ));
        }
        self.schedule.validate()?;
        if let Some(m) = self.max_grad_norm {
            if !(m.is_finite() && m > 0.0) {
                return Err(Error::invalid("max_grad_norm", m, "> 0 and finite"));
            }
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(Error::invalid(
                "label_smoothing",
                self.label_smoothing,
                "[0, 1)",
            ));
        }
        Ok(())
    }
}

/// One row of history.csv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by rows).
    pub train_loss: f64,
    /// Training accuracy (classification) or R² (regression) over the epoch's batches.
    pub train_metric: f64,
    /// Validation loss, if there is a validation split.
    pub val_loss: Option<f64>,
    /// Validation accuracy or R².
    pub val_metric: Option<f64>,
    /// Mean over the epoch's steps of the global L2 norm of the gradient (before clipping):
    /// how large the updates' direction vectors were.
    #[serde(default)]
    pub grad_norm: f64,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// Everything besides parameters and optimizer state needed to resume training.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer steps taken.
    pub global_step: u64,
    /// Per-epoch records so far.
    pub history: Vec<EpochRecord>,
    /// Best validation loss so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Epochs since the best validation loss.
    pub epochs_without_improvement: usize,
    /// Why training ended, once it has.
    pub stop_reason: Option<String>,
}

impl TrainState {
    /// The history as CSV text (header: epoch,train_loss,train_metric,val_loss,val_metric,grad_norm,learning_rate,seconds).
    pub fn history_csv(&self) -> String {
        let mut s = String::from(
            "epoch,train_loss,train_metric,val_loss,val_metric,grad_norm,learning_rate,seconds\n",
        );
        let opt = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
        for r in &self.history {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{:.3}\n",
                r.epoch,
                r.train_loss,
                r.train_metric,
                opt(r.val_loss),
                opt(r.val_metric),
                r.grad_norm,
                r.learning_rate,
                r.seconds
            ));
        }
        s
    }
}

/// What a checkpoint restores besides parameters and optimizer state.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// The loop's state after the last completed epoch.
    pub state: TrainState,
    /// Parameters of the best epoch so far (by validation loss), if any.
    pub best: Option<ParamStore>,
}

/// Receives progress; the CLI draws a progress bar and writes checkpoints from here.
pub trait Observer {
    /// After each optimizer step (1-based `step` within the epoch of `steps` steps).
    fn on_step(&mut self, _epoch: usize, _step: usize, _steps: usize, _loss: f32) {}
    /// After each epoch, with the parameters, the optimizer and the state (for checkpoints).
    /// `is_best` is true when this epoch has the best validation loss so far.
    fn on_epoch(
        &mut self,
        _store: &ParamStore,
        _opt: &dyn Optimizer,
        _state: &TrainState,
        _is_best: bool,
    ) -> Result<()> {
        Ok(())
    }
}

/// An observer that does nothing.
pub struct Silent;
impl Observer for Silent {}

/// The name of the first parameter holding NaN or infinity, if any.
fn first_non_finite(store: &ParamStore) -> Option<String> {
    store
        .named_values()
        .find(|(_, t)| !t.all_finite())
        .map(|(n, _)| n.to_string())
}

/// Loss and metric of one batch.
fn batch_loss<'a>(
    tape: &mut Tape<'a>,
    out: Var,
    y: &Targets,
    cfg: &TrainConfig,
) -> Result<(Var, f64)> {
    match y {
        Targets::Classes(c) => {
            let opts = CrossEntropyOptions {
                label_smoothing: cfg.label_smoothing,
                ..Default::default()
            };
            let loss = tape.cross_entropy(out, c, &opts)?;
            let correct = count_correct(tape.value(out), c);
            Ok((loss, correct as f64))
        }
        Targets::Values(v) => {
            if tape.shape(out) != v.shape() {
                return Err(Error::shape(
                    "mse_loss",
                    crate::error::fmt_shape(tape.shape(out)),
                    v.shape(),
                ));
            }
            let t = tape.input(v.clone());
            let loss = tape.mse_loss(out, t)?;
            Ok((loss, 0.0))
        }
    }
}

/// Number of rows whose argmax equals the class.
pub fn count_correct(logits: &Tensor, classes: &[usize]) -> usize {
    (0..classes.len())
        .filter(|&i| argmax(logits.row(i)) == classes[i])
        .count()
}

/// Index of the largest value (first on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// R² = 1 − SS_res / SS_tot over all outputs (scikit-learn's `r2_score` with uniform averaging
/// for one output).
pub fn r2_score(pred: &Tensor, target: &Tensor) -> f64 {
    let t = target.data();
    let n = t.len().max(1) as f64;
    let mean = t.iter().map(|&v| v as f64).sum::<f64>() / n;
    let ss_tot: f64 = t.iter().map(|&v| (v as f64 - mean).powi(2)).sum();
    let ss_res: f64 = pred
        .data()
        .iter()
        .zip(t)
        .map(|(&p, &v)| (p as f64 - v as f64).powi(2))
        .sum();
    if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// Loss and metric of `model` on a whole split, in inference mode, in batches of `batch_size`.
pub fn evaluate(
    model: &dyn Model,
    store: &ParamStore,
    data: &Split,
    cfg: &TrainConfig,
) -> Result<(f64, f64)> {
    let n = data.y.len();
    if n == 0 {
        return Err(Error::Other("evaluate: the split has no rows".into()));
    }
    let mut loss_sum = 0.0;
    let mut correct = 0.0;
    let mut preds = Vec::new();
    let mut rng = Rng::new(cfg.seed, "eval-unused");
    let bs = cfg.batch_size.max(256);
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(bs) {
        let xb = gather_rows(&data.x, chunk);
        let yb = data.y.gather(chunk);
        let mut tape = Tape::eval();
        let xv = tape.input(xb);
        let out = model.forward(&mut tape, store, xv, &mut rng)?;
        let (loss, c) = batch_loss(&mut tape, out, &yb, cfg)?;
        loss_sum += tape.value(loss).item()? as f64 * chunk.len() as f64;
        correct += c;
        if matches!(data.y, Targets::Values(_)) {
            preds.extend_from_slice(tape.value(out).data());
        }
    }
    let metric = match &data.y {
        Targets::Classes(_) => correct / n as f64,
        Targets::Values(v) => r2_score(&Tensor::new(preds, v.shape())?, v),
    };
    Ok((loss_sum / n as f64, metric))
}

/// Trains `model` (parameters in `store`) with `opt` on `train`, validating on `val`.
///
/// `resume` is `None` for a fresh run, or the state and best parameters saved by a checkpoint
/// (with `store` and `opt` restored from the same checkpoint). On return `store` holds
/// the best parameters by validation loss (when there is a validation split), whatever ended
/// training. A NaN or infinite loss or gradient stops training with an error naming the epoch and
/// step (the parameters of that step are not updated); so does an update that leaves a parameter
/// NaN or infinite, and a NaN or infinite validation loss. In each case the observer has not seen
/// the failing epoch, so its last checkpoint holds finite parameters.
pub fn fit(
    model: &dyn Model,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    train: &Split,
    val: Option<&Split>,
    cfg: &TrainConfig,
    resume: Option<Resume>,
    observer: &mut dyn Observer,
) -> Result<TrainState> {
    let Resume {
        mut state,
        best: mut best_params,
    } = resume.unwrap_or_default();
    cfg.validate()?;
    let n = train.y.len();
    if n == 0 {
        return Err(Error::Other("the training split has no rows".into()));
    }
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    for epoch in state.epochs_done + 1..=cfg.epochs {
        let start = Instant::now();
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(cfg.seed, &format!("shuffle-epoch-{epoch}")).shuffle(&mut order);
        let mut dropout_rng = Rng::new(cfg.seed, &format!("dropout-epoch-{epoch}"));
        let (mut loss_sum, mut metric_sum) = (0.0f64, 0.0f64);
        let mut preds: Vec<f32> = Vec::new();
        let mut targets: Vec<f32> = Vec::new();
        let mut lr = cfg.learning_rate;
        let mut grad_norm_sum = 0.0f64;
        for (step_in_epoch, chunk) in order.chunks(cfg.batch_size).enumerate() {
            let xb = gather_rows(&train.x, chunk);
            let yb = train.y.gather(chunk);
            store.zero_grad();
            let (loss_value, grads) = {
                let mut tape = Tape::train();
                let xv = tape.input(xb);
                let out = model.forward(&mut tape, store, xv, &mut dropout_rng)?;
                let (loss, c) = batch_loss(&mut tape, out, &yb, cfg)?;
                let lv = tape.value(loss).item()?;
                if !lv.is_finite() {
                    return Err(Error::Other(format!(
                        "training stopped: the loss is {lv} at epoch {epoch}, step {} (global step {}); \
                         parameters were not updated at this step. Try a lower learning_rate or --max-grad-norm",
                        step_in_epoch + 1,
                        state.global_step + 1
                    )));
                }
                metric_sum += c;
                if let Targets::Values(v) = &yb {
                    preds.extend_from_slice(tape.value(out).data());
                    targets.extend_from_slice(v.data());
                }
                (lv, tape.backward(loss)?)
            };
            store.accumulate_owned(grads);
            let step = state.global_step + 1;
            grad_norm_sum += match cfg.max_grad_norm {
                Some(max) => crate::optim::clip_grad_norm(store, max)? as f64,
                None => crate::optim::grad_norm(store),
            };
            lr = cfg.schedule.lr_at(cfg.learning_rate, state.global_step);
            opt.set_learning_rate(lr)?;
            opt.step(store).map_err(|e| match e {
                Error::NonFinite { what, name, .. } => Error::Other(format!(
                    "training stopped: non-finite {what} in {name} at epoch {epoch}, step {} (global step {step}); \
                     parameters were not updated",
                    step_in_epoch + 1
                )),
                e => e,
            })?;
            // A finite gradient times a huge learning rate can still overflow a weight; stop
            // here rather than checkpoint it (the next forward pass would only say "NaN loss").
            if let Some(name) = first_non_finite(store) {
                return Err(Error::Other(format!(
                    "training stopped: {name} became NaN or infinite in the update at epoch {epoch}, \
                     step {} (global step {step}, learning rate {lr:e}). Try a lower learning_rate or \
                     --max-grad-norm",
                    step_in_epoch + 1
                )));
            }
            state.global_step = step;
            loss_sum += loss_value as f64 * chunk.len() as f64;
            observer.on_step(epoch, step_in_epoch + 1, steps_per_epoch, loss_value);
        }
        let train_metric = match &train.y {
            Targets::Classes(_) => metric_sum / n as f64,
            Targets::Values(v) => {
                let shape = [targets.len() / v.last_dim().max(1), v.last_dim()];
                r2_score(&Tensor::new(preds, &shape)?, &Tensor::new(targets, &shape)?)
            }
        };
        let (val_loss, val_metric) = match val {
            Some(v) if !v.y.is_empty() => {
                let (l, m) = evaluate(model, store, v, cfg)?;
                (Some(l), Some(m))
            }
            _ => (None, None),
        };
        if let Some(vl) = val_loss.filter(|l| !l.is_finite()) {
            return Err(Error::Other(format!(
                "training stopped: the validation loss is {vl} after epoch {epoch} (global step {}); \
                 the weights diverged. Try a lower learning_rate or --max-grad-norm",
                state.global_step
            )));
        }
        state.history.push(EpochRecord {
            epoch,
            train_loss: loss_sum / n as f64,
            train_metric,
            val_loss,
            val_metric,
            grad_norm: grad_norm_sum / steps_per_epoch as f64,
            learning_rate: lr,
            seconds: start.elapsed().as_secs_f64(),
        });
        state.epochs_done = epoch;
        let mut is_best = false;
        if let Some(vl) = val_loss {
            if state.best.is_none_or(|(b, _)| vl < b) {
                state.best = Some((vl, epoch));
                state.epochs_without_improvement = 0;
                best_params = Some(store.clone());
                is_best = true;
            } else {
                state.epochs_without_improvement += 1;
            }
        }
        let stop = cfg
            .patience
            .is_some_and(|p| state.epochs_without_improvement >= p);
        if stop {
            state.stop_reason = Some(format!(
                "early stopping after epoch {epoch}: no better validation loss for {} epochs",
                state.epochs_without_improvement
            ));
        } else if epoch == cfg.epochs {
            state.stop_reason = Some(format!("completed {epoch} epochs"));
        }
        observer.on_epoch(store, opt, &state, is_best)?;
        if stop {
            break;
        }
    }
    if let Some(best) = best_params {
        // Restore the best weights whatever ended training.
        store.copy_values_from(&best)?;
    }
    Ok(state)
}
