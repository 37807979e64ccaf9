//! AVX-512F matrix product for a row-major right operand: `C[m, n] = (accumulate ? C : 0) +
//! op(A)[m, k] · B[k, n]`, `B` with row stride `ldb` and unit column stride, `op(A)` any
//! strides. [`crate::kernels::matmul::gemm`] sends its products here on the AVX-512 path when
//! `B` is not transposed: the backward pass of a linear layer (`dx = dy·W`, `dW = dyᵀ·x`), the
//! matmul op's forward and its `aᵀ·g`, attention's `P·V`.
//!
//! Structure (Goto/BLIS: K. Goto and R. van de Geijn, ACM TOMS 34(3), 2008; F. Van Zee and
//! R. van de Geijn, ACM TOMS 41(3), 2015): the output is cut into jobs of 96 rows × 64 columns
//! run in parallel; within a job the reduction goes in blocks of ≤ 256; per block, the job's
//! `kc × 64` slice of `B` is packed into 16-wide aligned lines (64 KiB, L2; a pair of panels,
//! 32 KiB, stays in L1 while the row tiles go by) and its `96 × kc` slice of `op(A)` k-major per
//! 12-row tile (one pointer for the broadcasts, whatever `A`'s strides). A 12×32 register tile
//! (24 `zmm` accumulators) does 24 FMAs per 2 loads and 12 broadcasts. The last, partial 16
//! columns use masked stores; rows past the last full tile use the same tile with fewer rows
//! and more panels.
//!
//! Determinism: every element of `C` is, k-block by k-block, its value plus the block's sum
//! (from zero, one FMA per `k` ascending); `k` is never split between threads, so the result is bit-identical for any thread
//! count. It differs from the `gemm` crate's in the last bits (different summation order).

use rayon::prelude::*;

/// Columns of one vector.
const NR: usize = 16;
/// Rows of the register tile.
const MR: usize = 12;
/// Largest block of the reduction dimension.
const KC: usize = 256;
/// Rows per job (a multiple of `MR`).
const MB: usize = 96;
/// Columns per job (a multiple of 4·`NR`).
const NB: usize = 64;

/// One `k`-row of a packed panel of `B`: 16 columns, aligned to a cache line.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; NR]);

/// The operands of one product, as raw parts (shared read-only by the jobs, except `c`, which
/// each job writes in its own rectangle).
#[derive(Clone, Copy)]
struct Ops {
    a: *const f32,
    /// Row and column stride of `op(A)`.
    rsa: usize,
    csa: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    /// Row stride of `C` (= n).
    ldc: usize,
}

// SAFETY: `Ops` is only shared between the jobs of one call to `gemm`, which read `a` and `b`
// and write disjoint rectangles of `c`; the borrows behind the pointers outlive the call.
unsafe impl Send for Ops {}
// SAFETY: as above.
unsafe impl Sync for Ops {}

/// `c[m, n] = (accumulate ? c : 0) + op(A)·b`, with `op(A)[i, p] = a[i·rsa + p·csa]` and
/// `b[p, j] = b[p·ldb + j]`. Runs the jobs on the rayon pool when `parallel`.
///
/// # Safety
/// The CPU has AVX-512F; `a` holds every `i·rsa + p·csa` for `i < m`, `p < k`; `b` every
/// `p·ldb + j` for `p < k`, `j < n`; `c.len() == m·n`; `m, n, k > 0`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    c: &mut [f32],
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    ldb: usize,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
    parallel: bool,
) {
    debug_assert_eq!(c.len(), m * n);
    let ops = Ops {
        a: a.as_ptr(),
        rsa,
        csa,
        b: b.as_ptr(),
        ldb,
        c: c.as_mut_ptr(),
        ldc: n,
    };
    let (rb, cb) = (m.div_ceil(MB), n.div_ceil(NB));
    let kblocks = k.div_ceil(KC);
    let kc = k.div_ceil(kblocks);
    A_PACK.with_borrow_mut(|pa| {
        // Every row tile of op(A) for one k-block, k-major: tile t at t·MR·kc.
        pa.resize(m.div_ceil(MR) * MR * kc, 0.0);
        for kb in 0..kblocks {
            let k0 = kb * kc;
            let klen = kc.min(k - k0);
            // SAFETY: AVX-512F (caller), `a` holds the strided rows (caller).
            unsafe { pack_a(&ops, pa, m, k0, klen, kc) };
            let pa: &[f32] = pa;
            let blk = |i0: usize, j0: usize| KBlock {
                k0,
                klen,
                kc,
                first: kb == 0 && !accumulate,
                i0,
                rows: (m - i0).min(MB),
                j0,
                cols: (n - j0).min(NB),
            };
            let job = |j: usize| {
                let blk = blk((j / cb) * MB, (j % cb) * NB);
                B_PACK.with_borrow_mut(|pb| {
                    // SAFETY: AVX-512F (caller); the job's rectangle lies inside C and no
                    // other job writes it; the operands hold what the caller guarantees and
                    // `pa` the packed tiles of this k-block.
                    unsafe { run_job(&ops, pa, blk, pb) }
                });
            };
            if parallel && rb * cb > 1 {
                (0..rb * cb).into_par_iter().for_each(job);
            } else {
                (0..rb * cb).for_each(job);
            }
        }
    });
}

/// Placeholder off x86-64 (never called: the AVX-512 path does not exist there).
///
/// # Safety
/// Never call it.
#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    _c: &mut [f32],
    _a: &[f32],
    _rsa: usize,
    _csa: usize,
    _b: &[f32],
    _ldb: usize,
    _m: usize,
    _n: usize,
    _k: usize,
    _accumulate: bool,
    _parallel: bool,
) {
    unreachable!("gemm_avx512 off x86-64")
}

thread_local! {
    /// The calling thread's packed `op(A)` (all rows × one k-block) and each worker's packed
    /// block of `B` (≤ 4 panels × 256 lines), kept across calls so that a training step
    /// allocates nothing here.
    static A_PACK: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    static B_PACK: std::cell::RefCell<Vec<Line>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One job of one k-block.
#[derive(Clone, Copy)]
struct KBlock {
    /// Start and length of the k-block, and the packing stride of a k-block (`≥ klen`).
    k0: usize,
    klen: usize,
    kc: usize,
    /// Store the block's sum rather than add it to C.
    first: bool,
    /// The job's rows and columns of C.
    i0: usize,
    rows: usize,
    j0: usize,
    cols: usize,
}

/// Packs `op(A)[.., k0 .. k0 + klen]` for all `m` rows into `pa`: row tile `t` (12 rows, or
/// fewer for the last) at `t·12·kc`, value `(r, p)` at `p·R + r`. The copy runs along whichever
/// of `A`'s dimensions is contiguous.
///
/// # Safety
/// `a` holds `i·rsa + p·csa` for `i < m`, `p < k`; `pa.len() ≥ ceil(m/12)·12·kc`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pack_a(o: &Ops, pa: &mut [f32], m: usize, k0: usize, klen: usize, kc: usize) {
    for t in 0..m.div_ceil(MR) {
        let r_n = (m - t * MR).min(MR);
        let dst = &mut pa[t * MR * kc..t * MR * kc + r_n * klen];
        if o.rsa == 1 {
            // A's rows are contiguous for a fixed k (A used transposed): copy R values per k.
            // One masked load and store per k (a `copy_from_slice` of ≤ 12 values would be a
            // `memmove` call).
            let mask = (1u16 << r_n) - 1;
            for (p, chunk) in dst.chunks_exact_mut(r_n).enumerate() {
                // SAFETY: rows t·12 .. t·12 + r_n < m at column k0 + p < k (caller); `chunk`
                // has r_n values; masked lanes are neither read nor written.
                unsafe {
                    use std::arch::x86_64::*;
                    let v = _mm512_maskz_loadu_ps(mask, o.a.add(t * MR + (k0 + p) * o.csa));
                    _mm512_mask_storeu_ps(chunk.as_mut_ptr(), mask, v);
                }
            }
        } else {
            for r in 0..r_n {
                let row = t * MR + r;
                for p in 0..klen {
                    // SAFETY: as above.
                    dst[p * r_n + r] = unsafe { *o.a.add(row * o.rsa + (k0 + p) * o.csa) };
                }
            }
        }
    }
}

/// One job: rows `i0 .. i0 + rows`, columns `j0 .. j0 + cols` of C, one k-block: packs the
/// job's block of `B`, then runs the tiles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_job(o: &Ops, pa: &[f32], kb: KBlock, pb: &mut Vec<Line>) {
    let KBlock {
        k0,
        klen,
        kc,
        first,
        i0,
        rows,
        j0,
        cols,
    } = kb;
    let tiles = rows / MR;
    let rem = rows - tiles * MR;
    let np = cols.div_ceil(NR);
    pb.resize(NB / NR * kc, Line([0.0; NR]));
    // Pack B[k0 .. k0 + klen, j0 .. j0 + cols] into `np` panels of klen lines (zeros past the
    // last column).
    for p in 0..np {
        let jn = (cols - p * NR).min(NR);
        let mask = if jn == NR { u16::MAX } else { (1u16 << jn) - 1 };
        for (kk, line) in pb[p * klen..(p + 1) * klen].iter_mut().enumerate() {
            // SAFETY: row k0 + kk < k and columns j0 + p·16 .. + jn < n lie inside `b` (the
            // masked-out lanes are not read and load as 0); `line` is 64-byte aligned.
            unsafe {
                use std::arch::x86_64::*;
                let v = _mm512_maskz_loadu_ps(mask, o.b.add((k0 + kk) * o.ldb + j0 + p * NR));
                _mm512_store_ps(line.0.as_mut_ptr(), v);
            }
        }
    }
    // The job's first row tile in `pa` (i0 is a multiple of 12).
    let ap = pa[i0 / MR * MR * kc..].as_ptr();
    let bp = pb.as_ptr() as *const f32;
    let blk = Blk {
        klen,
        first,
        cols,
        np,
    };
    // SAFETY: the packed tiles hold `klen` columns of their rows (tile stride 12·kc), the
    // packed panels `klen` lines; the rows and columns passed lie inside the job's rectangle.
    unsafe {
        cols_loop::<MR, 2>(o, ap, MR * kc, bp, i0, tiles, j0, blk);
        let (ap_r, r0) = (ap.add(tiles * MR * kc), i0 + tiles * MR);
        match rem {
            0 => {}
            1 => cols_loop::<1, 4>(o, ap_r, 0, bp, r0, 1, j0, blk),
            2 => cols_loop::<2, 4>(o, ap_r, 0, bp, r0, 1, j0, blk),
            3 => cols_loop::<3, 4>(o, ap_r, 0, bp, r0, 1, j0, blk),
            4 => cols_loop::<4, 4>(o, ap_r, 0, bp, r0, 1, j0, blk),
            5 => cols_loop::<5, 4>(o, ap_r, 0, bp, r0, 1, j0, blk),
            6 => cols_loop::<6, 2>(o, ap_r, 0, bp, r0, 1, j0, blk),
            7 => cols_loop::<7, 2>(o, ap_r, 0, bp, r0, 1, j0, blk),
            8 => cols_loop::<8, 2>(o, ap_r, 0, bp, r0, 1, j0, blk),
            9 => cols_loop::<9, 2>(o, ap_r, 0, bp, r0, 1, j0, blk),
            10 => cols_loop::<10, 2>(o, ap_r, 0, bp, r0, 1, j0, blk),
            _ => cols_loop::<11, 2>(o, ap_r, 0, bp, r0, 1, j0, blk),
        }
    }
}

/// What the tiles of one k-block of a job share.
#[derive(Clone, Copy)]
struct Blk {
    /// Length of the k-block.
    klen: usize,
    /// Store the block's sum rather than add it to C.
    first: bool,
    /// Columns of the job, and its panels (`ceil(cols / 16)`).
    cols: usize,
    np: usize,
}

/// `ntiles` packed tiles of `R` rows (from `ap`, one every `tile_stride` values, rows from `i0`)
/// over the job's packed panels (`bp`, `klen` lines each, columns from `j0`): groups of `V` full panels,
/// then single panels, the last masked to the columns that exist.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn cols_loop<const R: usize, const V: usize>(
    o: &Ops,
    ap: *const f32,
    tile_stride: usize,
    bp: *const f32,
    i0: usize,
    ntiles: usize,
    j0: usize,
    blk: Blk,
) {
    let Blk {
        klen,
        first,
        cols,
        np,
    } = blk;
    let full = cols / NR;
    let mut p = 0;
    while p < np {
        let (v, mask) = if p + V <= full {
            (V, u16::MAX)
        } else {
            let jn = (cols - p * NR).min(NR);
            (1, if jn == NR { u16::MAX } else { (1u16 << jn) - 1 })
        };
        for t in 0..ntiles {
            // SAFETY: caller's guarantees; panels p .. p + v exist, columns j0 + 16p ..
            // j0 + 16(p + v) (masked past the job's last column) are inside the job.
            unsafe {
                let a = ap.add(t * tile_stride);
                let c = o.c.add((i0 + t * R) * o.ldc + j0 + p * NR);
                if v == V {
                    let b: [*const f32; V] = std::array::from_fn(|j| bp.add((p + j) * klen * NR));
                    tile::<R, V>(a, b, klen, c, o.ldc, u16::MAX, first);
                } else {
                    tile::<R, 1>(a, [bp.add(p * klen * NR)], klen, c, o.ldc, mask, first);
                }
            }
        }
        p += v;
    }
}

/// The register tile: `C[R, 16V] = (first ? 0 : C) + A[R, kc]·B[kc, 16V]`, the product summed
/// from zero and then added to C (two-level summation: a long reduction accumulates error like
/// `(256 + k/256)` roundings, not `k`), `A` packed k-major
/// (`a[p·R + r]`), panel `j` of `B` at `b[j]` (`kc` aligned 16-wide lines), C rows at
/// `c + r·ldc`; only the lanes in `mask` of the last vector of C are read or written (masked
/// loads do not fault on the others).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const R: usize, const V: usize>(
    a: *const f32,
    b: [*const f32; V],
    kc: usize,
    c: *mut f32,
    ldc: usize,
    mask: u16,
    first: bool,
) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees the pointers address what the doc comment says.
    unsafe {
        let lane_mask = |j: usize| if j + 1 == V { mask } else { u16::MAX };
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for p in 0..kc {
            let mut bv = [_mm512_setzero_ps(); V];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = _mm512_load_ps(b[j].add(p * NR));
            }
            let ap = a.add(p * R);
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(r));
                for (v, bj) in row.iter_mut().zip(&bv) {
                    *v = _mm512_fmadd_ps(av, *bj, *v);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let cp = c.add(r * ldc + j * NR);
                let v = if first {
                    *v
                } else {
                    _mm512_add_ps(_mm512_maskz_loadu_ps(lane_mask(j), cp), *v)
                };
                _mm512_mask_storeu_ps(cp, lane_mask(j), v);
            }
        }
    }
}
