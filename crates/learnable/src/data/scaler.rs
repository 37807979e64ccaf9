//! Standardisation `x' = (x - mean) / scale`, fitted on the training split only.
//!
//! Follows scikit-learn's `StandardScaler` (1.9): `mean` is the column mean, `scale` the
//! population standard deviation (ddof = 0), and a constant column gets `scale = 1` (so it maps
//! to 0 instead of dividing by zero). A column counts as constant when its variance is within
//! rounding of zero, with sklearn's bound `var <= n*eps*var + (n*mean*eps)^2`
//! (`sklearn.preprocessing._data._is_constant_feature`). Statistics are computed in `f64` with a
//! two-pass algorithm (mean first, then the mean of squared deviations).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;

/// A fitted standard scaler: one `mean` and one `scale` per feature. Serialisable, so it is
/// stored in a model's `config.json` and reapplied at prediction time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Column means of the training rows, `[n_features]`.
    pub mean: Vec<f64>,
    /// Column population standard deviations of the training rows (1 for a constant column),
    /// `[n_features]`.
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Fits on every row of `data` (pass the training split). Errors if it has no rows.
    pub fn fit(data: &Dataset) -> Result<Self> {
        Self::fit_f64(&data.features_f64(), data.n_features())
    }

    /// Fits on a row-major `f64` matrix `[n_rows, n_features]`. Errors if there are no rows or
    /// the length is not a multiple of `n_features`.
    pub fn fit_f64(x: &[f64], n_features: usize) -> Result<Self> {
        if n_features == 0 {
            return Ok(StandardScaler {
                mean: vec![],
                scale: vec![],
            });
        }
        if x.is_empty() || x.len() % n_features != 0 {
            return Err(Error::shape(
                "StandardScaler::fit",
                format!("[n >= 1, {n_features}]"),
                &[x.len()],
            ));
        }
        let n = x.len() / n_features;
        let nf = n as f64;
        let mut mean = vec![0.0; n_features];
        for row in x.chunks_exact(n_features) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= nf);
        let mut var = vec![0.0; n_features];
        for row in x.chunks_exact(n_features) {
            for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let eps = f64::EPSILON;
        let scale = var
            .iter()
            .zip(&mean)
            .map(|(&s, &m)| {
                let v = s / nf;
                let bound = nf * eps * v + (nf * m * eps).powi(2);
                if v <= bound { 1.0 } else { v.sqrt() }
            })
            .collect();
        Ok(StandardScaler { mean, scale })
    }

    /// Number of features the scaler was fitted on.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// `data` with standardised features (same storage precision). Errors if the feature count
    /// differs from the fitted one.
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        let mut out = data.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// As [`StandardScaler::transform`], in place.
    pub fn transform_in_place(&self, data: &mut Dataset) -> Result<()> {
        self.check(data.n_features())?;
        data.map_features(|j, v| (v - self.mean[j]) / self.scale[j]);
        Ok(())
    }

    /// Standardises a row-major `f64` matrix `[n, n_features]` in place.
    pub fn transform_f64(&self, x: &mut [f64]) -> Result<()> {
        self.check_len(x.len())?;
        for row in x.chunks_exact_mut(self.n_features().max(1)) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        Ok(())
    }

    /// Standardises a row-major `f32` matrix `[n, n_features]` in place (arithmetic in `f64`).
    pub fn transform_f32(&self, x: &mut [f32]) -> Result<()> {
        self.check_len(x.len())?;
        for row in x.chunks_exact_mut(self.n_features().max(1)) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = ((*v as f64 - m) / s) as f32;
            }
        }
        Ok(())
    }

    /// Undoes [`StandardScaler::transform_f64`] in place: `x = x' * scale + mean`.
    pub fn inverse_transform_f64(&self, x: &mut [f64]) -> Result<()> {
        self.check_len(x.len())?;
        for row in x.chunks_exact_mut(self.n_features().max(1)) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = *v * s + m;
            }
        }
        Ok(())
    }

    fn check(&self, n_features: usize) -> Result<()> {
        if n_features != self.n_features() {
            return Err(Error::shape(
                "StandardScaler::transform",
                format!("[*, {}]", self.n_features()),
                &[n_features],
            ));
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<()> {
        let d = self.n_features();
        if (d == 0 && len != 0) || (d > 0 && len % d != 0) {
            return Err(Error::shape(
                "StandardScaler::transform",
                format!("[*, {d}]"),
                &[len],
            ));
        }
        Ok(())
    }
}
