//! Autoregressive generation: feed the context, process the last position's logits through the
//! sampling chain ([`crate::sampling`]), draw a token, append it, repeat (nanoGPT's
//! `GPT.generate`, with Hugging Face's logits processors).
//!
//! The context is cropped from the left to the last `block_size` tokens, as nanoGPT crops
//! (`idx[:, -block_size:]`): positions are absolute, so once the context is full every step
//! sees a shifted window. [`generate`] keeps a [`super::KvCache`] and feeds one token per step
//! while the window still fits; when it is full it clears the cache and recomputes the window
//! (which is what the shifted positions require). [`generate_uncached`] recomputes the window at
//! every step. Both run through [`super::PreparedGpt`] (weights packed once per call), whose
//! result for a row does not depend on the other rows fed with it, so they produce the same
//! logits bit for bit and hence the same tokens, at any thread count.

use super::{Gpt, LogitRows};
use crate::error::{Error, Result};
use crate::param::ParamStore;
use crate::sampling::{Sampler, SamplingConfig};

/// One generated token with what it was drawn from, for [`generate_steps`].
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// The token drawn.
    pub token: usize,
    /// Its probability in the distribution it was drawn from (after the sampling chain:
    /// temperature, top-k, ...; 1 for greedy).
    pub probability: f64,
    /// The model's logits for this position `[vocab_size]`, before any processor.
    pub logits: &'a [f32],
}

/// [`generate`] that also passes, for each token, its probability and the raw logits it was
/// drawn from ([`Step`]), for inspecting generation (`learnable generate --show-probs`). Same
/// tokens as [`generate`], bit for bit.
///
/// # Errors
/// As [`generate`].
pub fn generate_steps(
    model: &Gpt,
    store: &ParamStore,
    prompt: &[usize],
    max_new_tokens: usize,
    sampling: &SamplingConfig,
    seed: u64,
    on_step: impl FnMut(&Step<'_>) -> bool,
) -> Result<Vec<usize>> {
    run(
        model,
        store,
        prompt,
        max_new_tokens,
        sampling,
        seed,
        true,
        on_step,
    )
}

/// Generates up to `max_new_tokens` tokens after `prompt` with a KV cache, and returns them
/// (without the prompt). Each token is passed to `on_token` as soon as it is drawn; returning
/// `false` stops generation after it (stop sequences are the caller's).
///
/// Sampling: `sampling` builds the chain (repetition penalty over prompt and generated tokens,
/// temperature, top-k, top-p, ...); temperature 0 is greedy and ignores `seed`; otherwise
/// draws come from `Rng::new(seed, SAMPLE_STREAM)`, so the same seed gives the same tokens.
///
/// # Errors
/// [`Error::InvalidArgument`] if `prompt` is empty or holds an id `>= vocab_size`;
/// [`Error::Sampling`] for an invalid `sampling` or non-finite logits.
pub fn generate(
    model: &Gpt,
    store: &ParamStore,
    prompt: &[usize],
    max_new_tokens: usize,
    sampling: &SamplingConfig,
    seed: u64,
    mut on_token: impl FnMut(usize) -> bool,
) -> Result<Vec<usize>> {
    run(
        model,
        store,
        prompt,
        max_new_tokens,
        sampling,
        seed,
        true,
        |s: &Step<'_>| on_token(s.token),
    )
}

/// [`generate`] without reusing keys and values: every step runs the whole (cropped) context
/// through the model. Same tokens as [`generate`], bit for bit; slower by a factor of about the
/// context length. For checks and benchmarks.
///
/// # Errors
/// As [`generate`].
pub fn generate_uncached(
    model: &Gpt,
    store: &ParamStore,
    prompt: &[usize],
    max_new_tokens: usize,
    sampling: &SamplingConfig,
    seed: u64,
    mut on_token: impl FnMut(usize) -> bool,
) -> Result<Vec<usize>> {
    run(
        model,
        store,
        prompt,
        max_new_tokens,
        sampling,
        seed,
        false,
        |s: &Step<'_>| on_token(s.token),
    )
}

#[allow(clippy::too_many_arguments)]
fn run(
    model: &Gpt,
    store: &ParamStore,
    prompt: &[usize],
    max_new_tokens: usize,
    sampling: &SamplingConfig,
    seed: u64,
    use_cache: bool,
    mut on_step: impl FnMut(&Step<'_>) -> bool,
) -> Result<Vec<usize>> {
    if prompt.is_empty() {
        return Err(Error::invalid(
            "prompt",
            "no tokens",
            "at least one token to condition on",
        ));
    }
    let v = model.config.vocab_size;
    if let Some(i) = prompt.iter().position(|&id| id >= v) {
        return Err(Error::invalid(
            &format!("prompt[{i}]"),
            prompt[i],
            &format!("a token id < vocab_size = {v}"),
        ));
    }
    let mut sampler = Sampler::new(sampling.build()?, seed);
    let bs = model.config.block_size;
    let mut seq = prompt.to_vec();
    let mut out = Vec::with_capacity(max_new_tokens);
    let mut cache = model.new_cache();
    let prepared = model.prepare(store);
    for _ in 0..max_new_tokens {
        let window = &seq[seq.len().saturating_sub(bs)..];
        let feed = if use_cache && !cache.is_empty() && cache.len() < bs {
            // The cache holds the window minus its last token, at the same positions.
            &window[window.len() - 1..]
        } else {
            cache.clear();
            window
        };
        let logits = prepared.forward_cached_rows(feed, &mut cache, LogitRows::Last)?;
        let sample = sampler.sample(logits.data(), &seq)?;
        let token = sample.index;
        seq.push(token);
        out.push(token);
        let step = Step {
            token,
            probability: sample.probability,
            logits: logits.data(),
        };
        if !on_step(&step) {
            break;
        }
    }
    Ok(out)
}
