//! Optimizers, learning-rate schedules, gradient clipping and gradient accumulation.
//!
//! The optimizers follow `torch.optim` with `foreach=False` (the single-tensor code path of
//! torch 2.x, `torch/optim/sgd.py` and `torch/optim/adam.py`), element for element: the same
//! order of operations, hyperparameters held as f64 (Python floats) and rounded to f32 where
//! PyTorch rounds them. Each parameter is updated in one fused pass that reads the gradient and
//! writes the moment buffers and the parameter together.
//!
//! - [`Sgd`]: SGD with momentum, dampening, Nesterov momentum and L2 weight decay.
//! - [`Adam`]: Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient.
//! - [`AdamW`]: Adam with decoupled weight decay (Loshchilov & Hutter, 2019).
//! - [`LrSchedule`]: constant, step decay (`StepLR`) and linear warmup + cosine decay.
//! - [`clip_grad_norm`]: global L2-norm clipping as `torch.nn.utils.clip_grad_norm_`.
//! - [`GradAccumulator`]: micro-batch gradient accumulation that equals the full-batch gradient.
//!
//! A training step reads:
//! ```no_run
//! # use learnable::{ParamStore, Result};
//! # use learnable::optim::{AdamW, AdamWConfig, LrSchedule, Optimizer, clip_grad_norm};
//! # fn forward_backward(store: &mut ParamStore) -> Result<()> { Ok(()) }
//! # fn main() -> Result<()> {
//! # let mut store = ParamStore::new();
//! let mut opt = AdamW::new(AdamWConfig { learning_rate: 3e-4, ..Default::default() })?;
//! let schedule = LrSchedule::CosineWithWarmup { warmup_steps: 100, total_steps: 1000, min_lr: 3e-5 };
//! for step in 0..1000 {
//!     store.zero_grad();
//!     forward_backward(&mut store)?; // tape.backward + store.accumulate
//!     clip_grad_norm(&mut store, 1.0)?;
//!     opt.set_learning_rate(schedule.lr_at(3e-4, step))?;
//!     opt.step(&mut store)?;
//! }
//! # Ok(()) }
//! ```

pub mod accumulate;
pub mod adam;
pub mod clip;
pub mod schedule;
pub mod sgd;
pub mod state;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use accumulate::GradAccumulator;
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use clip::{clip_grad_norm, grad_norm};
pub use schedule::LrSchedule;
pub use sgd::{Sgd, SgdConfig};

use crate::error::{Error, Result};
use crate::param::ParamStore;

/// Elements per parallel chunk of an update. A parameter with at most this many elements is
/// updated on the calling thread; a larger one in chunks of this size on the rayon pool. The
/// update is elementwise, so the result does not depend on the number of threads.
pub(crate) const UPDATE_CHUNK: usize = 1 << 15;

/// The default base learning rate of every optimizer and of the training loop (PyTorch's
/// default for Adam, AdamW and, since 2.0, SGD).
pub const DEFAULT_LEARNING_RATE: f64 = 1e-3;

/// True if a tensor of `n` elements is worth updating in parallel.
pub(crate) fn parallel_update(n: usize) -> bool {
    n > UPDATE_CHUNK && rayon::current_num_threads() > 1
}

/// An optimizer: updates every trainable parameter of a [`ParamStore`] from its gradient buffer.
///
/// Gradients are read as accumulated by [`ParamStore::accumulate`]; the optimizer does not zero
/// them (call [`ParamStore::zero_grad`] before the next forward pass, as in PyTorch).
pub trait Optimizer {
    /// Takes one step (the `steps() + 1`-th) on every trainable parameter.
    ///
    /// Errors: [`Error::NonFinite`] naming the step and the first parameter whose gradient holds
    /// NaN or infinity (nothing is updated then); [`Error::Other`] if the store is not the one
    /// the optimizer's state was built for (different names or shapes).
    fn step(&mut self, store: &mut ParamStore) -> Result<()>;

    /// The learning rate used by the next step.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate for the next steps (e.g. from an [`LrSchedule`]). Zero is allowed
    /// (the first warmup step); errors with [`Error::InvalidArgument`] if negative or not finite.
    fn set_learning_rate(&mut self, lr: f64) -> Result<()>;

    /// Number of steps taken so far.
    fn steps(&self) -> u64;

    /// Saves the step count, learning rate and moment buffers to a safetensors file (atomically),
    /// buffers named `<slot>.<parameter>`, e.g. `exp_avg.layers.0.weight`.
    fn save_state(&self, path: &Path) -> Result<()>;

    /// Restores what [`Optimizer::save_state`] wrote. Every buffer must belong to a trainable
    /// parameter of `store` with the same shape, and every trainable parameter must have its
    /// buffers once a step has been taken; otherwise [`Error::Format`] names the file and the
    /// mismatch and the optimizer is left unchanged.
    fn load_state(&mut self, path: &Path, store: &ParamStore) -> Result<()>;
}

/// The configuration of any optimizer, for configs saved as JSON
/// (`{"kind": "adamw", "learning_rate": 0.001, ...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// [`Sgd`].
    Sgd(SgdConfig),
    /// [`Adam`].
    Adam(AdamConfig),
    /// [`AdamW`].
    AdamW(AdamWConfig),
}

impl OptimizerConfig {
    /// Builds the optimizer; errors as the optimizer's `new`.
    pub fn build(&self) -> Result<Box<dyn Optimizer + Send>> {
        Ok(match self {
            OptimizerConfig::Sgd(c) => Box::new(Sgd::new(c.clone())?),
            OptimizerConfig::Adam(c) => Box::new(Adam::new(c.clone())?),
            OptimizerConfig::AdamW(c) => Box::new(AdamW::new(c.clone())?),
        })
    }

    /// The configured base learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd(c) => c.learning_rate,
            OptimizerConfig::Adam(c) => c.learning_rate,
            OptimizerConfig::AdamW(c) => c.learning_rate,
        }
    }
}

/// Checks a learning rate given at construction: finite and > 0.
pub(crate) fn check_learning_rate(lr: f64) -> Result<()> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(Error::invalid("learning_rate", lr, "finite and > 0"));
    }
    Ok(())
}

/// Checks a learning rate set during training (schedules may give 0): finite and >= 0.
pub(crate) fn check_scheduled_learning_rate(lr: f64) -> Result<()> {
    if !(lr.is_finite() && lr >= 0.0) {
        return Err(Error::invalid("learning_rate", lr, "finite and >= 0"));
    }
    Ok(())
}

/// Checks `0 <= value < 1` (momentum, betas).
pub(crate) fn check_unit_interval(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && (0.0..1.0).contains(&value)) {
        return Err(Error::invalid(name, value, "[0, 1)"));
    }
    Ok(())
}

/// Checks a weight decay: finite and >= 0.
pub(crate) fn check_weight_decay(value: f64) -> Result<()> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(Error::invalid("weight_decay", value, "finite and >= 0"));
    }
    Ok(())
}
