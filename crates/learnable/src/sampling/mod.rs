//! Logits processing and sampling: from a model's raw scores to a chosen token or class.
//!
//! A model outputs logits (one row of `V` raw scores per input, shape `[N, V]`); softmax turns a
//! row into probabilities that sum to 1; a chain of processors reshapes or truncates the row;
//! a sampler picks an index, greedily or from a seeded random stream. Everything here is shared
//! by today's classifiers and tomorrow's language model.
//!
//! - [`rows`]: softmax, log-softmax, logsumexp and argmax over every row of a tensor (the
//!   per-slice kernels live in [`crate::kernels::softmax`]).
//! - [`processors`]: one small type per processor, each following the Hugging Face transformers
//!   5.24 class of the same name exactly (float32 arithmetic, tie rules, `min_tokens_to_keep`).
//! - [`chain`]: [`SamplingConfig`] (validated hyperparameters) builds a [`SamplingChain`] in a
//!   fixed order: **repetition penalty, temperature, top-k, top-p, min-p, typical-p, epsilon**.
//!   This is Hugging Face's order (temperature first, then truncation). llama.cpp applies
//!   temperature last, after its truncations, so its top-p/min-p/typical see the `T = 1`
//!   distribution; see [`chain`] for the consequences.
//! - [`Distribution`]: the kept tokens and their probabilities, renormalised in f64 (sum 1).
//! - [`sampler`]: greedy (argmax, ties to the lowest index; temperature 0 means greedy, never a
//!   division by zero) and multinomial by inverse CDF from [`crate::Rng`] (seeded ChaCha8, one
//!   `u64` per draw), bit-identical across runs and thread counts.
//! - [`table`]: the seed-style table of probabilities at several temperatures.
//!
//! Invalid input is a typed [`SamplingError`], never a NaN and never a panic: NaN or `+inf`
//! logits, a row of all `-inf`, an empty row, and out-of-range hyperparameters.
//!
//! ```
//! use learnable::sampling::{SamplingConfig, Sampler};
//! let chain = SamplingConfig { temperature: 0.7, top_k: 2, ..Default::default() }.build()?;
//! let p = chain.process(&[4.2, 2.1, -1.3], &[])?;
//! assert_eq!(p.distribution.kept(), &[0, 1]);
//! let mut s = Sampler::new(chain, 42);
//! let token = s.sample(&[4.2, 2.1, -1.3], &[])?;
//! assert!(token.index < 2);
//! # Ok::<(), learnable::sampling::SamplingError>(())
//! ```

pub mod chain;
pub mod distribution;
pub mod error;
pub mod processors;
pub mod report;
pub mod rows;
pub mod sampler;
pub mod table;

pub use chain::{Processed, SamplingChain, SamplingConfig, Step, argmax};
pub use distribution::Distribution;
pub use error::{SamplingError, validate_logits};
pub use processors::LogitsProcessor;
pub use report::{Draws, LogitsReport};
pub use rows::{
    argmax_rows, log_softmax_rows, logsumexp_rows, softmax_rows, softmax_rows_at_temperature,
};
pub use sampler::{SAMPLE_STREAM, Sample, Sampler, sample_rows};
pub use table::{TableRow, TemperatureTable, temperature_table};
