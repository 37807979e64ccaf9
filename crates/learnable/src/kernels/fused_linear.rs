//! Fused linear forward kernel: `y = act(x·Wᵀ + b)` in one pass over the output, with an
//! AVX-512F path, an AVX2+FMA path and a portable path, chosen at run time
//! ([`crate::kernels::isa::active`], overridable with `LEARNABLE_ISA`).
//!
//! Why it exists: on the AVX2-only benchmark machine (bench/RESULTS.md) the `gemm` crate runs the
//! forward GEMM of a linear layer (`[1024, 784]·[256, 784]ᵀ`) at about 55% of the two cores' FMA
//! peak (~100 of ~190 GFLOP/s), which left batch inference at 0.6x PyTorch/MKL. This kernel
//! reaches 75–85% there (over 90% of one core's peak when its data sits in L2). It is the
//! classic Goto/BLIS structure (K. Goto and R. van de Geijn, "Anatomy of
//! High-Performance Matrix Multiplication", ACM TOMS 34(3), 2008; F. Van Zee and R. van de
//! Geijn, "BLIS", ACM TOMS 41(3), 2015), specialised to the linear layer:
//! - the weight `W [out, in]` is packed ([`PackedLinear`]) into panels of 16 output columns,
//!   `k`-major and 64-byte aligned, once per call or once per model (`Mlp::prepare`); the layout
//!   is the same for every path;
//! - the reduction dimension is cut into blocks of at most 256 so that one block of the packed
//!   weight stays in L2 while rows of `x` stream through L1;
//! - AVX2: a 6×16 register tile (12 `ymm` accumulators) does 12 FMAs per 8 loads; rows past the
//!   last full tile go through a one-row kernel (four panels at a time);
//! - AVX-512: a 12×32 register tile (two panels side by side, 24 of the 32 `zmm` registers as
//!   accumulators) does 24 FMAs per 14 loads (the broadcasts fold into the FMAs); the rows past
//!   the last full tile use the same tile with fewer rows and more panels (e.g. 1×128), the
//!   last, partial panel masked stores (`__mmask16`), so no scratch copy is made;
//! - portable: a 4×16 tile in plain Rust (separate multiply and add, which the compiler
//!   vectorises for the baseline target);
//! - the bias initialises the accumulators and ReLU is applied before the last store (epilogue
//!   fusion), so no extra pass over `y` is made.
//!
//! Every other matrix product (the backward pass, attention, training batches under
//! [`crate::ops::linear::FUSED_MIN_ROWS`] rows on the AVX2 and portable paths, non-ReLU
//! inference) goes through [`crate::kernels::matmul::gemm`] (which has its own AVX-512 kernel).
//!
//! Determinism: on one path each output element is computed by the same sequence of operations
//! in the same order (bias, then `k` ascending, block by block) whatever the thread count, the
//! batch size or which rows share its tile (the remainder kernels do the same FMAs as the full
//! tile), so results are bit-identical for 1 and 2 threads and a row gives the same bits in any
//! batch. The AVX2 and AVX-512 paths do the same fused multiply-adds in the same order and so
//! agree bit for bit too; the portable path rounds each product before adding (no FMA) and
//! differs from them in the last bits, as all of them differ from `gemm` (different summation
//! order), as any two BLAS libraries do.

use rayon::prelude::*;

use crate::kernels::isa::{self, Isa};

/// Activation applied to the output inside the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// `y = x·Wᵀ + b`.
    Identity,
    /// `y = max(x·Wᵀ + b, 0)`.
    Relu,
}

/// Rows of the AVX2 register tile.
const MR: usize = 6;
/// Rows of the AVX-512 register tile (its columns: two panels, 32 outputs).
const MR512: usize = 12;
/// Rows of the portable tile.
const MR_PORTABLE: usize = 4;
/// Columns of the register tile (two AVX vectors of 8 f32).
const NR: usize = 16;
/// Largest block of the reduction dimension.
const KC_MAX: usize = 256;
/// Most rows per cache block within a task (a multiple of every path's tile rows).
const MC: usize = 48;
/// [`linear_forward_into`] declines batches smaller than this (callers then use `gemm`).
pub const MIN_ROWS: usize = 12;

/// One `k`-row of a packed weight panel: 16 output columns, aligned to a cache line.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; NR]);

/// `y[n, out] = act(x[n, inp] · w[out, inp]ᵀ + b[out])`, all row-major.
///
/// Runs on the process's path ([`isa::active`]). Returns `false` and leaves `y` untouched when
/// the kernel does not apply (fewer than [`MIN_ROWS`] rows, or `inp == 0`); the caller then uses
/// the general path.
///
/// Panics only if the slice lengths disagree with `n`, `inp`, `out` (programming error; callers
/// validate shapes first).
#[allow(clippy::too_many_arguments)]
pub fn linear_forward_into(
    y: &mut [f32],
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    n: usize,
    inp: usize,
    out: usize,
    act: Epilogue,
) -> bool {
    assert_eq!(x.len(), n * inp, "fused_linear x size");
    assert_eq!(y.len(), n * out, "fused_linear y size");
    if n < MIN_ROWS {
        return false;
    }
    match PackedLinear::new(w, b, out, inp) {
        Some(layer) => {
            layer.forward(x, y, n, act);
            true
        }
        None => false,
    }
}

/// A chain of fused linear layers run row-chunk by row-chunk: each thread takes a block of rows
/// through *all* layers while the intermediate activations stay in its cache, with one parallel
/// dispatch for the whole chain (instead of one per layer).
///
/// `layers[i]` maps width `layers[i].0.inp()` to `layers[i].0.out()`, widths must chain;
/// `x` is `[n, layers[0].inp()]`, the result `[n, last.out()]`. Bit-identical to calling
/// [`PackedLinear::forward`] layer by layer, for any thread count.
///
/// Panics if the widths do not chain or `x.len()` disagrees (programming error).
pub fn chain_forward(layers: &[(PackedLinear, Epilogue)], x: &[f32], n: usize) -> Vec<f32> {
    assert!(!layers.is_empty(), "chain_forward: no layers");
    for pair in layers.windows(2) {
        assert_eq!(pair[0].0.out, pair[1].0.inp, "chain_forward widths");
    }
    let inp = layers[0].0.inp;
    let out = layers[layers.len() - 1].0.out;
    assert_eq!(x.len(), n * inp, "chain_forward x size");
    let mut y = vec![0.0f32; n * out];
    let scratch = || (Vec::new(), Vec::new());
    for_each_row_block(
        x,
        &mut y,
        n,
        inp,
        out,
        tile_rows(layers[0].0.isa),
        scratch,
        |bufs, xchunk, ychunk, rows| {
            let (cur, next) = bufs;
            for (i, (layer, act)) in layers.iter().enumerate() {
                let input: &[f32] = if i == 0 { xchunk } else { cur };
                if i + 1 == layers.len() {
                    layer.forward_rows(input, ychunk, rows, *act);
                } else {
                    next.clear();
                    next.resize(rows * layer.out, 0.0);
                    layer.forward_rows(input, next, rows, *act);
                    std::mem::swap(cur, next);
                }
            }
        },
    );
    y
}

/// Packs up to 16 rows of `w` (`rows`, `[r, inp]` with `r ≤ 16`) into `panel` (`inp` lines):
/// `panel[k].0[j] = rows[j, k]`, zero for `j ≥ r`. Full panels on AVX2 go 8×8 blocks at a time
/// through registers (a transpose), the rest element by element.
fn pack_panel(rows: &[f32], inp: usize, panel: &mut [Line]) {
    debug_assert_eq!(panel.len(), inp);
    #[cfg(target_arch = "x86_64")]
    if rows.len() == NR * inp && Isa::Avx2.supported() {
        // SAFETY: AVX2 checked; `rows` holds 16 rows of `inp` values and `panel` `inp` lines.
        unsafe { pack_full_panel_avx2(rows, inp, panel) };
        return;
    }
    for (jj, row) in rows.chunks_exact(inp).enumerate() {
        for (line, &v) in panel.iter_mut().zip(row) {
            line.0[jj] = v;
        }
    }
}

/// [`pack_panel`] for 16 rows: 8×8 register transposes (unpack, shuffle, lane permute).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_full_panel_avx2(rows: &[f32], inp: usize, panel: &mut [Line]) {
    use std::arch::x86_64::*;
    let k8 = inp / 8 * 8;
    let dst = panel.as_mut_ptr() as *mut f32;
    for half in 0..2 {
        let src: [*const f32; 8] = std::array::from_fn(|r| rows[(half * 8 + r) * inp..].as_ptr());
        let mut k = 0;
        while k < k8 {
            // SAFETY (whole block): k + 8 ≤ inp, so every load reads inside its row, and line
            // k + kk < inp of `panel` is written at columns half·8 .. half·8 + 8.
            unsafe {
                let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src[i].add(k)));
                let t0 = _mm256_unpacklo_ps(r[0], r[1]);
                let t1 = _mm256_unpackhi_ps(r[0], r[1]);
                let t2 = _mm256_unpacklo_ps(r[2], r[3]);
                let t3 = _mm256_unpackhi_ps(r[2], r[3]);
                let t4 = _mm256_unpacklo_ps(r[4], r[5]);
                let t5 = _mm256_unpackhi_ps(r[4], r[5]);
                let t6 = _mm256_unpacklo_ps(r[6], r[7]);
                let t7 = _mm256_unpackhi_ps(r[6], r[7]);
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let cols = [
                    _mm256_permute2f128_ps::<0x20>(u0, u4),
                    _mm256_permute2f128_ps::<0x20>(u1, u5),
                    _mm256_permute2f128_ps::<0x20>(u2, u6),
                    _mm256_permute2f128_ps::<0x20>(u3, u7),
                    _mm256_permute2f128_ps::<0x31>(u0, u4),
                    _mm256_permute2f128_ps::<0x31>(u1, u5),
                    _mm256_permute2f128_ps::<0x31>(u2, u6),
                    _mm256_permute2f128_ps::<0x31>(u3, u7),
                ];
                for (kk, c) in cols.iter().enumerate() {
                    _mm256_store_ps(dst.add((k + kk) * NR + half * 8), *c);
                }
            }
            k += 8;
        }
        for k in k8..inp {
            for r in 0..8 {
                panel[k].0[half * 8 + r] = rows[(half * 8 + r) * inp + k];
            }
        }
    }
}

/// Rows per parallel task, aimed at (the count of tasks is a multiple of the thread count).
const TASK_ROWS: usize = 128;

/// Rows of the register tile of a path.
fn tile_rows(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => MR512,
        Isa::Avx2 => MR,
        Isa::Portable => MR_PORTABLE,
    }
}

/// Runs `f(scratch, x_rows, y_rows, rows)` (scratch made once per task) over `n` rows (`x`
/// `[n, in_w]`, `y` `[n, out_w]`) in parallel: the rows are cut into tasks holding equal numbers
/// of `mr`-row tiles (±1), a multiple of the thread count, so that threads finish together; each
/// task runs its rows in blocks of at most [`MC`] (multiples of `mr`) to keep a block's
/// activations in cache. Which rows share a task or a block never changes a result.
#[allow(clippy::too_many_arguments)]
fn for_each_row_block<S>(
    x: &[f32],
    y: &mut [f32],
    n: usize,
    in_w: usize,
    out_w: usize,
    mr: usize,
    scratch: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &[f32], &mut [f32], usize) + Sync,
) {
    let threads = rayon::current_num_threads().max(1);
    let tiles = n.div_ceil(mr);
    let tasks = (n.div_ceil(TASK_ROWS).div_ceil(threads) * threads).clamp(1, tiles.max(1));
    let mut parts = Vec::with_capacity(tasks);
    let (mut xr, mut yr) = (x, y);
    for t in 0..tasks {
        let end = ((t + 1) * tiles / tasks * mr).min(n);
        let start = (t * tiles / tasks * mr).min(n);
        let rows = end - start;
        let (xh, xt) = xr.split_at(rows * in_w);
        let (yh, yt) = std::mem::take(&mut yr).split_at_mut(rows * out_w);
        parts.push((xh, yh, rows));
        xr = xt;
        yr = yt;
    }
    let run = |(xp, yp, rows): (&[f32], &mut [f32], usize)| {
        let mut state = scratch();
        let mut r0 = 0;
        while r0 < rows {
            let r = (rows - r0).min(MC);
            f(
                &mut state,
                &xp[r0 * in_w..(r0 + r) * in_w],
                &mut yp[r0 * out_w..(r0 + r) * out_w],
                r,
            );
            r0 += r;
        }
    };
    if parts.len() == 1 {
        // One task: run it here rather than hand it to a pool thread and wait.
        parts.into_iter().for_each(run);
    } else {
        parts.into_par_iter().for_each(run);
    }
}

/// A linear layer's weight and bias packed for the kernel (see the module docs): `ceil(out/16)`
/// panels of `inp` lines; line `k` of panel `p` holds `w[16p + j, k]` for `j < 16` (zero past
/// `out`). Packing costs one pass over the weight; keep the value to reuse it.
pub struct PackedLinear {
    panels: Vec<Line>,
    bias: Vec<Line>,
    inp: usize,
    out: usize,
    isa: Isa,
}

impl PackedLinear {
    /// Packs `w [out, inp]` and `b [out]` (zero if `None`) for the process's path
    /// ([`isa::active`]). `None` when the kernel does not apply: `inp == 0` or `out == 0`.
    ///
    /// Panics if `w.len() != out·inp` or `b.len() != out` (programming error).
    pub fn new(w: &[f32], b: Option<&[f32]>, out: usize, inp: usize) -> Option<Self> {
        Self::with_isa(isa::active(), w, b, out, inp)
    }

    /// [`PackedLinear::new`] for a given path (tests and benchmarks run every path the machine
    /// has this way). `None` also when this CPU cannot run `isa` ([`Isa::supported`]).
    ///
    /// Panics if `w.len() != out·inp` or `b.len() != out` (programming error).
    pub fn with_isa(
        isa: Isa,
        w: &[f32],
        b: Option<&[f32]>,
        out: usize,
        inp: usize,
    ) -> Option<Self> {
        assert_eq!(w.len(), out * inp, "fused_linear weight size");
        if let Some(b) = b {
            assert_eq!(b.len(), out, "fused_linear bias size");
        }
        if !isa.supported() || inp == 0 || out == 0 {
            return None;
        }
        let np = out.div_ceil(NR);
        let mut panels = vec![Line([0.0; NR]); np * inp];
        panels
            .par_chunks_mut(inp)
            .enumerate()
            .for_each(|(p, panel)| {
                let j0 = p * NR;
                let rows = &w[j0 * inp..(j0 + (out - j0).min(NR)) * inp];
                pack_panel(rows, inp, panel);
            });
        let mut bias = vec![Line([0.0; NR]); np];
        if let Some(b) = b {
            for (j, &v) in b.iter().enumerate() {
                bias[j / NR].0[j % NR] = v;
            }
        }
        Some(PackedLinear {
            panels,
            bias,
            inp,
            out,
            isa,
        })
    }

    /// The path this layer runs on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Input width.
    pub fn inp(&self) -> usize {
        self.inp
    }

    /// Output width.
    pub fn out(&self) -> usize {
        self.out
    }

    /// `y[n, out] = act(x[n, inp]·Wᵀ + b)`, rows split across rayon threads in blocks of ≤ 48.
    /// For `n == 0` nothing is done.
    ///
    /// Panics if `x` or `y` has the wrong length (programming error).
    pub fn forward(&self, x: &[f32], y: &mut [f32], n: usize, act: Epilogue) {
        assert_eq!(x.len(), n * self.inp, "fused_linear x size");
        assert_eq!(y.len(), n * self.out, "fused_linear y size");
        for_each_row_block(
            x,
            y,
            n,
            self.inp,
            self.out,
            tile_rows(self.isa),
            || (),
            |_, xc, yc, rows| self.forward_rows(xc, yc, rows, act),
        );
    }

    /// One row, all panels, one k-block: `a` points at `klen` values of the row from `k0`,
    /// `yrow` is the row's `out` outputs. Panels go four at a time (8 accumulators, enough to
    /// hide the FMA latency) through [`row_tile`].
    fn row_panels(
        &self,
        a: *const f32,
        klen: usize,
        k0: usize,
        yrow: &mut [f32],
        first: bool,
        relu: bool,
    ) {
        let (inp, out) = (self.inp, self.out);
        let full = out / NR;
        let bp = |p: usize| self.panels[p * inp + k0..].as_ptr() as *const f32;
        let mut p = 0;
        while p + 4 <= full {
            let b: [*const f32; 4] = std::array::from_fn(|j| bp(p + j));
            let bias: [*const f32; 4] = std::array::from_fn(|j| self.bias[p + j].0.as_ptr());
            let c = yrow[p * NR..(p + 4) * NR].as_mut_ptr();
            // SAFETY: AVX2+FMA checked when packing; `a` has klen readable values, each `b[j]`
            // klen packed lines, `c` 64 writable outputs (4 full panels inside `yrow`).
            unsafe { row_tile::<4>(a, b, klen, c, bias, first, relu) };
            p += 4;
        }
        while p < out.div_ceil(NR) {
            let jn = (out - p * NR).min(NR);
            let mut tmp = [0.0f32; NR];
            tmp[..jn].copy_from_slice(&yrow[p * NR..p * NR + jn]);
            // SAFETY: as above, `c` the local 16-value buffer.
            unsafe {
                row_tile::<1>(
                    a,
                    [bp(p)],
                    klen,
                    tmp.as_mut_ptr(),
                    [self.bias[p].0.as_ptr()],
                    first,
                    relu,
                )
            };
            yrow[p * NR..p * NR + jn].copy_from_slice(&tmp[..jn]);
            p += 1;
        }
    }

    /// One thread's share: `rows` rows, blocked over `k` (≤ 256 per block) and output panels.
    fn forward_rows(&self, x: &[f32], y: &mut [f32], rows: usize, act: Epilogue) {
        match self.isa {
            Isa::Avx512 => self.forward_rows_avx512(x, y, rows, act),
            Isa::Avx2 => self.forward_rows_avx2(x, y, rows, act),
            Isa::Portable => self.forward_rows_portable(x, y, rows, act),
        }
    }

    /// [`Self::forward_rows`] on the AVX2 path.
    fn forward_rows_avx2(&self, x: &[f32], y: &mut [f32], rows: usize, act: Epilogue) {
        let (inp, out) = (self.inp, self.out);
        debug_assert_eq!(x.len(), rows * inp);
        debug_assert_eq!(y.len(), rows * out);
        let kblocks = inp.div_ceil(KC_MAX);
        let kc = inp.div_ceil(kblocks);
        let relu = act == Epilogue::Relu;
        // Full 6-row tiles; the last `rows % 6` rows go through the one-row kernel, which does the
        // same FMAs in the same order per element, so no row's result depends on its neighbours
        // (inference gives the same bits for a row whatever the batch).
        let tiles = rows / MR;
        let np = out.div_ceil(NR);
        for kb in 0..kblocks {
            let k0 = kb * kc;
            let klen = kc.min(inp - k0);
            let first = kb == 0;
            let last = kb + 1 == kblocks;
            for r in tiles * MR..rows {
                let a = x[r * inp + k0..].as_ptr();
                let yrow = &mut y[r * out..(r + 1) * out];
                self.row_panels(a, klen, k0, yrow, first, last && relu);
            }
            for p in 0..np {
                let j0 = p * NR;
                let jn = (out - j0).min(NR);
                let bp = self.panels[p * inp + k0..].as_ptr() as *const f32;
                let bias_p = self.bias[p].0.as_ptr();
                for t in 0..tiles {
                    let ap: [*const f32; MR] =
                        std::array::from_fn(|r| x[(t * MR + r) * inp + k0..].as_ptr());
                    let c0 = t * MR * out + j0;
                    if jn == NR {
                        // SAFETY: AVX2+FMA were checked when packing (`Isa::supported`); `ap[r]`
                        // points at ≥ klen readable f32 (row t·6 + r of x from k0, a full tile);
                        // `bp` at klen packed lines; `c` at 6 rows of stride `out` with 16 columns
                        // each, inside `y` (jn == NR).
                        unsafe {
                            tile(
                                &ap,
                                bp,
                                klen,
                                y[c0..].as_mut_ptr(),
                                out,
                                bias_p,
                                first,
                                last && relu,
                            )
                        };
                    } else {
                        let mut tmp = [0.0f32; MR * NR];
                        if !first {
                            for r in 0..MR {
                                tmp[r * NR..r * NR + jn]
                                    .copy_from_slice(&y[c0 + r * out..c0 + r * out + jn]);
                            }
                        }
                        // SAFETY: as above, with `c` the local 6×16 buffer.
                        unsafe {
                            tile(
                                &ap,
                                bp,
                                klen,
                                tmp.as_mut_ptr(),
                                NR,
                                bias_p,
                                first,
                                last && relu,
                            )
                        };
                        for r in 0..MR {
                            y[c0 + r * out..c0 + r * out + jn]
                                .copy_from_slice(&tmp[r * NR..r * NR + jn]);
                        }
                    }
                }
            }
        }
    }
}

/// One k-block of a forward pass: where it starts, how long it is, whether the accumulators
/// start from the bias (`first`) or from the partial sums in `y`, and whether ReLU follows.
#[derive(Clone, Copy)]
struct KBlock {
    k0: usize,
    klen: usize,
    first: bool,
    relu: bool,
}

impl PackedLinear {
    /// The k-blocks of a pass: `ceil(inp / 256)` blocks of equal length (±1).
    fn kblocks(&self, act: Epilogue) -> impl Iterator<Item = KBlock> + use<> {
        let inp = self.inp;
        let kblocks = inp.div_ceil(KC_MAX);
        let kc = inp.div_ceil(kblocks);
        let relu = act == Epilogue::Relu;
        (0..kblocks).map(move |kb| KBlock {
            k0: kb * kc,
            klen: kc.min(inp - kb * kc),
            first: kb == 0,
            relu: relu && kb + 1 == kblocks,
        })
    }

    /// [`Self::forward_rows`] on the AVX-512 path: full 12-row tiles two panels at a time, then
    /// the last `rows % 12` rows as one shorter tile over more panels at a time (the same FMAs
    /// per element in the same order, so a row's bits never depend on its neighbours).
    fn forward_rows_avx512(&self, x: &[f32], y: &mut [f32], rows: usize, act: Epilogue) {
        debug_assert_eq!(x.len(), rows * self.inp);
        debug_assert_eq!(y.len(), rows * self.out);
        let tiles = rows / MR512;
        let r0 = tiles * MR512;
        for blk in self.kblocks(act) {
            // SAFETY (every call): the AVX-512 path is only packed when `Isa::Avx512.supported()`
            // (checked in `with_isa`); the row ranges [row0, row0 + R·ntiles) lie inside
            // `x`/`y`, which hold `rows` rows (checked above).
            unsafe {
                self.panels512::<MR512, 2>(x, y, 0, tiles, blk);
                match rows - r0 {
                    0 => {}
                    1 => self.panels512::<1, 8>(x, y, r0, 1, blk),
                    2 => self.panels512::<2, 8>(x, y, r0, 1, blk),
                    3 => self.panels512::<3, 4>(x, y, r0, 1, blk),
                    4 => self.panels512::<4, 4>(x, y, r0, 1, blk),
                    5 => self.panels512::<5, 4>(x, y, r0, 1, blk),
                    6 => self.panels512::<6, 2>(x, y, r0, 1, blk),
                    7 => self.panels512::<7, 2>(x, y, r0, 1, blk),
                    8 => self.panels512::<8, 2>(x, y, r0, 1, blk),
                    9 => self.panels512::<9, 2>(x, y, r0, 1, blk),
                    10 => self.panels512::<10, 2>(x, y, r0, 1, blk),
                    _ => self.panels512::<11, 2>(x, y, r0, 1, blk),
                }
            }
        }
    }

    /// `ntiles` tiles of `R` rows from row `row0`, all panels: groups of `V` full panels (the
    /// group's packed lines stay in L1 while the tiles go by), then the remaining panels one at
    /// a time, the last one masked to the `out % 16` columns that exist.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `row0 + R·ntiles ≤ rows` where `x` is `[rows, inp]`, `y`
    /// `[rows, out]`.
    #[cfg(target_arch = "x86_64")]
    unsafe fn panels512<const R: usize, const V: usize>(
        &self,
        x: &[f32],
        y: &mut [f32],
        row0: usize,
        ntiles: usize,
        blk: KBlock,
    ) {
        let (inp, out) = (self.inp, self.out);
        debug_assert!((row0 + R * ntiles) * inp <= x.len());
        debug_assert!((row0 + R * ntiles) * out <= y.len());
        let np = out.div_ceil(NR);
        let full = out / NR;
        let line = |p: usize| self.panels[p * inp + blk.k0..].as_ptr() as *const f32;
        let xp = x.as_ptr();
        let yp = y.as_mut_ptr();
        let mut p = 0;
        while p < np {
            let (v, mask) = if p + V <= full {
                (V, u16::MAX)
            } else {
                let jn = (out - p * NR).min(NR);
                (1, if jn == NR { u16::MAX } else { (1u16 << jn) - 1 })
            };
            for t in 0..ntiles {
                let r = row0 + t * R;
                // SAFETY: rows r..r + R exist in x and y (caller); `a` has klen values from k0 on
                // each row (k0 + klen ≤ inp); `c` addresses columns p·16 .. p·16 + 16·v of those
                // rows, all < out except masked lanes of the last panel, which are not touched;
                // `line(p + j)` has klen aligned packed lines (panels p + j < np).
                unsafe {
                    let a = xp.add(r * inp + blk.k0);
                    let c = yp.add(r * out + p * NR);
                    if v == V {
                        let b: [*const f32; V] = std::array::from_fn(|j| line(p + j));
                        let bias: [*const f32; V] =
                            std::array::from_fn(|j| self.bias[p + j].0.as_ptr());
                        tile512::<R, V>(a, inp, b, blk, c, out, bias, u16::MAX);
                    } else {
                        let bias = [self.bias[p].0.as_ptr()];
                        tile512::<R, 1>(a, inp, [line(p)], blk, c, out, bias, mask);
                    }
                }
            }
            p += v;
        }
    }

    /// Never called: the AVX-512 path is never packed off x86-64.
    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn panels512<const R: usize, const V: usize>(
        &self,
        _x: &[f32],
        _y: &mut [f32],
        _row0: usize,
        _ntiles: usize,
        _blk: KBlock,
    ) {
        unreachable!("fused_linear::panels512 off x86-64")
    }

    /// [`Self::forward_rows`] on the portable path: 4-row tiles, then the last `rows % 4` rows
    /// as one shorter tile (the same operations per element).
    fn forward_rows_portable(&self, x: &[f32], y: &mut [f32], rows: usize, act: Epilogue) {
        let tiles = rows / MR_PORTABLE;
        let r0 = tiles * MR_PORTABLE;
        for blk in self.kblocks(act) {
            self.panels_portable::<MR_PORTABLE>(x, y, 0, tiles, blk);
            match rows - r0 {
                0 => {}
                1 => self.panels_portable::<1>(x, y, r0, 1, blk),
                2 => self.panels_portable::<2>(x, y, r0, 1, blk),
                _ => self.panels_portable::<3>(x, y, r0, 1, blk),
            }
        }
    }

    /// `ntiles` tiles of `R` rows × 16 columns from row `row0`, panel by panel, in plain Rust:
    /// `acc = acc + a·b` with the product rounded (no FMA), `k` ascending.
    fn panels_portable<const R: usize>(
        &self,
        x: &[f32],
        y: &mut [f32],
        row0: usize,
        ntiles: usize,
        blk: KBlock,
    ) {
        let (inp, out) = (self.inp, self.out);
        let KBlock {
            k0,
            klen,
            first,
            relu,
        } = blk;
        for p in 0..out.div_ceil(NR) {
            let j0 = p * NR;
            let jn = (out - j0).min(NR);
            let lines = &self.panels[p * inp + k0..p * inp + k0 + klen];
            for t in 0..ntiles {
                let r = row0 + t * R;
                let mut acc = [[0.0f32; NR]; R];
                for (i, row) in acc.iter_mut().enumerate() {
                    if first {
                        *row = self.bias[p].0;
                    } else {
                        let c = (r + i) * out + j0;
                        row[..jn].copy_from_slice(&y[c..c + jn]);
                    }
                }
                let a: [&[f32]; R] = std::array::from_fn(|i| {
                    let s = (r + i) * inp + k0;
                    &x[s..s + klen]
                });
                for (k, line) in lines.iter().enumerate() {
                    for (row, ar) in acc.iter_mut().zip(&a) {
                        let av = ar[k];
                        for (c, &bv) in row.iter_mut().zip(&line.0) {
                            *c = *c + av * bv;
                        }
                    }
                }
                for (i, row) in acc.iter().enumerate() {
                    let c = (r + i) * out + j0;
                    for (dst, &v) in y[c..c + jn].iter_mut().zip(row) {
                        *dst = if relu { v.max(0.0) } else { v };
                    }
                }
            }
        }
    }
}

/// The AVX-512 register tile, `R` rows × `V` panels (16·V columns):
/// `C[R, 16V] = (first ? bias : C) + A[R, kc]·B[kc, 16V]`, then `max(·, 0)` if `relu`. Row `r`
/// of A is at `a + r·lda` (unit stride, `kc` values), panel `j` of B at `b[j]` (`kc` packed
/// 16-wide lines, 64-byte aligned), row 0 of C at `c` with row stride `ldc`. Only the lanes set
/// in `mask` of the last panel are read from or written to C (the other panels are whole).
///
/// Per element: the bias (or C), then one FMA per `k` ascending, the same as the AVX2 tile.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile512<const R: usize, const V: usize>(
    a: *const f32,
    lda: usize,
    b: [*const f32; V],
    blk: KBlock,
    c: *mut f32,
    ldc: usize,
    bias: [*const f32; V],
    mask: u16,
) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees the pointers address what the doc comment says.
    unsafe {
        let lane_mask = |j: usize| if j + 1 == V { mask } else { u16::MAX };
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for (r, row) in acc.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = if blk.first {
                    _mm512_load_ps(bias[j])
                } else {
                    _mm512_maskz_loadu_ps(lane_mask(j), c.add(r * ldc + j * NR))
                };
            }
        }
        for k in 0..blk.klen {
            let mut bv = [_mm512_setzero_ps(); V];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = _mm512_load_ps(b[j].add(k * NR));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * lda + k));
                for (v, bj) in row.iter_mut().zip(&bv) {
                    *v = _mm512_fmadd_ps(av, *bj, *v);
                }
            }
        }
        let z = _mm512_setzero_ps();
        for (r, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let v = if blk.relu { _mm512_max_ps(*v, z) } else { *v };
                _mm512_mask_storeu_ps(c.add(r * ldc + j * NR), lane_mask(j), v);
            }
        }
    }
}

/// The 6×16 register tile: `C[6, 16] = (first ? bias : C) + A[6, kc]·B[kc, 16]`, then
/// `max(·, 0)` if `relu`. `a[r]` points at row `r` of A (unit stride, `kc` readable values),
/// `b` at `kc` packed 16-wide lines (64-byte aligned), `c` at row 0 of C with row stride `ldc`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    a: &[*const f32; MR],
    b: *const f32,
    kc: usize,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
    first: bool,
    relu: bool,
) {
    use std::arch::x86_64::*;
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        if first {
            let b0 = _mm256_loadu_ps(bias);
            let b1 = _mm256_loadu_ps(bias.add(8));
            for row in acc.iter_mut() {
                *row = [b0, b1];
            }
        } else {
            for (r, row) in acc.iter_mut().enumerate() {
                let cr = c.add(r * ldc);
                *row = [_mm256_loadu_ps(cr), _mm256_loadu_ps(cr.add(8))];
            }
        }
        for k in 0..kc {
            let b0 = _mm256_load_ps(b.add(k * NR));
            let b1 = _mm256_load_ps(b.add(k * NR + 8));
            let v = _mm256_broadcast_ss(&*a[0].add(k));
            acc[0][0] = _mm256_fmadd_ps(v, b0, acc[0][0]);
            acc[0][1] = _mm256_fmadd_ps(v, b1, acc[0][1]);
            let v = _mm256_broadcast_ss(&*a[1].add(k));
            acc[1][0] = _mm256_fmadd_ps(v, b0, acc[1][0]);
            acc[1][1] = _mm256_fmadd_ps(v, b1, acc[1][1]);
            let v = _mm256_broadcast_ss(&*a[2].add(k));
            acc[2][0] = _mm256_fmadd_ps(v, b0, acc[2][0]);
            acc[2][1] = _mm256_fmadd_ps(v, b1, acc[2][1]);
            let v = _mm256_broadcast_ss(&*a[3].add(k));
            acc[3][0] = _mm256_fmadd_ps(v, b0, acc[3][0]);
            acc[3][1] = _mm256_fmadd_ps(v, b1, acc[3][1]);
            let v = _mm256_broadcast_ss(&*a[4].add(k));
            acc[4][0] = _mm256_fmadd_ps(v, b0, acc[4][0]);
            acc[4][1] = _mm256_fmadd_ps(v, b1, acc[4][1]);
            let v = _mm256_broadcast_ss(&*a[5].add(k));
            acc[5][0] = _mm256_fmadd_ps(v, b0, acc[5][0]);
            acc[5][1] = _mm256_fmadd_ps(v, b1, acc[5][1]);
        }
        if relu {
            let z = _mm256_setzero_ps();
            for row in acc.iter_mut() {
                row[0] = _mm256_max_ps(row[0], z);
                row[1] = _mm256_max_ps(row[1], z);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let cr = c.add(r * ldc);
            _mm256_storeu_ps(cr, row[0]);
            _mm256_storeu_ps(cr.add(8), row[1]);
        }
    }
}

/// One row × `P` panels: `c[16j..16j + 16] = (first ? bias_j : c) + Σ_k a[k]·B_j[k, ..]`, then
/// `max(·, 0)` if `relu`; per element the same FMAs in the same order as [`tile`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_tile<const P: usize>(
    a: *const f32,
    b: [*const f32; P],
    kc: usize,
    c: *mut f32,
    bias: [*const f32; P],
    first: bool,
    relu: bool,
) {
    use std::arch::x86_64::*;
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; P];
        for (j, pair) in acc.iter_mut().enumerate() {
            let src = if first { bias[j] } else { c.add(j * NR) };
            *pair = [_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8))];
        }
        for k in 0..kc {
            let v = _mm256_broadcast_ss(&*a.add(k));
            for (j, pair) in acc.iter_mut().enumerate() {
                pair[0] = _mm256_fmadd_ps(v, _mm256_load_ps(b[j].add(k * NR)), pair[0]);
                pair[1] = _mm256_fmadd_ps(v, _mm256_load_ps(b[j].add(k * NR + 8)), pair[1]);
            }
        }
        let z = _mm256_setzero_ps();
        for (j, pair) in acc.iter().enumerate() {
            let (lo, hi) = if relu {
                (_mm256_max_ps(pair[0], z), _mm256_max_ps(pair[1], z))
            } else {
                (pair[0], pair[1])
            };
            _mm256_storeu_ps(c.add(j * NR), lo);
            _mm256_storeu_ps(c.add(j * NR + 8), hi);
        }
    }
}

/// Never called: [`PackedLinear::new`] returns `None` off x86-64.
#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
unsafe fn row_tile<const P: usize>(
    _a: *const f32,
    _b: [*const f32; P],
    _kc: usize,
    _c: *mut f32,
    _bias: [*const f32; P],
    _first: bool,
    _relu: bool,
) {
    unreachable!("fused_linear::row_tile off x86-64")
}

/// Never called: [`PackedLinear::new`] returns `None` off x86-64.
#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    _a: &[*const f32; MR],
    _b: *const f32,
    _kc: usize,
    _c: *mut f32,
    _ldc: usize,
    _bias: *const f32,
    _first: bool,
    _relu: bool,
) {
    unreachable!("fused_linear::tile off x86-64")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::Tensor;

    /// f64 triple loop: act(x·Wᵀ + b).
    fn reference(
        x: &[f32],
        w: &[f32],
        b: Option<&[f32]>,
        n: usize,
        inp: usize,
        out: usize,
        act: Epilogue,
    ) -> Vec<f64> {
        let mut y = vec![0.0f64; n * out];
        for i in 0..n {
            for j in 0..out {
                let mut s = b.map_or(0.0, |b| b[j] as f64);
                for k in 0..inp {
                    s += x[i * inp + k] as f64 * w[j * inp + k] as f64;
                }
                y[i * out + j] = if act == Epilogue::Relu { s.max(0.0) } else { s };
            }
        }
        y
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `layer.forward` on a rayon pool of `threads` threads.
    fn forward_on(
        layer: &PackedLinear,
        x: &[f32],
        n: usize,
        act: Epilogue,
        threads: usize,
    ) -> Vec<f32> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut y = vec![f32::NAN; n * layer.out()];
        pool.install(|| layer.forward(x, &mut y, n, act));
        y
    }

    #[test]
    fn every_path_matches_the_f64_triple_loop_on_edge_shapes() {
        let mut rng = Rng::new(7, "fused_linear");
        // Rows: every remainder of the 12-, 6- and 4-row tiles next to full tiles; outputs not a
        // multiple of 16 (masked last panel), multiples of 32 and 128 (panel groups), k over one
        // 256-block (partial sums carried in `y`).
        let shapes = [
            (1, 1, 1),
            (12, 1, 1),
            (13, 5, 17),
            (23, 40, 130),
            (49, 300, 33),
            (100, 784, 10),
            (97, 513, 16),
            (48, 256, 48),
            (35, 64, 256),
        ];
        for isa in isa::available() {
            for &(n, inp, out) in &shapes {
                for act in [Epilogue::Identity, Epilogue::Relu] {
                    for with_bias in [false, true] {
                        let x = Tensor::uniform(&[n, inp], -1.0, 1.0, &mut rng);
                        let w = Tensor::uniform(&[out, inp], -1.0, 1.0, &mut rng);
                        let bv = Tensor::uniform(&[out], -1.0, 1.0, &mut rng);
                        let b = with_bias.then(|| bv.data());
                        let layer = PackedLinear::with_isa(isa, w.data(), b, out, inp).unwrap();
                        assert_eq!(layer.isa(), isa);
                        let mut y = vec![f32::NAN; n * out];
                        layer.forward(x.data(), &mut y, n, act);
                        let r = reference(x.data(), w.data(), b, n, inp, out, act);
                        for (i, (&got, &want)) in y.iter().zip(&r).enumerate() {
                            // f32 accumulation of `inp` products of magnitude ≤ 1, with or without
                            // FMA: each add rounds by ≤ 2⁻²⁴·|partial sum|, the partial sums of
                            // random ±1 terms stay O(√inp), so the error is ~ 6e-8·inp typically;
                            // 1e-6·(inp + 1) leaves a 16x margin and still catches a wrong or
                            // missing term (≥ 1e-3 here unless its product is tiny).
                            let tol = 1e-6 * (inp as f64 + 1.0);
                            assert!(
                                (got as f64 - want).abs() <= tol,
                                "{isa}: n={n} in={inp} out={out} {act:?} bias={with_bias} y[{i}] = {got}, want {want}"
                            );
                            if act == Epilogue::Relu {
                                assert!(got >= 0.0);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_path_gives_a_row_the_same_bits_in_any_batch() {
        let mut rng = Rng::new(5, "fused_linear_batch");
        let (n, inp, out) = (203, 300, 150);
        let x = Tensor::uniform(&[n, inp], -1.0, 1.0, &mut rng);
        let w = Tensor::uniform(&[out, inp], -1.0, 1.0, &mut rng);
        let b = Tensor::uniform(&[out], -1.0, 1.0, &mut rng);
        for isa in isa::available() {
            let layer = PackedLinear::with_isa(isa, w.data(), Some(b.data()), out, inp).unwrap();
            let whole = forward_on(&layer, x.data(), n, Epilogue::Relu, 1);
            // Windows that put rows at every position of a tile, in tiles and in remainders.
            for (start, len) in [
                (0, 1),
                (5, 1),
                (0, 7),
                (3, 11),
                (1, 12),
                (2, 13),
                (30, 25),
                (100, 103),
            ] {
                let xs = &x.data()[start * inp..(start + len) * inp];
                let part = forward_on(&layer, xs, len, Epilogue::Relu, 1);
                assert_eq!(
                    bits(&part),
                    bits(&whole[start * out..(start + len) * out]),
                    "{isa}: rows {start}..{} alone vs in 203",
                    start + len
                );
            }
        }
    }

    #[test]
    fn every_path_is_bit_identical_for_one_and_two_threads() {
        let mut rng = Rng::new(3, "fused_linear_threads");
        let (inp, out) = (784, 256);
        let w = Tensor::uniform(&[out, inp], -1.0, 1.0, &mut rng);
        let b = Tensor::uniform(&[out], -1.0, 1.0, &mut rng);
        for n in [203, 1030] {
            let x = Tensor::uniform(&[n, inp], -1.0, 1.0, &mut rng);
            for isa in isa::available() {
                let layer =
                    PackedLinear::with_isa(isa, w.data(), Some(b.data()), out, inp).unwrap();
                let y1 = forward_on(&layer, x.data(), n, Epilogue::Relu, 1);
                let y2 = forward_on(&layer, x.data(), n, Epilogue::Relu, 2);
                assert_eq!(bits(&y1), bits(&y2), "{isa}: n={n}");
            }
        }
    }

    #[test]
    fn the_avx2_and_avx512_paths_agree_bit_for_bit() {
        if !Isa::Avx512.supported() {
            eprintln!("skipped: no AVX-512F on this CPU");
            return;
        }
        let mut rng = Rng::new(9, "fused_linear_isa");
        let (n, inp, out) = (77, 600, 70);
        let x = Tensor::uniform(&[n, inp], -1.0, 1.0, &mut rng);
        let w = Tensor::uniform(&[out, inp], -1.0, 1.0, &mut rng);
        let b = Tensor::uniform(&[out], -1.0, 1.0, &mut rng);
        let run = |isa| {
            let layer = PackedLinear::with_isa(isa, w.data(), Some(b.data()), out, inp).unwrap();
            forward_on(&layer, x.data(), n, Epilogue::Identity, 2)
        };
        assert_eq!(bits(&run(Isa::Avx2)), bits(&run(Isa::Avx512)));
    }

    #[test]
    fn declines_small_batches_and_leaves_y_untouched() {
        let mut y = vec![5.0f32; 11 * 3];
        let x = vec![1.0f32; 11 * 2];
        let w = vec![1.0f32; 3 * 2];
        assert!(!linear_forward_into(
            &mut y,
            &x,
            &w,
            None,
            11,
            2,
            3,
            Epilogue::Identity
        ));
        assert!(y.iter().all(|&v| v == 5.0));
    }

    #[test]
    fn a_chain_equals_its_layers_run_one_by_one_and_the_f64_reference() {
        let mut rng = Rng::new(11, "fused_chain");
        let n = 301;
        let widths = [37, 50, 20, 3];
        let x = Tensor::uniform(&[n, widths[0]], -1.0, 1.0, &mut rng);
        let mut ws = Vec::new();
        for d in widths.windows(2) {
            let w = Tensor::uniform(&[d[1], d[0]], -0.5, 0.5, &mut rng);
            let b = Tensor::uniform(&[d[1]], -0.5, 0.5, &mut rng);
            ws.push((w, b));
        }
        let acts = [Epilogue::Relu, Epilogue::Relu, Epilogue::Identity];
        for isa in isa::available() {
            let chain: Vec<_> = ws
                .iter()
                .zip(acts)
                .map(|((w, b), act)| {
                    let [out, inp] = [w.shape()[0], w.shape()[1]];
                    (
                        PackedLinear::with_isa(isa, w.data(), Some(b.data()), out, inp).unwrap(),
                        act,
                    )
                })
                .collect();
            let y = chain_forward(&chain, x.data(), n);
            // Layer by layer with the single-layer driver: bit-identical.
            let mut h = x.data().to_vec();
            for (layer, act) in &chain {
                let mut next = vec![0.0f32; n * layer.out()];
                layer.forward(&h, &mut next, n, *act);
                h = next;
            }
            assert_eq!(bits(&y), bits(&h), "{isa}");
            // And the f64 triple loop, layer by layer on the f64 values.
            let mut r: Vec<f64> = x.data().iter().map(|&v| v as f64).collect();
            for ((w, b), act) in ws.iter().zip(acts) {
                let [out, inp] = [w.shape()[0], w.shape()[1]];
                let mut next = vec![0.0f64; n * out];
                for i in 0..n {
                    for j in 0..out {
                        let mut s = b.data()[j] as f64;
                        for k in 0..inp {
                            s += r[i * inp + k] * w.data()[j * inp + k] as f64;
                        }
                        next[i * out + j] = if act == Epilogue::Relu { s.max(0.0) } else { s };
                    }
                }
                r = next;
            }
            for (i, (&got, &want)) in y.iter().zip(&r).enumerate() {
                assert!(
                    (got as f64 - want).abs() <= 1e-5,
                    "{isa}: y[{i}] = {got}, want {want}"
                );
            }
        }
    }
}
