//! The data flags shared by the subcommands (`DataArgs`: `--dataset`, `--data`, `--target`,
//! split and preprocessing options) and reading rows for a trained model; the work itself is
//! the library's (`learnable::fit::FitData`, `learnable::inference::ModelInputs`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use learnable::data::csv::Table;
use learnable::data::dataset::Task;
use learnable::data::encode::Impute;
use learnable::data::prepare::{Options, Source};
use learnable::data::split::{self, SplitSize};
use learnable::inference::ModelInputs;
use learnable::trained::TrainedModel;

use crate::flags::print_warnings;

/// Where the data come from and how they are split.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// A bundled dataset by name (see `learnable datasets`). Default: digits.
    #[arg(long, conflicts_with = "data")]
    pub dataset: Option<String>,
    /// A CSV file with a header row.
    #[arg(long, requires = "target")]
    pub data: Option<PathBuf>,
    /// The target column of --data.
    #[arg(long)]
    pub target: Option<String>,
    /// Force the task of a CSV target: classification or regression (default: inferred).
    #[arg(long)]
    pub task: Option<String>,
    /// Fill missing values with the training split's column mean or median.
    #[arg(long, value_parser = ["mean", "median"])]
    pub impute: Option<String>,
    /// Fraction of rows held out for validation (early stopping), in [0, 1). Kept from before
    /// --val-size, which also takes a row count.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Fraction of rows held out for the final test, in [0, 1) (MNIST has its own test split).
    /// Kept from before --test-size, which also takes a row count.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Rows held out for validation, as scikit-learn's test_size: a fraction in [0, 1) (0.1)
    /// or a whole number of rows (50; 0: none). Replaces --val-fraction (default 0.1).
    #[arg(long, conflicts_with = "val_fraction", value_name = "SIZE")]
    pub val_size: Option<String>,
    /// Rows held out for the final test: a fraction in [0, 1) (0.2) or a whole number of rows
    /// (100; 0: none). Replaces --test-fraction (default 0.2). MNIST has its own test split.
    #[arg(long, conflicts_with = "test_fraction", value_name = "SIZE")]
    pub test_size: Option<String>,
    /// Seed of the split, the initialisation, shuffling and dropout.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::flags::count::<u64>(0))]
    pub seed: u64,
    /// Keep features as they are instead of standardising them with the training split's mean
    /// and standard deviation (useful for images already scaled to [0, 1], such as mnist).
    #[arg(long)]
    pub no_standardize: bool,
    /// The most distinct values a categorical (one-hot) CSV column may have; a column with more
    /// (an ID or name column) is an error suggesting --drop COLUMN.
    #[arg(long, default_value_t = learnable::data::encode::MAX_CATEGORIES)]
    pub max_categories: usize,
    /// Use only these columns as inputs, in this order (comma-separated; default: every column
    /// but the target). Stored with the model, so eval and predict use the same inputs.
    #[arg(long, value_delimiter = ',', value_name = "COLUMN,...")]
    pub features: Option<Vec<String>>,
    /// Leave these columns out of the inputs, e.g. an ID or name column (comma-separated or
    /// repeated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMN,...")]
    pub drop: Vec<String>,
    /// One-hot encode this CSV column even if its values are numbers (comma-separated or
    /// repeated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    pub categorical: Vec<String>,
    /// Read this CSV column as numbers; a cell that is not a number is an error naming its line
    /// (by default a column with words is guessed categorical). Comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    pub numeric: Vec<String>,
}

impl DataArgs {
    /// The data source (digits when nothing is given).
    pub fn source(&self) -> Result<Source> {
        Ok(match (&self.dataset, &self.data) {
            (_, Some(path)) => Source::Csv {
                path: path.clone(),
                target: self
                    .target
                    .clone()
                    .context("--data needs --target COLUMN")?,
            },
            (Some(name), None) => Source::Bundled(name.clone()),
            (None, None) => Source::Bundled("digits".into()),
        })
    }

    /// The split/preprocessing options.
    pub fn options(&self) -> Result<Options> {
        let task = self.task.as_deref().map(str::parse::<Task>).transpose()?;
        let impute = match self.impute.as_deref() {
            None => None,
            Some("mean") => Some(Impute::Mean),
            Some("median") => Some(Impute::Median),
            Some(other) => bail!("--impute must be mean or median, got {other}"),
        };
        let (val_size, test_size) = self.split_sizes()?;
        Ok(Options {
            task,
            impute,
            val_size,
            test_size,
            seed: self.seed,
            standardize: !self.no_standardize,
            max_categories: self.max_categories,
            features: self.features.clone(),
            drop: self.drop.clone(),
            categorical: self.categorical.clone(),
            numeric: self.numeric.clone(),
        })
    }
}

impl DataArgs {
    /// The validation and test sizes: from --val-size / --test-size (a fraction or a row
    /// count), else from --val-fraction / --test-fraction, which are checked here so that an
    /// error names the flag typed (`--val-fraction 1.5 is out of range: ...`).
    pub fn split_sizes(&self) -> Result<(SplitSize, SplitSize)> {
        let parse = |flag: &str, text: &str| -> Result<SplitSize> {
            text.parse::<SplitSize>()
                .with_context(|| format!("{flag} {text}"))
        };
        if self.val_size.is_none() && self.test_size.is_none() {
            split::check_fractions(self.val_fraction, self.test_fraction)?;
        }
        let val = match &self.val_size {
            Some(s) => parse("--val-size", s)?,
            None => {
                split::check_fractions(self.val_fraction, 0.0)?;
                SplitSize::Fraction(self.val_fraction)
            }
        };
        let test = match &self.test_size {
            Some(s) => parse("--test-size", s)?,
            None => {
                split::check_fractions(0.0, self.test_fraction)?;
                SplitSize::Fraction(self.test_fraction)
            }
        };
        Ok((val, test))
    }

    /// The validation size as the user gave it, for messages: `("--val-size", "50")` or
    /// `("--val-fraction", "0.1")`.
    pub fn val_setting(&self) -> (&'static str, String) {
        match &self.val_size {
            Some(s) => ("--val-size", s.clone()),
            None => ("--val-fraction", self.val_fraction.to_string()),
        }
    }
}

/// The note naming the CSV columns guessed categorical (one-hot encoded without
/// `--categorical`), e.g. `note: treating 2 columns as categorical (one-hot): color, city; use
/// --numeric COL to override`; None when there are none.
pub fn categorical_note(cols: &[String]) -> Option<String> {
    if cols.is_empty() {
        return None;
    }
    Some(format!(
        "note: treating {} column{} as categorical (one-hot): {}; use --numeric COL to override",
        cols.len(),
        if cols.len() == 1 { "" } else { "s" },
        cols.join(", ")
    ))
}

/// Rows to evaluate or predict with `model` (see [`ModelInputs::from_bundled`] and
/// [`ModelInputs::from_table`]): a bundled dataset by name or a CSV file. Notes and warnings
/// about set-aside columns go to stderr.
pub fn model_inputs(
    model: &TrainedModel,
    dataset: Option<&str>,
    data: Option<&Path>,
    need_target: bool,
) -> Result<ModelInputs> {
    let inputs = match (dataset, data) {
        (Some(name), None) => ModelInputs::from_bundled(model, name)?,
        (None, Some(path)) => ModelInputs::from_table(model, &Table::read(path)?, need_target)?,
        _ => bail!("give one of --dataset NAME or --data FILE"),
    };
    for n in &inputs.notes {
        eprintln!("note: {n}");
    }
    print_warnings(&inputs.warnings);
    Ok(inputs)
}
