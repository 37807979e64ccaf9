//! The `R` factor of `A = Q·R` for a tall `A [n, p]`, by Householder reflections applied to one
//! block of rows at a time.
//!
//! Method: keep an upper-triangular `R [p, p]` (zero at the start) and, for each block `B [b, p]`
//! of rows of `A`, factor the stacked matrix `[R; B]` by `p` reflections `H_j = I − τ·v·vᵀ` whose
//! vectors are `1` at row `j` of `R` and nonzero only in the rows of `B` (R's entries below the
//! diagonal are zero). This is LAPACK's `dtpqrt` structure (the triangular-pentagonal QR used in
//! tall-skinny QR: J. Demmel, L. Grigori, M. Hoemmen, J. Langou, "Communication-optimal parallel
//! and sequential QR and LU factorizations", SIAM J. Sci. Comput. 34(1), 2012) with `dlarfg`'s
//! choice of reflection (β = −sign(α)·‖(α, x)‖). After the last block, `AᵀA = RᵀR` and `R` is the
//! triangular factor of `A`, up to the signs of its rows. Cost `2·n·p²` flops; memory one block
//! and one `R` per row group.
//!
//! Rows are cut into groups of [`GROUP`] rows (fixed, whatever the thread count), each group is
//! reduced on its own (in parallel) and the groups' factors are folded into the first in group
//! order, so the result does not depend on the number of threads.

use rayon::prelude::*;

/// Rows folded into `R` at a time: a block `[BLOCK, p]` of f64 stays in L2 for `p` up to ~128.
const BLOCK: usize = 256;
/// Rows reduced independently (then merged in order); a multiple of [`BLOCK`].
pub const GROUP: usize = 16 * BLOCK;

/// The `R` factor (`[p, p]`, row-major, upper triangular) of a matrix `A [n, p]` whose rows are
/// produced by `fill`.
///
/// `fill(row0, rows, block)` writes rows `row0..row0 + rows` of `A` into `block`, column-major:
/// element `(i, c)` (row `row0 + i`, column `c`) at `block[c·rows + i]`; `block.len() == rows·p`.
/// It is called from several threads at once, for disjoint row ranges.
///
/// Any `n` works (`n < p` leaves the rows of `R` past `n` zero). Entries are not scaled: inputs
/// whose squares overflow f64 (|a| > ~1e154) give infinities.
pub fn tall_r<F>(n: usize, p: usize, fill: F) -> Vec<f64>
where
    F: Fn(usize, usize, &mut [f64]) + Sync,
{
    let groups = n.div_ceil(GROUP).max(1);
    let factors: Vec<Vec<f64>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let start = g * GROUP;
            let end = (start + GROUP).min(n);
            let mut r = vec![0.0; p * p];
            let mut block = vec![0.0; BLOCK.min(end - start).max(1) * p];
            let mut row = start;
            while row < end {
                let b = BLOCK.min(end - row);
                let blk = &mut block[..b * p];
                fill(row, b, blk);
                fold(&mut r, blk, b, p);
                row += b;
            }
            r
        })
        .collect();
    let mut it = factors.into_iter();
    let mut r = it.next().unwrap_or_else(|| vec![0.0; p * p]);
    let mut block = vec![0.0; p * p];
    for other in it {
        // The other group's R as a block of p rows, column-major.
        for i in 0..p {
            for c in 0..p {
                block[c * p + i] = other[i * p + c];
            }
        }
        fold(&mut r, &mut block, p, p);
    }
    r
}

/// Folds the rows of `block` (`[b, p]`, column-major; overwritten) into the upper-triangular
/// `r` (`[p, p]`, row-major): afterwards `r_newᵀ·r_new = rᵀ·r + blockᵀ·block`.
pub fn fold(r: &mut [f64], block: &mut [f64], b: usize, p: usize) {
    debug_assert_eq!(r.len(), p * p);
    debug_assert_eq!(block.len(), b * p);
    for j in 0..p {
        let (left, right) = block.split_at_mut((j + 1) * b);
        let v = &mut left[j * b..];
        let sigma = dot(v, v);
        if sigma == 0.0 {
            // Column j of the block is already zero: H_j = I.
            continue;
        }
        let alpha = r[j * p + j];
        let norm = alpha.hypot(sigma.sqrt());
        let beta = if alpha >= 0.0 { -norm } else { norm };
        let tau = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        v.iter_mut().for_each(|x| *x *= scale);
        r[j * p + j] = beta;
        let r_row = &mut r[j * p + j + 1..(j + 1) * p];
        for (rc, col) in r_row.iter_mut().zip(right.chunks_exact_mut(b)) {
            let s = tau * (*rc + dot(v, col));
            *rc -= s;
            axpy(-s, v, col);
        }
    }
}

/// `Σ a_i·b_i` with eight interleaved partial sums (fixed order, so the same bits on any
/// vector width; lets the compiler vectorise without reassociating).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y += a·x`.
#[inline]
pub(crate) fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `RᵀR` equals `AᵀA` (computed directly), for several row counts around the block and
    /// group sizes.
    #[test]
    fn r_t_r_equals_a_t_a() {
        for &(n, p) in &[
            (1, 3),
            (3, 5),
            (7, 3),
            (300, 4),
            (GROUP + 17, 6),
            (2 * GROUP + 1, 2),
        ] {
            let a: Vec<f64> = (0..n * p)
                .map(|i| ((i * 7919 % 1009) as f64 / 1009.0) - 0.5 + (i % p) as f64)
                .collect();
            let r = tall_r(n, p, |row0, rows, blk| {
                for i in 0..rows {
                    for c in 0..p {
                        blk[c * rows + i] = a[(row0 + i) * p + c];
                    }
                }
            });
            for i in 0..p {
                for c in 0..i {
                    assert_eq!(r[i * p + c], 0.0, "R must be upper triangular");
                }
            }
            for i in 0..p {
                for c in 0..p {
                    let ata: f64 = (0..n).map(|k| a[k * p + i] * a[k * p + c]).sum();
                    let rtr: f64 = (0..p).map(|k| r[k * p + i] * r[k * p + c]).sum();
                    assert!(
                        (ata - rtr).abs() <= 1e-12 * ata.abs().max(1.0),
                        "n={n} p={p} ({i},{c}): AᵀA {ata} vs RᵀR {rtr}"
                    );
                }
            }
        }
    }

    /// A 3×2 example by hand: A = [[3, 0], [4, 0], [0, 2]] gives |R| = [[5, 0], [0, 2]].
    #[test]
    fn a_small_example_by_hand() {
        let a = [3.0, 0.0, 4.0, 0.0, 0.0, 2.0];
        let r = tall_r(3, 2, |row0, rows, blk| {
            for i in 0..rows {
                for c in 0..2 {
                    blk[c * rows + i] = a[(row0 + i) * 2 + c];
                }
            }
        });
        assert!((r[0].abs() - 5.0).abs() < 1e-15 && r[1] == 0.0, "{r:?}");
        assert!(r[2] == 0.0 && (r[3].abs() - 2.0).abs() < 1e-15, "{r:?}");
    }
}
