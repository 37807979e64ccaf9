//! Epsilon cutoff (Hewitt et al. 2022, "Truncation Sampling as Language Model Desmoothing"),
//! as Hugging Face's `EpsilonLogitsWarper`.

use super::{LogitsProcessor, check_min_tokens, kth_largest, mask, probs_f32};
use crate::sampling::error::SamplingError;

/// Removes the tokens whose probability is `< epsilon` (float32 comparison), except those
/// whose score is among the `min_tokens_to_keep` largest (ties at that score all kept).
#[derive(Clone, Debug, PartialEq)]
pub struct EpsilonCutoff {
    epsilon: f64,
    min_tokens_to_keep: usize,
}

impl EpsilonCutoff {
    /// Epsilon cutoff with `0 < epsilon < 1` (HF's range; a sampling config treats 0 as "off").
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `epsilon` or `min_tokens_to_keep`.
    pub fn new(epsilon: f64, min_tokens_to_keep: usize) -> Result<Self, SamplingError> {
        if !(epsilon > 0.0 && epsilon < 1.0) {
            return Err(SamplingError::invalid(
                "epsilon",
                epsilon,
                "0 < epsilon < 1 (0 = off in a config)",
            ));
        }
        Ok(EpsilonCutoff {
            epsilon,
            min_tokens_to_keep: check_min_tokens(min_tokens_to_keep)?,
        })
    }

    /// The epsilon.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }
}

impl LogitsProcessor for EpsilonCutoff {
    fn name(&self) -> &'static str {
        "epsilon"
    }

    fn label(&self) -> String {
        format!("epsilon({})", self.epsilon)
    }

    fn process(&self, _context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        if scores.is_empty() {
            return Ok(());
        }
        let probs = probs_f32(scores);
        let eps = self.epsilon as f32;
        let kth = kth_largest(scores, self.min_tokens_to_keep.min(scores.len()));
        let remove: Vec<bool> = probs
            .iter()
            .zip(scores.iter())
            .map(|(&p, &s)| p < eps && s < kth)
            .collect();
        mask(scores, &remove);
        Ok(())
    }
}
