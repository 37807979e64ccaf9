//! `causal_self_attention`: multi-head scaled dot-product attention with a causal mask, fused
//! from the q|k|v projection to the merged heads, as in GPT-2 (Radford et al., 2019; the
//! attention of Vaswani et al., 2017) and Hugging Face's `GPT2Attention` (eager path).
//!
//! Input `qkv [B, T, 3C]` is split into `q | k | v` (in that order, as the output of GPT-2's
//! `c_attn`), each viewed as `H` heads of `D = C / H` features. For every (batch, head):
//! `S = Q·Kᵀ / sqrt(D)` with `S[i, j]` masked for `j > i`, `P = softmax_rows(S)`, `O = P·V`;
//! the heads of `O` are merged back to `[B, T, C]` (head `h` in columns `h·D .. (h+1)·D`).
//!
//! Backward, per (batch, head), from `dO` and the saved `P`:
//! `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(P ⊙ dP)) / sqrt(D)`, `dQ = dS·K`,
//! `dK = dSᵀ·Q`.
//!
//! Determinism: each (batch, head) is one rayon task that writes only its own disjoint block of
//! a scratch buffer; blocks are then copied/added into the output in a fixed order on one
//! thread. No reduction crosses tasks, and [`crate::kernels::matmul::gemm`] never splits its inner
//! reduction, so results are bit-identical for any thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::matmul::{Mat, gemm};
use crate::kernels::softmax::softmax_into;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Sizes of one attention call: batch, sequence length, model width, heads, head width.
#[derive(Clone, Copy, Debug)]
struct Dims {
    b: usize,
    t: usize,
    c: usize,
    h: usize,
    d: usize,
}

impl Dims {
    /// Copies part `part` (0 = q, 1 = k, 2 = v) of head `h` of batch `b` out of `qkv` into
    /// `dst [T, D]`.
    fn gather(&self, qkv: &[f32], b: usize, h: usize, part: usize, dst: &mut [f32]) {
        let (t, c, d) = (self.t, self.c, self.d);
        for i in 0..t {
            let src = (b * t + i) * 3 * c + part * c + h * d;
            dst[i * d..(i + 1) * d].copy_from_slice(&qkv[src..src + d]);
        }
    }

    /// Copies columns of head `h` of batch `b` out of a `[B, T, C]` buffer into `dst [T, D]`.
    fn gather_merged(&self, x: &[f32], b: usize, h: usize, dst: &mut [f32]) {
        let (t, c, d) = (self.t, self.c, self.d);
        for i in 0..t {
            let src = (b * t + i) * c + h * d;
            dst[i * d..(i + 1) * d].copy_from_slice(&x[src..src + d]);
        }
    }
}

/// One row of attention probabilities: `out[j] = softmax_j(raw[j] / scale)` over the `raw`
/// scores `Q_i·K_jᵀ` of one query against its unmasked keys (`j <= i`). Divided after the
/// product, as HF's eager path. Shared by the tape's forward and [`attend_cached`], so both
/// compute a row the same way.
fn scaled_softmax_row(raw: &[f32], scale: f32, scratch: &mut [f32], out: &mut [f32]) {
    for (s, &r) in scratch.iter_mut().zip(raw) {
        *s = r / scale;
    }
    softmax_into(scratch, out);
}

/// Attention of one query to `n` cached keys of one head, for inference with a KV cache
/// (`crate::models::gpt::KvCache`): `out [D] = softmax(q·Kᵀ / sqrt(D))·V` with `q [D]`,
/// `k [n, D]`, `v [n, D]` (the keys and values of positions `0..n`, the query's own last).
/// `scores` is scratch space of at least `3n` floats.
///
/// The products go through [`gemm`] with one row, so the result for a query depends only on
/// `q`, `k` and `v`, never on how many queries a call processes or on the thread count: a
/// prompt fed at once and fed token by token give the same bits.
pub fn attend_cached(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n: usize,
    out: &mut [f32],
    scores: &mut [f32],
) {
    let d = q.len();
    let (raw, rest) = scores[..3 * n].split_at_mut(n);
    let (scaled, probs) = rest.split_at_mut(n);
    gemm(raw, Mat::new(q, 1, d), Mat::t(&k[..n * d], n, d), false);
    scaled_softmax_row(raw, (d as f32).sqrt(), scaled, probs);
    gemm(
        out,
        Mat::new(probs, 1, n),
        Mat::new(&v[..n * d], n, d),
        false,
    );
}

/// Forward kernel. `qkv [B, T, 3C]` → `(out [B, T, C], probs [B, H, T, T])`; `probs[b, h, i, j]`
/// is the attention of query `i` to key `j` (zero for `j > i`), before dropout. With `mask`
/// (`[B, H, T, T]`, each entry `0` or `1/(1 − p)`), the output uses `probs ⊙ mask`.
fn attention_forward(qkv: &[f32], dims: Dims, mask: Option<&[f32]>) -> (Vec<f32>, Vec<f32>) {
    let Dims {
        b: nb,
        t,
        c,
        h: nh,
        d,
    } = dims;
    let scale = (d as f32).sqrt();
    let mut probs = vec![0.0f32; nb * nh * t * t];
    let mut heads = vec![0.0f32; nb * nh * t * d];
    if t == 0 || d == 0 {
        return (vec![0.0; nb * t * c], probs);
    }
    probs
        .par_chunks_mut(t * t)
        .zip(heads.par_chunks_mut(t * d))
        .enumerate()
        .for_each(|(bh, (p, o))| {
            let (b, h) = (bh / nh, bh % nh);
            let mut q = vec![0.0f32; t * d];
            let mut k = vec![0.0f32; t * d];
            let mut v = vec![0.0f32; t * d];
            dims.gather(qkv, b, h, 0, &mut q);
            dims.gather(qkv, b, h, 1, &mut k);
            dims.gather(qkv, b, h, 2, &mut v);
            // Raw scores Q·Kᵀ, then / sqrt(D) (divided after the product, as HF's eager path),
            // softmax over the unmasked prefix j <= i, zeros above the diagonal.
            gemm(p, Mat::new(&q, t, d), Mat::t(&k, t, d), false);
            let mut row = vec![0.0f32; t];
            let mut raw = vec![0.0f32; t];
            for i in 0..t {
                let pr = &mut p[i * t..(i + 1) * t];
                raw[..=i].copy_from_slice(&pr[..=i]);
                scaled_softmax_row(&raw[..=i], scale, &mut row[..=i], &mut pr[..=i]);
                pr[i + 1..].fill(0.0);
            }
            match mask {
                None => gemm(o, Mat::new(p, t, t), Mat::new(&v, t, d), false),
                Some(mask) => {
                    let m = &mask[bh * t * t..(bh + 1) * t * t];
                    let dropped: Vec<f32> = p.iter().zip(m).map(|(a, b)| a * b).collect();
                    gemm(o, Mat::new(&dropped, t, t), Mat::new(&v, t, d), false);
                }
            }
        });
    let mut out = vec![0.0f32; nb * t * c];
    for (bh, o) in heads.chunks_exact(t * d).enumerate() {
        let (b, h) = (bh / nh, bh % nh);
        for i in 0..t {
            let dst = (b * t + i) * c + h * d;
            out[dst..dst + d].copy_from_slice(&o[i * d..(i + 1) * d]);
        }
    }
    (out, probs)
}

/// Backward kernel: adds d loss / d qkv into `gqkv [B, T, 3C]` given `gy [B, T, C]`, the
/// forward input `qkv`, the saved `probs [B, H, T, T]` and the dropout `mask` if any. With a
/// mask `M`: `dV = (P ⊙ M)ᵀ·dO` and `dP = (dO·Vᵀ) ⊙ M`.
fn attention_backward(
    gqkv: &mut [f32],
    gy: &[f32],
    qkv: &[f32],
    probs: &[f32],
    mask: Option<&[f32]>,
    dims: Dims,
) {
    let Dims {
        b: nb,
        t,
        c,
        h: nh,
        d,
    } = dims;
    if t == 0 || d == 0 {
        return;
    }
    let inv_scale = 1.0 / (d as f32).sqrt();
    // Per (batch, head): dq | dk | dv, each [T, D].
    let mut local = vec![0.0f32; nb * nh * 3 * t * d];
    local
        .par_chunks_mut(3 * t * d)
        .enumerate()
        .for_each(|(bh, g)| {
            let (b, h) = (bh / nh, bh % nh);
            let p = &probs[bh * t * t..(bh + 1) * t * t];
            let mut q = vec![0.0f32; t * d];
            let mut k = vec![0.0f32; t * d];
            let mut v = vec![0.0f32; t * d];
            let mut go = vec![0.0f32; t * d];
            dims.gather(qkv, b, h, 0, &mut q);
            dims.gather(qkv, b, h, 1, &mut k);
            dims.gather(qkv, b, h, 2, &mut v);
            dims.gather_merged(gy, b, h, &mut go);
            let (gq, rest) = g.split_at_mut(t * d);
            let (gk, gv) = rest.split_at_mut(t * d);
            let m = mask.map(|m| &m[bh * t * t..(bh + 1) * t * t]);
            // dV = Pᵀ·dO (P ⊙ M with dropout)
            match m {
                None => gemm(gv, Mat::t(p, t, t), Mat::new(&go, t, d), false),
                Some(m) => {
                    let dropped: Vec<f32> = p.iter().zip(m).map(|(a, b)| a * b).collect();
                    gemm(gv, Mat::t(&dropped, t, t), Mat::new(&go, t, d), false);
                }
            }
            // dP = dO·Vᵀ (⊙ M with dropout), turned in place into
            // d(raw scores) = P ⊙ (dP − rowsum(P ⊙ dP)) / sqrt(D)
            let mut ds = vec![0.0f32; t * t];
            gemm(&mut ds, Mat::new(&go, t, d), Mat::t(&v, t, d), false);
            if let Some(m) = m {
                for (x, y) in ds.iter_mut().zip(m) {
                    *x *= *y;
                }
            }
            for i in 0..t {
                let pr = &p[i * t..(i + 1) * t];
                let dr = &mut ds[i * t..(i + 1) * t];
                let dot: f64 = (0..=i).map(|j| pr[j] as f64 * dr[j] as f64).sum();
                let dot = dot as f32;
                for j in 0..=i {
                    dr[j] = pr[j] * (dr[j] - dot) * inv_scale;
                }
                dr[i + 1..].fill(0.0);
            }
            // dQ = dS·K, dK = dSᵀ·Q
            gemm(gq, Mat::new(&ds, t, t), Mat::new(&k, t, d), false);
            gemm(gk, Mat::t(&ds, t, t), Mat::new(&q, t, d), false);
        });
    for (bh, g) in local.chunks_exact(3 * t * d).enumerate() {
        let (b, h) = (bh / nh, bh % nh);
        for part in 0..3 {
            let gp = &g[part * t * d..(part + 1) * t * d];
            for i in 0..t {
                let dst = (b * t + i) * 3 * c + part * c + h * d;
                for (x, y) in gqkv[dst..dst + d].iter_mut().zip(&gp[i * d..(i + 1) * d]) {
                    *x += *y;
                }
            }
        }
    }
}

impl<'a> Tape<'a> {
    /// Causal multi-head self-attention from a fused projection, as GPT-2's attention block
    /// without its output projection.
    ///
    /// `qkv`: `[B, T, 3C]` laid out `q | k | v` along the last dimension; `n_head` heads of
    /// `C / n_head` features → `[B, T, C]` (heads merged in order). Scores are scaled by
    /// `1 / sqrt(C / n_head)`; query `i` attends to keys `0..=i`. The attention probabilities
    /// `[B, n_head, T, T]` are saved for the hand-written backward pass (module docs).
    ///
    /// Errors: [`Error::Shape`] naming `causal_self_attention` if `qkv` is not 3-D with a last
    /// dimension divisible by 3; [`Error::InvalidArgument`] naming `n_head` if it is 0 or does
    /// not divide `C`.
    pub fn causal_self_attention(&mut self, qkv: Var, n_head: usize) -> Result<Var> {
        self.attention_impl(qkv, n_head, None)
    }

    /// [`Tape::causal_self_attention`] with dropout on the attention probabilities, as
    /// nanoGPT's `attn_dropout` and HF's `attn_pdrop`: on a training tape with `p > 0`, each
    /// probability is zeroed with probability `p` and the rest scaled by `1/(1 − p)` before the
    /// product with `V`. The mask takes one `rng.uniform_f32()` per entry of
    /// `[B, n_head, T, T]` in index order (masked-out entries included), drawn on one thread, so
    /// a seed fixes it for any thread count. Inference tape or `p = 0`: no draws, same result
    /// as without dropout.
    ///
    /// Errors: as [`Tape::causal_self_attention`]; [`Error::InvalidArgument`] if `p` is not in
    /// `[0, 1)`.
    pub fn causal_self_attention_dropout(
        &mut self,
        qkv: Var,
        n_head: usize,
        p: f32,
        rng: &mut crate::rng::Rng,
    ) -> Result<Var> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid("attention dropout p", p, "0 <= p < 1"));
        }
        if !self.is_training() || p == 0.0 {
            return self.attention_impl(qkv, n_head, None);
        }
        self.attention_impl(qkv, n_head, Some((p, rng)))
    }

    fn attention_impl(
        &mut self,
        qkv: Var,
        n_head: usize,
        dropout: Option<(f32, &mut crate::rng::Rng)>,
    ) -> Result<Var> {
        let s = self.shape(qkv).to_vec();
        if s.len() != 3 || s[2] % 3 != 0 {
            return Err(Error::shape("causal_self_attention", "qkv [B, T, 3C]", &s));
        }
        let (b, t, c) = (s[0], s[1], s[2] / 3);
        if n_head == 0 || c % n_head != 0 {
            return Err(Error::invalid(
                "causal_self_attention n_head",
                n_head,
                &format!("> 0 and a divisor of the model width C = {c}"),
            ));
        }
        let dims = Dims {
            b,
            t,
            c,
            h: n_head,
            d: c / n_head,
        };
        let mask: Option<Vec<f32>> = dropout.map(|(p, rng)| {
            let scale = 1.0 / (1.0 - p);
            (0..b * n_head * t * t)
                .map(|_| if rng.uniform_f32() < p { 0.0 } else { scale })
                .collect()
        });
        let (out, probs) = attention_forward(self.value(qkv).data(), dims, mask.as_deref());
        Ok(
            self.push(Tensor::new(out, &[b, t, c])?, &[qkv], move |gy, ctx| {
                if let Some((xv, gx)) = ctx.value_and_grad(qkv, qkv) {
                    attention_backward(
                        gx.data_mut(),
                        gy.data(),
                        xv.data(),
                        &probs,
                        mask.as_deref(),
                        dims,
                    );
                }
            }),
        )
    }
}
