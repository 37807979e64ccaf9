//! Differentiable operations on the [`crate::tape::Tape`]: each a fused forward kernel and a
//! hand-written backward kernel. One concept per file.

pub mod activation;
pub mod attention;
pub mod dropout;
pub mod elementwise;
pub mod embedding;
pub mod layer_norm;
pub mod linear;
pub mod matmul;
pub mod reduce;
pub mod reshape;
pub mod softmax;
