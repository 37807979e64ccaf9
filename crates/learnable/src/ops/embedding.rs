//! `embedding`: look up rows of a table by integer id, as PyTorch's `nn.Embedding`.
//!
//! Forward copies row `ids[i]` of `table [V, C]` to output row `i`. Backward adds output row `i`'s
//! gradient into table row `ids[i]`, in increasing `i` (a fixed order, so repeated ids
//! accumulate identically on every run and thread count).

use crate::error::{Error, Result, fmt_shape};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Formats flat position `flat` of an id tensor of shape `shape` as `[i, j, ...]`.
fn position(flat: usize, shape: &[usize]) -> String {
    let mut idx = vec![0usize; shape.len()];
    let mut rest = flat;
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = rest % d;
            rest /= d;
        }
    }
    fmt_shape(&idx)
}

impl<'a> Tape<'a> {
    /// Embedding lookup. `ids`: flat row-major ids of shape `ids_shape` (e.g. `[B, T]`),
    /// `table`: `[V, C]` → `[..ids_shape, C]`.
    ///
    /// Backward: `d table[ids[i]] += d out[i]` for each position `i` in order (scatter-add);
    /// no gradient flows to the ids.
    ///
    /// Errors: [`Error::Shape`] naming `embedding` if `table` is not 2-D or `ids.len()` is not
    /// the product of `ids_shape`; [`Error::InvalidArgument`] naming the position (e.g.
    /// `embedding ids[1, 3]`) and the id if an id is `>= V`.
    pub fn embedding(&mut self, ids: &[usize], ids_shape: &[usize], table: Var) -> Result<Var> {
        let ts = self.shape(table).to_vec();
        if ts.len() != 2 {
            return Err(Error::shape("embedding", "table [V, C]", &ts));
        }
        let (v, c) = (ts[0], ts[1]);
        let n: usize = ids_shape.iter().product();
        if ids.len() != n {
            return Err(Error::Shape {
                op: "embedding",
                expected: format!("{n} ids for ids shape {}", fmt_shape(ids_shape)),
                got: format!("{} ids", ids.len()),
            });
        }
        if let Some((pos, &id)) = ids.iter().enumerate().find(|&(_, &id)| id >= v) {
            return Err(Error::invalid(
                &format!("embedding ids{}", position(pos, ids_shape)),
                id,
                &format!("< {v} (rows of the table)"),
            ));
        }
        let tv = self.value(table).data();
        let mut out = Vec::with_capacity(n * c);
        for &id in ids {
            out.extend_from_slice(&tv[id * c..(id + 1) * c]);
        }
        let mut os = ids_shape.to_vec();
        os.push(c);
        let ids = ids.to_vec();
        Ok(self.push(Tensor::new(out, &os)?, &[table], move |gy, ctx| {
            if c == 0 {
                return;
            }
            if let Some(gt) = ctx.grad_mut(table) {
                let gt = gt.data_mut();
                for (&id, gr) in ids.iter().zip(gy.data().chunks_exact(c)) {
                    for (t, g) in gt[id * c..(id + 1) * c].iter_mut().zip(gr) {
                        *t += *g;
                    }
                }
            }
        }))
    }
}
