//! `softmax` and `log_softmax` over the last dimension, as PyTorch's `torch.softmax(x, -1)` and
//! `torch.log_softmax(x, -1)`.
//!
//! The row kernels are the shared ones in [`crate::kernels::softmax`] (max subtracted first, sums in
//! f64), so `[1000, 999, 998]` does not overflow and `-inf` logits get probability exactly 0.
//! Backward (the Jacobian-vector products, see e.g. Goodfellow et al., *Deep Learning*, §6.2.2):
//! softmax `dx = y·(g − Σ g·y)`, log-softmax `dx = g − softmax(x)·Σ g`, both per row.
//!
//! Determinism: rows are independent and processed in fixed chunks, so the thread count never
//! changes a result.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::softmax::{
    log_softmax_backward_acc, log_softmax_into, softmax_backward_acc, softmax_into,
};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Elements per parallel chunk (rounded to whole rows) and the size below which rows run on one
/// thread.
const CHUNK: usize = 1 << 13;
const PAR_MIN: usize = 1 << 15;

fn rows_per_chunk(c: usize) -> usize {
    (CHUNK / c.max(1)).max(1) * c.max(1)
}

/// Applies `f(out_row, x_row)` to every row of length `c`.
pub(crate) fn par_rows(
    out: &mut [f32],
    x: &[f32],
    c: usize,
    f: impl Fn(&mut [f32], &[f32]) + Sync,
) {
    if c == 0 {
        return;
    }
    let kernel = |(o, x): (&mut [f32], &[f32])| {
        for (o, x) in o.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
            f(o, x);
        }
    };
    if x.len() >= PAR_MIN {
        let k = rows_per_chunk(c);
        out.par_chunks_mut(k).zip(x.par_chunks(k)).for_each(kernel);
    } else {
        kernel((out, x));
    }
}

/// Applies `f(acc_row, a_row, b_row)` to every row of length `c`.
pub(crate) fn par_rows3(
    acc: &mut [f32],
    a: &[f32],
    b: &[f32],
    c: usize,
    f: impl Fn(&mut [f32], &[f32], &[f32]) + Sync,
) {
    if c == 0 {
        return;
    }
    let kernel = |((o, a), b): ((&mut [f32], &[f32]), &[f32])| {
        for ((o, a), b) in o
            .chunks_exact_mut(c)
            .zip(a.chunks_exact(c))
            .zip(b.chunks_exact(c))
        {
            f(o, a, b);
        }
    };
    if acc.len() >= PAR_MIN {
        let k = rows_per_chunk(c);
        acc.par_chunks_mut(k)
            .zip(a.par_chunks(k))
            .zip(b.par_chunks(k))
            .for_each(kernel);
    } else {
        kernel(((acc, a), b));
    }
}

impl<'a> Tape<'a> {
    /// Softmax over the last dimension. `x`: `[..., C]` → same shape, each row sums to 1.
    /// A row of all `-inf` gives all zeros (PyTorch gives NaN); NaN propagates.
    /// Backward: `dx = y·(g − Σ_row g·y)`.
    pub fn softmax(&mut self, x: Var) -> Result<Var> {
        let c = last_dim(self, x, "softmax")?;
        let mut y = vec![0.0f32; self.value(x).numel()];
        par_rows(&mut y, self.value(x).data(), c, |o, x| softmax_into(x, o));
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push_reading_output(y, &[x], move |out, g, ctx| {
            if let Some((yv, gx)) = ctx.value_and_grad(out, x) {
                par_rows3(gx.data_mut(), g.data(), yv.data(), c, |d, g, y| {
                    softmax_backward_acc(y, g, d)
                });
            }
        }))
    }

    /// Log-softmax over the last dimension: `x − logsumexp(x)` per row. `x`: `[..., C]` → same
    /// shape; `-inf` entries stay `-inf`, a row of all `-inf` gives NaN (as PyTorch).
    /// Backward: `dx = g − exp(y)·Σ_row g`.
    pub fn log_softmax(&mut self, x: Var) -> Result<Var> {
        let c = last_dim(self, x, "log_softmax")?;
        let mut y = vec![0.0f32; self.value(x).numel()];
        par_rows(&mut y, self.value(x).data(), c, |o, x| {
            log_softmax_into(x, o)
        });
        let y = Tensor::new(y, self.shape(x))?;
        Ok(self.push_reading_output(y, &[x], move |out, g, ctx| {
            if let Some((yv, gx)) = ctx.value_and_grad(out, x) {
                par_rows3(gx.data_mut(), g.data(), yv.data(), c, |d, g, y| {
                    log_softmax_backward_acc(y, g, d)
                });
            }
        }))
    }
}

/// The last dimension of `x`; errors on a 0-d tensor (there is no last dimension to normalise).
fn last_dim(tape: &Tape<'_>, x: Var, op: &'static str) -> Result<usize> {
    match tape.shape(x).last() {
        Some(&c) => Ok(c),
        None => Err(Error::shape(
            op,
            "at least one dimension [..., C]",
            tape.shape(x),
        )),
    }
}
