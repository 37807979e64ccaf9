//! One call from a bundled dataset name or a CSV file to train / validation / test datasets and
//! the fitted preprocessing that a model stores and reapplies at prediction time.
//!
//! Order of work (nothing is fitted on validation or test rows):
//! 1. read (bundled loader, or [`Table::read`] + [`TargetEncoder::fit`] over all rows, which
//!    fixes the task and the classes);
//! 2. split with [`crate::data::split`] (stratified for classification; MNIST keeps its fixed test
//!    split and only carves validation rows out of its training part);
//! 3. fit the [`Encoder`] (column types over all rows; categories and imputation values on the
//!    training rows) and encode every split;
//! 4. fit the [`StandardScaler`] on the training split (if `standardize`) and apply it to all.

use std::path::{Path, PathBuf};

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::data::bundled;
use crate::data::csv::Table;
use crate::data::dataset::{Dataset, Task};
use crate::data::encode::{
    ColumnOptions, Encoder, Impute, MAX_CATEGORIES, TargetEncoder, choose_inputs,
};
use crate::data::scaler::StandardScaler;
use crate::data::split::{self, Split, SplitSize};

/// Where the data come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A bundled dataset by name (see [`bundled::list`]).
    Bundled(String),
    /// A CSV file with a header, and the name of its target column.
    Csv {
        /// The file.
        path: PathBuf,
        /// The target column's header name.
        target: String,
    },
}

impl Source {
    /// A short name for paths and titles: the dataset's name, or the CSV file's stem
    /// (`houses` for `data/houses.csv`).
    pub fn short_name(&self) -> String {
        match self {
            Source::Bundled(n) => n.clone(),
            Source::Csv { path, .. } => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "data".into()),
        }
    }
}

/// Options of [`prepare`]; stored with a model so evaluation can rebuild the same split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Force classification or regression (None: infer from the target, see [`crate::data::encode`]).
    pub task: Option<Task>,
    /// Fill missing feature values (None: a missing value is an error).
    pub impute: Option<Impute>,
    /// Size of the validation split: a fraction of the rows in [0, 1) or a number of rows (see
    /// [`SplitSize`]). Default 10 %. Read from `val_fraction` in older `config.json` files.
    #[serde(alias = "val_fraction")]
    pub val_size: SplitSize,
    /// Size of the test split, as `val_size`; ignored by datasets with a fixed test split
    /// (MNIST). Default 20 %. Read from `test_fraction` in older `config.json` files.
    #[serde(alias = "test_fraction")]
    pub test_size: SplitSize,
    /// Seed of the split's random stream. Default 0.
    pub seed: u64,
    /// Standardise features with a scaler fitted on the training split. Default true.
    pub standardize: bool,
    /// The most distinct values a categorical CSV column may have before it is an error
    /// ([`crate::Error::TooManyCategories`]): one-hot encoding makes one feature per value.
    /// Default [`MAX_CATEGORIES`] (1000). Absent from older `config.json` files (default).
    #[serde(default = "default_max_categories")]
    pub max_categories: usize,
    /// Use only these columns as inputs, in this order (None: every column but the target).
    /// For a bundled dataset, names from its feature names. Absent from older `config.json`
    /// files (None).
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Leave these columns out of the inputs (e.g. an ID or name column). Absent from older
    /// `config.json` files (none).
    #[serde(default)]
    pub drop: Vec<String>,
    /// CSV columns to one-hot encode even if their values are numbers (none for a bundled
    /// dataset, whose features are all numeric). Absent from older `config.json` files (none).
    #[serde(default)]
    pub categorical: Vec<String>,
    /// CSV columns to read as numbers: a non-number in one is an error naming its line, where
    /// the guess would make the column categorical. Absent from older `config.json` files.
    #[serde(default)]
    pub numeric: Vec<String>,
}

fn default_max_categories() -> usize {
    MAX_CATEGORIES
}

impl Options {
    /// The column choices of these options, for [`Encoder::fit_with`].
    pub fn column_options(&self) -> ColumnOptions {
        ColumnOptions {
            features: self.features.clone(),
            drop: self.drop.clone(),
            categorical: self.categorical.clone(),
            numeric: self.numeric.clone(),
            max_categories: self.max_categories,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            task: None,
            impute: None,
            val_size: SplitSize::Fraction(0.1),
            test_size: SplitSize::Fraction(0.2),
            seed: 0,
            standardize: true,
            max_categories: MAX_CATEGORIES,
            features: None,
            drop: Vec::new(),
            categorical: Vec::new(),
            numeric: Vec::new(),
        }
    }
}

/// The fitted preprocessing: encoder (column types, categories, imputation, target classes) and
/// scaler. Serialisable; a model stores it in `config.json` and rebuilds inputs with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// From CSV columns to features and target.
    pub encoder: Encoder,
    /// Standardisation fitted on the training split (None if disabled).
    pub scaler: Option<StandardScaler>,
}

impl Preprocessing {
    /// Names of the model's input features (after one-hot encoding), `[n_features]`.
    pub fn feature_names(&self) -> Vec<String> {
        self.encoder.feature_names()
    }

    /// The raw input columns a CSV must contain, in the stored order ([`Encoder::input_columns`]).
    pub fn input_columns(&self) -> Vec<crate::data::encode::InputColumn> {
        self.encoder.input_columns()
    }

    /// Number of model input features.
    pub fn n_features(&self) -> usize {
        self.encoder.n_features()
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.encoder.target.task
    }

    /// Class names in label order (empty for regression).
    pub fn class_names(&self) -> &[String] {
        &self.encoder.target.classes
    }

    /// Header name of the target column (`target` for bundled datasets).
    pub fn target_column(&self) -> &str {
        &self.encoder.target.column
    }

    /// Reads a CSV with the target column (evaluation) and encodes and scales every row.
    /// Errors as [`Encoder::transform_for_model`] (missing input or target columns, missing
    /// values, unseen categories or classes, each with file, line and column); columns that
    /// are not inputs are ignored.
    pub fn load_csv(&self, path: &Path) -> Result<Dataset> {
        self.encode_table(&Table::read(path)?)
    }

    /// Reads a CSV for prediction: the target column may be absent (if present it is ignored,
    /// as are columns that are not inputs). The result has `Target::Missing`.
    pub fn load_csv_features(&self, path: &Path) -> Result<Dataset> {
        self.encode_table_features(&Table::read(path)?)
    }

    /// [`Preprocessing::load_csv`] for a table already read (e.g. to check its header first
    /// with [`Encoder::match_header`]).
    pub fn encode_table(&self, table: &Table) -> Result<Dataset> {
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        self.scale(self.encoder.transform_for_model(table, &rows)?)
    }

    /// [`Preprocessing::load_csv_features`] for a table already read.
    pub fn encode_table_features(&self, table: &Table) -> Result<Dataset> {
        self.scale(self.encoder.transform_features(table)?)
    }

    /// Applies the scaler (if any) to an already encoded dataset, e.g. a bundled one. Errors if
    /// its feature names differ from the model's.
    pub fn scale(&self, mut data: Dataset) -> Result<Dataset> {
        let want = self.feature_names();
        if data.feature_names() != want.as_slice() {
            return Err(Error::Other(format!(
                "the features of {} ({} columns) are not the model's ({} columns: {}{})",
                data.name(),
                data.n_features(),
                want.len(),
                want.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if want.len() > 5 { ", ..." } else { "" }
            )));
        }
        if let Some(s) = &self.scaler {
            s.transform_in_place(&mut data)?;
        }
        Ok(data)
    }
}

/// The result of [`prepare`].
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Training rows, encoded and scaled.
    pub train: Dataset,
    /// Validation rows (empty if `val_size` is 0).
    pub val: Dataset,
    /// Test rows (empty if `test_size` is 0; MNIST: its fixed 10000-image test split).
    pub test: Dataset,
    /// The fitted preprocessing to store with the model.
    pub preprocessing: Preprocessing,
    /// The split's row indices (into the file, or into MNIST's training part).
    pub split: Split,
    /// Whether `test` is the dataset's own fixed test split (then `test_size` was ignored).
    pub fixed_test: bool,
    /// The input columns whose type was guessed categorical (one-hot encoded without being in
    /// `Options::categorical`), in input order; a program may tell its user about them.
    pub guessed_categorical: Vec<String>,
}

/// Loads `source`, splits it, fits the preprocessing on the training rows and applies it to all
/// three splits (see the module doc).
///
/// Errors: unknown dataset; unreadable or malformed CSV (file, line, column); column choices
/// (`features`, `drop`, `categorical`, `numeric`) naming unknown columns or the target (see
/// [`choose_inputs`]); a non-number in a `numeric` column; a categorical column with more than
/// `max_categories` distinct values; invalid split sizes (see [`split`]), including a size that
/// leaves no training row or, stratified, is below the number of classes;
/// a class too small to stratify; a task override that contradicts a bundled dataset's task.
pub fn prepare(source: &Source, opts: &Options) -> Result<Prepared> {
    let (train, val, test, encoder, split, fixed_test) = match source {
        Source::Bundled(name) => {
            let info = bundled::info(name)?;
            if let Some(task) = opts.task.filter(|&t| t != info.task) {
                return Err(Error::invalid(
                    "task",
                    task,
                    &format!("{} (the task of dataset {name})", info.task),
                ));
            }
            let columns = opts.column_options();
            if !columns.categorical.is_empty() {
                return Err(Error::invalid(
                    "categorical",
                    columns.categorical.join(", "),
                    &format!("no column for dataset {name}, whose features are all numeric"),
                ));
            }
            let data = bundled::load(name)?;
            let cols = choose_inputs(name, data.feature_names(), None, &columns)?;
            let all =
                cols.len() == data.n_features() && cols.iter().enumerate().all(|(i, &c)| i == c);
            let data = if all {
                data
            } else {
                data.select_columns(&cols)?
            };
            let encoder = Encoder::numeric(data.feature_names(), data.task(), data.class_names());
            match bundled::load_test(name)? {
                Some(test) => {
                    let test = if all {
                        test
                    } else {
                        test.select_columns(&cols)?
                    };
                    let split = split::split_dataset(&data, opts.val_size, 0.0, opts.seed)?;
                    let (train, val, _) = split.apply(&data)?;
                    (train, val, test, encoder, split, true)
                }
                None => {
                    let split =
                        split::split_dataset(&data, opts.val_size, opts.test_size, opts.seed)?;
                    let (train, val, test) = split.apply(&data)?;
                    (train, val, test, encoder, split, false)
                }
            }
        }
        Source::Csv { path, target } => {
            let table = Table::read(path)?;
            let target = TargetEncoder::fit(&table, target, opts.task)?;
            let all: Vec<usize> = (0..table.n_rows()).collect();
            let split = match target.encode(&table, &all)? {
                crate::data::Target::Classes(labels) => split::stratified_split(
                    &labels,
                    &target.classes,
                    opts.val_size,
                    opts.test_size,
                    opts.seed,
                )?,
                _ => split::random_split(table.n_rows(), opts.val_size, opts.test_size, opts.seed)?,
            };
            let encoder = Encoder::fit_with(
                &table,
                target,
                &split.train,
                opts.impute,
                &opts.column_options(),
            )?;
            let train = encoder.transform(&table, &split.train)?;
            let val = encoder.transform(&table, &split.val)?;
            let test = encoder.transform(&table, &split.test)?;
            (train, val, test, encoder, split, false)
        }
    };
    let scaler = if opts.standardize {
        Some(StandardScaler::fit(&train)?)
    } else {
        None
    };
    let guessed_categorical = encoder
        .one_hot_columns()
        .into_iter()
        .filter(|c| !opts.categorical.iter().any(|f| f == c))
        .map(str::to_string)
        .collect();
    let preprocessing = Preprocessing { encoder, scaler };
    Ok(Prepared {
        guessed_categorical,
        train: preprocessing.scale(train)?,
        val: preprocessing.scale(val)?,
        test: preprocessing.scale(test)?,
        preprocessing,
        split,
        fixed_test,
    })
}
