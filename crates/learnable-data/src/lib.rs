//! # learnable-data
//!
//! Datasets for learnable: CSV loading, the bundled real datasets, seeded splits, encoding and
//! standardisation.
