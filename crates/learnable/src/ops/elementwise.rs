//! Elementwise `add` (with trailing-dimension broadcast for biases and residuals) and `mul`.

use crate::error::{Error, Result, fmt_shape};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

impl<'a> Tape<'a> {
    /// `a + b` where `b`'s shape equals `a`'s or is a suffix of it (`[C]` or `[T, C]` added to
    /// every leading index of `a: [..., T, C]`, as PyTorch broadcasting does for these shapes).
    /// Output has `a`'s shape. Backward: da += g, db += g summed over the broadcast dims.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        let ash = self.shape(a).to_vec();
        let bsh = self.shape(b).to_vec();
        if bsh.len() > ash.len() || ash[ash.len() - bsh.len()..] != bsh[..] {
            return Err(Error::Shape {
                op: "add",
                expected: format!("b equal to or a trailing part of {}", fmt_shape(&ash)),
                got: fmt_shape(&bsh),
            });
        }
        let bn = bsh.iter().product::<usize>().max(1);
        let av = self.value(a).data();
        let bv = self.value(b).data();
        let mut out = av.to_vec();
        for chunk in out.chunks_exact_mut(bn) {
            for (o, x) in chunk.iter_mut().zip(bv) {
                *o += *x;
            }
        }
        Ok(self.push(Tensor::new(out, &ash)?, &[a, b], move |g, ctx| {
            if let Some(ga) = ctx.grad_mut(a) {
                for (x, y) in ga.data_mut().iter_mut().zip(g.data()) {
                    *x += *y;
                }
            }
            if let Some(gb) = ctx.grad_mut(b) {
                let gb = gb.data_mut();
                for chunk in g.data().chunks_exact(bn) {
                    for (x, y) in gb.iter_mut().zip(chunk) {
                        *x += *y;
                    }
                }
            }
        }))
    }

    /// Elementwise `a * b`, same shapes. Backward: da += g·b, db += g·a.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        if self.shape(a) != self.shape(b) {
            return Err(Error::Shape {
                op: "mul",
                expected: fmt_shape(self.shape(a)),
                got: fmt_shape(self.shape(b)),
            });
        }
        let shape = self.shape(a).to_vec();
        let out: Vec<f32> = self
            .value(a)
            .data()
            .iter()
            .zip(self.value(b).data())
            .map(|(x, y)| x * y)
            .collect();
        Ok(
            self.push(Tensor::new(out, &shape)?, &[a, b], move |g, ctx| {
                if let Some((bv, ga)) = ctx.value_and_grad(b, a) {
                    for ((x, gy), y) in ga.data_mut().iter_mut().zip(g.data()).zip(bv.data()) {
                        *x += gy * y;
                    }
                }
                if let Some((av, gb)) = ctx.value_and_grad(a, b) {
                    for ((x, gy), y) in gb.data_mut().iter_mut().zip(g.data()).zip(av.data()) {
                        *x += gy * y;
                    }
                }
            }),
        )
    }
}
