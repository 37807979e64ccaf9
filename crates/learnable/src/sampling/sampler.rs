//! Samplers: greedy (argmax) and seeded multinomial, for one row or a batch of rows.
//!
//! Randomness comes only from [`crate::Rng`] (ChaCha8, stable across versions and platforms).
//! A draw consumes exactly one `u64` and picks by inverse CDF in f64 over the kept tokens in
//! index order ([`Distribution::sample`]), so the same seed, inputs and config give the same
//! tokens on every run. Batched sampling gives row `i` its own stream (`"sample.row.{i}"`), so
//! the result does not depend on how rayon splits rows over threads.

use rayon::prelude::*;

use super::chain::SamplingChain;
use super::error::SamplingError;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The name of the random stream a [`Sampler`] draws from (`Rng::new(seed, SAMPLE_STREAM)`).
pub const SAMPLE_STREAM: &str = "sample";

/// One sampled token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The token (class) index.
    pub index: usize,
    /// Its probability in the distribution it was drawn from (1 for greedy).
    pub probability: f64,
}

/// A chain plus one seeded stream: call [`Sampler::sample`] once per generated token.
#[derive(Debug)]
pub struct Sampler {
    chain: SamplingChain,
    rng: Rng,
}

impl Sampler {
    /// A sampler over `chain` drawing from `Rng::new(seed, "sample")`.
    pub fn new(chain: SamplingChain, seed: u64) -> Self {
        Sampler {
            chain,
            rng: Rng::new(seed, SAMPLE_STREAM),
        }
    }

    /// The chain.
    pub fn chain(&self) -> &SamplingChain {
        &self.chain
    }

    /// Processes `logits` (`[vocab]`) and draws one token. Greedy chains (temperature 0) take
    /// the argmax and do not advance the stream; others consume one `u64`.
    ///
    /// # Errors
    /// As [`SamplingChain::process`].
    pub fn sample(&mut self, logits: &[f32], context: &[usize]) -> Result<Sample, SamplingError> {
        let dist = self.chain.distribution(logits, context)?;
        let index = if self.chain.is_greedy() {
            dist.argmax()
        } else {
            dist.sample(&mut self.rng)
        };
        Ok(Sample {
            index,
            probability: dist.probability(index),
        })
    }
}

/// Samples one token per row of `logits` (`[N, V]`, or any `[..., V]`, rows are all but the
/// last dimension). `contexts` is empty (no context) or has one id list per row. Row `i` draws
/// from `Rng::new(seed, "sample.row.{i}")`; rows run in parallel on the current rayon pool and
/// the result is identical for any thread count.
///
/// # Errors
/// [`SamplingError::Shape`] for a scalar tensor or a `contexts` of the wrong length; a row's
/// own error wrapped in [`SamplingError::InRow`].
pub fn sample_rows(
    chain: &SamplingChain,
    logits: &Tensor,
    contexts: &[Vec<usize>],
    seed: u64,
) -> Result<Vec<Sample>, SamplingError> {
    if logits.ndim() == 0 {
        return Err(SamplingError::Shape {
            op: "sample_rows",
            expected: "[N, V]".into(),
            got: "a scalar".into(),
        });
    }
    let n = logits.rows();
    if !contexts.is_empty() && contexts.len() != n {
        return Err(SamplingError::Shape {
            op: "sample_rows",
            expected: format!("{n} contexts (one per row) or none"),
            got: format!("{} contexts", contexts.len()),
        });
    }
    (0..n)
        .into_par_iter()
        .map(|i| {
            let context: &[usize] = contexts.get(i).map(|c| c.as_slice()).unwrap_or(&[]);
            let dist = chain
                .distribution(logits.row(i), context)
                .map_err(|e| e.in_row(i))?;
            let index = if chain.is_greedy() {
                dist.argmax()
            } else {
                dist.sample(&mut Rng::new(seed, &format!("{SAMPLE_STREAM}.row.{i}")))
            };
            Ok(Sample {
                index,
                probability: dist.probability(index),
            })
        })
        .collect()
}
