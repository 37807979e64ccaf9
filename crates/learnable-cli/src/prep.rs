//! The data flags shared by the subcommands (`DataArgs`: `--dataset`, `--data`, `--target`,
//! split and preprocessing options) and reading rows for a trained model; the work itself is
//! the library's (`learnable::fit::FitData`, `learnable::inference::ModelInputs`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use learnable::data::csv::Table;
use learnable::data::dataset::Task;
use learnable::data::encode::Impute;
use learnable::data::prepare::{Options, Source};
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
    /// Fraction of rows held out for validation (early stopping), in [0, 1).
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Fraction of rows held out for the final test, in [0, 1) (MNIST has its own test split).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Seed of the split, the initialisation, shuffling and dropout.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::flags::count::<u64>(0))]
    pub seed: u64,
    /// Keep features as they are instead of standardising them with the training split's mean
    /// and standard deviation (useful for images already scaled to [0, 1], such as mnist).
    #[arg(long)]
    pub no_standardize: bool,
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
        Ok(Options {
            task,
            impute,
            val_fraction: self.val_fraction,
            test_fraction: self.test_fraction,
            seed: self.seed,
            standardize: !self.no_standardize,
        })
    }
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
