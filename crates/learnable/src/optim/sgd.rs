//! Stochastic gradient descent with momentum, as `torch.optim.SGD(foreach=False)`.
//!
//! Per step, for every trainable parameter θ with gradient g (torch/optim/sgd.py,
//! `_single_tensor_sgd`):
//!
//! ```text
//! g ← g + λ·θ                          if weight_decay λ ≠ 0
//! if momentum μ ≠ 0:
//!     b ← g                            on the parameter's first step (no dampening)
//!     b ← μ·b + (1 − τ)·g              afterwards (dampening τ)
//!     g ← g + μ·b   if nesterov,  else  g ← b
//! θ ← θ − lr·g
//! ```

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::state::{SlotState, StateHeader};
use super::{Optimizer, UPDATE_CHUNK, parallel_update};
use super::{
    check_learning_rate, check_scheduled_learning_rate, check_unit_interval, check_weight_decay,
};
use crate::error::{Error, Result};
use crate::param::{ParamId, ParamStore, Parameter};

/// Hyperparameters of [`Sgd`]; the defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdConfig {
    /// Step size (PyTorch default 1e-3). Must be finite and > 0.
    pub learning_rate: f64,
    /// Momentum factor μ in [0, 1); 0 (the default) is plain SGD and keeps no buffer.
    pub momentum: f64,
    /// Dampening τ of the momentum update (default 0); the first step is never dampened.
    pub dampening: f64,
    /// Nesterov momentum (default false); needs momentum > 0 and dampening 0.
    pub nesterov: bool,
    /// L2 penalty λ added to the gradient as λ·θ (default 0). Must be >= 0.
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            learning_rate: super::DEFAULT_LEARNING_RATE,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl SgdConfig {
    /// Checks every hyperparameter; the error names it, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_learning_rate(self.learning_rate)?;
        check_unit_interval("momentum", self.momentum)?;
        if !(self.dampening.is_finite() && (0.0..=1.0).contains(&self.dampening)) {
            return Err(Error::invalid("dampening", self.dampening, "[0, 1]"));
        }
        check_weight_decay(self.weight_decay)?;
        if self.nesterov && self.momentum <= 0.0 {
            return Err(Error::invalid(
                "momentum",
                self.momentum,
                "> 0 when nesterov is true",
            ));
        }
        if self.nesterov && self.dampening != 0.0 {
            return Err(Error::invalid(
                "dampening",
                self.dampening,
                "0 when nesterov is true",
            ));
        }
        Ok(())
    }
}

/// SGD with momentum. See the module documentation for the update.
#[derive(Clone, Debug)]
pub struct Sgd {
    config: SgdConfig,
    lr: f64,
    step: u64,
    state: SlotState,
}

/// The update's scalars, rounded to f32 as PyTorch rounds Python floats for f32 tensors.
#[derive(Clone, Copy)]
struct Scalars {
    lr: f32,
    momentum: f32,
    one_minus_dampening: f32,
    weight_decay: f32,
    nesterov: bool,
}

impl Sgd {
    /// Slot names of the state file (PyTorch's state key).
    const SLOTS: &'static [&'static str] = &["momentum_buffer"];

    /// A new optimizer; errors with [`Error::InvalidArgument`] if the config is invalid.
    pub fn new(config: SgdConfig) -> Result<Self> {
        config.validate()?;
        let slots: &'static [&'static str] = if config.momentum != 0.0 {
            Self::SLOTS
        } else {
            &[]
        };
        Ok(Sgd {
            lr: config.learning_rate,
            config,
            step: 0,
            state: SlotState::new("sgd", slots),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The momentum buffer of parameter `name`, once it has been updated.
    pub fn momentum_buffer(&self, name: &str) -> Option<&crate::Tensor> {
        self.state.buffer("momentum_buffer", name)
    }
}

/// One fused pass over a parameter: `p` value, `g` gradient, `buf` momentum buffer (empty when
/// momentum is 0), `first` on the parameter's first step.
fn update(p: &mut [f32], g: &[f32], buf: &mut [f32], first: bool, s: Scalars) {
    if buf.is_empty() {
        for (p, &g) in p.iter_mut().zip(g) {
            let d = if s.weight_decay != 0.0 {
                g + s.weight_decay * *p
            } else {
                g
            };
            *p += -s.lr * d;
        }
        return;
    }
    for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
        let d = if s.weight_decay != 0.0 {
            g + s.weight_decay * *p
        } else {
            g
        };
        *b = if first {
            d
        } else {
            *b * s.momentum + s.one_minus_dampening * d
        };
        let d = if s.nesterov { d + s.momentum * *b } else { *b };
        *p += -s.lr * d;
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, store: &mut ParamStore) -> Result<()> {
        let t = self.step + 1;
        store.check_grads_finite(t)?;
        self.state.check_store(store)?;
        let c = &self.config;
        let s = Scalars {
            lr: self.lr as f32,
            momentum: c.momentum as f32,
            one_minus_dampening: (1.0 - c.dampening) as f32,
            weight_decay: c.weight_decay as f32,
            nesterov: c.nesterov,
        };
        for i in 0..store.len() {
            let id = ParamId(i);
            if !store.get(id).trainable {
                continue;
            }
            let first = self.state.ensure(id, store.get(id));
            let s = Scalars {
                weight_decay: if store.get(id).weight_decay {
                    s.weight_decay
                } else {
                    0.0
                },
                ..s
            };
            let Parameter { value, grad, .. } = store.get_mut(id);
            let (p, g) = (value.data_mut(), grad.data());
            let buf: &mut [f32] = match self.state.bufs_mut(id) {
                [b] => b.data_mut(),
                _ => &mut [],
            };
            if parallel_update(p.len()) && !buf.is_empty() {
                p.par_chunks_mut(UPDATE_CHUNK)
                    .zip(g.par_chunks(UPDATE_CHUNK))
                    .zip(buf.par_chunks_mut(UPDATE_CHUNK))
                    .for_each(|((p, g), b)| update(p, g, b, first, s));
            } else if parallel_update(p.len()) {
                p.par_chunks_mut(UPDATE_CHUNK)
                    .zip(g.par_chunks(UPDATE_CHUNK))
                    .for_each(|(p, g)| update(p, g, &mut [], first, s));
            } else {
                update(p, g, buf, first, s);
            }
        }
        self.step = t;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        check_scheduled_learning_rate(lr)?;
        self.lr = lr;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.step
    }

    fn save_state(&self, path: &Path) -> Result<()> {
        let header = StateHeader {
            step: self.step,
            learning_rate: self.lr,
        };
        let config =
            serde_json::to_string(&self.config).map_err(|e| Error::Other(e.to_string()))?;
        self.state.save(path, &header, config)
    }

    fn load_state(&mut self, path: &Path, store: &ParamStore) -> Result<()> {
        let header = self.state.load(path, store)?;
        self.step = header.step;
        self.lr = header.learning_rate;
        Ok(())
    }
}
