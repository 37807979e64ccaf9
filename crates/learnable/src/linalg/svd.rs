//! Singular value decomposition of a small dense matrix by one-sided Jacobi rotations.
//!
//! Method (M. R. Hestenes, "Inversion of matrices by biorthogonalization and related results",
//! J. SIAM 6(1), 1958; the convergence test and rotation of J. Demmel and K. Veselić, "Jacobi's
//! method is more accurate than QR", SIAM J. Matrix Anal. Appl. 13(4), 1992): rotate pairs of
//! columns of `A [m, k]` until every pair is orthogonal to working precision, accumulating the
//! rotations in `V [k, k]`. Then `A·V = U·diag(s)` with `s_i` the column norms and `U` the
//! normalised columns. Cyclic sweeps over all pairs; quadratic convergence in practice, with
//! small singular values computed to high relative accuracy. Cost about `4·m·k²` flops per
//! sweep, typically 6–10 sweeps: meant for the `[d, d]` triangular factor of a least-squares
//! problem or a short wide matrix, not for a large matrix directly.
//!
//! Deterministic: a fixed sweep order, no threads.

use super::qr::dot;
use crate::error::{Error, Result};

/// Most sweeps before giving up (convergence normally takes under 15).
const MAX_SWEEPS: usize = 60;

/// `A = U·diag(s)·Vᵀ` with `s` non-increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Svd {
    /// Rows of `A`.
    pub m: usize,
    /// Columns of `A` (and the number of singular values).
    pub k: usize,
    /// Left singular vectors `[m, k]`, column-major (column `c` at `u[c·m..(c+1)·m]`); a column
    /// for a zero singular value is zero.
    pub u: Vec<f64>,
    /// Singular values `[k]`, non-increasing, `>= 0`.
    pub s: Vec<f64>,
    /// Right singular vectors `[k, k]`, column-major (column `c` at `v[c·k..(c+1)·k]`),
    /// orthonormal.
    pub v: Vec<f64>,
}

impl Svd {
    /// Left singular vector `c` (`[m]`).
    pub fn u_col(&self, c: usize) -> &[f64] {
        &self.u[c * self.m..(c + 1) * self.m]
    }

    /// Right singular vector `c` (`[k]`).
    pub fn v_col(&self, c: usize) -> &[f64] {
        &self.v[c * self.k..(c + 1) * self.k]
    }
}

/// SVD of `a` (`[m, k]`, column-major, consumed) by one-sided Jacobi; any `m`, `k`.
///
/// Errors: a non-finite entry; no convergence after [`MAX_SWEEPS`] sweeps (not seen on finite
/// input, reported rather than returning an unconverged answer).
pub fn jacobi_svd(mut a: Vec<f64>, m: usize, k: usize) -> Result<Svd> {
    if a.len() != m * k {
        return Err(Error::shape(
            "jacobi_svd",
            format!("[{m}, {k}]"),
            &[a.len()],
        ));
    }
    if a.iter().any(|x| !x.is_finite()) {
        return Err(Error::invalid(
            "matrix for the SVD",
            "a NaN or infinite entry",
            "finite numbers",
        ));
    }
    let mut v = vec![0.0; k * k];
    for i in 0..k {
        v[i * k + i] = 1.0;
    }
    let tol = f64::EPSILON * (m.max(1) as f64).sqrt();
    let mut converged = k < 2;
    for _ in 0..MAX_SWEEPS {
        if converged {
            break;
        }
        let mut rotated = false;
        for i in 0..k.saturating_sub(1) {
            for j in i + 1..k {
                let (ai, aj) = two_cols(&mut a, m, i, j);
                let alpha = dot(ai, ai);
                let beta = dot(aj, aj);
                let gamma = dot(ai, aj);
                if gamma == 0.0 || gamma.abs() <= tol * (alpha.sqrt() * beta.sqrt()) {
                    continue;
                }
                rotated = true;
                // Rotation that zeroes the (i, j) entry of AᵀA (Rutishauser's formulas).
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + 1f64.hypot(zeta));
                let c = 1.0 / 1f64.hypot(t);
                let s = c * t;
                rotate(ai, aj, c, s);
                let (vi, vj) = two_cols(&mut v, k, i, j);
                rotate(vi, vj, c, s);
            }
        }
        converged = !rotated;
    }
    if !converged {
        return Err(Error::Other(format!(
            "SVD of a {m} x {k} matrix did not converge in {MAX_SWEEPS} Jacobi sweeps"
        )));
    }
    // Singular values are the column norms; sort non-increasing (stable, so ties keep order).
    let norms: Vec<f64> = (0..k)
        .map(|c| dot(col(&a, m, c), col(&a, m, c)).sqrt())
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&x, &y| norms[y].total_cmp(&norms[x]));
    let mut u = vec![0.0; m * k];
    let mut vs = vec![0.0; k * k];
    let mut s = Vec::with_capacity(k);
    for (dst, &src) in order.iter().enumerate() {
        let n = norms[src];
        s.push(n);
        if n > 0.0 {
            for (o, x) in u[dst * m..(dst + 1) * m].iter_mut().zip(col(&a, m, src)) {
                *o = x / n;
            }
        }
        vs[dst * k..(dst + 1) * k].copy_from_slice(col(&v, k, src));
    }
    Ok(Svd { m, k, u, s, v: vs })
}

fn col(a: &[f64], m: usize, c: usize) -> &[f64] {
    &a[c * m..(c + 1) * m]
}

/// Columns `i < j` of a column-major matrix with `m` rows, both mutable.
fn two_cols(a: &mut [f64], m: usize, i: usize, j: usize) -> (&mut [f64], &mut [f64]) {
    let (lo, hi) = a.split_at_mut(j * m);
    (&mut lo[i * m..(i + 1) * m], &mut hi[..m])
}

/// `(x, y) ← (c·x − s·y, s·x + c·y)`.
fn rotate(x: &mut [f64], y: &mut [f64], c: f64, s: f64) {
    for (a, b) in x.iter_mut().zip(y.iter_mut()) {
        let (p, q) = (*a, *b);
        *a = c * p - s * q;
        *b = s * p + c * q;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconstruct(svd: &Svd) -> Vec<f64> {
        let (m, k) = (svd.m, svd.k);
        let mut a = vec![0.0; m * k];
        for c in 0..k {
            for r in 0..k {
                for i in 0..m {
                    a[r * m + i] += svd.u_col(c)[i] * svd.s[c] * svd.v_col(c)[r];
                }
            }
        }
        a
    }

    /// [[3, 2, 2], [2, 3, -2]] (rows) has singular values 5 and 3 (by hand: AAᵀ = [[17, 8],
    /// [8, 17]], eigenvalues 25 and 9); as a 3×2 column-major matrix Aᵀ it has the same.
    #[test]
    fn singular_values_of_a_matrix_worked_by_hand() {
        // Aᵀ [3, 2] column-major: columns are the rows of A.
        let at = vec![3.0, 2.0, 2.0, 2.0, 3.0, -2.0];
        let svd = jacobi_svd(at.clone(), 3, 2).unwrap();
        assert!(
            (svd.s[0] - 5.0).abs() < 1e-14 && (svd.s[1] - 3.0).abs() < 1e-14,
            "{:?}",
            svd.s
        );
        let back = reconstruct(&svd);
        for (x, y) in back.iter().zip(&at) {
            assert!((x - y).abs() < 1e-14);
        }
    }

    /// Rank deficiency: a repeated column gives an exact zero (to rounding) singular value, V
    /// stays orthonormal, and A is reconstructed.
    #[test]
    fn rank_deficient_matrix_is_reconstructed_with_orthonormal_v() {
        let (m, k) = (5, 4);
        let mut a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 11) as f64) - 5.0).collect();
        let c0: Vec<f64> = a[..m].to_vec();
        a[3 * m..4 * m].copy_from_slice(&c0);
        let svd = jacobi_svd(a.clone(), m, k).unwrap();
        assert!(svd.s.windows(2).all(|w| w[0] >= w[1]));
        assert!(svd.s[3] < 1e-13 * svd.s[0], "{:?}", svd.s);
        for (x, y) in reconstruct(&svd).iter().zip(&a) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
        for p in 0..k {
            for q in 0..k {
                let d = dot(svd.v_col(p), svd.v_col(q));
                let want = if p == q { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-13, "VᵀV[{p},{q}] = {d}");
            }
        }
    }

    #[test]
    fn non_finite_input_is_an_error() {
        assert!(jacobi_svd(vec![1.0, f64::NAN], 2, 1).is_err());
        assert!(jacobi_svd(vec![1.0], 2, 1).is_err());
    }
}
