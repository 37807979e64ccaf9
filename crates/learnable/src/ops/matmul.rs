//! `matmul`: batched matrix product `a · b` on the tape, through the `gemm` crate.

use crate::error::{Error, Result, fmt_shape};
use crate::kernels::matmul::{Mat, gemm};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

impl<'a> Tape<'a> {
    /// Matrix product, as `torch.matmul` for these shapes: `a` `[..., M, K]` · `b` `[K, N]` →
    /// `[..., M, N]` (leading dims of `a` are flattened into rows), or batched
    /// `a` `[B, M, K]` · `b` `[B, K, N]` → `[B, M, N]`.
    ///
    /// Backward: da += g·bᵀ, db += aᵀ·g (per batch), transposes taken by strides.
    /// Errors: [`Error::Shape`] naming `matmul` and both shapes.
    pub fn matmul(&mut self, a: Var, b: Var) -> Result<Var> {
        let ash = self.shape(a).to_vec();
        let bsh = self.shape(b).to_vec();
        let err = || Error::Shape {
            op: "matmul",
            expected: format!(
                "a [..., M, K] with b [K, N] or a [B, M, K] with b [B, K, N]; b is {}",
                fmt_shape(&bsh)
            ),
            got: fmt_shape(&ash),
        };
        if ash.len() < 2 || bsh.len() < 2 || bsh.len() > 3 {
            return Err(err());
        }
        let k = ash[ash.len() - 1];
        let (batch, m, n) = if bsh.len() == 2 {
            if bsh[0] != k {
                return Err(err());
            }
            (1, ash[..ash.len() - 1].iter().product::<usize>(), bsh[1])
        } else {
            if ash.len() != 3 || ash[0] != bsh[0] || bsh[1] != k {
                return Err(err());
            }
            (ash[0], ash[1], bsh[2])
        };
        let mut out = vec![0.0f32; batch * m * n];
        {
            let av = self.value(a).data();
            let bv = self.value(b).data();
            for i in 0..batch {
                gemm(
                    &mut out[i * m * n..(i + 1) * m * n],
                    Mat::new(&av[i * m * k..(i + 1) * m * k], m, k),
                    Mat::new(&bv[i * k * n..(i + 1) * k * n], k, n),
                    false,
                );
            }
        }
        let mut shape = ash.clone();
        *shape.last_mut().expect("ndim >= 2") = n;
        Ok(
            self.push(Tensor::new(out, &shape)?, &[a, b], move |g, ctx| {
                let g = g.data();
                if let Some((bv, ga)) = ctx.value_and_grad(b, a) {
                    for i in 0..batch {
                        gemm(
                            &mut ga.data_mut()[i * m * k..(i + 1) * m * k],
                            Mat::new(&g[i * m * n..(i + 1) * m * n], m, n),
                            Mat::t(&bv.data()[i * k * n..(i + 1) * k * n], k, n),
                            true,
                        );
                    }
                }
                if let Some((av, gb)) = ctx.value_and_grad(a, b) {
                    for i in 0..batch {
                        gemm(
                            &mut gb.data_mut()[i * k * n..(i + 1) * k * n],
                            Mat::t(&av.data()[i * m * k..(i + 1) * m * k], m, k),
                            Mat::new(&g[i * m * n..(i + 1) * m * n], m, n),
                            true,
                        );
                    }
                }
            }),
        )
    }
}
