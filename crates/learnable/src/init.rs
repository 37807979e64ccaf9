//! Seeded parameter initialisers that follow PyTorch's defaults.
//!
//! - `nn.Linear` (torch/nn/modules/linear.py, `reset_parameters`): weight
//!   `kaiming_uniform_(a=sqrt(5))`, i.e. U(-b, b) with b = gain*sqrt(3/fan_in), gain = sqrt(2/(1+a^2)),
//!   which simplifies to b = 1/sqrt(fan_in); bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
//! - GPT-2 style layers (nanoGPT / Hugging Face `_init_weights`): normal(0, 0.02) weights, zero biases.
//!
//! The distributions match PyTorch's; the draws come from our own [`Rng`] stream, not PyTorch's.

use crate::rng::Rng;
use crate::tensor::Tensor;

/// nn.Linear's default weight, shape `[out_features, in_features]`.
pub fn linear_weight(out_features: usize, in_features: usize, rng: &mut Rng) -> Tensor {
    let bound = 1.0 / (in_features.max(1) as f32).sqrt();
    Tensor::uniform(&[out_features, in_features], -bound, bound, rng)
}

/// nn.Linear's default bias, shape `[out_features]`.
pub fn linear_bias(out_features: usize, in_features: usize, rng: &mut Rng) -> Tensor {
    let bound = 1.0 / (in_features.max(1) as f32).sqrt();
    Tensor::uniform(&[out_features], -bound, bound, rng)
}

/// Normal(0, std) weights, as GPT-2 uses with std = 0.02.
pub fn normal(shape: &[usize], std: f32, rng: &mut Rng) -> Tensor {
    Tensor::normal(shape, 0.0, std, rng)
}
