//! Min-p truncation (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling for Creative and
//! Coherent LLM Outputs"), as Hugging Face's `MinPLogitsWarper`.

use super::{LogitsProcessor, check_min_tokens, mask, probs_f32};
use crate::sampling::error::SamplingError;

/// Keeps the tokens whose probability is `>= min_p * (largest probability)`, and always the
/// `min_tokens_to_keep` highest-scoring ones. Float32 like transformers (`probs < min_p * top`).
/// `min_p = 0` keeps everything; `min_p = 1` keeps the most probable token(s).
#[derive(Clone, Debug, PartialEq)]
pub struct MinP {
    min_p: f64,
    min_tokens_to_keep: usize,
}

impl MinP {
    /// Min-p with `0 <= min_p <= 1`.
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `min_p` (also for NaN) or `min_tokens_to_keep`.
    pub fn new(min_p: f64, min_tokens_to_keep: usize) -> Result<Self, SamplingError> {
        if !(0.0..=1.0).contains(&min_p) {
            return Err(SamplingError::invalid("min_p", min_p, "0 <= min_p <= 1"));
        }
        Ok(MinP {
            min_p,
            min_tokens_to_keep: check_min_tokens(min_tokens_to_keep)?,
        })
    }

    /// The min-p.
    pub fn min_p(&self) -> f64 {
        self.min_p
    }
}

impl LogitsProcessor for MinP {
    fn name(&self) -> &'static str {
        "min_p"
    }

    fn label(&self) -> String {
        format!("min_p({})", self.min_p)
    }

    fn process(&self, _context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        let v = scores.len();
        let probs = probs_f32(scores);
        let top = probs.iter().copied().fold(0.0f32, f32::max);
        let scaled = (self.min_p as f32) * top;
        let mut remove: Vec<bool> = probs.iter().map(|&p| p < scaled).collect();
        // The min_tokens_to_keep highest scores survive (HF: argsort descending, first k kept).
        let mut desc: Vec<usize> = (0..v).collect();
        desc.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        for &i in desc.iter().take(self.min_tokens_to_keep.min(v)) {
            remove[i] = false;
        }
        mask(scores, &remove);
        Ok(())
    }
}
