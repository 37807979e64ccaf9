//! Logits processors: small types with validated parameters that rewrite one row of scores.
//!
//! Each processor follows the Hugging Face transformers 5.24 class of the same name
//! (`transformers.generation.logits_process`), including its float32 arithmetic, its tie rules
//! and its `min_tokens_to_keep`; the fixture `fixtures/reference/softmax_and_sampling.json`
//! holds transformers' outputs for each of them. A removed token gets the score `-inf`
//! (HF's default `filter_value`), so a later softmax gives it probability exactly 0.
//!
//! Processors never see invalid rows: [`crate::sampling::SamplingChain`] validates the logits
//! first (no NaN, no `+inf`, not all `-inf`). Applied directly, a processor still never panics
//! on such a row, but its output is only meaningful for valid rows.

mod epsilon;
mod min_p;
mod repetition_penalty;
mod temperature;
mod top_k;
mod top_p;
mod typical;

pub use epsilon::EpsilonCutoff;
pub use min_p::MinP;
pub use repetition_penalty::RepetitionPenalty;
pub use temperature::Temperature;
pub use top_k::TopK;
pub use top_p::TopP;
pub use typical::TypicalP;

use super::error::SamplingError;
use crate::kernels::softmax::softmax_into;

/// One step of the processor chain: rewrites a row of scores (`[vocab]`, f32) in place.
///
/// `context` holds the token ids seen so far (only the repetition penalty reads it).
pub trait LogitsProcessor: Send + Sync + std::fmt::Debug {
    /// Short stable name, e.g. `top_k`.
    fn name(&self) -> &'static str;
    /// The name with its parameters, e.g. `top_k(k=2)`.
    fn label(&self) -> String;
    /// Rewrites `scores` in place; removed tokens become `-inf`.
    ///
    /// # Errors
    /// Processor-specific: [`SamplingError::ContextOutOfRange`] (repetition penalty),
    /// [`SamplingError::Overflow`] (temperature, repetition penalty).
    fn process(&self, context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError>;
}

/// Validates `min_tokens_to_keep` (HF: an int >= 1).
pub(crate) fn check_min_tokens(min_tokens_to_keep: usize) -> Result<usize, SamplingError> {
    if min_tokens_to_keep == 0 {
        return Err(SamplingError::invalid("min_tokens_to_keep", 0, ">= 1"));
    }
    Ok(min_tokens_to_keep)
}

/// Softmax in f32, as `torch.softmax(scores, -1)` on a float32 row (sums are taken in f64).
pub(crate) fn probs_f32(scores: &[f32]) -> Vec<f32> {
    let mut p = vec![0.0; scores.len()];
    softmax_into(scores, &mut p);
    p
}

/// The `k`-th largest score (1-based `k`, `1 <= k <= len`), like `torch.topk(scores, k)[0][-1]`.
pub(crate) fn kth_largest(scores: &[f32], k: usize) -> f32 {
    if scores.is_empty() {
        return f32::NEG_INFINITY;
    }
    let mut s = scores.to_vec();
    let k = k.clamp(1, s.len());
    let (_, kth, _) = s.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    *kth
}

/// Indices sorted by score ascending; ties keep index order (a stable sort).
pub(crate) fn argsort_ascending(values: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    idx
}

/// Inclusive prefix sums of `values` taken in `order`, accumulated in f64 and stored as f32 after
/// each step: what `torch.cumsum` does on a CPU float32 tensor (its accumulator type is double).
pub(crate) fn cumsum_f32(values: &[f32], order: &[usize]) -> Vec<f32> {
    let mut acc = 0.0f64;
    order
        .iter()
        .map(|&i| {
            acc += values[i] as f64;
            acc as f32
        })
        .collect()
}

/// Sets every score whose `remove` flag is true to `-inf`.
pub(crate) fn mask(scores: &mut [f32], remove: &[bool]) {
    for (s, &r) in scores.iter_mut().zip(remove) {
        if r {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// Errors with [`SamplingError::Overflow`] where a finite score became infinite.
pub(crate) fn check_overflow(
    processor: &'static str,
    before: &[f32],
    after: &[f32],
) -> Result<(), SamplingError> {
    for (index, (&value, &result)) in before.iter().zip(after).enumerate() {
        if value.is_finite() && !result.is_finite() {
            return Err(SamplingError::Overflow {
                processor,
                index,
                value,
                result,
            });
        }
    }
    Ok(())
}
