//! Top-p (nucleus) truncation (Holtzman et al. 2020, "The Curious Case of Neural Text
//! Degeneration"), as Hugging Face's `TopPLogitsWarper`.

use super::{LogitsProcessor, argsort_ascending, check_min_tokens, cumsum_f32, mask, probs_f32};
use crate::sampling::error::SamplingError;

/// Keeps the smallest set of most probable tokens whose probability mass reaches `p`.
///
/// Exactly as transformers: sort the scores ascending, take the cumulative sum of their softmax
/// (float32), remove every token whose cumulative probability is `<= 1 - p` (compared in
/// float32), and never remove the `min_tokens_to_keep` most probable ones. So `p = 0` keeps
/// exactly one token and `p = 1` removes only tokens whose probability is 0. Ties at the cut-off
/// are resolved by the sort (here: stable, lower index first in ascending order, so the higher
/// index of a tied pair survives).
#[derive(Clone, Debug, PartialEq)]
pub struct TopP {
    p: f64,
    min_tokens_to_keep: usize,
}

impl TopP {
    /// Top-p with `0 <= p <= 1`.
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `top_p` (also for NaN) or `min_tokens_to_keep`.
    pub fn new(p: f64, min_tokens_to_keep: usize) -> Result<Self, SamplingError> {
        if !(0.0..=1.0).contains(&p) {
            return Err(SamplingError::invalid("top_p", p, "0 <= top_p <= 1"));
        }
        Ok(TopP {
            p,
            min_tokens_to_keep: check_min_tokens(min_tokens_to_keep)?,
        })
    }

    /// The p.
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl LogitsProcessor for TopP {
    fn name(&self) -> &'static str {
        "top_p"
    }

    fn label(&self) -> String {
        format!("top_p({})", self.p)
    }

    fn process(&self, _context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        let v = scores.len();
        let order = argsort_ascending(scores);
        let cum = cumsum_f32(&probs_f32(scores), &order);
        // Python computes 1 - top_p in f64; torch compares it against the f32 cumsum in f32.
        let threshold = (1.0 - self.p) as f32;
        let protected_from = v.saturating_sub(self.min_tokens_to_keep);
        let mut remove = vec![false; v];
        for (pos, &i) in order.iter().enumerate() {
            remove[i] = pos < protected_from && cum[pos] <= threshold;
        }
        mask(scores, &remove);
        Ok(())
    }
}
