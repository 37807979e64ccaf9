//! Temperature scaling, as Hugging Face's `TemperatureLogitsWarper`: `scores / T`.

use super::{LogitsProcessor, check_overflow};
use crate::sampling::error::SamplingError;

/// Divides every score by `T` (f32 division by `T as f32`, like torch on a float32 tensor).
/// `T < 1` sharpens the distribution, `T > 1` flattens it; the ranking never changes.
/// Temperature 0 is not a processor: [`crate::sampling::SamplingConfig`] turns it into greedy
/// decoding, so nothing is ever divided by zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Temperature {
    t: f32,
    t_f64: f64,
}

impl Temperature {
    /// A temperature; must be finite and `> 0` (and not round to 0 in f32).
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming `temperature`.
    pub fn new(temperature: f64) -> Result<Self, SamplingError> {
        let t32 = temperature as f32;
        if !(temperature > 0.0) || !temperature.is_finite() || !(t32 > 0.0) || !t32.is_finite() {
            return Err(SamplingError::invalid(
                "temperature",
                temperature,
                "a finite number > 0 for the processor (0 = greedy in a sampling config)",
            ));
        }
        Ok(Temperature {
            t: t32,
            t_f64: temperature,
        })
    }

    /// The temperature.
    pub fn temperature(&self) -> f64 {
        self.t_f64
    }
}

impl LogitsProcessor for Temperature {
    fn name(&self) -> &'static str {
        "temperature"
    }

    fn label(&self) -> String {
        format!("temperature({})", self.t_f64)
    }

    /// # Errors
    /// [`SamplingError::Overflow`] if a finite score divided by `T` leaves the f32 range.
    fn process(&self, _context: &[usize], scores: &mut [f32]) -> Result<(), SamplingError> {
        let before = scores.to_vec();
        for s in scores.iter_mut() {
            *s /= self.t;
        }
        check_overflow("temperature", &before, scores)
    }
}
