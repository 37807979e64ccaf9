//! # learnable-data
//!
//! Datasets for learnable: CSV loading, the bundled real datasets, seeded splits, encoding and
//! standardisation.

pub mod bundled;
pub mod csv;
pub mod dataset;
pub mod encode;
pub mod mnist;
pub mod scaler;
pub mod split;
