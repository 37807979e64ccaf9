//! Repetition penalty, the CTRL rule (Keskar et al. 2019, "CTRL: A Conditional Transformer
//! Language Model for Controllable Generation", §4.1) as in Hugging Face's
//! `RepetitionPenaltyLogitsProcessor`.

use super::{LogitsProcessor, check_overflow};
use crate::sampling::error::SamplingError;

/// For every token id in the context (each id once), a score `s` becomes `s * penalty` if
/// `s < 0` and `s / penalty` otherwise. `penalty > 1` makes repeated tokens less likely,
/// `penalty < 1` more likely, `1` changes nothing. Arithmetic in f32 like transformers
/// (`torch.where(score < 0, score * penalty, score / penalty)` on float32 scores).
#[derive(Clone, Debug, PartialEq)]
pub struct RepetitionPenalty {
    penalty: f32,
    penalty_f64: f64,
}

impl RepetitionPenalty {
    /// A penalty; must be finite and `> 0` (HF: "a strictly positive float").
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `repetition_penalty`.
    pub fn new(penalty: f64) -> Result<Self, SamplingError> {
        let p32 = penalty as f32;
        if !(penalty > 0.0) || !penalty.is_finite() || !(p32 > 0.0) || !p32.is_finite() {
            return Err(SamplingError::invalid(
                "repetition_penalty",
                penalty,
                "a finite number > 0 (1 = no penalty)",
            ));
        }
        Ok(RepetitionPenalty {
            penalty: p32,
            penalty_f64: penalty,
        })
    }

    /// The penalty.
    pub fn penalty(&self) -> f64 {
        self.penalty_f64
    }
}

impl LogitsProcessor for RepetitionPenalty {
    fn name(&self) -> &'static str {
        "repetition_penalty"
    }

    fn label(&self) -> String {
        format!("repetition_penalty({})", self.penalty_f64)
    }

    /// # Errors
    /// [`SamplingError::ContextOutOfRange`] for an id `>= scores.len()`;
    /// [`SamplingError::Overflow`] if a penalised score leaves the f32 range.
    fn process(&self, context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        let vocab = scores.len();
        if let Some(&id) = context.iter().find(|&&id| id >= vocab) {
            return Err(SamplingError::ContextOutOfRange { id, vocab });
        }
        let before = scores.to_vec();
        // Read from `before` so a repeated id is penalised once (HF gathers, then scatters).
        for &id in context {
            let s = before[id];
            scores[id] = if s < 0.0 {
                s * self.penalty
            } else {
                s / self.penalty
            };
        }
        check_overflow("repetition_penalty", &before, scores)
    }
}
