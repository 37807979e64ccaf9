//! Finite-difference gradient checking for tape operations.
//!
//! Compares the gradients from [`Tape::backward`] with central differences
//! (f(x + h) − f(x − h)) / 2h, the standard check (e.g. `torch.autograd.gradcheck`). The loss is
//! evaluated in f32, so `h` around 1e-2..1e-3 and a relative tolerance of about 1e-2 are fair.

use crate::error::Result;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// The worst disagreement found by [`check_gradients`].
#[derive(Debug, Clone)]
pub struct GradCheckReport {
    /// Largest |analytic − numeric| / max(1, |numeric|) over all checked elements.
    pub max_rel_error: f64,
    /// (input index, flat element index) where it happened.
    pub worst: (usize, usize),
    /// Analytic and numeric values there.
    pub analytic: f64,
    /// Numeric value there.
    pub numeric: f64,
}

/// Checks d f / d inputs. `f` builds a one-element loss from the inputs on a training tape; it
/// must be deterministic (seed any dropout inside it).
pub fn check_gradients(
    inputs: &[Tensor],
    h: f32,
    f: impl Fn(&mut Tape<'_>, &[Var]) -> Result<Var>,
) -> Result<GradCheckReport> {
    let eval = |xs: &[Tensor]| -> Result<f64> {
        let mut tape = Tape::train();
        let vars: Vec<Var> = xs.iter().map(|x| tape.input(x.clone())).collect();
        let loss = f(&mut tape, &vars)?;
        Ok(tape.value(loss).item()? as f64)
    };
    let mut tape = Tape::train();
    let vars: Vec<Var> = inputs
        .iter()
        .map(|x| tape.input_with_grad(x.clone()))
        .collect();
    let loss = f(&mut tape, &vars)?;
    let grads = tape.backward(loss)?;
    let mut report = GradCheckReport {
        max_rel_error: 0.0,
        worst: (0, 0),
        analytic: 0.0,
        numeric: 0.0,
    };
    let mut xs = inputs.to_vec();
    for (i, v) in vars.iter().enumerate() {
        let zero = Tensor::zeros(inputs[i].shape());
        let g = grads.input(*v).unwrap_or(&zero).clone();
        for j in 0..inputs[i].numel() {
            let orig = xs[i].data()[j];
            xs[i].data_mut()[j] = orig + h;
            let fp = eval(&xs)?;
            xs[i].data_mut()[j] = orig - h;
            let fm = eval(&xs)?;
            xs[i].data_mut()[j] = orig;
            let numeric = (fp - fm) / (2.0 * h as f64);
            let analytic = g.data()[j] as f64;
            let rel = (analytic - numeric).abs() / numeric.abs().max(1.0);
            if rel > report.max_rel_error || rel.is_nan() {
                report = GradCheckReport {
                    max_rel_error: rel,
                    worst: (i, j),
                    analytic,
                    numeric,
                };
            }
        }
    }
    Ok(report)
}

/// A fixed pseudo-random weighting `Σ y·r` that turns any output into a scalar loss, so every
/// output element's gradient is exercised with a different weight.
pub fn weighted_sum(tape: &mut Tape<'_>, y: Var, seed: u64) -> Result<Var> {
    let shape = tape.shape(y).to_vec();
    let mut rng = crate::rng::Rng::new(seed, "gradcheck");
    let r = Tensor::uniform(&shape, -1.0, 1.0, &mut rng);
    let r = tape.input(r);
    let p = tape.mul(y, r)?;
    tape.sum(p)
}
