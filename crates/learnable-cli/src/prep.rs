//! From dataset arguments to standardised training, validation and test splits (through
//! `learnable::data::prepare`), and back: re-applying a model's stored preprocessing at eval and
//! predict time.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use learnable::Tensor;
use learnable::data::csv::Table;
use learnable::data::dataset::{Dataset, Target, Task};
use learnable::data::encode::Impute;
use learnable::data::prepare::{self, Options, Preprocessing, Source};
use learnable::data::split::{self, SplitSize};
use learnable::train::{Split, Targets};

use crate::flags::print_warnings;
use crate::model_dir::ModelConfig;

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
    #[arg(long, default_value_t = 0)]
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

    /// Whether no validation split was asked for (`--val-size 0` or `--val-fraction 0`).
    pub fn no_validation(&self) -> bool {
        self.split_sizes().is_ok_and(|(v, _)| v.is_none())
    }

    /// The data flags added after checkpoint/args.json was introduced, as flag -> value for
    /// `--resume`'s comparison: "(none)" when not given (as an older args.json reads), else
    /// the value.
    pub fn resume_pairs(&self) -> Vec<(&'static str, String)> {
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                v.join(",")
            }
        };
        let none = || "(none)".to_string();
        vec![
            ("--val-size", self.val_size.clone().unwrap_or_else(none)),
            ("--test-size", self.test_size.clone().unwrap_or_else(none)),
            (
                "--features",
                self.features.as_deref().map_or_else(none, list),
            ),
            ("--drop", list(&self.drop)),
            ("--categorical", list(&self.categorical)),
            ("--numeric", list(&self.numeric)),
            (
                "--max-categories",
                if self.max_categories == learnable::data::encode::MAX_CATEGORIES {
                    none()
                } else {
                    self.max_categories.to_string()
                },
            ),
        ]
    }
}

/// The note naming the CSV columns guessed categorical (one-hot encoded without
/// `--categorical`), e.g. `note: treating 2 columns as categorical (one-hot): color, city; use
/// --numeric COL to override`; None when there are none.
pub fn categorical_note(p: &prepare::Prepared) -> Option<String> {
    let cols = &p.guessed_categorical;
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

/// A short name for a source: the dataset name or the file path.
pub fn source_name(source: &Source) -> String {
    match source {
        Source::Bundled(n) => n.clone(),
        Source::Csv { path, .. } => path.display().to_string(),
    }
}

/// Training data ready for a model.
pub struct Prepared {
    /// Dataset name or file path.
    pub source: String,
    /// The source and options, stored with the model so eval can rebuild the split.
    pub source_spec: Source,
    /// The options used.
    pub options: Options,
    /// Target column name.
    pub target: String,
    /// Feature names (after encoding).
    pub feature_names: Vec<String>,
    /// Class labels (classification) or None (regression).
    pub classes: Option<Vec<String>>,
    /// Standardised training split.
    pub train: Split,
    /// Standardised validation split, if it has rows.
    pub val: Option<Split>,
    /// Standardised test split, if it has rows.
    pub test: Option<Split>,
    /// The fitted preprocessing, stored in config.json.
    pub preprocessing: Preprocessing,
    train_ds: Dataset,
}

impl Prepared {
    /// Standardised training features in f64 `(x, rows, features)` for closed-form models.
    pub fn train_f64(&self) -> (Vec<f64>, usize, usize) {
        (
            self.train_ds.features_f64().into_owned(),
            self.train_ds.n_rows(),
            self.train_ds.n_features(),
        )
    }

    /// Regression targets of the training split in f64.
    pub fn train_values_f64(&self) -> Vec<f64> {
        self.train_ds
            .values()
            .map(|v| v.to_vec())
            .unwrap_or_default()
    }

    /// Class indices of the training split.
    pub fn train_classes(&self) -> Vec<usize> {
        self.train_ds
            .labels()
            .map(|v| v.to_vec())
            .unwrap_or_default()
    }
}

/// The engine's view of a dataset: f32 features `[rows, features]` and targets.
pub fn to_split(ds: &Dataset) -> Result<Split> {
    let y = match ds.target() {
        Target::Classes(c) => Targets::Classes(c.clone()),
        Target::Values(v) => Targets::Values(Tensor::new(
            v.iter().map(|&x| x as f32).collect(),
            &[v.len(), 1],
        )?),
        Target::Missing => bail!("{} has no target column", ds.name()),
    };
    Ok(Split::new(finite_features(ds)?, y)?)
}

/// The f32 features `[rows, features]` of `ds`; errors naming the row (1-based, in the
/// dataset's order) and the feature when a value is not finite in f32, e.g. a CSV value of 1e39
/// that standardisation leaves beyond f32's range (about 3.4e38), which would silently give
/// garbage outputs.
pub fn finite_features(ds: &Dataset) -> Result<Tensor> {
    let x = ds.features_tensor();
    if let Some(i) = x.data().iter().position(|v| !v.is_finite()) {
        let nf = ds.n_features().max(1);
        let name = ds.feature_names().get(i % nf).cloned().unwrap_or_default();
        let v = ds.features_f64()[i];
        bail!(
            "{}: feature '{name}' of row {} is {v:e} after preprocessing, beyond the f32 range",
            ds.name(),
            i / nf + 1
        );
    }
    Ok(x)
}

/// Loads, splits (seeded, stratified for classification), fits the preprocessing on the
/// training rows and standardises every split.
pub fn prepare_training(args: &DataArgs) -> Result<Prepared> {
    let source = args.source()?;
    let options = args.options()?;
    let p = prepare::prepare(&source, &options)?;
    if let Some(note) = categorical_note(&p) {
        eprintln!("{note}");
    }
    let nonempty = |d: &Dataset| -> Result<Option<Split>> {
        if d.n_rows() == 0 {
            Ok(None)
        } else {
            Ok(Some(to_split(d)?))
        }
    };
    let pre = &p.preprocessing;
    Ok(Prepared {
        source: source_name(&source),
        target: pre.target_column().to_string(),
        feature_names: pre.feature_names(),
        classes: (pre.task() == Task::Classification).then(|| pre.class_names().to_vec()),
        train: to_split(&p.train)?,
        val: nonempty(&p.val)?,
        test: nonempty(&p.test)?,
        preprocessing: p.preprocessing.clone(),
        source_spec: source,
        options,
        train_ds: p.train,
    })
}

/// Rows to evaluate or predict with a model's stored preprocessing. For the bundled dataset
/// the model was trained on, its test split as training drew it (same seed and fractions);
/// another bundled dataset is used whole; a CSV file is read with the stored encoding (with
/// `need_target`, the target column must be present).
/// Returns the standardised features `[rows, features]` and the dataset (for targets).
/// `model_dir` (the model's directory, if known) is named in the messages.
///
/// A CSV's columns are matched to the model's by header name, in any order. Input columns it
/// lacks are an error naming them (at most 10) and pointing at `model_dir/config.json`, which
/// lists the inputs. Without `need_target` (prediction) a target column is ignored with a note
/// on stderr (`note: ignoring the target column 'y' of FILE`); any other column that the model
/// does not use is ignored with one warning line naming those columns (as a scikit-learn user
/// selects the trained feature names before predicting).
pub fn load_for_model_in(
    model_dir: Option<&Path>,
    dataset: Option<&str>,
    data: Option<&Path>,
    config: &ModelConfig,
    need_target: bool,
) -> Result<(Tensor, Dataset)> {
    let pre = &config.preprocessing;
    let ds = match (dataset, data) {
        (Some(name), None) => {
            let own = matches!(&config.source, Source::Bundled(n) if n == name);
            if own {
                let p = prepare::prepare(&config.source, &config.options)?;
                if p.test.n_rows() > 0 { p.test } else { p.train }
            } else {
                pre.scale(learnable::data::bundled::load(name)?)?
            }
        }
        (None, Some(path)) => {
            let table = Table::read(path)?;
            let m = pre.encoder.match_header(table.header());
            if !m.missing.is_empty() {
                let listed_in = model_dir.map(|d| d.join("config.json").display().to_string());
                return Err(pre
                    .encoder
                    .missing_columns_error(&table, &m.missing, listed_in.as_deref())
                    .into());
            }
            // Encode first, so that an error is the only line printed.
            let ds = if need_target {
                pre.encode_table(&table)?
            } else {
                pre.encode_table_features(&table)?
            };
            if m.has_target && !need_target {
                eprintln!(
                    "note: ignoring the target column '{}' of {}",
                    pre.target_column(),
                    path.display()
                );
            }
            if !m.ignored.is_empty() {
                print_warnings(&[format!(
                    "ignoring {} column{} of {} that the model does not use: {}",
                    m.ignored.len(),
                    if m.ignored.len() == 1 { "" } else { "s" },
                    path.display(),
                    short_list(&m.ignored)
                )]);
            }
            ds
        }
        _ => bail!("give one of --dataset NAME or --data FILE"),
    };
    Ok((finite_features(&ds)?, ds))
}

/// Up to 10 names quoted and joined by `, `, then `and N more`.
fn short_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().take(10).map(|n| format!("'{n}'")).collect();
    if names.len() > 10 {
        format!("{} and {} more", quoted.join(", "), names.len() - 10)
    } else {
        quoted.join(", ")
    }
}
