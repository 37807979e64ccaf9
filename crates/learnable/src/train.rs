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
use crate::metrics::{count_correct, r2_tensor};
use crate::models::Model;
use crate::optim::{LrSchedule, Optimizer};
use crate::param::ParamStore;
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

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

    /// The targets of rows `idx`, in that order.
    pub fn gather(&self, idx: &[usize]) -> Targets {
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

/// Where the loop draws its mini-batches from: a set of examples, addressed by index, that
/// gives the model's input and the targets for any subset. [`Split`] (rows of f32 features) is
/// one; a language model's token windows are another. The loop shuffles indices `0..len()`
/// with the seeded stream of each epoch and asks for one batch at a time.
pub trait BatchSource {
    /// The model input of one batch (see [`Model::Input`]).
    type Input;
    /// Number of examples.
    fn len(&self) -> usize;
    /// True if there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The examples `idx` (each `< len()`), in that order, as one batch.
    fn batch(&self, idx: &[usize]) -> Result<(Self::Input, Targets)>;
}

impl BatchSource for Split {
    type Input = Tensor;
    fn len(&self) -> usize {
        self.y.len()
    }
    /// `x` rows `idx` `[idx.len(), features]` and their targets.
    fn batch(&self, idx: &[usize]) -> Result<(Tensor, Targets)> {
        Ok((gather_rows(&self.x, idx), self.y.gather(idx)))
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
    /// Passes over the training rows. Default 40.
    pub epochs: usize,
    /// Rows per mini-batch (the last batch of an epoch may be smaller). Default 32.
    pub batch_size: usize,
    /// Micro-batches of `batch_size` rows per optimizer step (nanoGPT's
    /// `gradient_accumulation_steps`): each micro-batch's gradient is added with weight
    /// `rows / step rows` (1/N when all are full, i.e. the loss divided by N), then clipping and
    /// one optimizer step, so N micro-batches of b rows compute the step of one batch of N·b rows
    /// (up to f32 rounding) in the memory of b. Default 1.
    #[serde(default = "one")]
    pub gradient_accumulation_steps: usize,
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
    /// Per-class weights of the cross-entropy (PyTorch's `CrossEntropyLoss(weight=...)`, one
    /// per class, finite and >= 0); `None`: every class weighs 1. With weights the batch loss is
    /// the weighted mean `Σ w[y_i]·l_i / Σ w[y_i]`.
    #[serde(default)]
    pub class_weight: Option<Vec<f32>>,
    /// Steps per epoch when an epoch is a fixed number of steps rather than one pass over the
    /// examples: each step then draws `batch_size` examples uniformly at random, with
    /// replacement, from the seeded stream `sample-epoch-{epoch}` (nanoGPT's `get_batch`: random
    /// windows of a token stream). Validation, history, checkpoints and early stopping run after
    /// each such epoch (nanoGPT's `eval_interval`). `None` (default): one shuffled pass.
    #[serde(default)]
    pub steps_per_epoch: Option<usize>,
    /// Stop after the first epoch that ends past this many seconds of training in this call
    /// (a wall-clock budget, as `--max-time`); `None` (default): no budget.
    #[serde(default)]
    pub max_seconds: Option<f64>,
    /// Seed of the shuffling and dropout streams.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 40,
            batch_size: 32,
            gradient_accumulation_steps: 1,
            learning_rate: crate::optim::DEFAULT_LEARNING_RATE,
            schedule: LrSchedule::Constant,
            patience: None,
            max_grad_norm: None,
            label_smoothing: 0.0,
            class_weight: None,
            steps_per_epoch: None,
            max_seconds: None,
            seed: 0,
        }
    }
}

fn one() -> usize {
    1
}

impl TrainConfig {
    /// Rows per optimizer step: `batch_size · gradient_accumulation_steps`.
    pub fn step_rows(&self) -> usize {
        self.batch_size
            .saturating_mul(self.gradient_accumulation_steps.max(1))
    }

    /// Validates every field; errors name the field, value and allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", 0, ">= 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, ">= 1"));
        }
        if self.gradient_accumulation_steps == 0 {
            return Err(Error::invalid("gradient_accumulation_steps", 0, ">= 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::invalid(
                "learning_rate",
                self.learning_rate,
                "> 0 and finite",
            ));
        }
        self.schedule.validate()?;
        if self.steps_per_epoch == Some(0) {
            return Err(Error::invalid("steps_per_epoch", 0, ">= 1"));
        }
        if let Some(s) = self.max_seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::invalid("max_seconds", s, "> 0 and finite"));
            }
        }
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

/// Receives the loop's progress: a progress bar draws from it, and the checkpoint writer
/// ([`crate::checkpoint::Checkpointer`]) is one.
pub trait Observer {
    /// Once, before the first epoch of this call; `state.epochs_done > 0` when resuming.
    fn on_start(&mut self, _state: &TrainState) {}
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

/// Two observers in turn (`first` then `second`), e.g. the checkpoint writer and a progress bar.
pub struct Both<'a>(pub &'a mut dyn Observer, pub &'a mut dyn Observer);

impl Observer for Both<'_> {
    fn on_start(&mut self, state: &TrainState) {
        self.0.on_start(state);
        self.1.on_start(state);
    }
    fn on_step(&mut self, epoch: usize, step: usize, steps: usize, loss: f32) {
        self.0.on_step(epoch, step, steps, loss);
        self.1.on_step(epoch, step, steps, loss);
    }
    fn on_epoch(
        &mut self,
        store: &ParamStore,
        opt: &dyn Optimizer,
        state: &TrainState,
        is_best: bool,
    ) -> Result<()> {
        self.0.on_epoch(store, opt, state, is_best)?;
        self.1.on_epoch(store, opt, state, is_best)
    }
}

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
                weight: cfg.class_weight.clone(),
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

/// Loss and metric of `model` on a whole batch source, in inference mode, in batches of
/// `max(batch_size, 256)` examples: the mean loss per example and the accuracy (class targets)
/// or R² (value targets, [`crate::metrics::r2`]).
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty source; errors of the model's forward pass.
pub fn evaluate<M, S>(
    model: &M,
    store: &ParamStore,
    data: &S,
    cfg: &TrainConfig,
) -> Result<(f64, f64)>
where
    M: Model + ?Sized,
    S: BatchSource<Input = M::Input> + ?Sized,
{
    let n = data.len();
    if n == 0 {
        return Err(Error::invalid(
            "rows",
            0,
            ">= 1 (evaluate on an empty split)",
        ));
    }
    let mut loss_sum = 0.0;
    let mut correct = 0.0;
    let mut n_targets = 0usize;
    let (mut preds, mut targets) = (Vec::new(), Vec::new());
    let mut rng = Rng::new(cfg.seed, "eval-unused");
    let bs = cfg.batch_size.max(256);
    let idx: Vec<usize> = (0..n).collect();
    let mut value_shape = None;
    for chunk in idx.chunks(bs) {
        let (xb, yb) = data.batch(chunk)?;
        let mut tape = Tape::eval();
        let out = model.forward(&mut tape, store, xb, &mut rng)?;
        let (loss, c) = batch_loss(&mut tape, out, &yb, cfg)?;
        loss_sum += tape.value(loss).item()? as f64 * chunk.len() as f64;
        correct += c;
        n_targets += yb.len();
        if let Targets::Values(v) = &yb {
            value_shape = Some(v.last_dim());
            preds.extend_from_slice(tape.value(out).data());
            targets.extend_from_slice(v.data());
        }
    }
    let metric = match value_shape {
        None => correct / n_targets.max(1) as f64,
        Some(_) => {
            let p: Vec<f64> = preds.iter().map(|&v| v as f64).collect();
            let t: Vec<f64> = targets.iter().map(|&v| v as f64).collect();
            crate::metrics::r2(&p, &t)
        }
    };
    Ok((loss_sum / n as f64, metric))
}

/// Trains `model` (parameters in `store`) with `opt` on `train`, validating on `val`.
///
/// `resume` is `None` for a fresh run, or the state and best parameters saved by a checkpoint
/// (with `store` and `opt` restored from the same checkpoint). On return `store` holds
/// the best parameters by validation loss (when there is a validation split), whatever ended
/// training.
///
/// # Errors
/// [`Error::InvalidArgument`] for an invalid `cfg` or an empty training source.
/// [`Error::Diverged`] when the loss or a gradient is NaN or infinite (the parameters of that
/// step are not updated), when an update leaves a parameter NaN or infinite, or when the
/// validation loss is not finite; in each case the observer has not seen the failing epoch, so
/// its last checkpoint holds finite parameters. Errors of the observer (a failed checkpoint
/// write) stop training as they are.
#[allow(clippy::too_many_arguments)]
pub fn fit<M, S>(
    model: &M,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    train: &S,
    val: Option<&S>,
    cfg: &TrainConfig,
    resume: Option<Resume>,
    observer: &mut dyn Observer,
) -> Result<TrainState>
where
    M: Model + ?Sized,
    S: BatchSource<Input = M::Input> + ?Sized,
{
    let Resume {
        mut state,
        best: mut best_params,
    } = resume.unwrap_or_default();
    cfg.validate()?;
    let n = train.len();
    if n == 0 {
        return Err(Error::invalid(
            "rows",
            0,
            ">= 1 (the training split is empty)",
        ));
    }
    observer.on_start(&state);
    let started = Instant::now();
    let step_rows = cfg.step_rows();
    let steps_per_epoch = cfg.steps_per_epoch.unwrap_or_else(|| n.div_ceil(step_rows));
    for epoch in state.epochs_done + 1..=cfg.epochs {
        let start = Instant::now();
        let order: Vec<usize> = match cfg.steps_per_epoch {
            None => {
                let mut order: Vec<usize> = (0..n).collect();
                Rng::new(cfg.seed, &format!("shuffle-epoch-{epoch}")).shuffle(&mut order);
                order
            }
            Some(steps) => {
                let mut rng = Rng::new(cfg.seed, &format!("sample-epoch-{epoch}"));
                (0..steps * step_rows)
                    .map(|_| rng.below(n as u64) as usize)
                    .collect()
            }
        };
        let examples = order.len();
        let mut n_targets = 0usize;
        let mut dropout_rng = Rng::new(cfg.seed, &format!("dropout-epoch-{epoch}"));
        let (mut loss_sum, mut metric_sum) = (0.0f64, 0.0f64);
        let mut preds: Vec<f32> = Vec::new();
        let mut targets: Vec<f32> = Vec::new();
        let mut value_width = None;
        let mut lr = cfg.learning_rate;
        let mut grad_norm_sum = 0.0f64;
        for (step_in_epoch, chunk) in order.chunks(step_rows).enumerate() {
            let step = state.global_step + 1;
            let diverged = |detail: String| Error::Diverged {
                epoch,
                step: Some(step_in_epoch + 1),
                detail,
            };
            store.zero_grad();
            // Gradient accumulation: micro-batches of `batch_size` rows, each gradient weighted
            // by its share of the step's rows (one micro-batch, weight 1: no scaling at all).
            let mut step_loss = 0.0f64;
            for micro in chunk.chunks(cfg.batch_size) {
                let (xb, yb) = train.batch(micro)?;
                let weight = micro.len() as f32 / chunk.len() as f32;
                let (lv, mut grads) = {
                    let mut tape = Tape::train();
                    let out = model.forward(&mut tape, store, xb, &mut dropout_rng)?;
                    let (loss, c) = batch_loss(&mut tape, out, &yb, cfg)?;
                    let lv = tape.value(loss).item()?;
                    if !lv.is_finite() {
                        return Err(diverged(format!(
                            "the loss is {lv} (global step {step}; parameters were not updated at this step)"
                        )));
                    }
                    metric_sum += c;
                    n_targets += yb.len();
                    if let Targets::Values(v) = &yb {
                        value_width = Some(v.last_dim());
                        preds.extend_from_slice(tape.value(out).data());
                        targets.extend_from_slice(v.data());
                    }
                    (lv, tape.backward(loss)?)
                };
                if weight != 1.0 {
                    for (_, g) in &mut grads.grads {
                        g.data_mut().iter_mut().for_each(|x| *x *= weight);
                    }
                }
                store.accumulate_owned(grads);
                step_loss += lv as f64 * micro.len() as f64;
            }
            let loss_value = (step_loss / chunk.len() as f64) as f32;
            grad_norm_sum += match cfg.max_grad_norm {
                Some(max) => crate::optim::clip_grad_norm(store, max)? as f64,
                None => crate::optim::grad_norm(store),
            };
            lr = cfg.schedule.lr_at(cfg.learning_rate, state.global_step);
            opt.set_learning_rate(lr)?;
            opt.step(store).map_err(|e| match e {
                Error::NonFinite { what, name, .. } => diverged(format!(
                    "non-finite {what} in {name} (global step {step}; parameters were not updated)"
                )),
                e => e,
            })?;
            // A finite gradient times a huge learning rate can still overflow a weight; stop
            // here rather than checkpoint it (the next forward pass would only say "NaN loss").
            if let Some(name) = first_non_finite(store) {
                return Err(diverged(format!(
                    "{name} became NaN or infinite in the update (global step {step}, learning rate {lr:e})"
                )));
            }
            state.global_step = step;
            loss_sum += step_loss;
            observer.on_step(epoch, step_in_epoch + 1, steps_per_epoch, loss_value);
        }
        let train_metric = match value_width {
            None => metric_sum / n_targets.max(1) as f64,
            Some(w) => {
                let shape = [targets.len() / w.max(1), w];
                r2_tensor(&Tensor::new(preds, &shape)?, &Tensor::new(targets, &shape)?)
            }
        };
        let (val_loss, val_metric) = match val {
            Some(v) if !v.is_empty() => {
                let (l, m) = evaluate(model, store, v, cfg)?;
                (Some(l), Some(m))
            }
            _ => (None, None),
        };
        if let Some(vl) = val_loss.filter(|l| !l.is_finite()) {
            return Err(Error::Diverged {
                epoch,
                step: None,
                detail: format!(
                    "the validation loss is {vl} (global step {})",
                    state.global_step
                ),
            });
        }
        state.history.push(EpochRecord {
            epoch,
            train_loss: loss_sum / examples as f64,
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
        let patience_out = cfg
            .patience
            .is_some_and(|p| state.epochs_without_improvement >= p);
        let time_out = epoch < cfg.epochs
            && cfg
                .max_seconds
                .is_some_and(|s| started.elapsed().as_secs_f64() >= s);
        let stop = patience_out || time_out;
        if patience_out {
            state.stop_reason = Some(format!(
                "early stopping after epoch {epoch}: no better validation loss for {} epochs",
                state.epochs_without_improvement
            ));
        } else if time_out {
            state.stop_reason = Some(format!(
                "stopped after epoch {epoch}: the time budget of {}s is spent",
                cfg.max_seconds.unwrap_or_default()
            ));
        } else if epoch == cfg.epochs {
            state.stop_reason = Some(match cfg.steps_per_epoch {
                Some(_) => format!("completed {} steps", state.global_step),
                None => format!("completed {epoch} epochs"),
            });
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
