//! `Tensor`: contiguous row-major f32 storage plus a shape.
//!
//! The engine keeps tensors simple on purpose: no strides, no views, no dtype parameter. Matrix
//! transposes are taken by strides inside the GEMM call (see [`crate::kernels::matmul`]), never by copies.

use crate::error::{Error, Result, fmt_shape};
use crate::rng::Rng;

/// A dense f32 tensor in row-major (C) order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Tensor {
    data: Vec<f32>,
    shape: Vec<usize>,
}

impl Tensor {
    /// Builds a tensor from data and a shape; errors if `data.len()` is not the shape's product.
    pub fn new(data: Vec<f32>, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Shape {
                op: "Tensor::new",
                expected: format!("{} elements for shape {}", n, fmt_shape(shape)),
                got: format!("{} elements", data.len()),
            });
        }
        Ok(Tensor {
            data,
            shape: shape.to_vec(),
        })
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor {
            data: vec![0.0; shape.iter().product()],
            shape: shape.to_vec(),
        }
    }

    /// A tensor filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Self {
        Tensor {
            data: vec![value; shape.iter().product()],
            shape: shape.to_vec(),
        }
    }

    /// A scalar (shape `[]`).
    pub fn scalar(value: f32) -> Self {
        Tensor {
            data: vec![value],
            shape: vec![],
        }
    }

    /// A tensor whose element at flat index `i` is `f(i)`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> f32) -> Self {
        let n = shape.iter().product();
        Tensor {
            data: (0..n).map(f).collect(),
            shape: shape.to_vec(),
        }
    }

    /// Uniform(low, high) entries from `rng`.
    pub fn uniform(shape: &[usize], low: f32, high: f32, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| rng.uniform_range(low, high))
    }

    /// Normal(mean, std) entries from `rng`.
    pub fn normal(shape: &[usize], mean: f32, std: f32, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| (mean as f64 + std as f64 * rng.normal()) as f32)
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The flat row-major data.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The flat row-major data, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes the tensor and returns its data.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The size of the last dimension (1 for a scalar).
    pub fn last_dim(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Product of all dimensions but the last (the number of "rows").
    pub fn rows(&self) -> usize {
        if self.shape.is_empty() {
            1
        } else {
            self.shape[..self.shape.len() - 1].iter().product()
        }
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.data.len() != 1 {
            return Err(Error::shape("item", "one element", &self.shape));
        }
        Ok(self.data[0])
    }

    /// Same data, new shape (product must match).
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != self.data.len() {
            return Err(Error::Shape {
                op: "reshape",
                expected: format!("{} elements", self.data.len()),
                got: fmt_shape(shape),
            });
        }
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// Row `i` of a tensor viewed as `[rows, last_dim]`.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.last_dim();
        &self.data[i * d..(i + 1) * d]
    }

    /// Largest absolute elementwise difference to `other` (infinite if shapes differ).
    pub fn max_abs_diff(&self, other: &Tensor) -> f32 {
        if self.shape != other.shape {
            return f32::INFINITY;
        }
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    /// True if every element is finite.
    pub fn all_finite(&self) -> bool {
        // Exponent bits all ones means inf or NaN. A branch-free AND over each block lets the
        // compiler vectorise the test (a short-circuiting `all` over elements does not).
        const EXP: u32 = 0x7f80_0000;
        self.data
            .chunks(4096)
            .all(|c| c.iter().fold(true, |ok, x| ok & (x.to_bits() & EXP != EXP)))
    }
}

#[cfg(test)]
mod tests {
    use super::Tensor;

    #[test]
    fn all_finite_finds_nan_and_inf_anywhere() {
        let n = 10_000; // more than two of the 4096-element blocks
        let ok = Tensor::new(vec![f32::MAX; n], &[n]).unwrap();
        assert!(ok.all_finite());
        let tiny = Tensor::new(vec![f32::MIN_POSITIVE / 2.0, -0.0, f32::MIN], &[3]).unwrap();
        assert!(tiny.all_finite());
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
            for at in [0, 4095, 4096, n - 1] {
                let mut v = vec![1.0f32; n];
                v[at] = bad;
                assert!(!Tensor::new(v, &[n]).unwrap().all_finite(), "{bad} at {at}");
            }
        }
    }
}
