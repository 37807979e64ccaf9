//! Adam and AdamW, as `torch.optim.Adam` / `torch.optim.AdamW` with `foreach=False`,
//! `amsgrad=False`.
//!
//! Per step t (1-based), for every trainable parameter θ with gradient g
//! (torch/optim/adam.py, `_single_tensor_adam`; Kingma & Ba 2015, Loshchilov & Hutter 2019):
//!
//! ```text
//! Adam:   g ← g + λ·θ                      (L2 penalty in the gradient, if λ ≠ 0)
//! AdamW:  θ ← θ·(1 − lr·λ)                 (decoupled decay, if λ ≠ 0)
//! m ← lerp(m, g, 1 − β₁)  = β₁·m + (1 − β₁)·g
//! v ← β₂·v + (1 − β₂)·g·g
//! θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//! ```
//!
//! ε is added outside the square root, after the bias correction of v. The scalar factors are
//! computed in f64 (as PyTorch computes them from Python floats) and rounded to f32 once; `m`
//! uses PyTorch's `lerp` formula, so the rounding follows PyTorch's operation order.

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
use crate::tensor::Tensor;

/// Hyperparameters of [`Adam`]; the defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Step size (default 1e-3). Must be finite and > 0.
    pub learning_rate: f64,
    /// Decay rates (β₁, β₂) of the first and second moment averages, each in [0, 1)
    /// (default (0.9, 0.999), the paper's values).
    pub betas: (f64, f64),
    /// Added to the bias-corrected √v for stability (default 1e-8). Must be > 0.
    pub eps: f64,
    /// L2 penalty λ added to the gradient as λ·θ (default 0). Must be >= 0.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: super::DEFAULT_LEARNING_RATE,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Hyperparameters of [`AdamW`]; the defaults are PyTorch's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// Step size (default 1e-3). Must be finite and > 0.
    pub learning_rate: f64,
    /// Decay rates (β₁, β₂) of the first and second moment averages, each in [0, 1)
    /// (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Added to the bias-corrected √v for stability (default 1e-8). Must be > 0.
    pub eps: f64,
    /// Decoupled weight decay λ: θ ← θ·(1 − lr·λ) each step (default 0.01, PyTorch's). >= 0.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            learning_rate: super::DEFAULT_LEARNING_RATE,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Checks Adam-family hyperparameters; the error names the first bad one.
fn validate(lr: f64, betas: (f64, f64), eps: f64, weight_decay: f64) -> Result<()> {
    check_learning_rate(lr)?;
    check_unit_interval("betas.0", betas.0)?;
    check_unit_interval("betas.1", betas.1)?;
    if !(eps.is_finite() && eps > 0.0) {
        return Err(Error::invalid("eps", eps, "finite and > 0"));
    }
    check_weight_decay(weight_decay)
}

impl AdamConfig {
    /// Checks every hyperparameter; the error names it, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        validate(self.learning_rate, self.betas, self.eps, self.weight_decay)
    }
}

impl AdamWConfig {
    /// Checks every hyperparameter; the error names it, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        validate(self.learning_rate, self.betas, self.eps, self.weight_decay)
    }
}

/// The shared Adam machinery; `decoupled` selects AdamW's weight decay.
#[derive(Clone, Debug)]
struct AdamCore {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    step: u64,
    state: SlotState,
}

/// Scalars of step t, rounded to f32 where PyTorch rounds them.
#[derive(Clone, Copy)]
struct Scalars {
    /// L2 coefficient λ (Adam), 0 for AdamW or no decay.
    l2: f32,
    /// 1 − lr·λ (AdamW), 1 for Adam or no decay.
    decay: f32,
    /// 1 − β₁, the `lerp` weight of the first moment.
    lerp_weight: f32,
    beta2: f32,
    one_minus_beta2: f32,
    /// √(1 − β₂ᵗ).
    bc2_sqrt: f32,
    eps: f32,
    /// −lr / (1 − β₁ᵗ).
    neg_step_size: f32,
}

/// PyTorch's `lerp(a, b, w)` (aten/src/ATen/native/Lerp.h): `a + w·(b − a)` for |w| < 0.5,
/// else `b − (b − a)·(1 − w)`.
#[inline(always)]
fn lerp(a: f32, b: f32, w: f32) -> f32 {
    if w.abs() < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * (1.0 - w)
    }
}

/// One fused pass over a parameter: reads `g`, updates `m`, `v` and `p` together.
///
/// The same loop is compiled for 16-wide vectors (AVX-512F), 8-wide (AVX2) and the baseline,
/// picked by [`crate::kernels::isa::active`]; IEEE arithmetic without contraction (Rust never
/// fuses a multiply and an add on its own) makes every version bit-identical.
fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: Scalars) {
    #[cfg(target_arch = "x86_64")]
    match crate::kernels::isa::active() {
        // SAFETY: `active()` only returns a path the CPU supports.
        crate::kernels::isa::Isa::Avx512 => return unsafe { update_avx512(p, g, m, v, s) },
        // SAFETY: as above (AVX2 and FMA).
        crate::kernels::isa::Isa::Avx2 => return unsafe { update_avx2(p, g, m, v, s) },
        crate::kernels::isa::Isa::Portable => {}
    }
    update_portable(p, g, m, v, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn update_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: Scalars) {
    update_portable(p, g, m, v, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn update_avx512(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: Scalars) {
    update_portable(p, g, m, v, s)
}

/// `x`, or 0 where `|x|` is subnormal (below `f32::MIN_POSITIVE` ≈ 1.2e-38).
///
/// Why: a parameter whose gradient stays 0 (an input pixel that is always 0, a dead ReLU unit,
/// an unused embedding row) has its moments multiplied by β₁ = 0.9 and β₂ = 0.999 every step, and
/// after some hundreds (m) or tens of thousands (v) of steps they become subnormal; x86 CPUs then
/// take a microcode assist on every operation with them, which made this pass 3–10x slower in a
/// measurement (0.37 → 3.5 ms per step for the 269k parameters of the benchmark MLP). Storing 0
/// instead changes the step of `p` by less than `lr · 1.2e-38 / eps` (m) or one part in 1e11 of
/// the denominator (v, whose square root is then below 1.1e-19 next to `eps`), below any weight's
/// last bit.
/// PyTorch keeps the subnormals (unless `torch.set_flush_denormal(True)`); the results are the same
/// until a moment would go subnormal.
#[inline(always)]
fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}

#[inline(always)]
fn update_portable(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: Scalars) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = if s.l2 != 0.0 { g + s.l2 * *p } else { g };
        if s.decay != 1.0 {
            *p *= s.decay;
        }
        *m = flush_subnormal(lerp(*m, g, s.lerp_weight));
        *v = flush_subnormal(*v * s.beta2 + s.one_minus_beta2 * g * g);
        let denom = v.sqrt() / s.bc2_sqrt + s.eps;
        *p += s.neg_step_size * (*m / denom);
    }
}

impl AdamCore {
    const SLOTS: &'static [&'static str] = &["exp_avg", "exp_avg_sq"];

    fn new(
        kind: &'static str,
        lr: f64,
        betas: (f64, f64),
        eps: f64,
        wd: f64,
        decoupled: bool,
    ) -> Self {
        AdamCore {
            lr,
            betas,
            eps,
            weight_decay: wd,
            decoupled,
            step: 0,
            state: SlotState::new(kind, Self::SLOTS),
        }
    }

    fn scalars(&self, t: u64) -> Scalars {
        let (b1, b2) = self.betas;
        let bias_correction1 = 1.0 - b1.powf(t as f64);
        let bias_correction2 = 1.0 - b2.powf(t as f64);
        let wd = self.weight_decay;
        Scalars {
            l2: if self.decoupled { 0.0 } else { wd as f32 },
            decay: if self.decoupled && wd != 0.0 {
                (1.0 - self.lr * wd) as f32
            } else {
                1.0
            },
            lerp_weight: (1.0 - b1) as f32,
            beta2: b2 as f32,
            one_minus_beta2: (1.0 - b2) as f32,
            bc2_sqrt: bias_correction2.sqrt() as f32,
            eps: self.eps as f32,
            neg_step_size: (-(self.lr / bias_correction1)) as f32,
        }
    }

    fn step(&mut self, store: &mut ParamStore) -> Result<()> {
        let t = self.step + 1;
        store.check_grads_finite(t)?;
        self.state.check_store(store)?;
        let s = self.scalars(t);
        let no_decay = Scalars {
            l2: 0.0,
            decay: 1.0,
            ..s
        };
        for i in 0..store.len() {
            let id = ParamId(i);
            if !store.get(id).trainable {
                continue;
            }
            self.state.ensure(id, store.get(id));
            let s = if store.get(id).weight_decay {
                s
            } else {
                no_decay
            };
            let Parameter { value, grad, .. } = store.get_mut(id);
            let (p, g) = (value.data_mut(), grad.data());
            let [m, v] = self.state.bufs_mut(id) else {
                return Err(Error::Other("Adam state has no moment buffers".into()));
            };
            let (m, v) = (m.data_mut(), v.data_mut());
            if parallel_update(p.len()) {
                p.par_chunks_mut(UPDATE_CHUNK)
                    .zip(g.par_chunks(UPDATE_CHUNK))
                    .zip(m.par_chunks_mut(UPDATE_CHUNK))
                    .zip(v.par_chunks_mut(UPDATE_CHUNK))
                    .for_each(|(((p, g), m), v)| update(p, g, m, v, s));
            } else {
                update(p, g, m, v, s);
            }
        }
        self.step = t;
        Ok(())
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        check_scheduled_learning_rate(lr)?;
        self.lr = lr;
        Ok(())
    }

    fn save_state(&self, path: &Path, config: &impl Serialize) -> Result<()> {
        let header = StateHeader {
            step: self.step,
            learning_rate: self.lr,
        };
        let config = serde_json::to_string(config).map_err(|e| Error::Other(e.to_string()))?;
        self.state.save(path, &header, config)
    }

    fn load_state(&mut self, path: &Path, store: &ParamStore) -> Result<()> {
        let header = self.state.load(path, store)?;
        self.step = header.step;
        self.lr = header.learning_rate;
        Ok(())
    }
}

/// Adam with L2 weight decay in the gradient (`torch.optim.Adam`). See the module docs.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    core: AdamCore,
}

/// Adam with decoupled weight decay (`torch.optim.AdamW`). See the module docs.
#[derive(Clone, Debug)]
pub struct AdamW {
    config: AdamWConfig,
    core: AdamCore,
}

impl Adam {
    /// A new optimizer; errors with [`Error::InvalidArgument`] if the config is invalid.
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate()?;
        let c = &config;
        let core = AdamCore::new(
            "adam",
            c.learning_rate,
            c.betas,
            c.eps,
            c.weight_decay,
            false,
        );
        Ok(Adam { config, core })
    }

    /// The configuration.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The first (`exp_avg`) and second (`exp_avg_sq`) moments of parameter `name`, once updated.
    pub fn moments(&self, name: &str) -> Option<(&Tensor, &Tensor)> {
        Some((
            self.core.state.buffer("exp_avg", name)?,
            self.core.state.buffer("exp_avg_sq", name)?,
        ))
    }
}

impl AdamW {
    /// A new optimizer; errors with [`Error::InvalidArgument`] if the config is invalid.
    pub fn new(config: AdamWConfig) -> Result<Self> {
        config.validate()?;
        let c = &config;
        let core = AdamCore::new(
            "adamw",
            c.learning_rate,
            c.betas,
            c.eps,
            c.weight_decay,
            true,
        );
        Ok(AdamW { config, core })
    }

    /// The configuration.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// The first (`exp_avg`) and second (`exp_avg_sq`) moments of parameter `name`, once updated.
    pub fn moments(&self, name: &str) -> Option<(&Tensor, &Tensor)> {
        Some((
            self.core.state.buffer("exp_avg", name)?,
            self.core.state.buffer("exp_avg_sq", name)?,
        ))
    }
}

macro_rules! delegate_optimizer {
    ($t:ty) => {
        impl Optimizer for $t {
            fn step(&mut self, store: &mut ParamStore) -> Result<()> {
                self.core.step(store)
            }
            fn learning_rate(&self) -> f64 {
                self.core.lr
            }
            fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
                self.core.set_learning_rate(lr)
            }
            fn steps(&self) -> u64 {
                self.core.step
            }
            fn save_state(&self, path: &Path) -> Result<()> {
                self.core.save_state(path, &self.config)
            }
            fn load_state(&mut self, path: &Path, store: &ParamStore) -> Result<()> {
                self.core.load_state(path, store)
            }
        }
    };
}

delegate_optimizer!(Adam);
delegate_optimizer!(AdamW);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_parameter_without_gradient_reach_zero_not_subnormals() {
        // m ← 0.9·m and v ← 0.999·v with g = 0: from m = 1e-3, v = 1e-6, m is subnormal after
        // ⌈ln(1.2e-38 / 1e-3) / ln 0.9⌉ = 775 steps and v after 81,000; the f64 recurrence
        // (no flush) is the reference for p, which must come out with the same bits.
        let s = Scalars {
            l2: 0.0,
            decay: 1.0,
            lerp_weight: 0.1,
            beta2: 0.999,
            one_minus_beta2: 0.001,
            bc2_sqrt: 1.0,
            eps: 1e-8,
            neg_step_size: -1e-3,
        };
        let (mut p, mut m, mut v) = ([0.5f32], [1e-3f32], [1e-6f32]);
        let (mut p64, mut m64, mut v64) = (0.5f64, 1e-3f64, 1e-6f64);
        // 850 steps: m64 = 1.2e-42, subnormal in f32 (not yet rounded to 0, which happens below
        // 7e-46, after ~906 steps), so without the flush m would be nonzero here.
        for _ in 0..850 {
            update(&mut p, &[0.0], &mut m, &mut v, s);
            m64 *= 0.9;
            v64 *= 0.999;
            p64 += -1e-3 * m64 / (v64.sqrt() + 1e-8);
        }
        assert_eq!(
            m[0], 0.0,
            "m flushed (f64 value {m64:e} is below f32's normal range)"
        );
        assert!(v[0].is_normal());
        assert!((p[0] as f64 - p64).abs() <= 1e-6, "p {} vs {p64}", p[0]);
        // A normal moment is never touched.
        assert_eq!(flush_subnormal(f32::MIN_POSITIVE), f32::MIN_POSITIVE);
        assert_eq!(flush_subnormal(-1e-39), 0.0);
        assert!(flush_subnormal(f32::NAN).is_nan());
    }
}
