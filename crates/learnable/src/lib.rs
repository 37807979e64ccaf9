//! # learnable
//!
//! A machine-learning toolkit: our own forward/backward engine (tensors, a tape, fused kernels
//! with hand-written backward passes, optimizers), models from linear regression to a small GPT,
//! a training loop, logits processing and sampling, and model-size accounting.
//!
//! What exists, by module:
//!
//! | need | module |
//! |---|---|
//! | fit a tabular model (hyperparameters, defaults, validation, `fit`) | [`fit`] |
//! | a trained tabular model (save, load, evaluate) and serving it | [`trained`], [`inference`] |
//! | a language model's life (text, `fit_lm`, save, load, generate) | [`lm`], [`tokenizer`] |
//! | the models and the [`models::Model`] trait (MLP, linear, logistic, GPT) | [`models`] |
//! | the one training loop, its observers and batch sources | [`train`] |
//! | checkpoints as one unit, resume | [`checkpoint`] |
//! | the model directory on disk | [`model_dir`] |
//! | metrics, losses | [`metrics`], [`loss`] |
//! | logits, softmax, temperature, samplers, the logits report | [`sampling`] |
//! | parameter counts and memory of architectures | [`size`] |
//! | data: CSV, bundled sets and texts, splits, encoding | [`data`] |
//! | engine: tensors, tape, ops, optimizers, raw kernels | [`tensor`], [`tape`], [`ops`], [`optim`], [`kernels`] |
//! | named settings (model kind, optimizer, ...) | [`choice`] |
//!
//! Matrix multiply comes from the `gemm` crate; everything around it is written here and checked
//! against finite differences and PyTorch reference values (see `fixtures/reference/`).

pub mod bias_variance;
pub mod checkpoint;
pub mod choice;
pub mod data;
pub mod error;
pub mod fit;
pub mod gradcheck;
pub mod inference;
pub mod init;
pub mod io;
pub mod kernels;
pub mod linalg;
pub mod lm;
pub mod loss;
pub mod metrics;
pub mod model_dir;
pub mod models;
pub mod ops;
pub mod optim;
pub mod param;
pub mod rng;
pub mod sampling;
pub mod size;
pub mod tape;
pub mod tensor;
pub mod text;
pub mod tokenizer;
pub mod train;
pub mod trained;

pub use error::{Error, Result};
pub use param::{Gradients, ParamId, ParamStore, Parameter};
pub use rng::Rng;
pub use tape::{BackwardCtx, Tape, Var};
pub use tensor::Tensor;
