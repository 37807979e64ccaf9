//! A decoder-only transformer with GPT-2's architecture (Radford et al. 2019, "Language Models
//! are Unsupervised Multitask Learners"), written as nanoGPT's `model.py` (Karpathy) and Hugging
//! Face's `modeling_gpt2.py` build it:
//!
//! ```text
//! ids [B, T] ─ wte ─┐
//!                   + ─ dropout ─ Block × n_layer ─ ln_f ─ ·wteᵀ ─ logits [B·T, V]
//! 0..T ──────── wpe ┘
//! Block: x = x + dropout(c_proj(attn(ln_1(x))));  x = x + dropout(mlp(ln_2(x)))
//! mlp:   c_proj(gelu_tanh(c_fc(x)))               attn: causal, n_head heads, probs dropout
//! ```
//!
//! Learned positions, pre-LayerNorm (eps 1e-5), GELU with the tanh approximation (HF
//! `gelu_new`), residuals, and an output head tied to the token embedding (the same parameter,
//! counted once). Parameters carry GPT-2's names (`transformer.wte.weight`,
//! `transformer.h.0.attn.c_attn.weight`, ...) in PyTorch `nn.Linear` layout `[out, in]`;
//! [`hf`] converts to and from the checkpoint layout of `GPT2LMHeadModel` (whose `Conv1D`
//! weights are `[in, out]`).
//!
//! Bottom-up: [`config`] (hyperparameters and the parameter count, from the `size` module),
//! [`block`] (Linear, LayerNorm, Block), [`kv_cache`], this file (the model), [`generate`]
//! (sampling loop), [`hf`] (checkpoint conversion) and [`llmc`] (llm.c's `.bin` checkpoint).

pub mod block;
pub mod config;
pub mod generate;
pub mod hf;
pub mod kv_cache;
pub mod llmc;

pub use block::{Block, LayerNorm, Linear};
pub use config::{GptConfig, LN_EPS};
pub use generate::{Step, generate, generate_steps, generate_uncached};
pub use kv_cache::KvCache;

use crate::error::{Error, Result};
use crate::kernels::fused_linear::PackedLinear;
use crate::param::{ParamId, ParamStore};
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// One batch of token ids for a language model: `batch` sequences of `time` ids each, flat
/// row-major (`ids[b·time + t]`), the `Input` of [`Gpt`] as a [`crate::models::Model`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    /// `[batch, time]` ids, row-major.
    pub ids: Vec<usize>,
    /// Number of sequences.
    pub batch: usize,
    /// Length of every sequence.
    pub time: usize,
}

impl Tokens {
    /// `batch` sequences of `time` ids.
    ///
    /// # Errors
    /// [`Error::Shape`] if `ids.len() != batch · time`.
    pub fn new(ids: Vec<usize>, batch: usize, time: usize) -> Result<Self> {
        if batch.checked_mul(time) != Some(ids.len()) {
            return Err(Error::Shape {
                op: "Tokens::new",
                expected: format!("{batch} x {time} ids"),
                got: format!("{} ids", ids.len()),
            });
        }
        Ok(Tokens { ids, batch, time })
    }

    /// One batch of next-token examples from a token stream, as nanoGPT's `get_batch`: for each
    /// start `s`, the input is `data[s..s + time]` and the targets are `data[s + 1..s + time + 1]`.
    /// Returns the inputs and the targets flattened the same way (`[batch · time]`), the class
    /// targets of the cross-entropy over the `[batch · time, vocab]` logits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the start if a window runs past the end of `data`.
    pub fn windows(data: &[usize], starts: &[usize], time: usize) -> Result<(Self, Vec<usize>)> {
        let mut ids = Vec::with_capacity(starts.len() * time);
        let mut targets = Vec::with_capacity(starts.len() * time);
        for &s in starts {
            if s.checked_add(time + 1).is_none_or(|end| end > data.len()) {
                return Err(Error::invalid(
                    "window start",
                    s,
                    &format!(
                        "<= {} (the stream has {} tokens, windows {time} + 1)",
                        data.len().saturating_sub(time + 1),
                        data.len()
                    ),
                ));
            }
            ids.extend_from_slice(&data[s..s + time]);
            targets.extend_from_slice(&data[s + 1..s + time + 1]);
        }
        Ok((Tokens::new(ids, starts.len(), time)?, targets))
    }
}

/// Which rows of logits an inference forward computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogitRows {
    /// One row per new token.
    All,
    /// Only the last new token's (generation needs no other).
    Last,
}

/// A GPT-2-architecture language model whose parameters live in a [`ParamStore`].
#[derive(Clone, Debug)]
pub struct Gpt {
    /// The architecture.
    pub config: GptConfig,
    wte: ParamId,
    wpe: ParamId,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
}

/// Whether `name` is the weight of a residual output projection (`attn.c_proj`, `mlp.c_proj`),
/// initialised with std `0.02 / sqrt(2·n_layer)`.
fn is_residual_proj(name: &str) -> bool {
    name.ends_with("c_proj.weight")
}

impl Gpt {
    /// Registers freshly initialised parameters in `store`, in the order and under the names
    /// of `GPT2LMHeadModel.named_parameters()` (exactly the tensors of
    /// `config.to_transformer().tensors()`, Conv1D weights transposed to `[out, in]`), and binds
    /// them. Initialisation as GPT-2 / nanoGPT / HF `_init_weights`: embeddings and Linear
    /// weights normal(0, 0.02), the two residual projections (`c_proj`) normal(0,
    /// 0.02/sqrt(2·n_layer)), biases zero, LayerNorm weight one and bias zero; draws from `rng`
    /// in registration order.
    ///
    /// # Errors
    /// [`GptConfig::validate`]'s; [`Error::Other`] if a name is already in `store`.
    pub fn new(config: GptConfig, store: &mut ParamStore, rng: &mut Rng) -> Result<Self> {
        config.validate()?;
        let proj_std = 0.02 / ((2 * config.n_layer) as f32).sqrt();
        for (name, shape) in config.to_transformer().tensors() {
            let mut shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            if hf::is_conv1d_weight(&name) {
                shape.reverse();
            }
            let t = if name.ends_with(".bias") {
                Tensor::zeros(&shape)
            } else if name.contains("ln_") {
                Tensor::full(&shape, 1.0)
            } else if is_residual_proj(&name) {
                crate::init::normal(&shape, proj_std, rng)
            } else {
                crate::init::normal(&shape, 0.02, rng)
            };
            store.add(name, t)?;
        }
        Gpt::from_store(config, store)
    }

    /// Binds to parameters already in `store` (loaded from a checkpoint, or from a Hugging Face
    /// checkpoint by [`hf::from_hf_tensors`]), by name, checking every shape.
    ///
    /// # Errors
    /// [`GptConfig::validate`]'s; [`Error::Missing`] naming a missing parameter;
    /// [`Error::Shape`] naming a parameter of the wrong shape.
    pub fn from_store(config: GptConfig, store: &ParamStore) -> Result<Self> {
        config.validate()?;
        let (c, v) = (config.n_embd, config.vocab_size);
        let wte = block::bind(store, "transformer.wte.weight", &[v, c])?;
        let wpe = block::bind(store, "transformer.wpe.weight", &[config.block_size, c])?;
        let blocks = (0..config.n_layer)
            .map(|i| Block::bind(store, &config, i))
            .collect::<Result<Vec<_>>>()?;
        let ln_f = LayerNorm::bind(store, "transformer.ln_f", c, config.bias)?;
        Ok(Gpt {
            config,
            wte,
            wpe,
            blocks,
            ln_f,
        })
    }

    /// The blocks, bottom-up.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The token embedding `transformer.wte.weight` `[V, C]`, also the output head.
    pub fn wte(&self) -> ParamId {
        self.wte
    }

    /// The position embedding `transformer.wpe.weight` `[block_size, C]`.
    pub fn wpe(&self) -> ParamId {
        self.wpe
    }

    /// An empty [`KvCache`] for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(&self.config)
    }

    /// Checks that every id is `< vocab_size`; the error names the first bad id and where it is.
    fn check_ids(&self, ids: &[usize], what: &str) -> Result<()> {
        let v = self.config.vocab_size;
        match ids.iter().position(|&id| id >= v) {
            None => Ok(()),
            Some(i) => Err(Error::invalid(
                &format!("{what}[{i}]"),
                ids[i],
                &format!("a token id < vocab_size = {v}"),
            )),
        }
    }

    /// Forward pass on the tape: `x` `[batch, time]` ids → logits `[batch · time, vocab_size]`
    /// (row `b·time + t` predicts the token after `x[b, t]`; with next-token targets flattened
    /// the same way, the loop's cross-entropy over class targets is the language-model loss).
    /// On a training tape with `dropout > 0`, dropout after the embeddings, on the attention
    /// probabilities and after each residual branch, drawn from `rng` (unused otherwise).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `time` if it is 0 or exceeds `block_size`, or naming
    /// the position of an id `>= vocab_size`; [`Error::Shape`] if `ids.len() != batch · time`.
    pub fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: &Tokens,
        rng: &mut Rng,
    ) -> Result<Var> {
        let (b, t) = (x.batch, x.time);
        if t == 0 || t > self.config.block_size {
            return Err(Error::invalid(
                "time",
                t,
                &format!("1..=block_size = {}", self.config.block_size),
            ));
        }
        if b.checked_mul(t) != Some(x.ids.len()) {
            return Err(Error::Shape {
                op: "Gpt::forward",
                expected: format!("{b} x {t} ids"),
                got: format!("{} ids", x.ids.len()),
            });
        }
        self.check_ids(&x.ids, "ids")?;
        let wte = tape.param(store, self.wte);
        let wpe = tape.param(store, self.wpe);
        let positions: Vec<usize> = (0..t).collect();
        let tok = tape.embedding(&x.ids, &[b, t], wte)?;
        let pos = tape.embedding(&positions, &[t], wpe)?;
        let mut h = tape.add(tok, pos)?;
        h = tape.dropout(h, self.config.dropout, rng)?;
        for block in &self.blocks {
            h = block.forward(tape, store, h, self.config.dropout, rng)?;
        }
        let h = self.ln_f.forward(tape, store, h)?;
        // Tied head: logits = h·wteᵀ (wte [V, C] is nn.Linear's [out, in]); the same Var as the
        // lookup, so both uses add into one gradient.
        let logits = tape.linear(h, wte, None)?;
        tape.reshape(logits, &[b * t, self.config.vocab_size])
    }

    /// Inference with a KV cache: feeds `ids_new` at positions `cache.len()..` (keys and values
    /// appended to `cache`) and returns their logits `[ids_new.len(), vocab_size]`. No tape,
    /// no dropout. Every row goes through kernels whose result for a row does not depend on the
    /// other rows (module [`block`]), so feeding a sequence at once, token by token or in any
    /// split gives the same bits, at any thread count; it agrees with [`Gpt::forward`] to f32
    /// rounding (the tape batches rows through other kernels).
    ///
    /// Packs the weights on every call (one pass over them); to feed many calls, use
    /// [`Gpt::prepare`] once and [`PreparedGpt::forward_cached`] (same bits).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `block_size` if the cache would exceed it (crop the
    /// context first, as [`generate`] does), naming the position of an id `>= vocab_size`, or
    /// naming `cache` if it was made for another architecture.
    pub fn forward_cached(
        &self,
        store: &ParamStore,
        ids_new: &[usize],
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        self.prepare(store).forward_cached(ids_new, cache)
    }

    /// [`Gpt::forward_cached`] from an empty cache: `ids` `[T]` → logits `[T, vocab_size]`
    /// (the inference forward of a whole sequence, `T <= block_size`).
    ///
    /// # Errors
    /// As [`Gpt::forward_cached`].
    pub fn forward_inference(&self, store: &ParamStore, ids: &[usize]) -> Result<Tensor> {
        self.forward_cached(store, ids, &mut self.new_cache())
    }

    /// Packs every Linear weight once for repeated inference (see [`PreparedGpt`]); it borrows
    /// `store`, so the weights cannot change meanwhile. Memory: a second copy of the Linear
    /// weights and the head.
    pub fn prepare<'a>(&'a self, store: &'a ParamStore) -> PreparedGpt<'a> {
        let blocks: Option<Vec<[PackedLinear; 4]>> =
            self.blocks.iter().map(|b| b.pack(store)).collect();
        let packed = blocks.and_then(|blocks| Some((blocks, self.head().pack(store)?)));
        PreparedGpt {
            model: self,
            store,
            packed,
        }
    }

    /// A [`PreparedGpt`] that packs nothing: every Linear runs one row at a time through
    /// `gemm` (the path taken before the fused kernel had a portable version; kept for checks). Its bits
    /// may differ from [`Gpt::prepare`]'s in the last place; each is consistent with itself.
    pub fn prepare_unpacked<'a>(&'a self, store: &'a ParamStore) -> PreparedGpt<'a> {
        PreparedGpt {
            model: self,
            store,
            packed: None,
        }
    }

    /// The tied output head as a Linear layer: `wte [V, C]`, no bias.
    fn head(&self) -> Linear {
        Linear {
            weight: self.wte,
            bias: None,
            inp: self.config.n_embd,
            out: self.config.vocab_size,
        }
    }
}

/// A [`Gpt`] with its Linear weights packed for the fused kernel (AVX-512, AVX2 or portable path,
/// [`crate::kernels::isa::active`]), for generation: [`generate`] prepares once per
/// call. Same bits as [`Gpt::forward_cached`], which prepares on every call.
pub struct PreparedGpt<'a> {
    model: &'a Gpt,
    store: &'a ParamStore,
    /// Per block (c_attn, attn.c_proj, c_fc, mlp.c_proj), then the head; `None` without the
    /// fused kernel.
    packed: Option<(Vec<[PackedLinear; 4]>, PackedLinear)>,
}

impl PreparedGpt<'_> {
    /// The model.
    pub fn model(&self) -> &Gpt {
        self.model
    }

    /// As [`Gpt::forward_cached`]: feeds `ids_new` at positions `cache.len()..`, returns logits
    /// `[ids_new.len(), vocab_size]`.
    ///
    /// # Errors
    /// As [`Gpt::forward_cached`].
    pub fn forward_cached(&self, ids_new: &[usize], cache: &mut KvCache) -> Result<Tensor> {
        self.forward_cached_rows(ids_new, cache, LogitRows::All)
    }

    pub(crate) fn forward_cached_rows(
        &self,
        ids: &[usize],
        cache: &mut KvCache,
        rows: LogitRows,
    ) -> Result<Tensor> {
        let (model, store) = (self.model, self.store);
        let cfg = &model.config;
        let (c, v) = (cfg.n_embd, cfg.vocab_size);
        if !cache.fits(cfg) {
            return Err(Error::invalid(
                "cache",
                format!("{} layers, capacity {}", cache.n_layer(), cache.capacity()),
                &format!(
                    "a KvCache made for this model ({} layers, block_size {})",
                    cfg.n_layer, cfg.block_size
                ),
            ));
        }
        let (start, n) = (cache.len(), ids.len());
        if n > cache.remaining() {
            return Err(Error::invalid(
                "block_size",
                cfg.block_size,
                &format!("room for {start} cached + {n} new positions (crop the context)"),
            ));
        }
        model.check_ids(ids, "ids")?;
        if n == 0 {
            return Tensor::new(Vec::new(), &[0, v]);
        }
        let wte = store.value(model.wte).data();
        let wpe = store.value(model.wpe).data();
        let mut x = vec![0.0f32; n * c];
        for (i, (row, &id)) in x.chunks_exact_mut(c).zip(ids).enumerate() {
            let p = start + i;
            for ((o, a), b) in row
                .iter_mut()
                .zip(&wte[id * c..(id + 1) * c])
                .zip(&wpe[p * c..(p + 1) * c])
            {
                *o = a + b;
            }
        }
        for (l, block) in model.blocks.iter().enumerate() {
            let packed = self.packed.as_ref().map(|(b, _)| &b[l]);
            block.forward_cached(store, &mut x, n, cache, l, start, packed);
        }
        cache.advance(n);
        let (x, n) = match rows {
            LogitRows::All => (&x[..], n),
            LogitRows::Last => (&x[(n - 1) * c..], 1),
        };
        let h = model.ln_f.rows(store, x, n, c);
        let head = self.packed.as_ref().map(|(_, h)| h);
        Tensor::new(model.head().rows(store, &h, n, head), &[n, v])
    }
}
