//! `linear`: y = x·Wᵀ + b, as PyTorch's `nn.functional.linear` (W stored `[out, in]`).

use crate::error::{Error, Result, fmt_shape};
use crate::kernels::fused_linear::{self, Epilogue, linear_forward_into};
use crate::kernels::isa::{self, Isa};
use crate::kernels::matmul::{Mat, gemm};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// On the AVX2 and portable paths, batches of at least this many rows go through the fused kernel
/// ([`crate::kernels::fused_linear`]), smaller ones through `gemm`, which is faster there. On the
/// AVX-512 path the fused kernel takes every batch of [`fused_linear::MIN_ROWS`] rows or more
/// (measured at 128 rows, 784→256, packing included: 420 µs vs 560 µs for `gemm`, one thread).
pub const FUSED_MIN_ROWS: usize = 256;

/// Forward kernel: `y[n, out] = x[n, in] · w[out, in]ᵀ + b[out]`.
pub fn linear_forward(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    n: usize,
    inp: usize,
    out: usize,
) -> Vec<f32> {
    linear_forward_act(x, w, b, n, inp, out, Epilogue::Identity)
}

/// Forward kernel with a fused activation: `y[n, out] = act(x[n, in] · w[out, in]ᵀ + b[out])`.
///
/// Large batches use [`crate::kernels::fused_linear`] (bias and ReLU applied in
/// the GEMM's epilogue); otherwise `gemm` followed by the activation. Both paths agree to f32
/// rounding (different summation orders), and each is deterministic for any thread count.
pub fn linear_forward_act(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    n: usize,
    inp: usize,
    out: usize,
    act: Epilogue,
) -> Vec<f32> {
    let mut y = vec![0.0f32; n * out];
    let min_rows = if isa::active() == Isa::Avx512 {
        fused_linear::MIN_ROWS
    } else {
        FUSED_MIN_ROWS
    };
    if n >= min_rows && linear_forward_into(&mut y, x, w, b, n, inp, out, act) {
        return y;
    }
    let accumulate = if let Some(b) = b {
        for row in y.chunks_exact_mut(out) {
            row.copy_from_slice(b);
        }
        true
    } else {
        false
    };
    gemm(&mut y, Mat::new(x, n, inp), Mat::t(w, out, inp), accumulate);
    if act == Epilogue::Relu {
        for v in &mut y {
            *v = v.max(0.0);
        }
    }
    y
}

impl<'a> Tape<'a> {
    /// Linear layer. `x`: `[..., in]`, `w`: `[out, in]`, `b`: `[out]` → `[..., out]`.
    ///
    /// Backward: dx += dy·W, dW += dyᵀ·x, db += Σ_rows dy.
    /// Errors: [`Error::Shape`] naming `linear` if the shapes disagree.
    pub fn linear(&mut self, x: Var, w: Var, b: Option<Var>) -> Result<Var> {
        let xs = self.shape(x).to_vec();
        let ws = self.shape(w).to_vec();
        if ws.len() != 2 || xs.is_empty() || xs[xs.len() - 1] != ws[1] {
            return Err(Error::Shape {
                op: "linear",
                expected: format!(
                    "x [..., in] with weight [out, in]; weight is {}",
                    fmt_shape(&ws)
                ),
                got: fmt_shape(&xs),
            });
        }
        let (out, inp) = (ws[0], ws[1]);
        if let Some(b) = b {
            if self.shape(b) != [out] {
                return Err(Error::shape(
                    "linear",
                    format!("bias [{out}]"),
                    self.shape(b),
                ));
            }
        }
        let n = xs[..xs.len() - 1].iter().product::<usize>();
        let y = linear_forward(
            self.value(x).data(),
            self.value(w).data(),
            b.map(|b| self.value(b).data()),
            n,
            inp,
            out,
        );
        let mut ys = xs.clone();
        *ys.last_mut().unwrap() = out;
        let inputs: Vec<Var> = [Some(x), Some(w), b].into_iter().flatten().collect();
        Ok(self.push(Tensor::new(y, &ys)?, &inputs, move |gy, ctx| {
            let gy = gy.data();
            if let Some((wv, gx)) = ctx.value_and_grad(w, x) {
                gemm(
                    gx.data_mut(),
                    Mat::new(gy, n, out),
                    Mat::new(wv.data(), out, inp),
                    true,
                );
            }
            if let Some((xv, gw)) = ctx.value_and_grad(x, w) {
                gemm(
                    gw.data_mut(),
                    Mat::t(gy, n, out),
                    Mat::new(xv.data(), n, inp),
                    true,
                );
            }
            if let Some(b) = b {
                if let Some(gb) = ctx.grad_mut(b) {
                    let gb = gb.data_mut();
                    for row in gy.chunks_exact(out) {
                        for (g, r) in gb.iter_mut().zip(row) {
                            *g += *r;
                        }
                    }
                }
            }
        }))
    }
}
