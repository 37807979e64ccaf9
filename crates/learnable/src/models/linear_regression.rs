//! Linear regression and ridge regression, solved exactly by an SVD (closed form, f64).
//!
//! Model: `y ≈ X·w + b` with `X: [n_rows, n_features]` row-major, `w: [n_features]`, `b` a scalar.
//! Objective: `||y − X·w − b||² + alpha·||w||²`; the intercept `b` is not penalised.
//!
//! Method (as scikit-learn's `LinearRegression` and `Ridge`): centre the columns of `X` and `y`,
//! which removes `b` from the problem, then solve for `w` with the thin SVD `Xc = U·diag(s)·Vᵀ`
//! ([`crate::linalg`]: a QR of the centred data streamed over row blocks, then a Jacobi SVD of
//! its small triangular factor; the same bits at any thread count):
//!
//! * `alpha == 0` (ordinary least squares): `w = V·diag(1/s)·Uᵀ·yc` over the singular values
//!   `s > rcond·max(s)`; the others are treated as zero. This is the minimum-norm solution that
//!   `scipy.linalg.lstsq(Xc, yc, cond=1e-6)` (LAPACK gelsd) and scikit-learn return, also on
//!   rank-deficient or exactly collinear data (a duplicated column gets half the weight on each
//!   copy). Without a relative cutoff a rounding-level singular value (~1e-13) survives and the
//!   answer is garbage of size ~1e14 (see `fixtures/reference/README.md`, section 1, "Trap").
//! * `alpha > 0` (ridge): `w = V·diag(s/(s² + alpha))·Uᵀ·yc`, the exact solution of the normal
//!   equations `(XcᵀXc + alpha·I)·w = Xcᵀ·yc` without forming `XcᵀXc` (which would square the
//!   condition number).
//!
//! Then `b = mean(y) − mean(X)·w`. The SVD of the centred data is reported (`rank`,
//! `singular_values`), as scikit-learn's `rank_` and `singular_`.
//!
//! For training by gradient descent the fitted parameters export as PyTorch `nn.Linear` tensors
//! (`weight [1, n_features]`, `bias [1]`, f32) through [`LinearRegression::to_named_tensors`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::linalg;
use crate::tensor::Tensor;

/// Hyperparameters of (ridge) linear regression. Validated by [`LinearRegressionConfig::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearRegressionConfig {
    /// L2 penalty on the weights (`alpha·||w||²`, intercept unpenalised). `0` is ordinary least
    /// squares; must be finite and `>= 0`. Default 0 (scikit-learn `LinearRegression`);
    /// scikit-learn `Ridge` defaults to 1.
    pub alpha: f64,
    /// Relative singular-value cutoff for `alpha == 0`: singular values `<= rcond·max(s)` count
    /// as zero (they define `rank`). Default `1e-6`, scikit-learn's `LinearRegression(tol=1e-6)`
    /// which it passes to `scipy.linalg.lstsq(cond=...)`. Must be finite and in `[0, 1)`.
    pub rcond: f64,
}

impl Default for LinearRegressionConfig {
    fn default() -> Self {
        Self::ols()
    }
}

/// What the SVD of the centred design matrix showed.
#[derive(Debug, Clone, PartialEq)]
pub struct LstsqInfo {
    /// Number of singular values of the centred `X` above `rcond·max(s)`.
    pub rank: usize,
    /// Singular values of the centred `X`, non-increasing, `min(n_rows, n_features)` of them.
    pub singular_values: Vec<f64>,
}

/// A fitted linear model `y = X·w + b` (from [`LinearRegressionConfig::fit`] or loaded from
/// named tensors).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegression {
    coef: Vec<f64>,
    intercept: f64,
    info: Option<LstsqInfo>,
}

impl LinearRegressionConfig {
    /// Ordinary least squares (`alpha = 0`, `rcond = 1e-6`).
    pub fn ols() -> Self {
        LinearRegressionConfig {
            alpha: 0.0,
            rcond: 1e-6,
        }
    }

    /// Ridge regression with penalty `alpha·||w||²`.
    pub fn ridge(alpha: f64) -> Self {
        LinearRegressionConfig {
            alpha,
            ..Self::ols()
        }
    }

    /// Checks the hyperparameters; the error names the parameter, its value and the range.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(Error::invalid("alpha", self.alpha, "finite and >= 0"));
        }
        if !(self.rcond.is_finite() && (0.0..1.0).contains(&self.rcond)) {
            return Err(Error::invalid("rcond", self.rcond, "finite and in [0, 1)"));
        }
        Ok(())
    }

    /// Fits `y ≈ X·w + b` exactly (see the module documentation for the method).
    ///
    /// `x`: `[n_rows, n_features]` row-major; `y`: `[n_rows]`.
    ///
    /// Errors: invalid hyperparameters; `n_rows == 0` or `n_features == 0`; `x.len() !=
    /// n_rows·n_features` or `y.len() != n_rows` (shape error); a NaN or infinite value in `x` or
    /// `y` (names the row and column); the SVD not converging.
    pub fn fit(
        &self,
        x: &[f64],
        n_rows: usize,
        n_features: usize,
        y: &[f64],
    ) -> Result<LinearRegression> {
        const OP: &str = "LinearRegression::fit";
        self.validate()?;
        check_design(OP, x, n_rows, n_features)?;
        check_targets(OP, y, n_rows)?;
        let (n, d) = (n_rows, n_features);

        // Centre X and y (f64, two passes: mean, then differences) and factor the centred
        // data: Xc = U·diag(s)·Vᵀ, and the projections Uᵀ·yc.
        let x_mean = column_means(x, n, d);
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let (s, uty, v) = centred_svd(x, n, d, &x_mean, y, y_mean)?;
        let k = s.len();
        let s_max = s.first().copied().unwrap_or(0.0);
        let cutoff = self.rcond * s_max;
        let rank = s.iter().filter(|&&si| si > cutoff).count();

        // w = V · diag(f(s)) · Uᵀ yc, with f(s) = 1/s above the cutoff (OLS) or s/(s²+alpha).
        let mut coef = vec![0.0; d];
        for c in 0..k {
            let sc = s[c];
            let factor = if self.alpha == 0.0 {
                if sc > cutoff { 1.0 / sc } else { 0.0 }
            } else {
                sc / (sc * sc + self.alpha)
            };
            if factor == 0.0 {
                continue;
            }
            let a = factor * uty[c];
            for (w, vj) in coef.iter_mut().zip(&v[c * d..(c + 1) * d]) {
                *w += vj * a;
            }
        }
        let intercept = y_mean - x_mean.iter().zip(&coef).map(|(m, w)| m * w).sum::<f64>();
        Ok(LinearRegression {
            coef,
            intercept,
            info: Some(LstsqInfo {
                rank,
                singular_values: s,
            }),
        })
    }
}

impl LinearRegression {
    /// Builds a model from weights `[n_features]` and a bias.
    ///
    /// Errors: no weights, or a non-finite weight or bias.
    pub fn from_parts(coef: Vec<f64>, intercept: f64) -> Result<Self> {
        if coef.is_empty() {
            return Err(Error::invalid(
                "coef",
                "[] (no features)",
                "at least one weight",
            ));
        }
        if let Some(j) = coef.iter().position(|w| !w.is_finite()) {
            return Err(Error::invalid(&format!("coef[{j}]"), coef[j], "finite"));
        }
        if !intercept.is_finite() {
            return Err(Error::invalid("intercept", intercept, "finite"));
        }
        Ok(LinearRegression {
            coef,
            intercept,
            info: None,
        })
    }

    /// Weights `w`, `[n_features]`.
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    /// Bias `b`.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Number of input features the model expects.
    pub fn n_features(&self) -> usize {
        self.coef.len()
    }

    /// Rank of the centred design matrix and its singular values; `None` for a model built
    /// from parts or named tensors rather than fitted.
    pub fn lstsq_info(&self) -> Option<&LstsqInfo> {
        self.info.as_ref()
    }

    /// Predictions `X·w + b`, `[n_rows]`, for `x: [n_rows, n_features]` row-major.
    ///
    /// Errors: `n_features` differs from the fitted count (shape error naming both counts);
    /// `x.len() != n_rows·n_features`; a NaN or infinite input (names the row and column).
    pub fn predict(&self, x: &[f64], n_rows: usize, n_features: usize) -> Result<Vec<f64>> {
        const OP: &str = "LinearRegression::predict";
        check_feature_count(OP, self.coef.len(), n_rows, n_features)?;
        check_values(OP, x, n_rows, n_features)?;
        let d = n_features;
        Ok((0..n_rows)
            .map(|i| {
                let row = &x[i * d..(i + 1) * d];
                row.iter().zip(&self.coef).map(|(a, w)| a * w).sum::<f64>() + self.intercept
            })
            .collect())
    }

    /// The parameters as PyTorch `nn.Linear(n_features, 1)` holds them, f32:
    /// `weight [1, n_features]` and `bias [1]`.
    pub fn to_named_tensors(&self) -> Vec<(String, Tensor)> {
        let d = self.coef.len();
        let weight = Tensor::from_fn(&[1, d], |j| self.coef[j] as f32);
        vec![
            ("weight".to_string(), weight),
            (
                "bias".to_string(),
                Tensor::full(&[1], self.intercept as f32),
            ),
        ]
    }

    /// Rebuilds a model from `weight [1, n_features]` and `bias [1]` (as written by
    /// [`Self::to_named_tensors`] or trained by the epoch loop); values are widened to f64.
    ///
    /// Errors: a missing name, a wrong shape, or a non-finite value.
    pub fn from_named_tensors(tensors: &[(String, Tensor)]) -> Result<Self> {
        let (weight, bias) = named_linear(tensors, "LinearRegression::from_named_tensors")?;
        if weight.shape()[0] != 1 {
            return Err(Error::shape(
                "LinearRegression::from_named_tensors",
                "weight [1, n_features]",
                weight.shape(),
            ));
        }
        let coef = weight.data().iter().map(|&v| v as f64).collect();
        Self::from_parts(coef, bias.data()[0] as f64)
    }
}

/// Finds `weight [out, in]` and `bias [out]` in a list of named tensors (shared with logistic
/// regression).
pub(crate) fn named_linear<'a>(
    tensors: &'a [(String, Tensor)],
    op: &'static str,
) -> Result<(&'a Tensor, &'a Tensor)> {
    let find = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::Missing(format!("{op}: no tensor named `{name}`")))
    };
    let weight = find("weight")?;
    let bias = find("bias")?;
    if weight.ndim() != 2 || weight.shape()[1] == 0 {
        return Err(Error::shape(
            op,
            "weight [out, in] with in >= 1",
            weight.shape(),
        ));
    }
    if bias.shape() != [weight.shape()[0]] {
        return Err(Error::shape(
            op,
            format!("bias [{}]", weight.shape()[0]),
            bias.shape(),
        ));
    }
    if !weight.all_finite() || !bias.all_finite() {
        return Err(Error::invalid("weight/bias", "non-finite value", "finite"));
    }
    Ok((weight, bias))
}

/// Checks a design matrix for fitting: at least one row and one feature, the right length and
/// finite values.
pub(crate) fn check_design(
    op: &'static str,
    x: &[f64],
    n_rows: usize,
    n_features: usize,
) -> Result<()> {
    if n_rows == 0 {
        return Err(Error::invalid("n_rows", 0, "at least one row to fit"));
    }
    if n_features == 0 {
        return Err(Error::invalid("n_features", 0, "at least one feature"));
    }
    check_values(op, x, n_rows, n_features)
}

/// Checks the predict-time feature count against the fitted one.
pub(crate) fn check_feature_count(
    op: &'static str,
    fitted: usize,
    n_rows: usize,
    n_features: usize,
) -> Result<()> {
    if n_features != fitted {
        return Err(Error::Shape {
            op,
            expected: format!("[*, {fitted}] (the model was fitted on {fitted} features)"),
            got: format!("[{n_rows}, {n_features}] ({n_features} features)"),
        });
    }
    Ok(())
}

/// Checks `x.len() == n_rows·n_features` and that every value is finite.
pub(crate) fn check_values(
    op: &'static str,
    x: &[f64],
    n_rows: usize,
    n_features: usize,
) -> Result<()> {
    if Some(x.len()) != n_rows.checked_mul(n_features) {
        return Err(Error::Shape {
            op,
            expected: format!(
                "{n_rows} x {n_features} = {} values (row-major)",
                n_rows.saturating_mul(n_features)
            ),
            got: format!("{} values", x.len()),
        });
    }
    if let Some(p) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            &format!(
                "x[row {}, column {}] in {op}",
                p / n_features,
                p % n_features
            ),
            x[p],
            "finite numbers (no NaN or infinity)",
        ));
    }
    Ok(())
}

fn check_targets(op: &'static str, y: &[f64], n_rows: usize) -> Result<()> {
    if y.len() != n_rows {
        return Err(Error::shape(
            op,
            format!("y [{n_rows}] (one target per row)"),
            &[y.len()],
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            &format!("y[{i}] in {op}"),
            y[i],
            "finite numbers (no NaN or infinity)",
        ));
    }
    Ok(())
}

/// Column means of a row-major `[n, d]` matrix.
pub(crate) fn column_means(x: &[f64], n: usize, d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d];
    for row in x.chunks_exact(d) {
        for (a, v) in m.iter_mut().zip(row) {
            *a += v;
        }
    }
    let inv = 1.0 / n as f64;
    m.iter_mut().for_each(|a| *a *= inv);
    m
}

/// SVD of the centred data `Xc = X − mean(X)` (`[n, d]`) without forming `Xc`: returns the
/// singular values `s [k]` (non-increasing, `k = min(n, d)`), the projections `Uᵀ·yc [k]` of the
/// centred targets on the left singular vectors, and the right singular vectors `V` (`[d, k]`,
/// column-major: column `c` at `v[c·d..(c+1)·d]`).
///
/// Tall data (`n >= d`): the `R` factor of `[Xc | yc] = Q·R` streamed over row blocks
/// ([`crate::linalg::qr::tall_r`]), then the Jacobi SVD of its `[d, d]` block `R_xx = U_r·S·Vᵀ`;
/// `Uᵀ·yc = U_rᵀ·z` where `z` is the first `d` entries of `R`'s last column (`Qᵀ·yc`). Wide data
/// (`n < d`): the Jacobi SVD of `Xcᵀ` (`[d, n]`), whose column-major storage is `Xc` row-major.
fn centred_svd(
    x: &[f64],
    n: usize,
    d: usize,
    x_mean: &[f64],
    y: &[f64],
    y_mean: f64,
) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let svd_error = |e: Error| Error::Other(format!("LinearRegression::fit: {e}"));
    if n >= d {
        let p = d + 1;
        let r = linalg::qr::tall_r(n, p, |row0, rows, blk| {
            for i in 0..rows {
                let src = &x[(row0 + i) * d..(row0 + i + 1) * d];
                for (c, (v, m)) in src.iter().zip(x_mean).enumerate() {
                    blk[c * rows + i] = v - m;
                }
                blk[d * rows + i] = y[row0 + i] - y_mean;
            }
        });
        // R_xx column-major [d, d] and z = (Qᵀ·yc)[..d].
        let mut rxx = vec![0.0; d * d];
        for i in 0..d {
            for c in i..d {
                rxx[c * d + i] = r[i * p + c];
            }
        }
        let z: Vec<f64> = (0..d).map(|i| r[i * p + d]).collect();
        let svd = linalg::svd::jacobi_svd(rxx, d, d).map_err(svd_error)?;
        let uty = (0..d).map(|c| linalg::qr::dot(svd.u_col(c), &z)).collect();
        Ok((svd.s, uty, svd.v))
    } else {
        // Xcᵀ [d, n] column-major: column i is row i of Xc. Xcᵀ = U_m·S·V_mᵀ, so Xc = V_m·S·U_mᵀ:
        // Xc's left vectors are V_m ([n, n]) and its right vectors U_m ([d, n]).
        let mut xct = vec![0.0; n * d];
        for (dst, src) in xct.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
            for ((o, v), m) in dst.iter_mut().zip(src).zip(x_mean) {
                *o = v - m;
            }
        }
        let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        let svd = linalg::svd::jacobi_svd(xct, d, n).map_err(svd_error)?;
        let uty = (0..n).map(|c| linalg::qr::dot(svd.v_col(c), &yc)).collect();
        Ok((svd.s, uty, svd.u))
    }
}
