//! From a CSV [`Table`] to a [`Dataset`]: column types, one-hot encoding, imputation and
//! target encoding, learned once and stored.
//!
//! - **Target** ([`TargetEncoder`], learned on every row of the training file, since the split
//!   itself needs the classes): a column with any non-numeric value is a classification target
//!   whose classes are its distinct values sorted (as scikit-learn's `LabelEncoder`); a numeric
//!   column with at most [`MAX_INTEGER_CLASSES`] distinct values, all integers, is a
//!   classification target whose classes are those values in numeric order; any other numeric
//!   column is a regression target. Without an explicit task, a target whose cells are mostly
//!   numbers but not all is an error naming the first non-number (it is most likely a typo in a
//!   numeric target, which would otherwise make every distinct number a class). An explicit
//!   [`Task`] overrides the guess.
//! - **Features** ([`Encoder`], learned on the training rows only): a column whose non-missing
//!   cells (over every row) all parse as numbers is numeric; a column whose non-missing cells are
//!   mostly numbers but not all (e.g. `3.5, 4.1, n/a?, 2.0`) is an error naming the first
//!   non-number, its line and the missing-value markers, since one stray cell would otherwise
//!   turn every distinct number into a one-hot feature; any other column (no numbers, or at most
//!   half numbers) is categorical and one-hot encoded with the categories seen in the training
//!   rows, sorted, one output column `NAME_CATEGORY` per category (scikit-learn's
//!   `OneHotEncoder` order and naming). A categorical column with more than
//!   [`ColumnOptions::max_categories`] distinct values (default [`MAX_CATEGORIES`] = 1000) is an
//!   error ([`Error::TooManyCategories`]) raised before anything is allocated: an identifier or
//!   name column, with a distinct value per row, would otherwise become one dense feature per row
//!   (40,000 rows: 40,000 x 40,000 values, 12.8 GB). scikit-learn's `OneHotEncoder` has no such
//!   limit by default; the check is here because the features are stored densely.
//! - **Choosing and typing** ([`ColumnOptions`]): `features` keeps only the named columns as
//!   inputs, `drop` leaves columns out, `categorical` one-hot encodes a column even if its values
//!   are numbers, and `numeric` reads a column as numbers (a non-number is then an error naming
//!   its line, where the guess would make the column categorical). [`Encoder::one_hot_columns`]
//!   tells which columns ended up one-hot.
//! - **Missing values** ([`crate::data::csv::MISSING`]) are an error naming the file, line and column,
//!   unless an [`Impute`] strategy is given: numeric columns then take the mean or median of their
//!   training rows, categorical columns their most frequent training category.
//! - **Unseen** categories or classes (at prediction, or in a validation/test row) are an error
//!   naming the value, the column and the line.
//!
//! [`Encoder`] is `serde`-serialisable so a model's `config.json` can carry it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::csv::{MISSING, Table, is_missing};
use crate::data::dataset::{Dataset, Target, Task};

/// A numeric target with at most this many distinct values, all integers, is taken as class
/// labels unless a task is given.
pub const MAX_INTEGER_CLASSES: usize = 20;

/// Default limit on the distinct values of one categorical feature column
/// ([`ColumnOptions::max_categories`]).
pub const MAX_CATEGORIES: usize = 1000;

/// How the input columns of a table are chosen and encoded; see [`Encoder::fit_with`]. Every
/// name must be a column of the table other than the target (see [`choose_inputs`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnOptions {
    /// Use only these columns as inputs, in this order (None: every column but the target, in
    /// file order), as a pandas user selects `df[features]`.
    pub features: Option<Vec<String>>,
    /// Leave these columns out (e.g. an ID or name column).
    pub drop: Vec<String>,
    /// One-hot encode these columns even if their values are numbers.
    pub categorical: Vec<String>,
    /// Read these columns as numbers: a non-missing cell that is not a number is an error
    /// naming it, instead of the column being guessed categorical.
    pub numeric: Vec<String>,
    /// The most distinct (non-missing) values a categorical column may have, counted over every
    /// row of the table; more is [`Error::TooManyCategories`]. Default [`MAX_CATEGORIES`].
    pub max_categories: usize,
}

impl Default for ColumnOptions {
    fn default() -> Self {
        ColumnOptions {
            features: None,
            drop: Vec::new(),
            categorical: Vec::new(),
            numeric: Vec::new(),
            max_categories: MAX_CATEGORIES,
        }
    }
}

/// The input columns chosen by `opts` among `header` (the columns of `what`, a file or dataset
/// name for messages), as indices into `header`: `opts.features` in its order (or every column
/// but `target`, in header order), less `opts.drop`. The types asked for in
/// `opts.categorical` / `opts.numeric` are checked to name chosen inputs.
///
/// Errors (`Error::InvalidArgument` named by the option, `features`, `drop`, `categorical` or
/// `numeric`): a name that is not in `header` (listing at most 10 available columns); the
/// target named in any of them; a column named twice in `features`; a column both categorical
/// and numeric; a type asked for a column that is not an input; no input column left.
pub fn choose_inputs(
    what: &str,
    header: &[String],
    target: Option<&str>,
    opts: &ColumnOptions,
) -> Result<Vec<usize>> {
    let available: Vec<String> = header
        .iter()
        .filter(|h| Some(h.as_str()) != target)
        .cloned()
        .collect();
    let lists: [(&str, &[String]); 4] = [
        ("features", opts.features.as_deref().unwrap_or(&[])),
        ("drop", &opts.drop),
        ("categorical", &opts.categorical),
        ("numeric", &opts.numeric),
    ];
    for (option, names) in lists {
        if let Some(t) = target.filter(|t| names.iter().any(|n| n == t)) {
            return Err(Error::invalid(
                option,
                t,
                &format!("columns other than the target '{t}'"),
            ));
        }
        let unknown: Vec<String> = names
            .iter()
            .filter(|n| !header.contains(n))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(Error::invalid(
                option,
                unknown.join(", "),
                &format!("column names of {what}: {}", list(&available)),
            ));
        }
    }
    let index = |name: &String| header.iter().position(|h| h == name).unwrap_or(0);
    let chosen: Vec<usize> = match &opts.features {
        Some(features) => {
            for (i, f) in features.iter().enumerate() {
                if features[..i].contains(f) {
                    return Err(Error::invalid("features", f, "each column named once"));
                }
            }
            features.iter().map(index).collect()
        }
        None => (0..header.len())
            .filter(|&j| Some(header[j].as_str()) != target)
            .collect(),
    };
    let chosen: Vec<usize> = chosen
        .into_iter()
        .filter(|&j| !opts.drop.contains(&header[j]))
        .collect();
    if chosen.is_empty() {
        return Err(Error::invalid(
            if opts.drop.is_empty() {
                "features"
            } else {
                "drop"
            },
            if opts.drop.is_empty() {
                String::new()
            } else {
                opts.drop.join(", ")
            },
            &format!("at least one input column of {what} left"),
        ));
    }
    if let Some(both) = opts.categorical.iter().find(|c| opts.numeric.contains(c)) {
        return Err(Error::invalid(
            "categorical",
            both,
            "columns not also declared numeric (option `numeric`)",
        ));
    }
    for (option, names) in [
        ("categorical", &opts.categorical),
        ("numeric", &opts.numeric),
    ] {
        if let Some(out) = names
            .iter()
            .find(|n| !chosen.iter().any(|&j| header[j] == **n))
        {
            return Err(Error::invalid(
                option,
                out,
                "input columns (not dropped, and among `features` when given)",
            ));
        }
    }
    Ok(chosen)
}

/// How to fill missing feature values, fitted on the training rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impute {
    /// Numeric columns: the mean of the training rows' values.
    Mean,
    /// Numeric columns: the median of the training rows' values (mean of the two middle values
    /// for an even count, as NumPy's `median`).
    Median,
}

impl fmt::Display for Impute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impute::Mean => "mean",
            Impute::Median => "median",
        })
    }
}

impl FromStr for Impute {
    type Err = Error;

    /// Parses `mean` or `median`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mean" => Ok(Impute::Mean),
            "median" => Ok(Impute::Median),
            _ => Err(Error::invalid("impute", s, "mean | median")),
        }
    }
}

/// How one input column becomes features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ColumnEncoding {
    /// One feature: the number. `fill` replaces missing values (None: missing is an error).
    Numeric {
        /// Imputed value for a missing cell.
        fill: Option<f64>,
    },
    /// One feature per category (1 for the row's category, 0 otherwise). `fill` replaces
    /// missing values (None: missing is an error).
    OneHot {
        /// Categories seen in the training rows, sorted; output column order.
        categories: Vec<String>,
        /// Imputed category for a missing cell.
        fill: Option<String>,
    },
}

/// One input column: its name in the CSV header and its encoding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Header name.
    pub name: String,
    /// How it becomes features.
    #[serde(flatten)]
    pub encoding: ColumnEncoding,
}

/// One raw input column of a model: its header name and, for a categorical (one-hot) column,
/// the categories seen in training, sorted (None for a numeric column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputColumn {
    /// Header name the CSV must have.
    pub name: String,
    /// Known categories of a categorical column; None for a numeric one.
    pub categories: Option<Vec<String>>,
}

/// The target column: its name, the task and (for classification) the class names in label
/// order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetEncoder {
    /// Header name of the target column.
    pub column: String,
    /// Classification or regression.
    pub task: Task,
    /// Class names; label `i` is `classes[i]`. Empty for regression.
    pub classes: Vec<String>,
}

/// Canonical text of a numeric class value: `3` for 3.0, else Rust's shortest repr (`0.5`).
fn number_name(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn parse_number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok()
}

/// Whether `cell` parses as a number ([`parse_number`] is `Some`), without computing it when
/// it is plain decimal syntax (`[+-]digits[.digits][(e|E)[+-]digits]`, at least one mantissa
/// digit), which Rust's `f64` parser always accepts; anything else (`inf`, `nan`, text) goes
/// through the parser.
fn is_number(cell: &str) -> bool {
    let b = cell.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let mut mantissa = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        mantissa += digits(&mut i);
    }
    let mut ok = mantissa > 0;
    if ok && i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        ok = digits(&mut i) > 0;
    }
    if ok && i == b.len() {
        return true;
    }
    parse_number(cell).is_some()
}

/// What the non-missing cells of one column hold, over every row of a table.
#[derive(Clone, Copy, Debug, Default)]
struct ValueCounts {
    /// Cells that parse as numbers.
    numbers: usize,
    /// Cells that do not.
    texts: usize,
    /// The first row with a text cell.
    first_text: Option<usize>,
}

impl ValueCounts {
    /// Counts for each of `cols`, in that order. Rows are visited in order, in parallel blocks
    /// (the table is stored row by row, so a pass down one column at a time would miss the
    /// cache on every cell), and the blocks' counts are merged in row order.
    fn of(table: &Table, cols: &[usize]) -> Vec<ValueCounts> {
        const BLOCK: usize = 1024;
        let blocks: Vec<usize> = (0..table.n_rows()).step_by(BLOCK).collect();
        blocks
            .par_iter()
            .map(|&start| {
                let mut counts = vec![ValueCounts::default(); cols.len()];
                for r in start..(start + BLOCK).min(table.n_rows()) {
                    for (count, &col) in counts.iter_mut().zip(cols) {
                        let cell = table.cell(r, col);
                        if is_missing(cell) {
                        } else if is_number(cell) {
                            count.numbers += 1;
                        } else {
                            count.texts += 1;
                            count.first_text.get_or_insert(r);
                        }
                    }
                }
                counts
            })
            .reduce(
                || vec![ValueCounts::default(); cols.len()],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        x.numbers += y.numbers;
                        x.texts += y.texts;
                        x.first_text = match (x.first_text, y.first_text) {
                            (Some(p), Some(q)) => Some(p.min(q)),
                            (p, q) => p.or(q),
                        };
                    }
                    a
                },
            )
    }
}

impl TargetEncoder {
    /// Learns the target of `table` from column `column` over every row (see the module doc for
    /// the rules). `task` overrides the guess.
    ///
    /// Errors: no such column (listing the columns); a missing target value (line, column); a
    /// non-finite number; `Task::Regression` for a column with text (naming the first text value
    /// and its line); without `task`, a column with more numbers than non-numbers but at least
    /// one non-number (naming the first, its line and the counts); a classification target with
    /// fewer than 2 classes.
    pub fn fit(table: &Table, column: &str, task: Option<Task>) -> Result<TargetEncoder> {
        let col = table.require_column(column, "the target")?;
        let mut first_text: Option<usize> = None;
        let mut n_text = 0usize;
        let mut numbers: Vec<f64> = Vec::with_capacity(table.n_rows());
        for row in 0..table.n_rows() {
            let cell = table.cell(row, col);
            if is_missing(cell) {
                return Err(table.cell_error(
                    row,
                    col,
                    format!(
                        "missing target value{}; every training row needs a target",
                        shown(cell)
                    ),
                ));
            }
            match parse_number(cell) {
                Some(v) if !v.is_finite() => {
                    return Err(table.cell_error(
                        row,
                        col,
                        format!("'{cell}' is not a finite number"),
                    ));
                }
                Some(v) => numbers.push(v),
                None => {
                    first_text.get_or_insert(row);
                    n_text += 1;
                }
            }
        }
        let integers = || {
            let distinct: BTreeSet<i64> = numbers.iter().map(|&v| v as i64).collect();
            numbers.iter().all(|v| v.fract() == 0.0 && v.abs() < 1e15)
                && distinct.len() <= MAX_INTEGER_CLASSES
        };
        let guessed = task.is_none();
        let task = match (task, first_text) {
            (Some(Task::Regression), Some(row)) => {
                return Err(table.cell_error(
                    row,
                    col,
                    format!(
                        "'{}' is not a number; a regression target must be numeric",
                        table.cell(row, col)
                    ),
                ));
            }
            (Some(t), _) => t,
            (None, Some(row)) if numbers.len() > n_text => {
                return Err(table.cell_error(
                    row,
                    col,
                    format!(
                        "'{}' is not a number{}, but {} of the target's {} values are; fix the \
                         cell, or give the task (--task classification) if the values are class \
                         names",
                        table.cell(row, col),
                        others(n_text),
                        numbers.len(),
                        numbers.len() + n_text,
                    ),
                ));
            }
            (None, Some(_)) => Task::Classification,
            (None, None) if integers() => Task::Classification,
            (None, None) => Task::Regression,
        };
        let classes = match task {
            Task::Regression => Vec::new(),
            Task::Classification if first_text.is_some() => {
                let set: BTreeSet<&str> = (0..table.n_rows()).map(|r| table.cell(r, col)).collect();
                set.into_iter().map(str::to_string).collect()
            }
            Task::Classification => {
                let mut values = numbers.clone();
                values.sort_by(f64::total_cmp);
                values.dedup();
                values.into_iter().map(number_name).collect()
            }
        };
        if task == Task::Classification && classes.len() < 2 {
            // A numeric target guessed as classes (whole numbers) may be meant as values.
            let hint = if guessed && first_text.is_none() {
                "; if its values are numbers to predict, give the task (--task regression)"
            } else {
                ""
            };
            return Err(table.error(format!(
                "the target column '{column}' has a single class '{}'; classification needs at \
                 least 2{hint}",
                classes.first().map_or("", String::as_str)
            )));
        }
        Ok(TargetEncoder {
            column: column.to_string(),
            task,
            classes,
        })
    }

    /// The label of a class cell: exact match, else (for numeric text) its canonical number.
    fn label_of(&self, cell: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == cell).or_else(|| {
            let name = number_name(parse_number(cell)?);
            self.classes.iter().position(|c| *c == name)
        })
    }

    /// The target of `rows` of `table` (column `self.column`, which must exist).
    ///
    /// Errors: no such column; a missing value; an unseen class (naming it and the known
    /// classes); a non-numeric or non-finite regression value.
    pub fn encode(&self, table: &Table, rows: &[usize]) -> Result<Target> {
        let col = table.require_column(&self.column, "the target")?;
        match self.task {
            Task::Classification => {
                let mut labels = Vec::with_capacity(rows.len());
                for &row in rows {
                    let cell = table.cell(row, col);
                    if is_missing(cell) {
                        return Err(table.cell_error(
                            row,
                            col,
                            format!("missing target value{}", shown(cell)),
                        ));
                    }
                    match self.label_of(cell) {
                        Some(l) => labels.push(l),
                        None => {
                            return Err(table.cell_error(
                                row,
                                col,
                                format!(
                                    "unseen class '{cell}' (known classes: {})",
                                    list(&self.classes)
                                ),
                            ));
                        }
                    }
                }
                Ok(Target::Classes(labels))
            }
            Task::Regression => {
                let mut values = Vec::with_capacity(rows.len());
                for &row in rows {
                    let cell = table.cell(row, col);
                    if is_missing(cell) {
                        return Err(table.cell_error(
                            row,
                            col,
                            format!("missing target value{}", shown(cell)),
                        ));
                    }
                    match parse_number(cell) {
                        Some(v) if v.is_finite() => values.push(v),
                        _ => {
                            return Err(table.cell_error(
                                row,
                                col,
                                format!("'{cell}' is not a finite number"),
                            ));
                        }
                    }
                }
                Ok(Target::Values(values))
            }
        }
    }
}

/// `" 'NA'"` for a missing-value token, `" (empty)"` for an empty cell.
fn shown(cell: &str) -> String {
    if cell.is_empty() {
        " (empty cell)".to_string()
    } else {
        format!(" '{cell}'")
    }
}

/// `""` for one non-number, `" (the first of N such cells)"` for more.
fn others(n_text: usize) -> String {
    if n_text > 1 {
        format!(" (the first of {n_text} such cells)")
    } else {
        String::new()
    }
}

/// Up to 10 names joined by `, `, then `... (N in all)`.
fn list(names: &[String]) -> String {
    if names.len() <= 10 {
        names.join(", ")
    } else {
        format!("{}, ... ({} in all)", names[..10].join(", "), names.len())
    }
}

/// The fitted preprocessing from CSV columns to features: column encodings and the target.
/// Serialisable; stored in a model's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    /// Input columns in output order (the target column excluded).
    pub columns: Vec<ColumnSpec>,
    /// The target column.
    pub target: TargetEncoder,
    /// The imputation strategy used when fitting (None: missing values are errors).
    pub impute: Option<Impute>,
}

impl Encoder {
    /// Learns column types over every row of `table`, and categories and imputation values over
    /// `train_rows`. Every column except `target.column` is an input. As [`Encoder::fit_with`]
    /// with the default [`ColumnOptions`].
    pub fn fit(
        table: &Table,
        target: TargetEncoder,
        train_rows: &[usize],
        impute: Option<Impute>,
    ) -> Result<Encoder> {
        Self::fit_with(table, target, train_rows, impute, &ColumnOptions::default())
    }

    /// Learns column types over every row of `table`, and categories and imputation values over
    /// `train_rows`, with the column choices of `opts`: the inputs are those of
    /// [`choose_inputs`]; a column in `opts.numeric` is numeric, one in `opts.categorical`
    /// one-hot, any other is typed as the module doc says.
    ///
    /// Errors: those of [`choose_inputs`]; a non-number in a column of `opts.numeric` (naming
    /// the first, its line and column); an input column not declared categorical whose
    /// non-missing cells are mostly numbers but not all (naming the first non-number, its line,
    /// the counts and the missing-value markers); a categorical
    /// column with more than `opts.max_categories` distinct values
    /// ([`Error::TooManyCategories`], before anything is allocated); with `impute`, a column
    /// with no value in any training row (naming it).
    pub fn fit_with(
        table: &Table,
        target: TargetEncoder,
        train_rows: &[usize],
        impute: Option<Impute>,
        opts: &ColumnOptions,
    ) -> Result<Encoder> {
        table.require_column(&target.column, "the target")?;
        let inputs = choose_inputs(table.path(), table.header(), Some(&target.column), opts)?;
        // Columns are independent: learn them in parallel, keep the file's order, and report
        // the first column's error as a sequential pass would.
        let counts = ValueCounts::of(table, &inputs);
        let columns = inputs
            .par_iter()
            .zip(&counts)
            .map(|(&col, &count)| Self::fit_column(table, col, count, train_rows, impute, opts))
            .collect::<Vec<Result<ColumnSpec>>>()
            .into_iter()
            .collect::<Result<Vec<ColumnSpec>>>()?;
        Ok(Encoder {
            columns,
            target,
            impute,
        })
    }

    /// Learns how to encode input column `col` (numeric or one-hot, the imputed value) from
    /// `train_rows`; see [`Encoder::fit_with`].
    fn fit_column(
        table: &Table,
        col: usize,
        count: ValueCounts,
        train_rows: &[usize],
        impute: Option<Impute>,
        opts: &ColumnOptions,
    ) -> Result<ColumnSpec> {
        let name = &table.header()[col];
        let forced_numeric = opts.numeric.contains(name);
        let forced_categorical = opts.categorical.contains(name);
        let ValueCounts {
            numbers: n_numbers,
            texts: n_text,
            first_text,
        } = count;
        if let Some(row) = first_text.filter(|_| forced_numeric) {
            return Err(table.cell_error(
                row,
                col,
                format!(
                    "'{}' is not a number, but the column is declared numeric (option \
                     `numeric`); fix the cell, or mark it as missing with an empty cell or \
                     one of {}",
                    table.cell(row, col),
                    markers(),
                ),
            ));
        }
        if let Some(row) = first_text.filter(|_| n_numbers > n_text && !forced_categorical) {
            return Err(table.cell_error(
                row,
                col,
                format!(
                    "'{}' is not a number{}, but {n_numbers} of the column's {} non-missing \
                     values are; fix the cell, or mark it as missing with an empty cell or \
                     one of {} (and train with --impute mean or --impute median); if the \
                     column's values are categories, declare it categorical (option \
                     `categorical`)",
                    table.cell(row, col),
                    others(n_text),
                    n_numbers + n_text,
                    markers(),
                ),
            ));
        }
        let numeric = n_text == 0 && !forced_categorical;
        if !numeric {
            let distinct: HashSet<&str> = (0..table.n_rows())
                .map(|r| table.cell(r, col))
                .filter(|c| !is_missing(c))
                .collect();
            if distinct.len() > opts.max_categories {
                return Err(Error::TooManyCategories {
                    path: table.path().to_string(),
                    column: name.clone(),
                    distinct: distinct.len(),
                    rows: table.n_rows(),
                    max: opts.max_categories,
                });
            }
        }
        let no_values = || {
            table.error(format!(
                "column '{name}' has no value in any training row, so it cannot be imputed; \
                 leave it out with the `drop` option"
            ))
        };
        let encoding = if numeric {
            let fill = match impute {
                None => None,
                Some(how) => {
                    let mut values: Vec<f64> = train_rows
                        .iter()
                        .map(|&r| table.cell(r, col))
                        .filter(|c| !is_missing(c))
                        .filter_map(parse_number)
                        .filter(|v| v.is_finite())
                        .collect();
                    if values.is_empty() {
                        return Err(no_values());
                    }
                    Some(match how {
                        Impute::Mean => values.iter().sum::<f64>() / values.len() as f64,
                        Impute::Median => median(&mut values),
                    })
                }
            };
            ColumnEncoding::Numeric { fill }
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &r in train_rows {
                let cell = table.cell(r, col);
                if !is_missing(cell) {
                    *counts.entry(cell).or_default() += 1;
                }
            }
            let fill = match impute {
                None => None,
                Some(_) => {
                    // Most frequent; ties go to the first in sorted order (BTreeMap order).
                    let best = counts
                        .iter()
                        .fold(None, |best: Option<(&str, usize)>, (&c, &n)| match best {
                            Some((_, bn)) if bn >= n => best,
                            _ => Some((c, n)),
                        });
                    Some(best.ok_or_else(no_values)?.0.to_string())
                }
            };
            let categories = counts.into_keys().map(str::to_string).collect();
            ColumnEncoding::OneHot { categories, fill }
        };
        Ok(ColumnSpec {
            name: name.clone(),
            encoding,
        })
    }

    /// An encoder for already numeric data (the bundled datasets): every column numeric, no
    /// imputation, target column named `target`.
    pub fn numeric(feature_names: &[String], task: Task, classes: &[String]) -> Encoder {
        Encoder {
            columns: feature_names
                .iter()
                .map(|n| ColumnSpec {
                    name: n.clone(),
                    encoding: ColumnEncoding::Numeric { fill: None },
                })
                .collect(),
            target: TargetEncoder {
                column: "target".into(),
                task,
                classes: classes.to_vec(),
            },
            impute: None,
        }
    }

    /// The raw input columns a CSV must contain for this encoder (the target excluded), in the
    /// stored order, each with its categories when it is one-hot encoded: what a user's file
    /// needs, before one-hot encoding and scaling (see [`InputColumn`]).
    pub fn input_columns(&self) -> Vec<InputColumn> {
        self.columns
            .iter()
            .map(|c| InputColumn {
                name: c.name.clone(),
                categories: match &c.encoding {
                    ColumnEncoding::Numeric { .. } => None,
                    ColumnEncoding::OneHot { categories, .. } => Some(categories.clone()),
                },
            })
            .collect()
    }

    /// Output feature names: the column name for a numeric column, `NAME_CATEGORY` for each
    /// category of a one-hot column.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for c in &self.columns {
            match &c.encoding {
                ColumnEncoding::Numeric { .. } => names.push(c.name.clone()),
                ColumnEncoding::OneHot { categories, .. } => {
                    names.extend(categories.iter().map(|k| format!("{}_{k}", c.name)))
                }
            }
        }
        names
    }

    /// Names of the input columns that are one-hot encoded, in output order.
    pub fn one_hot_columns(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| matches!(c.encoding, ColumnEncoding::OneHot { .. }))
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Number of output features.
    pub fn n_features(&self) -> usize {
        self.columns
            .iter()
            .map(|c| match &c.encoding {
                ColumnEncoding::Numeric { .. } => 1,
                ColumnEncoding::OneHot { categories, .. } => categories.len(),
            })
            .sum()
    }

    /// Encodes `rows` of `table` with their target while fitting (training, validation and
    /// test splits); a missing value without imputation suggests training with `--impute`.
    ///
    /// Errors: the header lacks an input column or the target column; a missing value without
    /// imputation; a non-number in a numeric column; a non-finite number; an unseen category or
    /// class. Each names the file, line and column. Columns the model does not use are ignored.
    pub fn transform(&self, table: &Table, rows: &[usize]) -> Result<Dataset> {
        let cols = self.map_columns(table)?;
        let target = self.target.encode(table, rows)?;
        self.build(table, &cols, rows, target, Stage::Fit)
    }

    /// Encodes `rows` of `table` with their target for an already trained model (evaluation):
    /// as [`Encoder::transform`], but a missing value without imputation suggests filling the
    /// cell or retraining with `--impute`, since the model cannot fill it.
    pub fn transform_for_model(&self, table: &Table, rows: &[usize]) -> Result<Dataset> {
        let cols = self.map_columns(table)?;
        let target = self.target.encode(table, rows)?;
        self.build(table, &cols, rows, target, Stage::Model)
    }

    /// Encodes every row of `table` for prediction: the target column may be absent; if present
    /// it is ignored, as are columns that are not inputs of the model. Errors as
    /// [`Encoder::transform_for_model`] for the input columns.
    pub fn transform_features(&self, table: &Table) -> Result<Dataset> {
        let cols = self.map_columns(table)?;
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        self.build(table, &cols, &rows, Target::Missing, Stage::Model)
    }

    /// How `header` lines up with the model's columns: the input columns it lacks (in the
    /// model's order), whether it has the target column, and the columns the model does not use
    /// (in file order), which prediction ignores as scikit-learn users select the trained
    /// feature names.
    pub fn match_header(&self, header: &[String]) -> HeaderMatch {
        HeaderMatch {
            missing: self
                .columns
                .iter()
                .filter(|c| !header.contains(&c.name))
                .map(|c| c.name.clone())
                .collect(),
            has_target: header.contains(&self.target.column),
            ignored: header
                .iter()
                .filter(|h| {
                    **h != self.target.column && !self.columns.iter().any(|c| c.name == **h)
                })
                .cloned()
                .collect(),
        }
    }

    /// The error for input columns that `table` lacks: one line naming at most 10 of them
    /// (`'a', 'b' and 3 more`) and saying where the model's inputs are listed (`listed_in`, e.g.
    /// `runs/m/config.json`; None: "the model's config.json").
    pub fn missing_columns_error(
        &self,
        table: &Table,
        missing: &[String],
        listed_in: Option<&str>,
    ) -> Error {
        let quoted: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
        let names = if quoted.len() <= 10 {
            match quoted.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => quoted.join(""),
            }
        } else {
            format!("{} and {} more", quoted[..10].join(", "), quoted.len() - 10)
        };
        let n = self.columns.len();
        table.error(format!(
            "missing input column{} {names}; the model's {n} input column{} are listed in {} \
             (preprocessing.encoder.columns)",
            if missing.len() == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" },
            listed_in.unwrap_or("the model's config.json"),
        ))
    }

    /// The table column of each input column; errors on missing input columns (naming them).
    fn map_columns(&self, table: &Table) -> Result<Vec<usize>> {
        let m = self.match_header(table.header());
        if !m.missing.is_empty() {
            return Err(self.missing_columns_error(table, &m.missing, None));
        }
        self.columns
            .iter()
            .map(|c| table.require_column(&c.name, "an input of the model"))
            .collect()
    }

    fn build(
        &self,
        table: &Table,
        cols: &[usize],
        rows: &[usize],
        target: Target,
        stage: Stage,
    ) -> Result<Dataset> {
        let d = self.n_features();
        let mut x: Vec<f64> = Vec::new();
        let n_values = rows.len().checked_mul(d);
        if n_values.is_none_or(|n| x.try_reserve_exact(n).is_err()) {
            return Err(table.error(format!(
                "the encoded features of {} rows x {d} features ({:.1} GB as f64) do not fit in \
                 memory; leave out wide one-hot columns (the `drop` option) or use fewer rows",
                rows.len(),
                rows.len() as f64 * d as f64 * 8.0 / 1e9
            )));
        }
        x.resize(rows.len() * d, 0.0);
        // Rows are independent: encode blocks of rows in parallel into their own part of `x`;
        // the first error in row order is the one reported, as a sequential pass would.
        const BLOCK: usize = 512;
        let encode_row = |row: usize, out: &mut [f64]| -> Result<()> {
            let mut at = 0;
            for (spec, &col) in self.columns.iter().zip(cols) {
                let cell = table.cell(row, col);
                match &spec.encoding {
                    ColumnEncoding::Numeric { fill } => {
                        let v = if is_missing(cell) {
                            fill.ok_or_else(|| missing(table, row, col, cell, stage))?
                        } else {
                            match parse_number(cell) {
                                Some(v) if v.is_finite() => v,
                                Some(_) => {
                                    return Err(table.cell_error(
                                        row,
                                        col,
                                        format!("'{cell}' is not a finite number"),
                                    ));
                                }
                                None => {
                                    return Err(table.cell_error(
                                        row,
                                        col,
                                        format!("'{cell}' is not a number (the column is numeric in the training data)"),
                                    ));
                                }
                            }
                        };
                        out[at] = v;
                        at += 1;
                    }
                    ColumnEncoding::OneHot { categories, fill } => {
                        let value = if is_missing(cell) {
                            fill.as_deref()
                                .ok_or_else(|| missing(table, row, col, cell, stage))?
                        } else {
                            cell
                        };
                        let k = categories.iter().position(|c| c == value).ok_or_else(|| {
                            table.cell_error(
                                row,
                                col,
                                format!(
                                    "unseen category '{value}' (categories of the training split: {})",
                                    list(categories)
                                ),
                            )
                        })?;
                        out[at + k] = 1.0;
                        at += categories.len();
                    }
                }
            }
            Ok(())
        };
        if d > 0 {
            x.par_chunks_mut(BLOCK * d)
                .zip(rows.par_chunks(BLOCK))
                .map(|(xs, rs)| {
                    rs.iter()
                        .zip(xs.chunks_exact_mut(d))
                        .try_for_each(|(&row, out)| encode_row(row, out))
                })
                .collect::<Vec<Result<()>>>()
                .into_iter()
                .collect::<Result<()>>()?;
        }
        Dataset::new(
            table.path(),
            x,
            rows.len(),
            self.feature_names(),
            self.target.task,
            self.target.classes.clone(),
            target,
        )
    }
}

/// Whether an encoder is being fitted (a missing value can be fixed by training with
/// `--impute`) or applied by a trained model (which fills missing values only if it was trained
/// with `--impute`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Fit,
    Model,
}

/// Which columns of a file a model uses; see [`Encoder::match_header`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMatch {
    /// Input columns of the model that the file lacks, in the model's order.
    pub missing: Vec<String>,
    /// Whether the file has the model's target column.
    pub has_target: bool,
    /// Columns that are neither inputs nor the target, in file order.
    pub ignored: Vec<String>,
}

fn missing(table: &Table, row: usize, col: usize, cell: &str, stage: Stage) -> Error {
    let hint = match stage {
        Stage::Fit => "fill missing values with --impute mean or --impute median",
        Stage::Model => {
            "the model was trained without --impute, so it cannot fill it: fill the cell, or \
             retrain with `learnable train ... --impute mean` (or median) so that the model \
             fills missing values"
        }
    };
    table.cell_error(row, col, format!("missing value{}; {hint}", shown(cell)))
}

/// The non-empty missing-value markers, joined by `, `.
fn markers() -> String {
    MISSING
        .iter()
        .filter(|m| !m.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Median of a non-empty slice (sorts it): the middle value, or the mean of the two middle ones.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::{is_number, parse_number};

    /// The fast syntax check agrees with Rust's parser on every case, accepted or not.
    #[test]
    fn is_number_agrees_with_the_parser() {
        for cell in [
            "0",
            "-1",
            "+2",
            "3.",
            ".5",
            "-.5",
            "1e5",
            "1E-5",
            "2.5e+10",
            "1e",
            "e5",
            ".",
            "-",
            "+",
            "",
            "1.2.3",
            "1e5.0",
            "inf",
            "-Infinity",
            "NaN",
            "nan",
            "abc",
            "1,5",
            " 1",
            "0x10",
            "1_000",
            "--1",
            "1e+",
            "00012",
            "9".repeat(400).as_str(),
        ] {
            assert_eq!(is_number(cell), parse_number(cell).is_some(), "{cell:?}");
        }
    }
}
