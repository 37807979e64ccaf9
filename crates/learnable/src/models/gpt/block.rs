//! The pieces of a GPT-2 model, bottom-up: a [`Linear`] layer, a [`LayerNorm`], and a [`Block`]
//! (`x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`, GPT-2's pre-LayerNorm residual block; Radford
//! et al. 2019, section 2.3; nanoGPT `model.py` `Block`; HF `modeling_gpt2.py` `GPT2Block`).
//!
//! Each piece holds [`ParamId`]s into a [`ParamStore`] and has two forward paths: on the tape
//! (training, gradients) and on plain rows (inference with a [`KvCache`]). The inference path
//! uses kernels whose result for a row does not depend on the other rows of the call: the
//! fused linear kernel with prepacked weights ([`PackedLinear`], on every CPU: AVX-512, AVX2 or portable; every
//! output is the same FMA sequence whatever the batch) or else [`linear_forward`] one row at a
//! time, then [`layer_norm_forward`], [`gelu_tanh_f32`] and [`attend_cached`], all row by row. A
//! prompt fed at once and fed token by token therefore give the same bits.

use rayon::prelude::*;

use super::config::{GptConfig, LN_EPS};
use super::kv_cache::KvCache;
use crate::error::{Error, Result};
use crate::kernels::fused_linear::{Epilogue, PackedLinear};
use crate::ops::activation::{Gelu, gelu_tanh_f32};
use crate::ops::attention::attend_cached;
use crate::ops::layer_norm::layer_norm_forward;
use crate::ops::linear::linear_forward;
use crate::param::{ParamId, ParamStore};
use crate::rng::Rng;
use crate::tape::{Tape, Var};

/// Looks up parameter `name` in `store` and checks that its shape is `shape`.
///
/// # Errors
/// [`Error::Missing`] naming the parameter; [`Error::Shape`] with both shapes.
pub(crate) fn bind(store: &ParamStore, name: &str, shape: &[usize]) -> Result<ParamId> {
    let id = store
        .id(name)
        .ok_or_else(|| Error::Missing(format!("missing parameter {name}")))?;
    if store.value(id).shape() != shape {
        return Err(Error::shape(
            "Gpt::from_store",
            format!("{name} {}", crate::error::fmt_shape(shape)),
            store.value(id).shape(),
        ));
    }
    Ok(id)
}

/// A linear layer `y = x·Wᵀ + b`, `W [out, in]` as PyTorch's `nn.Linear` (GPT-2's `Conv1D`
/// stores the transpose; see [`super::hf`]).
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    /// `{name}.weight`, `[out, in]`.
    pub weight: ParamId,
    /// `{name}.bias`, `[out]`, absent when the config has `bias: false`.
    pub bias: Option<ParamId>,
    /// Input width.
    pub inp: usize,
    /// Output width.
    pub out: usize,
}

impl Linear {
    /// Binds `{name}.weight [out, inp]` and, with `bias`, `{name}.bias [out]`.
    ///
    /// # Errors
    /// As [`bind`]: a missing parameter or a wrong shape.
    pub fn bind(
        store: &ParamStore,
        name: &str,
        inp: usize,
        out: usize,
        bias: bool,
    ) -> Result<Self> {
        Ok(Linear {
            weight: bind(store, &format!("{name}.weight"), &[out, inp])?,
            bias: if bias {
                Some(bind(store, &format!("{name}.bias"), &[out])?)
            } else {
                None
            },
            inp,
            out,
        })
    }

    /// On the tape: `x [..., in]` → `[..., out]`.
    pub fn forward<'a>(&self, tape: &mut Tape<'a>, store: &'a ParamStore, x: Var) -> Result<Var> {
        let w = tape.param(store, self.weight);
        let b = self.bias.map(|b| tape.param(store, b));
        tape.linear(x, w, b)
    }

    /// This layer's weight and bias packed for the fused kernel on the process's path
    /// ([`crate::kernels::isa::active`]); `None` only for a zero-sized layer.
    pub fn pack(&self, store: &ParamStore) -> Option<PackedLinear> {
        let w = store.value(self.weight).data();
        let b = self.bias.map(|b| store.value(b).data());
        PackedLinear::new(w, b, self.out, self.inp)
    }

    /// Inference on `n` rows: `x [n, in]` → `[n, out]`, through `packed` (this layer's
    /// [`Linear::pack`]) or else each row through [`linear_forward`] with one row (rows in
    /// parallel). Either way a row's bits do not depend on `n` or the thread count.
    pub fn rows(
        &self,
        store: &ParamStore,
        x: &[f32],
        n: usize,
        packed: Option<&PackedLinear>,
    ) -> Vec<f32> {
        let (inp, out) = (self.inp, self.out);
        let mut y = vec![0.0f32; n * out];
        if out == 0 || n == 0 {
            return y;
        }
        if let Some(p) = packed {
            p.forward(x, &mut y, n, Epilogue::Identity);
            return y;
        }
        let w = store.value(self.weight).data();
        let b = self.bias.map(|b| store.value(b).data());
        let row = |(yr, xr): (&mut [f32], &[f32])| {
            yr.copy_from_slice(&linear_forward(xr, w, b, 1, inp, out));
        };
        if n > 1 {
            y.par_chunks_mut(out).zip(x.par_chunks(inp)).for_each(row);
        } else {
            y.chunks_mut(out).zip(x.chunks(inp)).for_each(row);
        }
        y
    }
}

/// A LayerNorm over the last dimension (eps [`LN_EPS`]), PyTorch's `nn.LayerNorm`.
#[derive(Clone, Copy, Debug)]
pub struct LayerNorm {
    /// `{name}.weight`, `[C]`, initialised to ones.
    pub weight: ParamId,
    /// `{name}.bias`, `[C]`, initialised to zeros; absent with `bias: false`.
    pub bias: Option<ParamId>,
}

impl LayerNorm {
    /// Binds `{name}.weight [c]` and, with `bias`, `{name}.bias [c]`.
    ///
    /// # Errors
    /// As [`bind`].
    pub fn bind(store: &ParamStore, name: &str, c: usize, bias: bool) -> Result<Self> {
        Ok(LayerNorm {
            weight: bind(store, &format!("{name}.weight"), &[c])?,
            bias: if bias {
                Some(bind(store, &format!("{name}.bias"), &[c])?)
            } else {
                None
            },
        })
    }

    /// On the tape: `x [..., C]` → `[..., C]`.
    pub fn forward<'a>(&self, tape: &mut Tape<'a>, store: &'a ParamStore, x: Var) -> Result<Var> {
        let w = tape.param(store, self.weight);
        let b = self.bias.map(|b| tape.param(store, b));
        tape.layer_norm(x, Some(w), b, LN_EPS)
    }

    /// Inference on `n` rows of `c`: [`layer_norm_forward`] (row by row by construction).
    pub fn rows(&self, store: &ParamStore, x: &[f32], n: usize, c: usize) -> Vec<f32> {
        let w = store.value(self.weight).data();
        let b = self.bias.map(|b| store.value(b).data());
        layer_norm_forward(x, Some(w), b, n, c, LN_EPS).0
    }
}

/// One transformer block, parameters `transformer.h.{i}.*` as GPT-2 names them.
#[derive(Clone, Debug)]
pub struct Block {
    /// `ln_1`: LayerNorm before attention.
    pub ln_1: LayerNorm,
    /// `attn.c_attn`: `[C] → [3C]`, the fused q|k|v projection.
    pub c_attn: Linear,
    /// `attn.c_proj`: `[C] → [C]`, the attention output projection.
    pub attn_proj: Linear,
    /// `ln_2`: LayerNorm before the MLP.
    pub ln_2: LayerNorm,
    /// `mlp.c_fc`: `[C] → [4C]`.
    pub c_fc: Linear,
    /// `mlp.c_proj`: `[4C] → [C]`.
    pub mlp_proj: Linear,
    /// Attention heads.
    n_head: usize,
}

impl Block {
    /// Binds the parameters of block `i` (`transformer.h.{i}.`).
    ///
    /// # Errors
    /// As [`bind`].
    pub fn bind(store: &ParamStore, config: &GptConfig, i: usize) -> Result<Self> {
        let (c, b) = (config.n_embd, config.bias);
        let p = format!("transformer.h.{i}.");
        Ok(Block {
            ln_1: LayerNorm::bind(store, &format!("{p}ln_1"), c, b)?,
            c_attn: Linear::bind(store, &format!("{p}attn.c_attn"), c, 3 * c, b)?,
            attn_proj: Linear::bind(store, &format!("{p}attn.c_proj"), c, c, b)?,
            ln_2: LayerNorm::bind(store, &format!("{p}ln_2"), c, b)?,
            c_fc: Linear::bind(store, &format!("{p}mlp.c_fc"), c, 4 * c, b)?,
            mlp_proj: Linear::bind(store, &format!("{p}mlp.c_proj"), 4 * c, c, b)?,
            n_head: config.n_head,
        })
    }

    /// On the tape: `x [B, T, C]` → `[B, T, C]`. With `dropout > 0` on a training tape:
    /// dropout on the attention probabilities and after each branch's output projection
    /// (nanoGPT's `attn_dropout`, `resid_dropout` and the MLP's `dropout`), drawn from `rng`.
    pub fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: Var,
        dropout: f32,
        rng: &mut Rng,
    ) -> Result<Var> {
        let h = self.ln_1.forward(tape, store, x)?;
        let qkv = self.c_attn.forward(tape, store, h)?;
        let a = tape.causal_self_attention_dropout(qkv, self.n_head, dropout, rng)?;
        let a = self.attn_proj.forward(tape, store, a)?;
        let a = tape.dropout(a, dropout, rng)?;
        let x = tape.add(x, a)?;
        let h = self.ln_2.forward(tape, store, x)?;
        let h = self.c_fc.forward(tape, store, h)?;
        let h = tape.gelu(h, Gelu::Tanh)?;
        let h = self.mlp_proj.forward(tape, store, h)?;
        let h = tape.dropout(h, dropout, rng)?;
        tape.add(x, h)
    }

    /// The four Linear layers packed ([`Linear::pack`]) in the order `c_attn`, `attn.c_proj`,
    /// `c_fc`, `mlp.c_proj`; `None` where the fused kernel does not run.
    pub fn pack(&self, store: &ParamStore) -> Option<[PackedLinear; 4]> {
        Some([
            self.c_attn.pack(store)?,
            self.attn_proj.pack(store)?,
            self.c_fc.pack(store)?,
            self.mlp_proj.pack(store)?,
        ])
    }

    /// Inference for `n` new rows at positions `start..start + n` (the residual stream `x
    /// [n, C]`, updated in place): appends their keys and values to layer `layer` of `cache`,
    /// then each query attends to positions `0..=` its own ([`attend_cached`]). `packed`: this
    /// block's [`Block::pack`], or `None` for the one-row `gemm` path.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward_cached(
        &self,
        store: &ParamStore,
        x: &mut [f32],
        n: usize,
        cache: &mut KvCache,
        layer: usize,
        start: usize,
        packed: Option<&[PackedLinear; 4]>,
    ) {
        let pk = |i: usize| packed.map(|p| &p[i]);
        let c = self.ln_1_width(store);
        let (nh, d) = (self.n_head, c / self.n_head);
        let h = self.ln_1.rows(store, x, n, c);
        let qkv = self.c_attn.rows(store, &h, n, pk(0));
        for i in 0..n {
            cache.write(layer, start + i, &qkv[i * 3 * c + c..(i + 1) * 3 * c]);
        }
        let (kc, vc) = cache.layer(layer);
        let cap = cache.capacity();
        let mut att = vec![0.0f32; n * c];
        att.par_chunks_mut(c).enumerate().for_each(|(i, out)| {
            let len = start + i + 1;
            let mut scratch = vec![0.0f32; 3 * len];
            let q = &qkv[i * 3 * c..i * 3 * c + c];
            for hd in 0..nh {
                let base = hd * cap * d;
                attend_cached(
                    &q[hd * d..(hd + 1) * d],
                    &kc[base..base + len * d],
                    &vc[base..base + len * d],
                    len,
                    &mut out[hd * d..(hd + 1) * d],
                    &mut scratch,
                );
            }
        });
        let a = self.attn_proj.rows(store, &att, n, pk(1));
        for (r, v) in x.iter_mut().zip(&a) {
            *r += *v;
        }
        let h = self.ln_2.rows(store, x, n, c);
        let mut f = self.c_fc.rows(store, &h, n, pk(2));
        for v in &mut f {
            *v = gelu_tanh_f32(*v).0;
        }
        let m = self.mlp_proj.rows(store, &f, n, pk(3));
        for (r, v) in x.iter_mut().zip(&m) {
            *r += *v;
        }
    }

    fn ln_1_width(&self, store: &ParamStore) -> usize {
        store.value(self.ln_1.weight).numel()
    }
}
