//! Matrix multiply through the `gemm` crate, transposes taken by strides (never copied).
//!
//! `gemm(c, a, b)` computes `C = alpha·C + op(A)·op(B)` on row-major slices, where `op(X)` is `X` or
//! `Xᵀ`. Work is split across rayon threads by `gemm` itself only over output blocks; the
//! reduction over `k` is never split, so results are bit-identical for any thread count.

use gemm::Parallelism;

/// Below this many multiply-adds a GEMM runs on one thread (threading costs more than it saves).
const PARALLEL_THRESHOLD: usize = 48 * 48 * 48;

/// A row-major matrix operand: `data` holds `[rows, cols]` of the *stored* matrix; `trans`
/// means the operand is the transpose of what is stored.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a> {
    /// Stored data, row-major.
    pub data: &'a [f32],
    /// Rows of the stored matrix.
    pub rows: usize,
    /// Columns of the stored matrix.
    pub cols: usize,
    /// Use the transpose of the stored matrix.
    pub trans: bool,
}

impl<'a> Mat<'a> {
    /// The stored matrix as it is.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            trans: false,
        }
    }

    /// The transpose of the stored matrix.
    pub fn t(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            trans: true,
        }
    }

    /// (rows, cols) of the operand as used (after the optional transpose).
    pub fn dims(&self) -> (usize, usize) {
        if self.trans {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) of the operand as used.
    fn strides(&self) -> (isize, isize) {
        if self.trans {
            (1, self.cols as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `c[m, n] = (if accumulate { c } else { 0 }) + a[m, k] · b[k, n]`, row-major `c`.
///
/// Panics only on inconsistent dimensions, which callers validate first (programming error).
pub fn gemm(c: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
    let (m, k) = a.dims();
    let (k2, n) = b.dims();
    assert_eq!(k, k2, "gemm inner dimensions");
    assert_eq!(a.data.len(), a.rows * a.cols, "gemm lhs size");
    assert_eq!(b.data.len(), b.rows * b.cols, "gemm rhs size");
    assert_eq!(c.len(), m * n, "gemm dst size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    let threads = rayon::current_num_threads();
    let par = if threads > 1 && m * n * k >= PARALLEL_THRESHOLD {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the slices have exactly the sizes the strides address (checked above), `c` does
    // not alias `a` or `b` (it is a distinct &mut), and T = f32 is supported by `gemm`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// The slow, obvious triple loop (f64 accumulation), as a reference for tests.
pub fn gemm_reference(a: Mat<'_>, b: Mat<'_>) -> Vec<f32> {
    let (m, k) = a.dims();
    let (_, n) = b.dims();
    let at = |i: usize, j: usize, x: &Mat<'_>| {
        if x.trans {
            x.data[j * x.cols + i]
        } else {
            x.data[i * x.cols + j]
        }
    };
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += at(i, p, &a) as f64 * at(p, j, &b) as f64;
            }
            c[i * n + j] = s as f32;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn gemm_matches_the_triple_loop_for_every_transpose() {
        let mut rng = Rng::new(3, "test");
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (64, 33, 17), (70, 70, 70)] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a: Vec<f32> = (0..m * k).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
                let b: Vec<f32> = (0..k * n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
                let am = if ta {
                    Mat::t(&a, k, m)
                } else {
                    Mat::new(&a, m, k)
                };
                let bm = if tb {
                    Mat::t(&b, n, k)
                } else {
                    Mat::new(&b, k, n)
                };
                let mut c = vec![0.5f32; m * n];
                gemm(&mut c, am, bm, false);
                let r = gemm_reference(am, bm);
                for (x, y) in c.iter().zip(&r) {
                    assert!(
                        (x - y).abs() < 1e-4,
                        "{m}x{n}x{k} ta={ta} tb={tb}: {x} vs {y}"
                    );
                }
                // accumulate adds onto what is there
                gemm(&mut c, am, bm, true);
                for (x, y) in c.iter().zip(&r) {
                    assert!((x - 2.0 * y).abs() < 2e-4);
                }
            }
        }
    }
}
