//! Gradient clipping by global L2 norm, as `torch.nn.utils.clip_grad_norm_`.

use crate::error::{Error, Result};
use crate::param::ParamStore;

/// Global L2 norm of the gradients of all trainable parameters, `‖(‖g₁‖, ‖g₂‖, …)‖₂`, summed in
/// f64 parameter by parameter in registration order (deterministic). NaN or infinite if a
/// gradient is.
pub fn grad_norm(store: &ParamStore) -> f64 {
    let mut sum_sq = 0.0f64;
    for (_, p) in store.iter() {
        if p.trainable {
            sum_sq += p
                .grad
                .data()
                .iter()
                .map(|&g| (g as f64) * (g as f64))
                .sum::<f64>();
        }
    }
    sum_sq.sqrt()
}

/// Scales the gradients of all trainable parameters so that their global L2 norm is at most
/// `max_norm`, and returns the norm before clipping.
///
/// As PyTorch (torch/nn/utils/clip_grad.py): `total = ‖(‖g₁‖, ‖g₂‖, …)‖₂`,
/// `coef = max_norm / (total + 1e-6)`, and the gradients are multiplied by `coef` only if
/// `coef < 1`. The sum of squares is taken in f64, parameter by parameter in registration order,
/// so the result is deterministic and does not depend on the thread count. Non-trainable
/// parameters (no gradient in PyTorch) are left out.
///
/// If the norm is not finite (a NaN or infinite gradient), nothing is scaled and the non-finite
/// norm is returned; the optimizer's `step` then reports the parameter with
/// [`Error::NonFinite`].
///
/// Errors: [`Error::InvalidArgument`] if `max_norm` is not finite and > 0.
pub fn clip_grad_norm(store: &mut ParamStore, max_norm: f32) -> Result<f32> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(Error::invalid("max_norm", max_norm, "finite and > 0"));
    }
    let total = grad_norm(store);
    if !total.is_finite() {
        return Ok(total as f32);
    }
    let coef = max_norm as f64 / (total + 1e-6);
    if coef < 1.0 {
        let coef = coef as f32;
        for p in store.iter_mut() {
            if p.trainable {
                p.grad.data_mut().iter_mut().for_each(|g| *g *= coef);
            }
        }
    }
    Ok(total as f32)
}
