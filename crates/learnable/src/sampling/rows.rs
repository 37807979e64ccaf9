//! Row-wise softmax, log-softmax, logsumexp and argmax over a `[N, V]` tensor (any `[..., V]`:
//! rows are all but the last dimension), with the validation of the sampling module.
//!
//! The per-row kernels are the engine's ([`crate::kernels::softmax`]): max subtracted first, sums in f64,
//! `-inf` entries give probability 0. Rows run in parallel on the current rayon pool; each row is
//! computed independently, so results do not depend on the thread count.

use rayon::prelude::*;

use super::chain::argmax;
use super::error::{SamplingError, validate_logits};
use crate::kernels::softmax::{log_softmax_into, logsumexp, softmax_into};
use crate::tensor::Tensor;

fn check_rows(op: &'static str, x: &Tensor) -> Result<(), SamplingError> {
    if x.ndim() == 0 {
        return Err(SamplingError::Shape {
            op,
            expected: "[N, V] (at least 1 dimension)".into(),
            got: "a scalar".into(),
        });
    }
    if x.last_dim() == 0 {
        return Err(SamplingError::EmptyRow);
    }
    Ok(())
}

fn map_rows(
    op: &'static str,
    x: &Tensor,
    f: impl Fn(&[f32], &mut [f32]) + Sync,
) -> Result<Tensor, SamplingError> {
    check_rows(op, x)?;
    let v = x.last_dim();
    let mut out = vec![0.0f32; x.numel()];
    out.par_chunks_mut(v)
        .zip(x.data().par_chunks(v))
        .enumerate()
        .try_for_each(|(i, (o, r))| {
            validate_logits(r).map_err(|e| e.in_row(i))?;
            f(r, o);
            Ok::<(), SamplingError>(())
        })?;
    Tensor::new(out, x.shape()).map_err(|e| SamplingError::Shape {
        op,
        expected: x.numel().to_string(),
        got: e.to_string(),
    })
}

/// Softmax of every row: `[..., V] -> [..., V]`, each row sums to 1.
///
/// # Errors
/// [`SamplingError::Shape`] for a scalar; a row's [`validate_logits`] error inside
/// [`SamplingError::InRow`] (NaN, `+inf`, all `-inf`).
pub fn softmax_rows(x: &Tensor) -> Result<Tensor, SamplingError> {
    map_rows("softmax_rows", x, softmax_into)
}

/// Log-softmax of every row: `[..., V] -> [..., V]`; `-inf` inputs stay `-inf`.
///
/// # Errors
/// As [`softmax_rows`].
pub fn log_softmax_rows(x: &Tensor) -> Result<Tensor, SamplingError> {
    map_rows("log_softmax_rows", x, log_softmax_into)
}

/// `log Σ exp` of every row: `[..., V] -> [rows]` (one value per row, flattened leading dims).
///
/// # Errors
/// As [`softmax_rows`].
pub fn logsumexp_rows(x: &Tensor) -> Result<Vec<f32>, SamplingError> {
    check_rows("logsumexp_rows", x)?;
    x.data()
        .par_chunks(x.last_dim())
        .enumerate()
        .map(|(i, r)| {
            validate_logits(r).map_err(|e| e.in_row(i))?;
            Ok(logsumexp(r))
        })
        .collect()
}

/// Argmax of every row (ties to the lowest index): `[..., V] -> [rows]`.
///
/// # Errors
/// As [`softmax_rows`].
pub fn argmax_rows(x: &Tensor) -> Result<Vec<usize>, SamplingError> {
    check_rows("argmax_rows", x)?;
    x.data()
        .par_chunks(x.last_dim())
        .enumerate()
        .map(|(i, r)| argmax(r).map_err(|e| e.in_row(i)))
        .collect()
}

/// Divides every logit by `temperature` and takes the softmax of each row: the probabilities
/// at temperature `T`. `T = 0` gives the one-hot of each row's argmax (greedy; no division).
///
/// # Errors
/// [`SamplingError::InvalidParameter`] for a negative, NaN or infinite `T`; otherwise as
/// [`softmax_rows`], plus [`SamplingError::Overflow`] if `logit / T` leaves the f32 range.
pub fn softmax_rows_at_temperature(x: &Tensor, temperature: f64) -> Result<Tensor, SamplingError> {
    if !(temperature >= 0.0) || !temperature.is_finite() {
        return Err(SamplingError::invalid(
            "temperature",
            temperature,
            "a finite number >= 0 (0 = greedy)",
        ));
    }
    if temperature == 0.0 {
        let best = argmax_rows(x)?;
        let v = x.last_dim();
        let mut out = vec![0.0f32; x.numel()];
        for (i, b) in best.into_iter().enumerate() {
            out[i * v + b] = 1.0;
        }
        return Tensor::new(out, x.shape()).map_err(|e| SamplingError::Shape {
            op: "softmax_rows_at_temperature",
            expected: String::new(),
            got: e.to_string(),
        });
    }
    let t = super::processors::Temperature::new(temperature)?;
    check_rows("softmax_rows_at_temperature", x)?;
    let v = x.last_dim();
    let mut out = vec![0.0f32; x.numel()];
    out.par_chunks_mut(v)
        .zip(x.data().par_chunks(v))
        .enumerate()
        .try_for_each(|(i, (o, r))| {
            use super::processors::LogitsProcessor;
            validate_logits(r).map_err(|e| e.in_row(i))?;
            let mut scaled = r.to_vec();
            t.process(&[], &mut scaled).map_err(|e| e.in_row(i))?;
            softmax_into(&scaled, o);
            Ok::<(), SamplingError>(())
        })?;
    Tensor::new(out, x.shape()).map_err(|e| SamplingError::Shape {
        op: "softmax_rows_at_temperature",
        expected: String::new(),
        got: e.to_string(),
    })
}
