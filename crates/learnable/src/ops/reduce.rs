//! Reductions to a scalar: `sum` and `mean` over all elements.

use crate::error::Result;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Sum in f64 in index order (deterministic, accurate), returned as f32.
pub fn sum_f64(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64).sum()
}

impl<'a> Tape<'a> {
    /// Sum of all elements → shape `[]`. Backward: dx += g.
    pub fn sum(&mut self, x: Var) -> Result<Var> {
        let s = sum_f64(self.value(x).data()) as f32;
        Ok(self.push(Tensor::scalar(s), &[x], move |g, ctx| {
            let g = g.data()[0];
            if let Some(gx) = ctx.grad_mut(x) {
                gx.data_mut().iter_mut().for_each(|v| *v += g);
            }
        }))
    }

    /// Mean of all elements → shape `[]`. Backward: dx += g / n.
    pub fn mean(&mut self, x: Var) -> Result<Var> {
        let n = self.value(x).numel().max(1);
        let s = (sum_f64(self.value(x).data()) / n as f64) as f32;
        Ok(self.push(Tensor::scalar(s), &[x], move |g, ctx| {
            let g = g.data()[0] / n as f32;
            if let Some(gx) = ctx.grad_mut(x) {
                gx.data_mut().iter_mut().for_each(|v| *v += g);
            }
        }))
    }
}
