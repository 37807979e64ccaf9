//! Typed errors of the learnable library.
//!
//! Every error names what went wrong and where: the operation and both shapes for shape errors,
//! the parameter name and step for non-finite values, the hyperparameter, its value and the
//! allowed range for invalid arguments.

use thiserror::Error;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// All errors the library returns. No user-reachable path panics.
#[derive(Debug, Error)]
pub enum Error {
    /// Two tensors (or a tensor and a declared shape) do not fit an operation.
    #[error("shape mismatch in {op}: expected {expected}, got {got}")]
    Shape {
        /// The operation, e.g. `linear`.
        op: &'static str,
        /// What the operation needed, e.g. `[*, 784]`.
        expected: String,
        /// What it was given, e.g. `[128, 783]`.
        got: String,
    },
    /// A hyperparameter or argument is outside its allowed range.
    #[error("invalid value for {name}: {value} (allowed: {allowed})")]
    InvalidArgument {
        /// The argument, e.g. `learning_rate`.
        name: String,
        /// The value given, as text.
        value: String,
        /// The allowed range, e.g. `> 0`.
        allowed: String,
    },
    /// A NaN or infinity appeared in a loss or gradient.
    #[error("non-finite value ({what}) at step {step} in {name}")]
    NonFinite {
        /// `loss` or `gradient`.
        what: &'static str,
        /// The optimizer step (1-based) at which it appeared.
        step: u64,
        /// The parameter name, or `loss`.
        name: String,
    },
    /// A named parameter or tensor is missing or unexpected.
    #[error("{0}")]
    Missing(String),
    /// A file could not be parsed (checkpoint, safetensors, config).
    #[error("invalid file {path}: {reason}")]
    Format {
        /// The file path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The file path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Invalid logits or sampling hyperparameters (see [`crate::sampling::SamplingError`]).
    #[error(transparent)]
    Sampling(#[from] crate::sampling::SamplingError),
    /// A categorical feature column of a data file has more distinct values than one-hot
    /// encoding allows (option `max_categories`, default
    /// [`crate::data::encode::MAX_CATEGORIES`]): most likely an identifier or free text, which
    /// one-hot encoding would turn into one feature per row. Detected before any feature is
    /// allocated.
    #[error(
        "invalid file {path}: column '{column}' has {distinct} distinct values in {rows} rows, \
         more than the {max} categories one-hot encoding allows (option `max_categories`); it \
         looks like an identifier or free text: leave it out with the `drop` option"
    )]
    TooManyCategories {
        /// The file.
        path: String,
        /// The column's header name.
        column: String,
        /// Its number of distinct non-missing values (over every row of the file).
        distinct: usize,
        /// The file's number of data rows.
        rows: usize,
        /// The limit that was exceeded.
        max: usize,
    },
    /// Anything else, with a message.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Shorthand for a shape error with shapes formatted as `[a, b]`.
    pub fn shape(op: &'static str, expected: impl Into<String>, got: &[usize]) -> Self {
        Error::Shape {
            op,
            expected: expected.into(),
            got: fmt_shape(got),
        }
    }

    /// Shorthand for an invalid-argument error.
    pub fn invalid(name: &str, value: impl std::fmt::Display, allowed: &str) -> Self {
        Error::InvalidArgument {
            name: name.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Formats a shape as `[a, b, c]`.
pub fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}
