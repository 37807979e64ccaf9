//! Gradient accumulation over micro-batches of any sizes, equal to the full-batch gradient.
//!
//! With a mean-reduced loss, the full batch of N rows has loss L = (1/N)·Σ_rows ℓ. Split into
//! micro-batches of nᵢ rows with mean losses Lᵢ = (1/nᵢ)·Σ_{rows of i} ℓ, we have
//! L = Σᵢ (nᵢ/N)·Lᵢ, so ∇L = Σᵢ (nᵢ/N)·∇Lᵢ. Summing the plain ∇Lᵢ (or averaging them with equal
//! weights) is only right when every micro-batch has the same size; a short last batch would
//! be over-weighted. [`GradAccumulator`] applies the weight nᵢ/N to each micro-batch's
//! gradient, which is the same as multiplying its loss by nᵢ/N before `backward`.

use crate::error::{Error, Result, fmt_shape};
use crate::param::{Gradients, ParamStore};

/// Adds micro-batch gradients into a [`ParamStore`], each weighted by `micro_rows / total_rows`.
///
/// ```
/// # use learnable::{ParamStore, Result, Tape, Tensor};
/// # use learnable::optim::GradAccumulator;
/// # fn main() -> Result<()> {
/// // One weight w = 1 and ten rows x = 0..9; the loss is the mean of w·x over a batch, so the
/// // full-batch gradient is mean(x) = 4.5 (by hand).
/// let mut store = ParamStore::new();
/// let w = store.add("w", Tensor::new(vec![1.0], &[1, 1])?)?;
/// let xs: Vec<f32> = (0..10).map(|i| i as f32).collect();
/// store.zero_grad();
/// let mut acc = GradAccumulator::new(10)?;
/// for rows in [0..3, 3..8, 8..10] {
///     let grads = {
///         let mut tape = Tape::train();
///         let x = tape.input(Tensor::new(xs[rows.clone()].to_vec(), &[rows.len(), 1])?);
///         let wv = tape.param(&store, w);
///         let y = tape.linear(x, wv, None)?;
///         let loss = tape.mean(y)?; // mean loss of these rows
///         tape.backward(loss)?
///     };
///     acc.add(&mut store, &grads, rows.len())?;
/// }
/// acc.finish()?; // errors unless 10 rows were added
/// assert!((store.get(w).grad.data()[0] - 4.5).abs() < 1e-6);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GradAccumulator {
    total_rows: usize,
    seen_rows: usize,
}

impl GradAccumulator {
    /// An accumulator for a batch of `total_rows` rows (> 0).
    pub fn new(total_rows: usize) -> Result<Self> {
        if total_rows == 0 {
            return Err(Error::invalid("total_rows", total_rows, ">= 1"));
        }
        Ok(GradAccumulator {
            total_rows,
            seen_rows: 0,
        })
    }

    /// The weight `micro_rows / total_rows` of a micro-batch's mean loss (computed in f64).
    pub fn weight(&self, micro_rows: usize) -> f32 {
        (micro_rows as f64 / self.total_rows as f64) as f32
    }

    /// Adds `weight(micro_rows) · grads` into the store's gradient buffers, where `grads` is the
    /// gradient of the micro-batch's mean loss.
    ///
    /// Errors: [`Error::InvalidArgument`] if `micro_rows` is 0 or the rows added so far would
    /// exceed `total_rows`; [`Error::Shape`] if a gradient does not fit its parameter.
    pub fn add(
        &mut self,
        store: &mut ParamStore,
        grads: &Gradients,
        micro_rows: usize,
    ) -> Result<()> {
        let remaining = self.total_rows - self.seen_rows;
        if micro_rows == 0 || micro_rows > remaining {
            return Err(Error::invalid(
                "micro_rows",
                micro_rows,
                &format!("1..={remaining} (rows left of {})", self.total_rows),
            ));
        }
        for (id, g) in &grads.grads {
            if id.0 >= store.len() || store.get(*id).value.shape() != g.shape() {
                let expected = if id.0 < store.len() {
                    fmt_shape(store.get(*id).value.shape())
                } else {
                    format!("a parameter at index {}", id.0)
                };
                return Err(Error::shape("GradAccumulator::add", expected, g.shape()));
            }
        }
        let w = self.weight(micro_rows);
        for (id, g) in &grads.grads {
            let buf = store.get_mut(*id).grad.data_mut();
            for (b, &x) in buf.iter_mut().zip(g.data()) {
                *b += w * x;
            }
        }
        self.seen_rows += micro_rows;
        Ok(())
    }

    /// Rows added so far.
    pub fn seen_rows(&self) -> usize {
        self.seen_rows
    }

    /// True once `total_rows` rows have been added.
    pub fn is_complete(&self) -> bool {
        self.seen_rows == self.total_rows
    }

    /// Checks that exactly `total_rows` rows were added; errors with [`Error::InvalidArgument`]
    /// naming the shortfall otherwise.
    pub fn finish(self) -> Result<()> {
        if !self.is_complete() {
            return Err(Error::invalid(
                "micro-batch rows",
                self.seen_rows,
                &format!("a total of {} rows", self.total_rows),
            ));
        }
        Ok(())
    }
}
