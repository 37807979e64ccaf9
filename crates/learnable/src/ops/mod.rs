//! Differentiable operations on the [`crate::tape::Tape`]: each a fused forward kernel and a
//! hand-written backward kernel. One concept per file.

pub mod elementwise;
pub mod linear;
pub mod reduce;
