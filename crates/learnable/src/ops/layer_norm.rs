//! `layer_norm`: normalise each row over its last dimension, then an optional affine map, as
//! PyTorch's `nn.LayerNorm` (Ba, Kiros & Hinton, 2016, "Layer Normalization").
//!
//! For a row `x` of `C` values: `mean = Σx / C`, `var = Σ(x − mean)² / C` (biased, as PyTorch),
//! `rstd = 1 / sqrt(var + eps)`, `x̂ = (x − mean)·rstd`, `y = x̂·w + b`. The forward pass saves
//! `mean` and `rstd` per row; the backward pass is the standard fused one:
//! `dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))` with `dx̂ = dy·w`, `dw = Σ_rows dy·x̂`,
//! `db = Σ_rows dy`. Row statistics and the row means of the backward pass are accumulated in
//! f64, in index order, so results never depend on the thread count.

use crate::error::{Error, Result, fmt_shape};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Forward kernel on `n` rows of `c` values. Returns `(y, mean, rstd)`; `mean` and `rstd` have
/// one entry per row.
pub fn layer_norm_forward(
    x: &[f32],
    w: Option<&[f32]>,
    b: Option<&[f32]>,
    n: usize,
    c: usize,
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut y = vec![0.0f32; n * c];
    let mut means = vec![0.0f32; n];
    let mut rstds = vec![0.0f32; n];
    if c == 0 {
        return (y, means, rstds);
    }
    for (r, (xr, yr)) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)).enumerate() {
        let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
        let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / c as f64;
        let rstd = 1.0 / (var + eps as f64).sqrt();
        let (mean, rstd) = (mean as f32, rstd as f32);
        means[r] = mean;
        rstds[r] = rstd;
        for (j, (o, &v)) in yr.iter_mut().zip(xr).enumerate() {
            let mut t = (v - mean) * rstd;
            if let Some(w) = w {
                t *= w[j];
            }
            if let Some(b) = b {
                t += b[j];
            }
            *o = t;
        }
    }
    (y, means, rstds)
}

/// Backward kernel for the input: adds d loss / d x into `gx` (`n` rows of `c`), given the
/// output gradient `gy`, the forward input `x`, the optional weight and the saved statistics.
pub fn layer_norm_backward_input(
    gx: &mut [f32],
    gy: &[f32],
    x: &[f32],
    w: Option<&[f32]>,
    means: &[f32],
    rstds: &[f32],
    c: usize,
) {
    if c == 0 {
        return;
    }
    let mut dxhat = vec![0.0f32; c];
    let rows = gx
        .chunks_exact_mut(c)
        .zip(gy.chunks_exact(c))
        .zip(x.chunks_exact(c));
    for (r, ((gxr, gyr), xr)) in rows.enumerate() {
        let (mean, rstd) = (means[r], rstds[r]);
        let mut s1 = 0.0f64; // Σ dx̂
        let mut s2 = 0.0f64; // Σ dx̂·x̂
        for j in 0..c {
            let d = match w {
                Some(w) => gyr[j] * w[j],
                None => gyr[j],
            };
            dxhat[j] = d;
            let xhat = (xr[j] - mean) * rstd;
            s1 += d as f64;
            s2 += d as f64 * xhat as f64;
        }
        let m1 = (s1 / c as f64) as f32;
        let m2 = (s2 / c as f64) as f32;
        for j in 0..c {
            let xhat = (xr[j] - mean) * rstd;
            gxr[j] += rstd * (dxhat[j] - m1 - xhat * m2);
        }
    }
}

impl<'a> Tape<'a> {
    /// Layer normalisation over the last dimension, as PyTorch `nn.LayerNorm(C, eps)`.
    ///
    /// `x`: `[..., C]`, `weight`: `Option<[C]>`, `bias`: `Option<[C]>` → `[..., C]`.
    /// Biased variance; `eps` is added to the variance (PyTorch's default is 1e-5).
    /// Backward: the fused formula in the module docs, from the saved mean and 1/std per row.
    ///
    /// Errors: [`Error::Shape`] naming `layer_norm` if `x` has no dimension or `weight`/`bias`
    /// are not `[C]`; [`Error::InvalidArgument`] if `eps` is negative or not finite.
    pub fn layer_norm(
        &mut self,
        x: Var,
        weight: Option<Var>,
        bias: Option<Var>,
        eps: f32,
    ) -> Result<Var> {
        let xs = self.shape(x).to_vec();
        let Some(&c) = xs.last() else {
            return Err(Error::shape(
                "layer_norm",
                "x [..., C] with at least one dimension",
                &xs,
            ));
        };
        for (what, p) in [("weight", weight), ("bias", bias)] {
            if let Some(p) = p {
                if self.shape(p) != [c] {
                    return Err(Error::Shape {
                        op: "layer_norm",
                        expected: format!("{what} [{c}] for x {}", fmt_shape(&xs)),
                        got: fmt_shape(self.shape(p)),
                    });
                }
            }
        }
        if !(eps >= 0.0 && eps.is_finite()) {
            return Err(Error::invalid("layer_norm eps", eps, ">= 0 and finite"));
        }
        let n = if c == 0 { 0 } else { self.value(x).numel() / c };
        let (y, means, rstds) = layer_norm_forward(
            self.value(x).data(),
            weight.map(|w| self.value(w).data()),
            bias.map(|b| self.value(b).data()),
            n,
            c,
            eps,
        );
        let inputs: Vec<Var> = [Some(x), weight, bias].into_iter().flatten().collect();
        Ok(self.push(Tensor::new(y, &xs)?, &inputs, move |gy, ctx| {
            let gy = gy.data();
            if c == 0 {
                return;
            }
            // Weight copied (C floats) so that x's value and x's gradient can be borrowed at once.
            let wv = if ctx.requires_grad(x) {
                weight.map(|w| ctx.value(w).data().to_vec())
            } else {
                None
            };
            if let Some((xv, gx)) = ctx.value_and_grad(x, x) {
                layer_norm_backward_input(
                    gx.data_mut(),
                    gy,
                    xv.data(),
                    wv.as_deref(),
                    &means,
                    &rstds,
                    c,
                );
            }
            if let Some(w) = weight {
                if let Some((xv, gw)) = ctx.value_and_grad(x, w) {
                    let (xv, gw) = (xv.data(), gw.data_mut());
                    for (r, (xr, gyr)) in xv.chunks_exact(c).zip(gy.chunks_exact(c)).enumerate() {
                        for j in 0..c {
                            gw[j] += gyr[j] * (xr[j] - means[r]) * rstds[r];
                        }
                    }
                }
            }
            if let Some(b) = bias {
                if let Some(gb) = ctx.grad_mut(b) {
                    let gb = gb.data_mut();
                    for gyr in gy.chunks_exact(c) {
                        for j in 0..c {
                            gb[j] += gyr[j];
                        }
                    }
                }
            }
        }))
    }
}
