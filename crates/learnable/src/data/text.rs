//! Token streams for language models: the batch source that cuts a stream into next-token
//! examples ([`TokenWindows`], batches of [`Tokens`]), as nanoGPT's `get_batch`:
//! example `i` is the window of `block_size` tokens starting at token `i`, and its targets are
//! the same window shifted by one token.

use crate::error::{Error, Result};
use crate::models::gpt::Tokens;
use crate::rng::Rng;
use crate::train::{BatchSource, Targets};

/// A token stream as next-token examples: window `i` is `ids[s .. s + block_size]` with targets
/// `ids[s + 1 .. s + block_size + 1]`, where `s` is the window's start (every start by default,
/// or a fixed seeded sample of them for evaluation, [`TokenWindows::sampled`]).
#[derive(Clone, Debug)]
pub struct TokenWindows {
    ids: Vec<usize>,
    block_size: usize,
    /// `None`: every start `0 ..= ids.len() - block_size - 1`.
    starts: Option<Vec<usize>>,
}

impl TokenWindows {
    /// Every window of `block_size` tokens of `ids`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `block_size` when it is 0, and [`Error::Data`] when the
    /// stream has fewer than `block_size + 1` tokens (no window with a target).
    pub fn new(ids: Vec<usize>, block_size: usize) -> Result<TokenWindows> {
        if block_size == 0 {
            return Err(Error::invalid("block_size", 0, ">= 1"));
        }
        if ids.len() <= block_size {
            return Err(Error::Data(format!(
                "the text has {} tokens, too few for one window of block_size {block_size} and \
                 its next token (at least {} tokens)",
                ids.len(),
                block_size + 1
            )));
        }
        Ok(TokenWindows {
            ids,
            block_size,
            starts: None,
        })
    }

    /// `count` windows at starts drawn once, uniformly with replacement, from the seeded stream
    /// `eval-windows` of `seed`: a fixed evaluation set, so that every evaluation of a run (and
    /// of a resumed run) measures the same windows (nanoGPT's `estimate_loss` draws
    /// `eval_iters` random batches each time instead).
    ///
    /// # Errors
    /// As [`TokenWindows::new`]; `count` 0 names `eval windows`.
    pub fn sampled(
        ids: Vec<usize>,
        block_size: usize,
        count: usize,
        seed: u64,
    ) -> Result<TokenWindows> {
        let mut w = TokenWindows::new(ids, block_size)?;
        if count == 0 {
            return Err(Error::invalid("eval windows", 0, ">= 1"));
        }
        let n = w.windows();
        let mut rng = Rng::new(seed, "eval-windows");
        w.starts = Some((0..count).map(|_| rng.below(n as u64) as usize).collect());
        Ok(w)
    }

    /// Number of possible windows of the stream: `tokens - block_size`.
    pub fn windows(&self) -> usize {
        self.ids.len() - self.block_size
    }

    /// Tokens per window.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// The token stream.
    pub fn ids(&self) -> &[usize] {
        &self.ids
    }
}

impl BatchSource for TokenWindows {
    type Input = Tokens;

    fn len(&self) -> usize {
        self.starts
            .as_ref()
            .map_or_else(|| self.windows(), Vec::len)
    }

    /// Windows `idx` as `[idx.len(), block_size]` inputs and their next tokens, flattened in
    /// the same row-major order (one class target per position).
    fn batch(&self, idx: &[usize]) -> Result<(Tokens, Targets)> {
        let t = self.block_size;
        let mut x = Vec::with_capacity(idx.len() * t);
        let mut y = Vec::with_capacity(idx.len() * t);
        for &i in idx {
            let s = match &self.starts {
                Some(starts) => *starts.get(i).ok_or_else(|| out_of_range(i, starts.len()))?,
                None if i < self.windows() => i,
                None => return Err(out_of_range(i, self.windows())),
            };
            x.extend_from_slice(&self.ids[s..s + t]);
            y.extend_from_slice(&self.ids[s + 1..s + t + 1]);
        }
        Ok((
            Tokens {
                ids: x,
                batch: idx.len(),
                time: t,
            },
            Targets::Classes(y),
        ))
    }
}

fn out_of_range(i: usize, n: usize) -> Error {
    Error::invalid("window index", i, &format!("< {n} (windows)"))
}

/// Splits a token stream into training and validation parts: the first
/// `len - round(len · val_fraction)` tokens train, the rest validate (nanoGPT's
/// `prepare.py`: the last 10% of the text is validation).
///
/// # Errors
/// [`Error::InvalidArgument`] naming `val_fraction` outside `[0, 1)`.
pub fn split_tokens(ids: &[usize], val_fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..1.0).contains(&val_fraction) {
        return Err(Error::invalid("val_fraction", val_fraction, "[0, 1)"));
    }
    let n_val = (ids.len() as f64 * val_fraction).round() as usize;
    let cut = ids.len() - n_val;
    Ok((ids[..cut].to_vec(), ids[cut..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_pair_each_token_with_the_next() {
        let w = TokenWindows::new((10..20).collect(), 3).unwrap();
        assert_eq!(w.len(), 7);
        let (x, y) = w.batch(&[0, 6]).unwrap();
        assert_eq!(x.ids, vec![10, 11, 12, 16, 17, 18]);
        assert_eq!((x.batch, x.time), (2, 3));
        let Targets::Classes(y) = y else {
            panic!("class targets")
        };
        assert_eq!(y, vec![11, 12, 13, 17, 18, 19]);
        assert!(w.batch(&[7]).is_err());
        assert!(TokenWindows::new(vec![1, 2, 3], 3).is_err());
        assert!(TokenWindows::new(vec![1, 2, 3], 0).is_err());
    }

    #[test]
    fn sampled_windows_are_fixed_by_the_seed() {
        let ids: Vec<usize> = (0..1000).collect();
        let a = TokenWindows::sampled(ids.clone(), 8, 5, 3).unwrap();
        let b = TokenWindows::sampled(ids, 8, 5, 3).unwrap();
        assert_eq!(a.len(), 5);
        let all: Vec<usize> = (0..5).collect();
        assert_eq!(a.batch(&all).unwrap().0, b.batch(&all).unwrap().0);
    }

    #[test]
    fn the_last_tenth_validates() {
        let ids: Vec<usize> = (0..95).collect();
        let (t, v) = split_tokens(&ids, 0.1).unwrap();
        // round(9.5) = 10 validation tokens.
        assert_eq!((t.len(), v.len()), (85, 10));
        assert_eq!(v[0], 85);
        assert!(split_tokens(&ids, 1.0).is_err());
    }
}
