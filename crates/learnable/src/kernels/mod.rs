//! Raw compute kernels on slices, apart from the tape's differentiable ops (`ops/`): matrix
//! multiply (through `gemm`), the run-time choice of instruction set ([`isa`]: AVX-512, AVX2 or
//! portable, `LEARNABLE_ISA`), the fused linear forward kernel (packed weights, bias and
//! activation epilogue) and the row softmax / log-softmax / logsumexp that every softmax in the
//! library (the cross-entropy loss, the softmax op, sampling at a temperature) is built on.

pub mod fused_linear;
mod gemm_avx512;
pub mod isa;
pub mod matmul;
pub mod softmax;
