//! Dense linear algebra for the closed-form fits, in f64 and without an outside library:
//!
//! * [`qr`]: the triangular factor `R` of a tall matrix's QR factorisation, streamed over blocks
//!   of rows (Householder reflections folded block by block, as in communication-avoiding
//!   "TSQR"), so the matrix itself is never copied whole;
//! * [`svd`]: the singular value decomposition of a small matrix by one-sided Jacobi rotations.
//!
//! Together they give the SVD of a tall `A [n, d]` as `A = Q·R`, `R = U_r·diag(s)·Vᵀ`, so
//! `A = (Q·U_r)·diag(s)·Vᵀ`; least squares never needs `Q` itself, only `Qᵀ·y`, which the same
//! reflections produce when `y` rides along as an extra column.
//!
//! Both are deterministic: the same input gives the same bits at any thread count (row groups
//! are fixed in size, not per thread, and are merged in a fixed order).

pub mod qr;
pub mod svd;
