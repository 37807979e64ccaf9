//! Fused, numerically stable losses, each a [`Tape`] method returning a one-element (shape `[]`)
//! loss with a hand-written backward pass.
//!
//! * [`Tape::cross_entropy`]: softmax cross-entropy from logits, PyTorch's
//!   `F.cross_entropy(logits, targets, reduction='mean', label_smoothing, ignore_index)`.
//! * [`Tape::mse_loss`]: mean squared error, PyTorch's `F.mse_loss(reduction='mean')`.
//! * [`Tape::bce_with_logits`]: binary cross-entropy from logits, PyTorch's
//!   `F.binary_cross_entropy_with_logits(reduction='mean')`.
//!
//! All per-element terms are computed in f64 and summed in index order, so the result does not
//! depend on the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result, fmt_shape};
use crate::kernels::softmax::logsumexp_f64;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Options of [`Tape::cross_entropy`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropyOptions {
    /// ε in `[0, 1]`: the target distribution is `(1 − ε)·onehot + ε/C` (Szegedy et al., 2016,
    /// as PyTorch's `label_smoothing`). Default 0 (plain cross-entropy).
    pub label_smoothing: f32,
    /// Rows whose target equals this index contribute neither loss nor gradient, and are left out
    /// of the mean (PyTorch's `ignore_index`, whose default −100 can never match a class, hence
    /// `None` here). Used for padding tokens.
    pub ignore_index: Option<usize>,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            label_smoothing: 0.0,
            ignore_index: None,
        }
    }
}

/// Rows of at least this many logits in total are processed in parallel (fixed row chunks).
const PAR_MIN: usize = 1 << 15;
const ROWS_PER_CHUNK: usize = 16;

impl<'a> Tape<'a> {
    /// Softmax cross-entropy from logits, averaged over the rows that are not ignored.
    ///
    /// `logits`: `[N, C]` (or `[..., C]`, whose leading dims are flattened into N rows);
    /// `targets`: N class indices in `0..C`. With `lse_i = log Σ_c exp(x_ic)` and ε the label
    /// smoothing, row i's loss is
    /// `(1 − ε)·(lse_i − x_{i,y_i}) + ε·(lse_i − mean_c x_ic)` = `(1 − ε)·(−log p_{y_i}) +
    /// ε·mean_c(−log p_c)`, and the result is the mean over the `n_valid` rows whose target is
    /// not `ignore_index` (exactly PyTorch's `reduction='mean'` without class weights).
    ///
    /// Backward (fused): `dx_i = g·(softmax(x_i) − (1 − ε)·onehot(y_i) − ε/C) / n_valid` for
    /// valid rows, 0 for ignored rows.
    ///
    /// Errors: [`Error::Shape`] if `logits` is 0-d, has `C = 0`, or `targets.len() != N`;
    /// [`Error::InvalidArgument`] naming the row and value for a target outside `0..C` (that is
    /// not `ignore_index`), for `label_smoothing` outside `[0, 1]`, and when every row is
    /// ignored (or N = 0), where PyTorch returns NaN (0/0) instead.
    pub fn cross_entropy(
        &mut self,
        logits: Var,
        targets: &[usize],
        opts: &CrossEntropyOptions,
    ) -> Result<Var> {
        let shape = self.shape(logits).to_vec();
        let c = match shape.last() {
            Some(&c) if c > 0 => c,
            _ => {
                return Err(Error::shape(
                    "cross_entropy",
                    "logits [N, C] with C >= 1",
                    &shape,
                ));
            }
        };
        let n = self.value(logits).rows();
        if targets.len() != n {
            return Err(Error::Shape {
                op: "cross_entropy",
                expected: format!("{n} targets for logits {}", fmt_shape(&shape)),
                got: format!("{} targets", targets.len()),
            });
        }
        let eps = opts.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(Error::invalid(
                "cross_entropy label_smoothing",
                eps,
                "0 <= label_smoothing <= 1",
            ));
        }
        let ignored = |t: usize| opts.ignore_index == Some(t);
        for (i, &t) in targets.iter().enumerate() {
            if t >= c && !ignored(t) {
                let allowed = match opts.ignore_index {
                    Some(ix) => format!("0..{c} (classes) or {ix} (ignore_index)"),
                    None => format!("0..{c} (classes)"),
                };
                return Err(Error::invalid(
                    &format!("cross_entropy target of row {i}"),
                    t,
                    &allowed,
                ));
            }
        }
        let n_valid = targets.iter().filter(|&&t| !ignored(t)).count();
        if n_valid == 0 {
            return Err(Error::invalid(
                "cross_entropy targets",
                format!(
                    "{n} rows, all equal to ignore_index {:?}",
                    opts.ignore_index
                ),
                "at least one row that is not ignored (the mean over zero rows is undefined)",
            ));
        }

        // Forward: per-row logsumexp (kept for the backward pass) and loss, in f64.
        let x = self.value(logits).data();
        let eps64 = eps as f64;
        let row = |i: usize| -> (f64, f64) {
            let xr = &x[i * c..(i + 1) * c];
            let lse = logsumexp_f64(xr);
            let t = targets[i];
            if ignored(t) {
                return (lse, 0.0);
            }
            let nll = lse - xr[t] as f64;
            let loss = if eps == 0.0 {
                nll
            } else {
                let mean_x = xr.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
                (1.0 - eps64) * nll + eps64 * (lse - mean_x)
            };
            (lse, loss)
        };
        let per_row: Vec<(f64, f64)> = if x.len() >= PAR_MIN {
            (0..n)
                .into_par_iter()
                .with_min_len(ROWS_PER_CHUNK)
                .map(row)
                .collect()
        } else {
            (0..n).map(row).collect()
        };
        let total: f64 = per_row.iter().map(|r| r.1).sum();
        let loss = (total / n_valid as f64) as f32;
        let lse: Vec<f64> = per_row.into_iter().map(|r| r.0).collect();
        let targets = targets.to_vec();
        let ignore_index = opts.ignore_index;

        Ok(self.push(Tensor::scalar(loss), &[logits], move |g, ctx| {
            let scale = g.data()[0] as f64 / n_valid as f64;
            let Some((xv, gx)) = ctx.value_and_grad(logits, logits) else {
                return;
            };
            let (on, off) = ((1.0 - eps64) + eps64 / c as f64, eps64 / c as f64);
            let kernel = |(i, d): (usize, &mut [f32])| {
                let t = targets[i];
                if ignore_index == Some(t) {
                    return;
                }
                let xr = &xv.data()[i * c..(i + 1) * c];
                for (j, (d, &v)) in d.iter_mut().zip(xr).enumerate() {
                    let p = (v as f64 - lse[i]).exp();
                    let q = if j == t { on } else { off };
                    *d += ((p - q) * scale) as f32;
                }
            };
            let gd = gx.data_mut();
            if gd.len() >= PAR_MIN {
                gd.par_chunks_mut(c)
                    .enumerate()
                    .with_min_len(ROWS_PER_CHUNK)
                    .for_each(kernel);
            } else {
                gd.chunks_mut(c).enumerate().for_each(kernel);
            }
        }))
    }

    /// Mean squared error `mean((pred − target)²)` over all elements; `pred` and `target` have
    /// the same shape (any). Backward: `dpred = g·2(pred − target)/n`, `dtarget = −dpred`.
    ///
    /// Errors: [`Error::Shape`] naming `mse_loss` if the shapes differ or the tensors are empty.
    pub fn mse_loss(&mut self, pred: Var, target: Var) -> Result<Var> {
        let n = same_shape_nonempty(self, pred, target, "mse_loss")?;
        let p = self.value(pred).data();
        let t = self.value(target).data();
        let s: f64 = p
            .iter()
            .zip(t)
            .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
            .sum();
        let loss = (s / n as f64) as f32;
        Ok(
            self.push(Tensor::scalar(loss), &[pred, target], move |g, ctx| {
                let k = 2.0 * g.data()[0] as f64 / n as f64;
                let (p, t) = (ctx.value(pred).data(), ctx.value(target).data());
                let d: Vec<f32> = p
                    .iter()
                    .zip(t)
                    .map(|(&a, &b)| (k * (a as f64 - b as f64)) as f32)
                    .collect();
                if let Some(gp) = ctx.grad_mut(pred) {
                    gp.data_mut().iter_mut().zip(&d).for_each(|(x, v)| *x += v);
                }
                if let Some(gt) = ctx.grad_mut(target) {
                    gt.data_mut().iter_mut().zip(&d).for_each(|(x, v)| *x -= v);
                }
            }),
        )
    }

    /// Binary cross-entropy from logits, averaged over all elements: with logit x and target
    /// y ∈ [0, 1], `max(x, 0) − x·y + log(1 + e^−|x|)` (= `−y·log σ(x) − (1 − y)·log(1 − σ(x))`,
    /// written so that no exponential overflows). `logits` and `targets` have the same shape.
    /// Backward: `dx = g·(σ(x) − y)/n`, `dy = −g·x/n` (as PyTorch).
    ///
    /// Errors: [`Error::Shape`] naming `bce_with_logits` if the shapes differ or are empty.
    pub fn bce_with_logits(&mut self, logits: Var, targets: Var) -> Result<Var> {
        let n = same_shape_nonempty(self, logits, targets, "bce_with_logits")?;
        let x = self.value(logits).data();
        let y = self.value(targets).data();
        let s: f64 = x
            .iter()
            .zip(y)
            .map(|(&x, &y)| {
                let (x, y) = (x as f64, y as f64);
                x.max(0.0) - x * y + (-x.abs()).exp().ln_1p()
            })
            .sum();
        let loss = (s / n as f64) as f32;
        Ok(
            self.push(Tensor::scalar(loss), &[logits, targets], move |g, ctx| {
                let k = g.data()[0] as f64 / n as f64;
                if ctx.requires_grad(logits) {
                    let (xv, yv) = (ctx.value(logits).data(), ctx.value(targets).data());
                    let d: Vec<f32> = xv
                        .iter()
                        .zip(yv)
                        .map(|(&x, &y)| (k * (sigmoid_f64(x as f64) - y as f64)) as f32)
                        .collect();
                    if let Some(gx) = ctx.grad_mut(logits) {
                        gx.data_mut().iter_mut().zip(&d).for_each(|(a, v)| *a += v);
                    }
                }
                if let Some((xv, gy)) = ctx.value_and_grad(logits, targets) {
                    for (d, &x) in gy.data_mut().iter_mut().zip(xv.data()) {
                        *d -= (k * x as f64) as f32;
                    }
                }
            }),
        )
    }
}

/// Stable logistic sigmoid in f64.
fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Checks that `a` and `b` have the same, non-empty shape; returns the element count.
fn same_shape_nonempty(tape: &Tape<'_>, a: Var, b: Var, op: &'static str) -> Result<usize> {
    let (sa, sb) = (tape.shape(a), tape.shape(b));
    if sa != sb {
        return Err(Error::Shape {
            op,
            expected: format!("target shape {} (as input)", fmt_shape(sa)),
            got: fmt_shape(sb),
        });
    }
    let n = tape.value(a).numel();
    if n == 0 {
        return Err(Error::shape(op, "a non-empty tensor", sa));
    }
    Ok(n)
}
