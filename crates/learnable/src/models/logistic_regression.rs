//! Logistic regression (binary, sigmoid) and softmax regression (multinomial), L2-regularised
//! with scikit-learn's `C`, solved to convergence in f64 by full-batch L-BFGS and Newton steps.
//!
//! Objective (scikit-learn's `LogisticRegression(penalty="l2", C=C)`, `fit_intercept=True`):
//!
//! ```text
//! minimise  f(W, b) = ½·||W||²_F + C·Σ_i −log p(y_i | x_i)        (the intercept b is not penalised)
//! binary (K = 2):      W [1, d],  p(class 1 | x) = σ(x·w + b)
//! multinomial (K > 2): W [K, d],  p(k | x) = softmax(W·x + b)_k      (all K rows, as scikit-learn)
//! ```
//!
//! With `x: [n_rows, n_features]` row-major and labels `y[i]` in `0..K`. The multinomial form is
//! over-parameterised; the penalty makes every coefficient column sum to zero at the optimum and
//! the solver, started from zero, keeps the sum of intercepts at zero, as scikit-learn's lbfgs.
//!
//! Solver:
//! 1. L-BFGS ([`super::lbfgs`]) on the scaled objective `f / s`, `s = max(1, C·n_rows)`, until
//!    `max|∇f| / s <= tol`. For `C·n >= 1` that is scikit-learn's scaled objective (mean loss +
//!    penalty/(C·n)), so `tol` means what scikit-learn's `tol` means for lbfgs; the default
//!    `1e-12` is much tighter than scikit-learn's `1e-4`, to land on the optimum rather than near
//!    it. Working on `f / s` keeps values and gradients O(1) for huge `C` (at `C = 1e300` the raw
//!    gradient's squared norm overflows). The start is `W = 0` with the intercepts at the
//!    centred log class frequencies (`log(n1/n0)` for binary), the exact optimum as `C → 0`:
//!    the intercept is unpenalised and its gradient carries a factor `C`, so a start at zero
//!    would pass the gradient test at once for tiny `C` and leave it unfitted.
//! 2. Up to `newton_steps` Newton steps with the exact Hessian `(K'·(d+1))²` (K' = 1 for binary,
//!    K otherwise), each accepted only if it lowers the objective or, at rounding level, the
//!    largest gradient entry. The multinomial Hessian is singular along "add the same constant to
//!    every intercept"; that direction is fixed by adding `uuᵀ` (u the unit vector of that shift)
//!    which leaves the step orthogonal to it (the gradient is). Skipped when the Hessian would be
//!    larger than [`NEWTON_MAX_PARAMS`]² or cost more than [`NEWTON_MAX_WORK`] multiply-adds.
//!
//! For training by the epoch loop the parameters export as PyTorch `nn.Linear` tensors
//! (`weight [K', d]`, `bias [K']`, f32) through [`LogisticRegression::to_named_tensors`].

use serde::{Deserialize, Serialize};

use super::lbfgs::{self, LbfgsConfig, Termination};
use super::linear_regression::{check_design, check_feature_count, check_values, named_linear};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Newton polishing is skipped above this many parameters (`K'·(d+1)`): the Hessian has its
/// square as entries (1024² f64 = 8 MiB).
pub const NEWTON_MAX_PARAMS: usize = 1024;
/// Newton polishing is skipped when building one Hessian would take more than this many
/// multiply-adds (about `n_rows·params²/2`).
pub const NEWTON_MAX_WORK: f64 = 2e9;

/// Hyperparameters of logistic / softmax regression. Validated by
/// [`LogisticRegressionConfig::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionConfig {
    /// Inverse regularisation strength, scikit-learn's `C`: the data term is multiplied by `C`,
    /// the penalty `½·||W||²` is not. Larger is less regularised. Must be finite and `> 0`.
    /// Default 1 (scikit-learn).
    #[serde(rename = "C")]
    pub c: f64,
    /// Maximum L-BFGS iterations. Must be `>= 1`. Default 1000 (the fixtures need ~50). Hitting
    /// it without convergence shows as [`LogisticFitInfo::converged`] `== false`.
    pub max_iter: usize,
    /// L-BFGS stops when `max|∇f| <= tol·max(1, C·n_rows)` (scikit-learn's meaning of `tol` for
    /// lbfgs). Must be finite and `>= 0`. Default `1e-12`.
    pub tol: f64,
    /// Newton steps after L-BFGS (0 disables them). Default 10; they stop early once the
    /// gradient is at rounding level (`max|∇f| <= ε·max(1, C·n_rows)`) or a step is refused.
    pub newton_steps: usize,
}

impl Default for LogisticRegressionConfig {
    fn default() -> Self {
        LogisticRegressionConfig {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-12,
            newton_steps: 10,
        }
    }
}

/// How a fit went.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFitInfo {
    /// L-BFGS iterations.
    pub n_iter: usize,
    /// Why L-BFGS stopped.
    pub termination: Termination,
    /// Newton steps taken after L-BFGS.
    pub n_newton_steps: usize,
    /// Final objective `½·||W||² + C·Σ −log p(y_i|x_i)`.
    pub objective: f64,
    /// Final `max|∇f|` (over coefficients and intercepts).
    pub grad_max: f64,
    /// False when L-BFGS used all `max_iter` iterations and the Newton steps did not bring
    /// `max|∇f|` to `tol·max(1, C·n_rows)` either: the model is not at the optimum.
    pub converged: bool,
}

/// A fitted logistic (binary) or softmax (multinomial) regression model.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// `[n_outputs, n_features]` row-major.
    coef: Vec<f64>,
    /// `[n_outputs]`.
    intercept: Vec<f64>,
    n_features: usize,
    /// Number of classes; 2 with one output row is the sigmoid model.
    n_classes: usize,
    info: Option<LogisticFitInfo>,
}

/// The objective's shape: `rows` output rows of `d + 1` parameters (weights, then intercept).
#[derive(Clone, Copy)]
struct Problem<'a> {
    x: &'a [f64],
    y: &'a [usize],
    n: usize,
    d: usize,
    /// Output rows: 1 (sigmoid) or K (softmax).
    rows: usize,
    c: f64,
}

impl LogisticRegressionConfig {
    /// Checks the hyperparameters; the error names the parameter, its value and the range.
    pub fn validate(&self) -> Result<()> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(Error::invalid("C", self.c, "finite and > 0"));
        }
        if self.max_iter == 0 {
            return Err(Error::invalid("max_iter", 0, ">= 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::invalid("tol", self.tol, "finite and >= 0"));
        }
        Ok(())
    }

    /// Fits the model on `x: [n_rows, n_features]` (row-major) and class indices `y: [n_rows]`.
    ///
    /// The number of classes is `max(y) + 1`; two classes give the sigmoid model (one output
    /// row), more give softmax over all of them.
    ///
    /// Errors: invalid hyperparameters; `n_rows == 0` or `n_features == 0`; wrong lengths; a
    /// NaN or infinite value in `x` (names the row and column); fewer than two classes, or a
    /// class index below `max(y)` with no rows (names it).
    pub fn fit(
        &self,
        x: &[f64],
        n_rows: usize,
        n_features: usize,
        y: &[usize],
    ) -> Result<LogisticRegression> {
        const OP: &str = "LogisticRegression::fit";
        self.validate()?;
        check_design(OP, x, n_rows, n_features)?;
        if y.len() != n_rows {
            return Err(Error::shape(
                OP,
                format!("y [{n_rows}] (one label per row)"),
                &[y.len()],
            ));
        }
        let n_classes = y.iter().copied().max().unwrap_or(0) + 1;
        let mut counts = vec![0usize; n_classes];
        y.iter().for_each(|&k| counts[k] += 1);
        if n_classes < 2 {
            return Err(Error::invalid(
                "y",
                "a single class (0)",
                "labels of at least two classes",
            ));
        }
        if let Some(k) = counts.iter().position(|&c| c == 0) {
            return Err(Error::invalid(
                "y",
                format!("no rows of class {k} (labels run to {})", n_classes - 1),
                "every class index in 0..n_classes present",
            ));
        }
        let rows = if n_classes == 2 { 1 } else { n_classes };
        let p = Problem {
            x,
            y,
            n: n_rows,
            d: n_features,
            rows,
            c: self.c,
        };
        let n_params = rows * (n_features + 1);

        // Everything below works on f / scale (see the module docs).
        let scale = (self.c * n_rows as f64).max(1.0);
        let cfg = LbfgsConfig {
            max_iter: self.max_iter,
            gtol: self.tol,
            ..LbfgsConfig::default()
        };
        // Start: W = 0, intercepts = centred log class frequencies (the C -> 0 optimum).
        let mut theta0 = vec![0.0; n_params];
        if rows == 1 {
            theta0[n_features] = (counts[1] as f64 / counts[0] as f64).ln();
        } else {
            let logs: Vec<f64> = counts.iter().map(|&c| (c as f64).ln()).collect();
            let mean = logs.iter().sum::<f64>() / rows as f64;
            for (k, l) in logs.iter().enumerate() {
                theta0[k * (n_features + 1) + n_features] = l - mean;
            }
        }
        let r = lbfgs::minimize(|t, g| p.objective_scaled(t, g, scale), theta0, &cfg)?;
        let (mut theta, mut f, mut grad) = (r.x, r.f, r.grad);
        let mut n_newton = 0;
        let work = n_rows as f64 * (n_params * n_params) as f64 / 2.0;
        // The gradient is a sum over rows; below about eps·C·n (eps after scaling) it is
        // rounding noise.
        let grad_floor = f64::EPSILON;
        if n_params <= NEWTON_MAX_PARAMS && work <= NEWTON_MAX_WORK {
            while n_newton < self.newton_steps && max_abs(&grad) > grad_floor {
                match p.newton_step(&theta, f, &grad, scale) {
                    Some((t, ft, gt)) => {
                        (theta, f, grad) = (t, ft, gt);
                        n_newton += 1;
                    }
                    None => break,
                }
            }
        }
        let grad_max = max_abs(&grad) * scale;
        let converged = r.termination != Termination::MaxIter || grad_max <= self.tol * scale;
        let (coef, intercept) = split_params(&theta, rows, n_features);
        Ok(LogisticRegression {
            coef,
            intercept,
            n_features,
            n_classes,
            info: Some(LogisticFitInfo {
                n_iter: r.n_iter,
                termination: r.termination,
                n_newton_steps: n_newton,
                objective: f * scale,
                grad_max,
                converged,
            }),
        })
    }
}

impl Problem<'_> {
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Logits of row `i` for parameters `theta [rows, d + 1]` into `z [rows]`.
    fn logits(&self, theta: &[f64], i: usize, z: &mut [f64]) {
        let (d, xi) = (self.d, self.row(i));
        for (k, zk) in z.iter_mut().enumerate() {
            let t = &theta[k * (d + 1)..(k + 1) * (d + 1)];
            *zk = t[..d].iter().zip(xi).map(|(w, v)| w * v).sum::<f64>() + t[d];
        }
    }

    /// Per-row probabilities used by the gradient: `q[k] = p_k − [y == k]` (softmax) or
    /// `σ(z) − y` (sigmoid), and the row's loss `−log p(y|x)`.
    fn residual(&self, z: &[f64], y: usize, q: &mut [f64]) -> f64 {
        if self.rows == 1 {
            let zi = z[0];
            q[0] = sigmoid(zi) - y as f64;
            // −log σ(z) = softplus(−z) for y = 1; −log(1 − σ(z)) = softplus(z) for y = 0.
            if y == 1 { softplus(-zi) } else { softplus(zi) }
        } else {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for (qk, zk) in q.iter_mut().zip(z) {
                *qk = (zk - m).exp();
                s += *qk;
            }
            q.iter_mut().for_each(|v| *v /= s);
            q[y] -= 1.0;
            m + s.ln() - z[y]
        }
    }

    /// `f(theta)` and its gradient.
    #[cfg(test)]
    fn objective(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        self.objective_scaled(theta, grad, 1.0)
    }

    /// `f(theta) / scale` and its gradient, computed without forming `C·loss` (which overflows
    /// for huge `C`): the data term is weighted by `C / scale`, the penalty by `1 / scale`.
    fn objective_scaled(&self, theta: &[f64], grad: &mut [f64], scale: f64) -> f64 {
        let w_data = self.c / scale;
        let w_pen = 1.0 / scale;
        let (d, rows) = (self.d, self.rows);
        grad.fill(0.0);
        let mut z = vec![0.0; rows];
        let mut q = vec![0.0; rows];
        let mut loss = 0.0;
        for i in 0..self.n {
            self.logits(theta, i, &mut z);
            loss += self.residual(&z, self.y[i], &mut q);
            let xi = self.row(i);
            for k in 0..rows {
                let gk = &mut grad[k * (d + 1)..(k + 1) * (d + 1)];
                let a = q[k];
                gk[..d].iter_mut().zip(xi).for_each(|(g, v)| *g += a * v);
                gk[d] += a;
            }
        }
        let mut penalty = 0.0;
        for k in 0..rows {
            let t = &theta[k * (d + 1)..(k + 1) * (d + 1)];
            let gk = &mut grad[k * (d + 1)..(k + 1) * (d + 1)];
            for j in 0..d {
                gk[j] = w_data * gk[j] + w_pen * t[j];
                penalty += t[j] * t[j];
            }
            gk[d] *= w_data;
        }
        0.5 * w_pen * penalty + w_data * loss
    }

    /// Hessian of `f / scale` at `theta`, `[m, m]` row-major with `m = rows·(d+1)`, plus `uuᵀ`
    /// along the softmax intercept shift (see the module docs).
    fn hessian(&self, theta: &[f64], scale: f64) -> Vec<f64> {
        let (w_data, w_pen) = (self.c / scale, 1.0 / scale);
        let (d, rows) = (self.d, self.rows);
        let w = d + 1;
        let m = rows * w;
        let mut h = vec![0.0; m * m];
        let mut z = vec![0.0; rows];
        let mut p = vec![0.0; rows];
        let mut xt = vec![1.0; w];
        let mut s = vec![0.0; rows * rows];
        for i in 0..self.n {
            xt[..d].copy_from_slice(self.row(i));
            self.logits(theta, i, &mut z);
            if rows == 1 {
                let sg = sigmoid(z[0]);
                s[0] = sg * (1.0 - sg);
            } else {
                let mx = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut tot = 0.0;
                for (pk, zk) in p.iter_mut().zip(&z) {
                    *pk = (zk - mx).exp();
                    tot += *pk;
                }
                p.iter_mut().for_each(|v| *v /= tot);
                for k in 0..rows {
                    for l in 0..rows {
                        s[k * rows + l] = if k == l { p[k] } else { 0.0 } - p[k] * p[l];
                    }
                }
            }
            // Upper triangle: blocks (k, l) with k <= l, entries (a, b) with b >= a on the
            // diagonal blocks.
            for k in 0..rows {
                for l in k..rows {
                    let skl = w_data * s[k * rows + l];
                    if skl == 0.0 {
                        continue;
                    }
                    for a in 0..w {
                        let va = skl * xt[a];
                        let row = &mut h[(k * w + a) * m + l * w..(k * w + a) * m + (l + 1) * w];
                        let b0 = if k == l { a } else { 0 };
                        for b in b0..w {
                            row[b] += va * xt[b];
                        }
                    }
                }
            }
        }
        // Mirror the upper triangle, add the penalty and the intercept-shift fix.
        for r in 0..m {
            for c in 0..r {
                h[r * m + c] = h[c * m + r];
            }
        }
        for k in 0..rows {
            for j in 0..d {
                h[(k * w + j) * m + k * w + j] += w_pen;
            }
        }
        if rows > 1 {
            let inv_k = 1.0 / rows as f64;
            for k in 0..rows {
                for l in 0..rows {
                    h[(k * w + d) * m + l * w + d] += inv_k;
                }
            }
        }
        h
    }

    /// One damped Newton step from `theta`; `None` when no step of the halving sequence lowers
    /// the objective (or, where it is flat to rounding, the largest gradient entry), or the
    /// Hessian is not positive definite.
    fn newton_step(
        &self,
        theta: &[f64],
        f: f64,
        grad: &[f64],
        scale: f64,
    ) -> Option<(Vec<f64>, f64, Vec<f64>)> {
        let m = theta.len();
        let gmax = grad.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if gmax == 0.0 {
            return None;
        }
        let mut h = self.hessian(theta, scale);
        cholesky_in_place(&mut h, m)?;
        let mut step: Vec<f64> = grad.iter().map(|g| -g).collect();
        cholesky_solve(&h, m, &mut step);
        let slope: f64 = step.iter().zip(grad).map(|(s, g)| s * g).sum();
        let noise = 1e-10 * f.abs();
        let mut alpha = 1.0;
        let mut g_new = vec![0.0; m];
        for _ in 0..30 {
            let t: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(a, s)| a + alpha * s)
                .collect();
            let ft = self.objective_scaled(&t, &mut g_new, scale);
            let gmax_t = g_new.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let decreases = ft <= f + 1e-4 * alpha * slope && ft < f;
            let flat_but_better = ft <= f + noise && gmax_t < gmax;
            if ft.is_finite() && (decreases || flat_but_better) {
                return Some((t, ft, g_new));
            }
            alpha *= 0.5;
        }
        None
    }
}

impl LogisticRegression {
    /// Builds a model from `coef [n_outputs, n_features]` (row-major) and `intercept
    /// [n_outputs]`. One output row is the binary sigmoid model (2 classes); `K >= 2` rows are
    /// softmax over K classes.
    ///
    /// Errors: inconsistent lengths, no features, or a non-finite value.
    pub fn from_parts(coef: Vec<f64>, intercept: Vec<f64>, n_features: usize) -> Result<Self> {
        const OP: &str = "LogisticRegression::from_parts";
        let rows = intercept.len();
        if rows == 0 || n_features == 0 || coef.len() != rows * n_features {
            return Err(Error::Shape {
                op: OP,
                expected: "coef [n_outputs, n_features] and intercept [n_outputs], both >= 1"
                    .into(),
                got: format!(
                    "coef of {} values, intercept [{rows}], n_features {n_features}",
                    coef.len()
                ),
            });
        }
        if coef.iter().chain(&intercept).any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "coef/intercept",
                "non-finite value",
                "finite",
            ));
        }
        let n_classes = if rows == 1 { 2 } else { rows };
        Ok(LogisticRegression {
            coef,
            intercept,
            n_features,
            n_classes,
            info: None,
        })
    }

    /// Coefficients `[n_outputs, n_features]` row-major (`n_outputs` = 1 for binary, K else).
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    /// Intercepts `[n_outputs]`.
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of classes (2 for the binary model).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Rows of `coef`: 1 for the binary sigmoid model, K for softmax.
    pub fn n_outputs(&self) -> usize {
        self.intercept.len()
    }

    /// L-BFGS iterations of the fit (0 for a model built from parts).
    pub fn n_iter(&self) -> usize {
        self.info.as_ref().map_or(0, |i| i.n_iter)
    }

    /// Details of the fit; `None` for a model built from parts or named tensors.
    pub fn fit_info(&self) -> Option<&LogisticFitInfo> {
        self.info.as_ref()
    }

    /// Logits `x·Wᵀ + b`, `[n_rows, n_outputs]` row-major: one column (the log-odds of class 1)
    /// for the binary model, K for softmax (scikit-learn's `decision_function`).
    ///
    /// Errors: a feature count other than the fitted one (names both); `x.len() !=
    /// n_rows·n_features`; a NaN or infinite input (names the row and column).
    pub fn decision_function(
        &self,
        x: &[f64],
        n_rows: usize,
        n_features: usize,
    ) -> Result<Vec<f64>> {
        const OP: &str = "LogisticRegression::decision_function";
        check_feature_count(OP, self.n_features, n_rows, n_features)?;
        check_values(OP, x, n_rows, n_features)?;
        let (d, rows) = (self.n_features, self.n_outputs());
        let mut out = Vec::with_capacity(n_rows * rows);
        for xi in x.chunks_exact(d).take(n_rows) {
            for k in 0..rows {
                let w = &self.coef[k * d..(k + 1) * d];
                out.push(w.iter().zip(xi).map(|(a, b)| a * b).sum::<f64>() + self.intercept[k]);
            }
        }
        Ok(out)
    }

    /// Class probabilities `[n_rows, n_classes]` row-major (columns in class-index order):
    /// `[1 − σ(z), σ(z)]` for the binary model, `softmax(z)` otherwise.
    ///
    /// Errors: as [`Self::decision_function`].
    pub fn predict_proba(&self, x: &[f64], n_rows: usize, n_features: usize) -> Result<Vec<f64>> {
        let z = self.decision_function(x, n_rows, n_features)?;
        let rows = self.n_outputs();
        if rows == 1 {
            return Ok(z.iter().flat_map(|&v| [sigmoid(-v), sigmoid(v)]).collect());
        }
        Ok(z.chunks_exact(rows)
            .flat_map(crate::kernels::softmax::softmax_f64)
            .collect())
    }

    /// Predicted class indices `[n_rows]`: class 1 where the log-odds are `> 0` (binary), else
    /// the first class with the largest logit (scikit-learn's `predict`).
    ///
    /// Errors: as [`Self::decision_function`].
    pub fn predict(&self, x: &[f64], n_rows: usize, n_features: usize) -> Result<Vec<usize>> {
        let z = self.decision_function(x, n_rows, n_features)?;
        let rows = self.n_outputs();
        if rows == 1 {
            return Ok(z.iter().map(|&v| usize::from(v > 0.0)).collect());
        }
        Ok(z.chunks_exact(rows)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold(0, |best, (k, &v)| if v > r[best] { k } else { best })
            })
            .collect())
    }

    /// The parameters as PyTorch `nn.Linear(n_features, n_outputs)` holds them, f32:
    /// `weight [n_outputs, n_features]`, `bias [n_outputs]`.
    pub fn to_named_tensors(&self) -> Vec<(String, Tensor)> {
        let rows = self.n_outputs();
        let weight = Tensor::from_fn(&[rows, self.n_features], |j| self.coef[j] as f32);
        let bias = Tensor::from_fn(&[rows], |k| self.intercept[k] as f32);
        vec![("weight".to_string(), weight), ("bias".to_string(), bias)]
    }

    /// Rebuilds a model from `weight [n_outputs, n_features]` and `bias [n_outputs]`; one row is
    /// the binary sigmoid model, `K >= 2` rows softmax over K classes. Values widen to f64.
    ///
    /// Errors: a missing name, a wrong shape, or a non-finite value.
    pub fn from_named_tensors(tensors: &[(String, Tensor)]) -> Result<Self> {
        let (weight, bias) = named_linear(tensors, "LogisticRegression::from_named_tensors")?;
        let coef = weight.data().iter().map(|&v| v as f64).collect();
        let intercept = bias.data().iter().map(|&v| v as f64).collect();
        Self::from_parts(coef, intercept, weight.shape()[1])
    }
}

/// Splits `theta [rows, d + 1]` into `coef [rows, d]` and `intercept [rows]`.
fn split_params(theta: &[f64], rows: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut coef = Vec::with_capacity(rows * d);
    let mut intercept = Vec::with_capacity(rows);
    for t in theta.chunks_exact(d + 1).take(rows) {
        coef.extend_from_slice(&t[..d]);
        intercept.push(t[d]);
    }
    (coef, intercept)
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// `σ(z) = 1 / (1 + e^{−z})` without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^z)` without overflow or cancellation.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// In-place Cholesky `A = L·Lᵀ` of a symmetric `[m, m]` row-major matrix (lower triangle holds
/// L afterwards). `None` if `A` is not positive definite.
fn cholesky_in_place(a: &mut [f64], m: usize) -> Option<()> {
    for j in 0..m {
        let mut diag = a[j * m + j];
        for k in 0..j {
            diag -= a[j * m + k] * a[j * m + k];
        }
        if !(diag > 0.0) {
            return None;
        }
        let ljj = diag.sqrt();
        a[j * m + j] = ljj;
        for i in j + 1..m {
            let mut v = a[i * m + j];
            for k in 0..j {
                v -= a[i * m + k] * a[j * m + k];
            }
            a[i * m + j] = v / ljj;
        }
    }
    Some(())
}

/// Solves `L·Lᵀ·x = b` in place given the factor from [`cholesky_in_place`].
fn cholesky_solve(l: &[f64], m: usize, b: &mut [f64]) {
    for i in 0..m {
        let mut v = b[i];
        for k in 0..i {
            v -= l[i * m + k] * b[k];
        }
        b[i] = v / l[i * m + i];
    }
    for i in (0..m).rev() {
        let mut v = b[i];
        for k in i + 1..m {
            v -= l[k * m + i] * b[k];
        }
        b[i] = v / l[i * m + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analytic_gradient_matches_central_differences() {
        // Softmax with 3 classes and the sigmoid model on a tiny problem; h = 1e-6, f64.
        let x = [0.5, -1.0, 1.5, 0.2, -0.3, 0.8, 1.0, 1.0, -2.0, 0.1];
        let y3 = [0, 1, 2, 1, 0];
        let y2 = [0, 1, 1, 0, 1];
        for (y, rows) in [(&y3[..], 3), (&y2[..], 1)] {
            let p = Problem {
                x: &x,
                y,
                n: 5,
                d: 2,
                rows,
                c: 0.7,
            };
            let theta: Vec<f64> = (0..rows * 3).map(|i| 0.3 * (i as f64) - 0.5).collect();
            let mut g = vec![0.0; theta.len()];
            p.objective(&theta, &mut g);
            let mut scratch = vec![0.0; theta.len()];
            for i in 0..theta.len() {
                let (mut tp, mut tm) = (theta.clone(), theta.clone());
                tp[i] += 1e-6;
                tm[i] -= 1e-6;
                let fd = (p.objective(&tp, &mut scratch) - p.objective(&tm, &mut scratch)) / 2e-6;
                assert!((fd - g[i]).abs() < 1e-7, "param {i}: {fd} vs {}", g[i]);
            }
        }
    }

    #[test]
    fn the_hessian_matches_differences_of_the_gradient() {
        let x = [0.5, -1.0, 1.5, 0.2, -0.3, 0.8, 1.0, 1.0, -2.0, 0.1];
        let y3 = [0, 1, 2, 1, 0];
        let y2 = [0, 1, 1, 0, 1];
        for (y, rows) in [(&y3[..], 3), (&y2[..], 1)] {
            let p = Problem {
                x: &x,
                y,
                n: 5,
                d: 2,
                rows,
                c: 0.7,
            };
            let theta: Vec<f64> = (0..rows * 3).map(|i| 0.2 * (i as f64) - 0.4).collect();
            let m = theta.len();
            let h = p.hessian(&theta, 1.0);
            let (mut gp, mut gm) = (vec![0.0; m], vec![0.0; m]);
            for j in 0..m {
                let (mut tp, mut tm) = (theta.clone(), theta.clone());
                tp[j] += 1e-6;
                tm[j] -= 1e-6;
                p.objective(&tp, &mut gp);
                p.objective(&tm, &mut gm);
                for i in 0..m {
                    let fd = (gp[i] - gm[i]) / 2e-6;
                    // The softmax Hessian carries the extra 1/K on intercept-intercept entries.
                    let extra = if rows > 1 && i % 3 == 2 && j % 3 == 2 {
                        1.0 / rows as f64
                    } else {
                        0.0
                    };
                    assert!(
                        (fd + extra - h[i * m + j]).abs() < 1e-7,
                        "({i}, {j}): {fd} vs {}",
                        h[i * m + j]
                    );
                }
            }
        }
    }
}
