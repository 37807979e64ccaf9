//! `reshape`: the same elements under another shape, as PyTorch's `Tensor.reshape` on a
//! contiguous tensor (row-major order unchanged).

use crate::error::{Error, Result, fmt_shape};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

impl<'a> Tape<'a> {
    /// `x` viewed as `shape` (same number of elements, row-major order kept), e.g. logits
    /// `[B, T, V]` → `[B·T, V]`. Backward: the output gradient, viewed back as `x`'s shape.
    ///
    /// Errors: [`Error::Shape`] naming `reshape` if the element counts differ.
    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Result<Var> {
        let xs = self.shape(x).to_vec();
        let n: usize = shape.iter().product();
        if n != self.value(x).numel() {
            return Err(Error::Shape {
                op: "reshape",
                expected: format!("a shape of {} elements", self.value(x).numel()),
                got: fmt_shape(shape),
            });
        }
        let y = Tensor::new(self.value(x).data().to_vec(), shape)?;
        Ok(self.push(y, &[x], move |g, ctx| {
            if let Some(gx) = ctx.grad_mut(x) {
                debug_assert_eq!(gx.shape(), &xs[..]);
                for (a, b) in gx.data_mut().iter_mut().zip(g.data()) {
                    *a += *b;
                }
            }
        }))
    }
}
