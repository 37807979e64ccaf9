//! Learning-rate schedules: the learning rate as a function of the step.
//!
//! `step` is the number of optimizer steps already taken (0 for the first step), the convention
//! of PyTorch's `LRScheduler` (`last_epoch`), Hugging Face's `LambdaLR` schedules and nanoGPT's
//! `get_lr(it)`. Call `opt.set_learning_rate(schedule.lr_at(base_lr, opt.steps()))` before each
//! `opt.step`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A learning-rate schedule. Computed in f64 from a closed form (no accumulated rounding).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// The base learning rate at every step.
    Constant,
    /// `torch.optim.lr_scheduler.StepLR`: base · γ^⌊step / step_size⌋.
    Step {
        /// Steps between decays, > 0.
        step_size: u64,
        /// Multiplicative decay, finite and > 0 (usually < 1).
        gamma: f64,
    },
    /// Linear warmup then cosine decay (nanoGPT's `get_lr`; Hugging Face's
    /// `get_cosine_with_min_lr_schedule_with_warmup` with an absolute minimum):
    ///
    /// ```text
    /// step < warmup:          base · step / warmup
    /// warmup <= step < total: min + (base − min) · ½(1 + cos(π · (step − warmup) / (total − warmup)))
    /// step >= total:          min
    /// ```
    CosineWithWarmup {
        /// Steps of linear warmup from 0 to the base rate (0: none).
        warmup_steps: u64,
        /// Step at which the decay reaches `min_lr`; >= `warmup_steps`.
        total_steps: u64,
        /// Floor of the decay (nanoGPT uses base/10), finite and >= 0.
        min_lr: f64,
    },
}

impl LrSchedule {
    /// Checks the schedule's parameters; the error names the parameter, value and allowed range.
    pub fn validate(&self) -> Result<()> {
        match *self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Step { step_size, gamma } => {
                if step_size == 0 {
                    return Err(Error::invalid("step_size", step_size, ">= 1"));
                }
                if !(gamma.is_finite() && gamma > 0.0) {
                    return Err(Error::invalid("gamma", gamma, "finite and > 0"));
                }
                Ok(())
            }
            LrSchedule::CosineWithWarmup {
                warmup_steps,
                total_steps,
                min_lr,
            } => {
                if total_steps < warmup_steps {
                    return Err(Error::invalid(
                        "total_steps",
                        total_steps,
                        &format!(">= warmup_steps ({warmup_steps})"),
                    ));
                }
                if !(min_lr.is_finite() && min_lr >= 0.0) {
                    return Err(Error::invalid("min_lr", min_lr, "finite and >= 0"));
                }
                Ok(())
            }
        }
    }

    /// The learning rate for the step taken after `step` steps, from `base_lr`.
    pub fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        match *self {
            LrSchedule::Constant => base_lr,
            LrSchedule::Step { step_size, gamma } => {
                let decays = step / step_size.max(1);
                base_lr * gamma.powf(decays as f64)
            }
            LrSchedule::CosineWithWarmup {
                warmup_steps,
                total_steps,
                min_lr,
            } => {
                if step < warmup_steps {
                    return base_lr * step as f64 / warmup_steps as f64;
                }
                if step >= total_steps {
                    return min_lr;
                }
                let progress = (step - warmup_steps) as f64 / (total_steps - warmup_steps) as f64;
                let coeff = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                min_lr + coeff * (base_lr - min_lr)
            }
        }
    }
}
