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
    /// Training stopped because the loss, a gradient, a parameter or the validation loss became
    /// NaN or infinite. The parameters of the failing step were not kept: the last checkpoint
    /// (if any) holds finite values.
    #[error("training stopped: {detail} at epoch {epoch}{}; the weights diverged (try a lower learning_rate or max_grad_norm)", step.map(|s| format!(", step {s}")).unwrap_or_default())]
    Diverged {
        /// The 1-based epoch in which it happened.
        epoch: usize,
        /// The 1-based step within the epoch (None for the validation pass after the epoch).
        step: Option<usize>,
        /// What became non-finite, e.g. `the loss is NaN (global step 41)`.
        detail: String,
    },
    /// A checkpoint cannot be resumed: it was written by a run with other settings (each
    /// difference as `(setting, checkpoint value, this run's value)`).
    #[error("the checkpoint in {dir} was trained with other settings ({})", differences.iter().map(|(k, a, b)| format!("{k}: checkpoint {a}, now {b}")).collect::<Vec<_>>().join("; "))]
    ResumeMismatch {
        /// The checkpoint directory.
        dir: String,
        /// `(setting name, value in the checkpoint, value now)`, setting names as in
        /// [`crate::fit::FitConfig`] and [`crate::data::Options`].
        differences: Vec<(String, String, String)>,
    },
    /// A model directory holds only a training checkpoint (training was interrupted or is still
    /// running), not a finished model.
    #[error(
        "{dir} holds no finished model, only a training checkpoint after epoch {epoch}: training was interrupted or is still running; resume it to finish the model"
    )]
    OnlyCheckpoint {
        /// The model directory.
        dir: String,
        /// Epochs the checkpoint holds.
        epoch: usize,
    },
    /// The user's data cannot be used as it is: a value, row or column of a dataset (the message
    /// names the file or dataset, the row and the column).
    #[error("{0}")]
    Data(String),
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
    /// True when the error is the caller's to fix (bad input data, settings, shapes, files or
    /// a missing model): an HTTP front end answers it with a 4xx status. False for failures
    /// of the run itself (I/O, divergence, a non-finite value, anything else): a 5xx.
    pub fn is_caller_error(&self) -> bool {
        match self {
            Error::Shape { .. }
            | Error::InvalidArgument { .. }
            | Error::ResumeMismatch { .. }
            | Error::OnlyCheckpoint { .. }
            | Error::Data(_)
            | Error::Missing(_)
            | Error::Format { .. }
            | Error::Sampling(_)
            | Error::TooManyCategories { .. } => true,
            Error::NonFinite { .. }
            | Error::Diverged { .. }
            | Error::Io { .. }
            | Error::Other(_) => false,
        }
    }

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

    /// An invalid setting that was read from a file, restated as that file's field:
    /// [`Error::InvalidArgument`] `{name, value, allowed}` becomes [`Error::Format`] naming
    /// `path` with the reason `field PREFIX.NAME: VALUE is out of range: allowed ALLOWED` (`is
    /// not valid` for a value that is not a number), e.g. `field network.dropout: 2 is out of
    /// range: allowed [0, 1)`. `prefix` is the path of the object that holds the setting (empty
    /// for the top level). Any other error is returned unchanged.
    ///
    /// A front end that names settings by its own flags (the CLI maps `dropout` to `--dropout`)
    /// must not do so for a value the user never typed; after this conversion the error is no
    /// longer an invalid argument, and names the file instead.
    pub fn in_file_field(self, path: impl AsRef<std::path::Path>, prefix: &str) -> Self {
        match self {
            Error::InvalidArgument {
                name,
                value,
                allowed,
            } => {
                let field = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}.{name}")
                };
                let what = if value.trim().parse::<f64>().is_ok() {
                    "is out of range"
                } else {
                    "is not valid"
                };
                Error::Format {
                    path: path.as_ref().display().to_string(),
                    reason: format!("field {field}: {value} {what}: allowed {allowed}"),
                }
            }
            e => e,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::split::random_split;

    #[test]
    fn user_input_errors_are_the_callers_and_run_failures_are_not() {
        // A split that leaves no training row is the user's data/settings: a 4xx.
        let e = random_split(3, 2usize, 1usize, 0).unwrap_err();
        assert!(matches!(e, Error::Data(_)), "{e:?}");
        assert!(e.is_caller_error());
        assert!(Error::invalid("learning_rate", -1.0, "> 0").is_caller_error());
        let io = Error::io("x", std::io::Error::other("disk"));
        assert!(!io.is_caller_error());
        let diverged = Error::Diverged {
            epoch: 1,
            step: None,
            detail: "the loss is NaN".into(),
        };
        assert!(!diverged.is_caller_error());
    }
}
