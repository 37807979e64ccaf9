//! Top-k truncation (Fan et al. 2018, "Hierarchical Neural Story Generation"), as Hugging
//! Face's `TopKLogitsWarper`.

use super::{LogitsProcessor, check_min_tokens, kth_largest};
use crate::sampling::error::SamplingError;

/// Keeps every token whose score is `>=` the k-th largest score: ties at the threshold are all
/// kept, so more than `k` tokens can survive (HF: `scores < topk(scores, k)[0][-1]` removed).
/// The effective k is `max(k, min_tokens_to_keep)`, clamped to the vocabulary size.
/// `k = 0` means no limit (the processor changes nothing).
#[derive(Clone, Debug, PartialEq)]
pub struct TopK {
    k: usize,
    min_tokens_to_keep: usize,
}

impl TopK {
    /// Top-k with `k >= 0` (an `i64` so that a negative value from a CLI or JSON is reported,
    /// not wrapped) and `min_tokens_to_keep >= 1`.
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `top_k` or `min_tokens_to_keep`.
    pub fn new(k: i64, min_tokens_to_keep: usize) -> Result<Self, SamplingError> {
        if k < 0 {
            return Err(SamplingError::invalid("top_k", k, ">= 0 (0 = no limit)"));
        }
        let k = usize::try_from(k).unwrap_or(usize::MAX);
        Ok(TopK {
            k,
            min_tokens_to_keep: check_min_tokens(min_tokens_to_keep)?,
        })
    }

    /// The k (0 = no limit).
    pub fn k(&self) -> usize {
        self.k
    }
}

impl LogitsProcessor for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }

    fn label(&self) -> String {
        format!("top_k({})", self.k)
    }

    fn process(&self, _context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        if self.k == 0 || scores.is_empty() {
            return Ok(());
        }
        let k = self.k.max(self.min_tokens_to_keep).min(scores.len());
        let threshold = kth_largest(scores, k);
        for s in scores.iter_mut() {
            if *s < threshold {
                *s = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }
}
