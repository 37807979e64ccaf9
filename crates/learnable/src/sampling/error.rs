//! Typed errors of the sampling module.
//!
//! Invalid logits and invalid hyperparameters are errors, never a NaN in the output and never a
//! panic. Each variant names what is wrong and where (the index, the row, the parameter).

use thiserror::Error;

/// Everything that can go wrong while processing logits or drawing a sample.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum SamplingError {
    /// The row of logits has no entries (a vocabulary of size 0).
    #[error("empty logits row: there is nothing to sample from")]
    EmptyRow,
    /// A logit is NaN.
    #[error("logit {index} is NaN")]
    NanLogit {
        /// Position of the NaN in the row.
        index: usize,
    },
    /// A logit is `+inf` (the softmax would be undefined: inf / inf).
    #[error("logit {index} is +inf (only finite values and -inf are allowed)")]
    PositiveInfinity {
        /// Position of the `+inf` in the row.
        index: usize,
    },
    /// Every logit of the row is `-inf`: no token has any probability.
    #[error("every logit of the row is -inf: no token can be sampled")]
    AllNegativeInfinity,
    /// A hyperparameter is outside its allowed range (or NaN).
    #[error("invalid {name}: {value} (allowed: {allowed})")]
    InvalidParameter {
        /// The parameter, e.g. `top_p`.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// The allowed range, e.g. `0 <= top_p <= 1`.
        allowed: &'static str,
    },
    /// A token id of the repetition-penalty context is not in the vocabulary.
    #[error("context token id {id} is out of range for a vocabulary of {vocab} logits")]
    ContextOutOfRange {
        /// The offending id.
        id: usize,
        /// The row length (vocabulary size).
        vocab: usize,
    },
    /// A processor turned a finite logit into an infinity (e.g. a tiny temperature or a tiny
    /// repetition penalty dividing a large logit beyond the f32 range).
    #[error("{processor} overflowed the f32 range at logit {index} ({value} became {result})")]
    Overflow {
        /// The processor, e.g. `temperature`.
        processor: &'static str,
        /// Position in the row.
        index: usize,
        /// The logit before the processor.
        value: f32,
        /// What the processor produced (`inf` or `-inf`).
        result: f32,
    },
    /// A tensor does not have the shape an operation needs.
    #[error("shape mismatch in {op}: expected {expected}, got {got}")]
    Shape {
        /// The operation, e.g. `softmax_rows`.
        op: &'static str,
        /// What it needed, e.g. `at least 1 dimension`.
        expected: String,
        /// What it was given.
        got: String,
    },
    /// An error inside one row of a batch.
    #[error("row {row}: {source}")]
    InRow {
        /// The row index in the batch.
        row: usize,
        /// The error of that row.
        #[source]
        source: Box<SamplingError>,
    },
}

impl SamplingError {
    /// Shorthand for [`SamplingError::InvalidParameter`].
    pub(crate) fn invalid(
        name: &'static str,
        value: impl std::fmt::Display,
        allowed: &'static str,
    ) -> Self {
        SamplingError::InvalidParameter {
            name,
            value: value.to_string(),
            allowed,
        }
    }

    /// Wraps this error with the batch row it happened in.
    pub(crate) fn in_row(self, row: usize) -> Self {
        SamplingError::InRow {
            row,
            source: Box::new(self),
        }
    }
}

/// Checks that a row of logits can be turned into a distribution: non-empty, no NaN, no `+inf`,
/// and at least one entry that is not `-inf`. The first offending index is reported.
///
/// # Errors
/// [`SamplingError::EmptyRow`], [`SamplingError::NanLogit`], [`SamplingError::PositiveInfinity`],
/// [`SamplingError::AllNegativeInfinity`].
pub fn validate_logits(row: &[f32]) -> Result<(), SamplingError> {
    if row.is_empty() {
        return Err(SamplingError::EmptyRow);
    }
    let mut any_finite = false;
    for (index, &v) in row.iter().enumerate() {
        if v.is_nan() {
            return Err(SamplingError::NanLogit { index });
        }
        if v == f32::INFINITY {
            return Err(SamplingError::PositiveInfinity { index });
        }
        any_finite |= v != f32::NEG_INFINITY;
    }
    if !any_finite {
        return Err(SamplingError::AllNegativeInfinity);
    }
    Ok(())
}
