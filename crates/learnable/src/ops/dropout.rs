//! Inverted dropout (Srivastava et al., 2014), with PyTorch's `nn.functional.dropout` semantics.
//!
//! In training mode each element is zeroed with probability `p` and the survivors are scaled by
//! `1/(1 − p)`, so the expected value is unchanged and evaluation needs no rescaling. In
//! inference mode, or with `p = 0`, dropout is the identity and returns its input unchanged.
//!
//! The mask is drawn from the caller's [`Rng`] (use a named stream, e.g. `"dropout"`), one
//! uniform draw per element in flat index order, so a seed fixes the mask on every machine and
//! thread count. PyTorch's own mask comes from its generator, so masks differ from PyTorch's;
//! the distribution and scaling are the same.

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

impl<'a> Tape<'a> {
    /// Dropout with drop probability `p` in `[0, 1)`, any shape.
    ///
    /// Training tape and `p > 0`: `y = x·m/(1 − p)` with `m[i] = 0` when the i-th draw
    /// `rng.uniform_f32()` is below `p` and `1` otherwise (one draw per element, in index order).
    /// Backward: `dx = g·m/(1 − p)`. Inference tape or `p = 0`: returns `x` itself (no copy, no
    /// draws from `rng`).
    ///
    /// Errors: [`Error::InvalidArgument`] naming `dropout` if `p` is not in `[0, 1)` (NaN
    /// included; PyTorch accepts `p = 1`, which zeroes everything, but no training run wants it).
    pub fn dropout(&mut self, x: Var, p: f32, rng: &mut Rng) -> Result<Var> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid("dropout probability p", p, "0 <= p < 1"));
        }
        if !self.is_training() || p == 0.0 {
            return Ok(x);
        }
        let scale = 1.0 / (1.0 - p);
        let mask: Vec<f32> = (0..self.value(x).numel())
            .map(|_| if rng.uniform_f32() < p { 0.0 } else { scale })
            .collect();
        let y: Vec<f32> = self
            .value(x)
            .data()
            .iter()
            .zip(&mask)
            .map(|(v, m)| v * m)
            .collect();
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push(y, &[x], move |g, ctx| {
            if let Some(gx) = ctx.grad_mut(x) {
                for ((d, g), m) in gx.data_mut().iter_mut().zip(g.data()).zip(&mask) {
                    *d += g * m;
                }
            }
        }))
    }
}
