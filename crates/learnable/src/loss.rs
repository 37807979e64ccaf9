//! Fused, numerically stable losses, each a [`Tape`] method returning a one-element (shape `[]`)
//! loss (or, for cross-entropy with [`Reduction::None`], one loss per row) with a hand-written
//! backward pass.
//!
//! * [`Tape::cross_entropy`]: softmax cross-entropy from logits, PyTorch's
//!   `F.cross_entropy(logits, targets, weight, ignore_index, reduction, label_smoothing)`;
//!   [`balanced_class_weight`] gives scikit-learn's `'balanced'` class weights for it.
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

/// How [`Tape::cross_entropy`] reduces the per-row losses (PyTorch's `reduction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The (weighted) mean over the rows that are not ignored: the sum of the row losses divided
    /// by the number of such rows, or, with class weights, by the sum of their targets' weights.
    /// A one-element loss (shape `[]`). PyTorch's default `'mean'`.
    #[default]
    Mean,
    /// The sum of the row losses (ignored rows add 0); shape `[]`. PyTorch's `'sum'`.
    Sum,
    /// No reduction: one loss per row, shaped as the logits without their last (class)
    /// dimension (`[N]` for `[N, C]` logits); ignored rows are 0. PyTorch's `'none'`.
    None,
}

impl Reduction {
    /// PyTorch's name: `"mean"`, `"sum"` or `"none"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
            Reduction::None => "none",
        }
    }
}

impl std::fmt::Display for Reduction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Reduction {
    type Err = Error;

    /// Parses PyTorch's names `mean`, `sum`, `none`. Errors: [`Error::InvalidArgument`] naming
    /// `reduction` and the text.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            "none" => Ok(Reduction::None),
            _ => Err(Error::invalid(
                "reduction",
                format!("{s:?}"),
                "mean, sum, none",
            )),
        }
    }
}

/// Options of [`Tape::cross_entropy`], with PyTorch's defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrossEntropyOptions {
    /// ε in `[0, 1]`: the target distribution is `(1 − ε)·onehot + ε/C` (Szegedy et al., 2016,
    /// as PyTorch's `label_smoothing`). Default 0 (plain cross-entropy).
    pub label_smoothing: f32,
    /// Rows whose target equals this index contribute neither loss nor gradient, and are left out
    /// of the mean (PyTorch's `ignore_index`, whose default −100 can never match a class, hence
    /// `None` here). Used for padding tokens.
    pub ignore_index: Option<usize>,
    /// Per-class weights `w[c]`, one per class (length C), finite and `>= 0` (PyTorch's
    /// `weight`; [`balanced_class_weight`] computes scikit-learn's `'balanced'` weights).
    /// `None` (default): every class weighs 1.
    pub weight: Option<Vec<f32>>,
    /// How the row losses are reduced; default [`Reduction::Mean`].
    pub reduction: Reduction,
}

/// Rows of at least this many logits in total are processed in parallel (fixed row chunks).
const PAR_MIN: usize = 1 << 15;
const ROWS_PER_CHUNK: usize = 16;

impl<'a> Tape<'a> {
    /// Softmax cross-entropy from logits with optional class weights, label smoothing and
    /// ignored rows, exactly as PyTorch's `F.cross_entropy(logits, targets, weight,
    /// ignore_index, reduction, label_smoothing)` defines them together.
    ///
    /// `logits`: `[N, C]` (or `[..., C]`, whose leading dims are flattened into N rows);
    /// `targets`: N class indices in `0..C`. With `lse_i = log Σ_c exp(x_ic)`, `−log p_ic =
    /// lse_i − x_ic`, ε the label smoothing and `w` the class weights (all 1 without `weight`),
    /// row i's loss is
    ///
    /// `ℓ_i = (1 − ε)·w[y_i]·(−log p_{i,y_i}) + (ε/C)·Σ_c w[c]·(−log p_ic)`
    ///
    /// (without weights: `(1 − ε)·(−log p_{i,y_i}) + ε·mean_c(−log p_ic)`), and `ℓ_i = 0` for a
    /// row whose target is `ignore_index`. The result, by `reduction`:
    /// * [`Reduction::Mean`]: `Σ_i ℓ_i / D`, shape `[]`, with `D` the number of rows that are not
    ///   ignored, or with weights `D = Σ_{i not ignored} w[y_i]` (PyTorch divides both the NLL
    ///   and the smoothing term by this same sum). When `D = 0` (every row ignored, N = 0, or
    ///   every kept target has weight 0) the loss is NaN (0/0), as in PyTorch (not an error, so
    ///   that evaluation code sees PyTorch's value); [`Tape::backward`] then refuses it with
    ///   [`Error::NonFinite`], and a training loop stops on it.
    /// * [`Reduction::Sum`]: `Σ_i ℓ_i`, shape `[]`.
    /// * [`Reduction::None`]: the `ℓ_i`, shaped as the logits without their last dimension.
    ///
    /// Backward (fused): for a row that is not ignored, with `p = softmax(x_i)`,
    /// `a_i = (1 − ε)·w[y_i] + (ε/C)·Σ_c w[c]`:
    /// `dx_ij = s_i·(a_i·p_j − (1 − ε)·w[y_i]·[j = y_i] − (ε/C)·w[j])` (without weights:
    /// `s_i·(p_j − (1 − ε)·[j = y_i] − ε/C)`), where `s_i = g/D` (mean), `g` (sum) or `g_i`
    /// (none); 0 for ignored rows. All per-row terms are computed in f64 and summed in index
    /// order, so the result does not depend on the thread count.
    ///
    /// Errors: [`Error::Shape`] if `logits` is 0-d, has `C = 0`, `targets.len() != N`, or
    /// `weight` does not have length C (naming `weight`, its length and C);
    /// [`Error::InvalidArgument`] naming the row and value for a target outside `0..C` (that is
    /// not `ignore_index`), for `label_smoothing` outside `[0, 1]`, and naming `weight[j]` for a
    /// weight that is negative or not finite.
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
        if let Some(w) = &opts.weight {
            if w.len() != c {
                return Err(Error::Shape {
                    op: "cross_entropy",
                    expected: format!(
                        "weight of length {c} (one per class of logits {})",
                        fmt_shape(&shape)
                    ),
                    got: format!("weight of length {}", w.len()),
                });
            }
            if let Some((j, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(Error::invalid(
                    &format!("cross_entropy weight[{j}]"),
                    v,
                    "a finite number >= 0",
                ));
            }
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
        let weight = opts.weight.as_deref();
        let reduction = opts.reduction;
        // The mean's divisor: the number of kept rows, or the sum of their targets' weights.
        let denom: f64 = match weight {
            None => targets.iter().filter(|&&t| !ignored(t)).count() as f64,
            Some(w) => targets
                .iter()
                .filter(|&&t| !ignored(t))
                .map(|&t| w[t] as f64)
                .sum(),
        };

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
            let loss = match weight {
                None if eps == 0.0 => nll,
                None => {
                    let mean_x = xr.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
                    (1.0 - eps64) * nll + eps64 * (lse - mean_x)
                }
                Some(w) if eps == 0.0 => w[t] as f64 * nll,
                Some(w) => {
                    let smooth: f64 = xr
                        .iter()
                        .zip(w)
                        .map(|(&v, &wc)| wc as f64 * (lse - v as f64))
                        .sum();
                    (1.0 - eps64) * w[t] as f64 * nll + eps64 / c as f64 * smooth
                }
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
        let value = match reduction {
            Reduction::Mean | Reduction::Sum => {
                let total: f64 = per_row.iter().map(|r| r.1).sum();
                let loss = if reduction == Reduction::Mean {
                    total / denom
                } else {
                    total
                };
                Tensor::scalar(loss as f32)
            }
            Reduction::None => Tensor::new(
                per_row.iter().map(|r| r.1 as f32).collect(),
                &shape[..shape.len() - 1],
            )?,
        };
        let lse: Vec<f64> = per_row.into_iter().map(|r| r.0).collect();
        let targets = targets.to_vec();
        let ignore_index = opts.ignore_index;
        // Backward constants of the weighted rows: the weights and ε/C·Σ_c w[c].
        let weight: Option<(Vec<f32>, f64)> = weight.map(|w| {
            let total: f64 = w.iter().map(|&v| v as f64).sum();
            (w.to_vec(), eps64 / c as f64 * total)
        });

        Ok(self.push(value, &[logits], move |g, ctx| {
            let scale = match reduction {
                Reduction::Mean => g.data()[0] as f64 / denom,
                Reduction::Sum => g.data()[0] as f64,
                Reduction::None => 0.0, // per row, below
            };
            let Some((xv, gx)) = ctx.value_and_grad(logits, logits) else {
                return;
            };
            let (on, off) = ((1.0 - eps64) + eps64 / c as f64, eps64 / c as f64);
            let kernel = |(i, d): (usize, &mut [f32])| {
                let t = targets[i];
                if ignore_index == Some(t) {
                    return;
                }
                let scale = match reduction {
                    Reduction::None => g.data()[i] as f64,
                    _ => scale,
                };
                let xr = &xv.data()[i * c..(i + 1) * c];
                match &weight {
                    None => {
                        for (j, (d, &v)) in d.iter_mut().zip(xr).enumerate() {
                            let p = (v as f64 - lse[i]).exp();
                            let q = if j == t { on } else { off };
                            *d += ((p - q) * scale) as f32;
                        }
                    }
                    Some((w, smooth)) => {
                        let wy = (1.0 - eps64) * w[t] as f64;
                        let a = wy + smooth;
                        for (j, ((d, &v), &wj)) in d.iter_mut().zip(xr).zip(w).enumerate() {
                            let p = (v as f64 - lse[i]).exp();
                            let q = off * wj as f64 + if j == t { wy } else { 0.0 };
                            *d += ((a * p - q) * scale) as f32;
                        }
                    }
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

/// Scikit-learn's `compute_class_weight('balanced', classes=0..n_classes, y)`: class c weighs
/// `n_samples / (n_classes · count[c])`, so that every class contributes the same total weight
/// (King & Zeng, 2001). Pass the result as [`CrossEntropyOptions::weight`].
///
/// `y`: class indices in `0..n_classes`. Returns `n_classes` weights (computed in f64, rounded
/// to f32). Example: y = [0, 0, 0, 1], 2 classes → [4/(2·3), 4/(2·1)] = [0.6667, 2.0].
///
/// Errors: [`Error::InvalidArgument`] naming `class_weight` when `n_classes` is 0, naming the
/// row and value for a target outside `0..n_classes`, and naming the class index of a class
/// with no samples in `y` (scikit-learn raises there too: its weight would be infinite).
pub fn balanced_class_weight(y: &[usize], n_classes: usize) -> Result<Vec<f32>> {
    if n_classes == 0 {
        return Err(Error::invalid(
            "class_weight 'balanced' n_classes",
            0,
            "at least 1 class",
        ));
    }
    let mut count = vec![0usize; n_classes];
    for (i, &t) in y.iter().enumerate() {
        match count.get_mut(t) {
            Some(k) => *k += 1,
            None => {
                return Err(Error::invalid(
                    &format!("class_weight 'balanced' target of row {i}"),
                    t,
                    &format!("0..{n_classes} (classes)"),
                ));
            }
        }
    }
    if let Some(c) = count.iter().position(|&k| k == 0) {
        return Err(Error::invalid(
            "class_weight 'balanced'",
            format!("class {c} has no samples among the {} targets", y.len()),
            "every class present at least once (its weight n_samples / (n_classes * count) \
             would be infinite)",
        ));
    }
    let n = y.len() as f64;
    Ok(count
        .iter()
        .map(|&k| (n / (n_classes as f64 * k as f64)) as f32)
        .collect())
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
