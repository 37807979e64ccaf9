//! The distribution a sampler actually draws from: the kept tokens and their probabilities.

use super::error::{SamplingError, validate_logits};
use crate::rng::Rng;

/// A categorical distribution over the kept tokens of one row (`[vocab]` scores).
///
/// Probabilities are the softmax of the final scores, computed in f64 over the kept tokens only
/// (tokens with score `-inf` are not kept and have probability 0), so the kept probabilities are
/// renormalised and sum to 1 up to f64 rounding. A kept token whose probability underflows to 0
/// (a score more than ~745 below the maximum) is never drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    vocab: usize,
    kept: Vec<usize>,
    probs: Vec<f64>,
    cdf: Vec<f64>,
}

impl Distribution {
    /// The distribution `softmax(scores)` restricted to the tokens whose score is not `-inf`.
    ///
    /// # Errors
    /// The row must pass [`validate_logits`]: no NaN, no `+inf`, not empty, not all `-inf`.
    pub fn from_scores(scores: &[f32]) -> Result<Self, SamplingError> {
        validate_logits(scores)?;
        let kept: Vec<usize> = (0..scores.len())
            .filter(|&i| scores[i] != f32::NEG_INFINITY)
            .collect();
        let m = kept
            .iter()
            .map(|&i| scores[i] as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = kept.iter().map(|&i| (scores[i] as f64 - m).exp()).collect();
        // The maximum contributes exp(0) = 1, so the sum is >= 1: no division by zero.
        let total: f64 = e.iter().sum();
        let probs: Vec<f64> = e.iter().map(|v| v / total).collect();
        Ok(Self::from_parts(scores.len(), kept, probs))
    }

    /// All mass on `index` (greedy decoding). `index < vocab` is the caller's promise; an
    /// out-of-range index is clamped to the last token.
    pub fn point(index: usize, vocab: usize) -> Self {
        let vocab = vocab.max(1);
        Self::from_parts(vocab, vec![index.min(vocab - 1)], vec![1.0])
    }

    fn from_parts(vocab: usize, kept: Vec<usize>, probs: Vec<f64>) -> Self {
        let mut acc = 0.0f64;
        let cdf = probs
            .iter()
            .map(|p| {
                acc += p;
                acc
            })
            .collect();
        Distribution {
            vocab,
            kept,
            probs,
            cdf,
        }
    }

    /// The vocabulary size (length of the scores row).
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The kept token indices, ascending.
    pub fn kept(&self) -> &[usize] {
        &self.kept
    }

    /// The probabilities of the kept tokens, aligned with [`Self::kept`]; they sum to 1.
    pub fn kept_probabilities(&self) -> &[f64] {
        &self.probs
    }

    /// The probability of every token (`[vocab]`, 0 for removed tokens).
    pub fn probabilities(&self) -> Vec<f64> {
        let mut p = vec![0.0; self.vocab];
        for (&i, &q) in self.kept.iter().zip(&self.probs) {
            p[i] = q;
        }
        p
    }

    /// The probability of token `index` (0 if it was removed or is out of range).
    pub fn probability(&self, index: usize) -> f64 {
        match self.kept.binary_search(&index) {
            Ok(pos) => self.probs[pos],
            Err(_) => 0.0,
        }
    }

    /// The most probable kept token; ties go to the lowest index.
    pub fn argmax(&self) -> usize {
        let mut best = 0;
        for pos in 1..self.probs.len() {
            if self.probs[pos] > self.probs[best] {
                best = pos;
            }
        }
        self.kept[best]
    }

    /// One draw by inverse CDF: `u = rng.uniform_f64()` in [0, 1), scaled by the total mass,
    /// then the first kept token (in index order) whose cumulative probability exceeds it.
    /// Consumes exactly one `u64` from `rng`, whatever the distribution.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = *self.cdf.last().unwrap_or(&1.0);
        let target = rng.uniform_f64() * total;
        let pos = self.cdf.partition_point(|&c| c <= target);
        self.kept[pos.min(self.kept.len() - 1)]
    }

    /// Counts of `n` draws per token (`[vocab]`), drawn in sequence from `rng`.
    pub fn sample_counts(&self, n: u64, rng: &mut Rng) -> Vec<u64> {
        let mut counts = vec![0u64; self.vocab];
        for _ in 0..n {
            counts[self.sample(rng)] += 1;
        }
        counts
    }
}
