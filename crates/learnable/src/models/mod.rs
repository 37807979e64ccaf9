//! Models: linear and logistic regression, softmax regression, MLP, a GPT-2-architecture
//! language model ([`gpt`]), and the [`Model`] trait the training loop ([`crate::train::fit`])
//! trains.

pub mod gpt;
pub mod lbfgs;
pub mod linear_regression;
pub mod logistic_regression;
pub mod mlp;

use crate::error::Result;
use crate::param::ParamStore;
use crate::rng::Rng;
use crate::tape::{Tape, Var};

/// A model the training loop can train: a forward pass from one batch of typed input to
/// outputs (logits or predictions) on the tape.
///
/// `Input` is what one batch carries: f32 feature rows `[batch, features]` ([`crate::Tensor`])
/// for tabular models; token ids for a language model. The loop gets it from a
/// [`crate::train::BatchSource`] with the same `Input`.
pub trait Model {
    /// The input of one batch.
    type Input;
    /// Outputs `[examples, outputs]` for the batch `x` (logits for classifiers). `rng` drives
    /// dropout in training mode and is unused in eval mode.
    fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: Self::Input,
        rng: &mut Rng,
    ) -> Result<Var>;
}

impl Model for mlp::Mlp {
    type Input = crate::Tensor;
    /// `x` `[batch, input_dim]` -> `[batch, output_dim]` (see [`mlp::Mlp::forward`]).
    fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: crate::Tensor,
        rng: &mut Rng,
    ) -> Result<Var> {
        let xv = tape.input(x);
        mlp::Mlp::forward(self, tape, store, xv, rng)
    }
}

impl Model for gpt::Gpt {
    type Input = gpt::Tokens;
    /// `x` `[batch, time]` ids -> logits `[batch · time, vocab_size]` (see [`gpt::Gpt::forward`]);
    /// the targets are the next tokens, flattened the same way ([`gpt::Tokens::windows`]).
    fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: gpt::Tokens,
        rng: &mut Rng,
    ) -> Result<Var> {
        gpt::Gpt::forward(self, tape, store, &x, rng)
    }
}
