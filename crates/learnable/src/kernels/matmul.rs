//! Matrix multiply, transposes taken by strides (never copied): on the AVX-512 path
//! ([`crate::kernels::isa`]) products whose right operand is not transposed go through this
//! crate's kernel (`kernels/gemm_avx512.rs`), everything else through the `gemm` crate
//! (whose x86 kernels stop at AVX2+FMA).
//!
//! `gemm(c, a, b)` computes `C = alpha·C + op(A)·op(B)` on row-major slices, where `op(X)` is `X` or
//! `Xᵀ`. Work is split across rayon threads only over output blocks; the reduction over `k` is
//! never split, so results are bit-identical for any thread count (on one path; paths differ
//! in the last bits).

use gemm::Parallelism;

use crate::kernels::isa::{self, Isa};

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

/// `c[m, n] = (if accumulate { c } else { 0 }) + a[m, k] · b[k, n]`, row-major `c`, on the
/// process's path ([`isa::active`]).
///
/// Panics only on inconsistent dimensions, which callers validate first (programming error).
pub fn gemm(c: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
    gemm_with(isa::active(), c, a, b, accumulate)
}

/// [`gemm`] on a given path (tests run every path the machine has this way): [`Isa::Avx512`]
/// with `b` not transposed uses this crate's kernel (`kernels/gemm_avx512.rs`), every other case the `gemm`
/// crate. A path this CPU lacks falls back to the `gemm` crate.
///
/// Panics only on inconsistent dimensions (programming error).
pub fn gemm_with(isa: Isa, c: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
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
    let parallel = threads > 1 && m * n * k >= PARALLEL_THRESHOLD;
    if isa == Isa::Avx512 && isa.supported() && !b.trans {
        // SAFETY: AVX-512F checked; the operands have the sizes their strides address (checked
        // above: a is [m, k] as used, b [k, n] row-major with row stride n, c [m, n]); m, n,
        // k > 0.
        unsafe {
            crate::kernels::gemm_avx512::gemm(
                c,
                a.data,
                a_rs as usize,
                a_cs as usize,
                b.data,
                n,
                m,
                n,
                k,
                accumulate,
                parallel,
            )
        };
        return;
    }
    let par = if parallel {
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
    fn gemm_matches_the_triple_loop_for_every_transpose_on_every_path() {
        for isa in isa::available() {
            matches_the_triple_loop(isa);
        }
    }

    fn matches_the_triple_loop(isa: Isa) {
        let mut rng = Rng::new(3, "test");
        // Shapes past every edge of the AVX-512 kernel: rows not a multiple of 12 or 48, columns
        // not a multiple of 16 or 128, k over one 256-block.
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (64, 33, 17),
            (70, 70, 70),
            (50, 130, 300),
            (13, 257, 5),
        ] {
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
                gemm_with(isa, &mut c, am, bm, false);
                let r = gemm_reference(am, bm);
                // f32 sums of k products of magnitude ≤ 1 (errors ~ 6e-8·k typically, see
                // fused_linear's tests): 1e-6·(k + 1) is ≥ 16x that and far below one term.
                let tol = 1e-6 * (k as f32 + 1.0);
                for (x, y) in c.iter().zip(&r) {
                    assert!(
                        (x - y).abs() < tol,
                        "{isa}: {m}x{n}x{k} ta={ta} tb={tb}: {x} vs {y}"
                    );
                }
                // accumulate adds onto what is there
                gemm_with(isa, &mut c, am, bm, true);
                for (x, y) in c.iter().zip(&r) {
                    assert!((x - 2.0 * y).abs() < 2.0 * tol, "{isa}: accumulate");
                }
                // Thread count never changes a bit.
                let run = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let mut c = vec![0.25f32; m * n];
                    pool.install(|| gemm_with(isa, &mut c, am, bm, true));
                    c.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                assert_eq!(run(1), run(2), "{isa}: {m}x{n}x{k} threads");
            }
        }
    }
}
