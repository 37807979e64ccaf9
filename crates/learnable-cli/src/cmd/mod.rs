//! One file per subcommand.

pub mod curve;
pub mod datasets;
pub mod eval;
pub mod generate;
pub mod logits;
pub mod params;
pub mod predict;
pub mod train;
pub mod train_lm;
