//! Locally typical sampling (Meister et al. 2023, "Locally Typical Sampling", TACL), as Hugging
//! Face's `TypicalLogitsWarper`.

use super::{LogitsProcessor, argsort_ascending, check_min_tokens, cumsum_f32, mask, probs_f32};
use crate::kernels::softmax::log_softmax_into;
use crate::sampling::error::SamplingError;

/// Keeps the tokens whose surprisal `-log p` is closest to the entropy `H` of the distribution,
/// until their probability mass reaches `mass`.
///
/// Exactly as transformers: with `l = log_softmax(scores)`, `H = -Σ exp(l)·l` (terms that are
/// NaN, i.e. `-inf · 0`, are skipped), sort the tokens by `|-l - H|` ascending, take the
/// cumulative softmax in that order, let `n` be the number of positions whose cumulative
/// probability is `< mass` (at most `vocab - 1`), and remove every token whose `|-l - H|` is
/// strictly greater than that of sorted position `n`: so position `n` (the one that reaches
/// `mass`) and every token tied with it are kept. The first `min_tokens_to_keep` sorted
/// positions are always kept. Note that the most probable token can be removed.
#[derive(Clone, Debug, PartialEq)]
pub struct TypicalP {
    mass: f64,
    min_tokens_to_keep: usize,
}

impl TypicalP {
    /// Typical-p with `0 < mass < 1` (HF's range; a sampling config treats 1 as "off").
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `typical_p` or `min_tokens_to_keep`.
    pub fn new(mass: f64, min_tokens_to_keep: usize) -> Result<Self, SamplingError> {
        if !(mass > 0.0 && mass < 1.0) {
            return Err(SamplingError::invalid(
                "typical_p",
                mass,
                "0 < typical_p < 1 (1 = off in a config)",
            ));
        }
        Ok(TypicalP {
            mass,
            min_tokens_to_keep: check_min_tokens(min_tokens_to_keep)?,
        })
    }

    /// The mass.
    pub fn mass(&self) -> f64 {
        self.mass
    }
}

impl LogitsProcessor for TypicalP {
    fn name(&self) -> &'static str {
        "typical_p"
    }

    fn label(&self) -> String {
        format!("typical_p({})", self.mass)
    }

    fn process(&self, _context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        let v = scores.len();
        if v == 0 {
            return Ok(());
        }
        let mut normalized = vec![0.0f32; v];
        log_softmax_into(scores, &mut normalized);
        let mut ent = 0.0f64;
        for &l in &normalized {
            let term = l * l.exp();
            if !term.is_nan() {
                ent -= term as f64;
            }
        }
        let ent = ent as f32;
        let shifted: Vec<f32> = normalized.iter().map(|&l| ((-l) - ent).abs()).collect();
        let order = argsort_ascending(&shifted);
        let cum = cumsum_f32(&probs_f32(scores), &order);
        let mass = self.mass as f32;
        let last_ind = cum.iter().filter(|&&c| c < mass).count().min(v - 1);
        let threshold = shifted[order[last_ind]];
        let mut remove = vec![false; v];
        for (pos, &i) in order.iter().enumerate() {
            remove[i] = pos >= self.min_tokens_to_keep && shifted[i] > threshold;
        }
        mask(scores, &remove);
        Ok(())
    }
}
