//! Datasets: CSV loading, the bundled real datasets, seeded splits, encoding and
//! standardisation.
//!
//! The usual path is one call to [`prepare`]: a bundled dataset name or a CSV file and its
//! target column in; standardised train / validation / test [`Dataset`]s and the fitted
//! [`Preprocessing`] (serialisable, for a model's `config.json`) out. At prediction time
//! [`Preprocessing::load_csv_features`] reads a new file with the stored preprocessing.
//!
//! Modules: [`dataset`] (the in-memory dataset), [`csv`] (reading a CSV into a table of text),
//! [`encode`] (column types, one-hot, imputation, target classes), [`scaler`] (standardisation),
//! [`split`] (seeded, stratified splits), [`bundled`] and [`mnist`] (the datasets in `data/`),
//! [`prepare`](mod@prepare) (the pipeline).

pub mod bundled;
pub mod csv;
pub mod dataset;
pub mod encode;
pub mod mnist;
pub mod prepare;
pub mod scaler;
pub mod split;
pub mod text;

pub use dataset::{Dataset, Target, Task};
pub use encode::{Encoder, Impute};
pub use prepare::{Options, Prepared, Preprocessing, Source, prepare};
pub use scaler::StandardScaler;
pub use split::{Split, SplitSize};
