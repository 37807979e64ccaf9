//! Elementwise activations: ReLU, GELU (exact erf form and tanh approximation), tanh, sigmoid.
//!
//! Each is a forward kernel and a hand-written backward kernel on tensors of any shape. The
//! formulas are PyTorch's (`torch.relu`, `F.gelu(approximate='none' | 'tanh')`, `torch.tanh`,
//! `torch.sigmoid`); GELU is from Hendrycks & Gimpel, *Gaussian Error Linear Units* (2016), and
//! its tanh form is Hugging Face's `gelu_new` (GPT-2). GELU is evaluated in f64 (with the `libm`
//! crate's `erfc`, a port of FreeBSD's msun, accurate to < 1 ulp) and rounded to f32 once.
//!
//! Determinism: large tensors are split into fixed chunks processed by rayon; every element is
//! computed independently, so the thread count never changes a bit of the result.

use rayon::prelude::*;

use crate::error::Result;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Which GELU formula to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Gelu {
    /// `x·Φ(x) = 0.5·x·(1 + erf(x/√2))`, PyTorch `approximate='none'` (the default).
    #[default]
    Exact,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, PyTorch `approximate='tanh'`, Hugging Face
    /// `gelu_new` (GPT-2).
    Tanh,
}

/// Elements per parallel chunk, and the size below which everything runs on one thread.
const CHUNK: usize = 1 << 13;
const PAR_MIN: usize = 1 << 15;

/// `out[i] = f(x[i])`, in fixed chunks (parallel for large inputs).
pub(crate) fn par_map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    let kernel = |(o, x): (&mut [f32], &[f32])| {
        for (o, &v) in o.iter_mut().zip(x) {
            *o = f(v);
        }
    };
    if x.len() >= PAR_MIN {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(kernel);
    } else {
        kernel((&mut out, x));
    }
    out
}

/// `acc[i] += f(g[i], s[i])`, in fixed chunks (parallel for large inputs).
pub(crate) fn par_add_zip(
    acc: &mut [f32],
    g: &[f32],
    s: &[f32],
    f: impl Fn(f32, f32) -> f32 + Sync,
) {
    let kernel = |((a, g), s): ((&mut [f32], &[f32]), &[f32])| {
        for ((a, &g), &s) in a.iter_mut().zip(g).zip(s) {
            *a += f(g, s);
        }
    };
    if acc.len() >= PAR_MIN {
        acc.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(s.par_chunks(CHUNK))
            .for_each(kernel);
    } else {
        kernel(((acc, g), s));
    }
}

const SQRT_1_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π), the standard normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// √(2/π), the constant of the tanh approximation.
const SQRT_2_PI: f64 = 0.797_884_560_802_865_4;
const GELU_C: f64 = 0.044_715;

/// Exact GELU `x·Φ(x)`, with `Φ(x) = erfc(−x/√2)/2` (no cancellation for negative x).
pub fn gelu_exact(x: f64) -> f64 {
    x * 0.5 * libm::erfc(-x * SQRT_1_2)
}

/// d/dx of exact GELU: `Φ(x) + x·φ(x)`.
pub fn gelu_exact_grad(x: f64) -> f64 {
    0.5 * libm::erfc(-x * SQRT_1_2) + x * INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Tanh-approximate GELU `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
pub fn gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + (SQRT_2_PI * (x + GELU_C * x * x * x)).tanh())
}

/// d/dx of tanh-approximate GELU:
/// `0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)` with `t` the tanh above.
pub fn gelu_tanh_grad(x: f64) -> f64 {
    let t = (SQRT_2_PI * (x + GELU_C * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_PI * (1.0 + 3.0 * GELU_C * x * x)
}

/// Tanh-approximate GELU in f32, as the tape and the GPT compute it: since
/// `0.5·(1 + tanh(u)) = σ(2u)`, `gelu_tanh(x) = x·σ(2u)` with `u = √(2/π)·(x + 0.044715·x³)`,
/// one `exp` in f32 instead of an f64 `tanh` (PyTorch also evaluates it in f32). Within a few
/// ulp of [`gelu_tanh`]. Returns `(gelu, s, 1 − s)` with `s = σ(2u)`, both `s` and `1 − s`
/// from the same `exp` without cancellation (the backward needs `s·(1 − s)`).
#[inline]
pub fn gelu_tanh_f32(x: f32) -> (f32, f32, f32) {
    let z = 2.0 * SQRT_2_PI as f32 * (x + GELU_C as f32 * x * x * x);
    // σ(z) and σ(−z) = 1 − σ(z), never evaluating e^{+large}.
    let e = (-z.abs()).exp();
    let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
    let (s, sc) = if z >= 0.0 { (big, small) } else { (small, big) };
    (x * s, s, sc)
}

/// d/dx of [`gelu_tanh_f32`] from `x`, `s = σ(2u)` and `sc = 1 − s`:
/// `s + x·s·sc·2√(2/π)·(1 + 3·0.044715·x²)`.
#[inline]
pub fn gelu_tanh_grad_f32(x: f32, s: f32, sc: f32) -> f32 {
    s + x * s * sc * (2.0 * SQRT_2_PI as f32) * (1.0 + 3.0 * GELU_C as f32 * x * x)
}

/// Logistic sigmoid `1 / (1 + e^−x)`, stable for large |x| (never evaluates `e^{+large}`).
pub fn sigmoid_f32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl<'a> Tape<'a> {
    /// ReLU `max(x, 0)`, any shape. Backward: dx += g where x > 0 (0 at x = 0, as PyTorch).
    pub fn relu(&mut self, x: Var) -> Result<Var> {
        let y = par_map(self.value(x).data(), |v| if v > 0.0 { v } else { 0.0 });
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push(y, &[x], move |g, ctx| {
            if let Some((xv, gx)) = ctx.value_and_grad(x, x) {
                par_add_zip(gx.data_mut(), g.data(), xv.data(), |g, v| {
                    if v > 0.0 { g } else { 0.0 }
                });
            }
        }))
    }

    /// GELU, any shape; `kind` picks the exact erf form or the tanh approximation (see [`Gelu`]).
    /// Computed in f64 and rounded once. Backward: dx += g·gelu'(x) (formulas at
    /// [`gelu_exact_grad`] and [`gelu_tanh_grad`]).
    pub fn gelu(&mut self, x: Var, kind: Gelu) -> Result<Var> {
        if kind == Gelu::Tanh {
            return self.gelu_tanh_fast(x);
        }
        let f: fn(f64) -> f64 = match kind {
            Gelu::Exact => gelu_exact,
            Gelu::Tanh => gelu_tanh,
        };
        let df: fn(f64) -> f64 = match kind {
            Gelu::Exact => gelu_exact_grad,
            Gelu::Tanh => gelu_tanh_grad,
        };
        let y = par_map(self.value(x).data(), |v| f(v as f64) as f32);
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push(y, &[x], move |g, ctx| {
            if let Some((xv, gx)) = ctx.value_and_grad(x, x) {
                par_add_zip(gx.data_mut(), g.data(), xv.data(), |g, v| {
                    ((g as f64) * df(v as f64)) as f32
                });
            }
        }))
    }

    /// Tanh-approximate GELU in f32 ([`gelu_tanh_f32`]); the forward keeps `σ(2u)` for the
    /// backward, so each element costs one `exp` in all.
    fn gelu_tanh_fast(&mut self, x: Var) -> Result<Var> {
        let pairs = par_map_pairs(self.value(x).data());
        let shape = self.shape(x).to_vec();
        let y = Tensor::new(pairs.iter().map(|p| p.0).collect(), &shape)?;
        let s: Vec<(f32, f32)> = pairs.into_iter().map(|p| (p.1, p.2)).collect();
        Ok(self.push(y, &[x], move |g, ctx| {
            if let Some((xv, gx)) = ctx.value_and_grad(x, x) {
                let (xs, gs) = (xv.data(), g.data());
                gx.data_mut()
                    .par_chunks_mut(PAIR_CHUNK)
                    .enumerate()
                    .for_each(|(c, out)| {
                        let o = c * PAIR_CHUNK;
                        for (i, d) in out.iter_mut().enumerate() {
                            let k = o + i;
                            *d += gs[k] * gelu_tanh_grad_f32(xs[k], s[k].0, s[k].1);
                        }
                    });
            }
        }))
    }

    /// Hyperbolic tangent, any shape. Backward: dx += g·(1 − y²).
    pub fn tanh(&mut self, x: Var) -> Result<Var> {
        let y = par_map(self.value(x).data(), f32::tanh);
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push_reading_output(y, &[x], move |out, g, ctx| {
            if let Some((yv, gx)) = ctx.value_and_grad(out, x) {
                par_add_zip(gx.data_mut(), g.data(), yv.data(), |g, y| g * (1.0 - y * y));
            }
        }))
    }

    /// Logistic sigmoid `1/(1 + e^−x)`, any shape; finite for every finite input (sigmoid(−100)
    /// is 3.7e−44, not NaN). Backward: dx += g·y·(1 − y).
    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        let y = par_map(self.value(x).data(), sigmoid_f32);
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push_reading_output(y, &[x], move |out, g, ctx| {
            if let Some((yv, gx)) = ctx.value_and_grad(out, x) {
                par_add_zip(gx.data_mut(), g.data(), yv.data(), |g, y| g * y * (1.0 - y));
            }
        }))
    }
}

/// Elements per parallel task of the fast GELU (fixed, so results do not depend on threads).
const PAIR_CHUNK: usize = 16 * 1024;

/// [`gelu_tanh_f32`] of every element, in parallel over fixed chunks.
fn par_map_pairs(x: &[f32]) -> Vec<(f32, f32, f32)> {
    let mut out = vec![(0.0f32, 0.0f32, 0.0f32); x.len()];
    out.par_chunks_mut(PAIR_CHUNK)
        .zip(x.par_chunks(PAIR_CHUNK))
        .for_each(|(o, x)| {
            for (o, &v) in o.iter_mut().zip(x) {
                *o = gelu_tanh_f32(v);
            }
        });
    out
}
