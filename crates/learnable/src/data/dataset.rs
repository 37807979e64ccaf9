//! A dataset in memory: a row-major feature matrix `[n_rows, n_features]`, the feature names, and
//! a target that is either class labels (indices into `class_names`) or regression values.
//!
//! Features are kept as read: `f64` for the CSV and small bundled sets, so that closed-form models
//! (least squares, L-BFGS logistic regression) fit in `f64` from the exact values of the file, and
//! `f32` for MNIST (47 million pixels would take 376 MB as `f64`). Either storage gives both
//! views: [`Dataset::features_f64`] and [`Dataset::features_f32`] borrow when the type matches
//! and convert otherwise; [`Dataset::features_tensor`] and [`Dataset::gather`] build the engine's
//! [`Tensor`]s.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// What a model learns from the target: classes or real values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// The target is one of a fixed set of classes (`class_names`).
    Classification,
    /// The target is a real number.
    Regression,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
}

impl FromStr for Task {
    type Err = Error;

    /// Parses `classification` or `regression` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "classification" => Ok(Task::Classification),
            "regression" => Ok(Task::Regression),
            _ => Err(Error::invalid("task", s, "classification | regression")),
        }
    }
}

/// The target values of a dataset, one per row.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Class index of each row, `< class_names.len()`.
    Classes(Vec<usize>),
    /// Regression value of each row.
    Values(Vec<f64>),
    /// The rows carry no target (input for prediction).
    Missing,
}

/// Feature storage, row-major `[n_rows, n_features]`.
#[derive(Clone, Debug, PartialEq)]
enum Storage {
    F64(Vec<f64>),
    F32(Vec<f32>),
}

/// A dataset: features `[n_rows, n_features]` (row-major), feature names, task, class names and
/// target. Built by the loaders in [`crate::data::csv`], [`crate::data::bundled`] and [`crate::data::encode`]; the
/// constructors check every size.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    name: String,
    n_rows: usize,
    feature_names: Vec<String>,
    storage: Storage,
    task: Task,
    class_names: Vec<String>,
    target: Target,
}

impl Dataset {
    /// A dataset from `f64` features, row-major `[n_rows, feature_names.len()]`.
    ///
    /// Errors (`Error::Shape` / `Error::InvalidArgument`) if `features.len()` is not
    /// `n_rows * feature_names.len()`, the target length is not `n_rows`, a class index is
    /// `>= class_names.len()`, `Target::Classes` comes with `Task::Regression` (or
    /// `Target::Values` with `Task::Classification`), or a regression dataset has class names.
    pub fn new(
        name: impl Into<String>,
        features: Vec<f64>,
        n_rows: usize,
        feature_names: Vec<String>,
        task: Task,
        class_names: Vec<String>,
        target: Target,
    ) -> Result<Self> {
        check_len(features.len(), n_rows, feature_names.len())?;
        Self::build(
            name.into(),
            Storage::F64(features),
            n_rows,
            feature_names,
            task,
            class_names,
            target,
        )
    }

    /// As [`Dataset::new`], from `f32` features (kept as `f32`).
    pub fn from_f32(
        name: impl Into<String>,
        features: Vec<f32>,
        n_rows: usize,
        feature_names: Vec<String>,
        task: Task,
        class_names: Vec<String>,
        target: Target,
    ) -> Result<Self> {
        check_len(features.len(), n_rows, feature_names.len())?;
        Self::build(
            name.into(),
            Storage::F32(features),
            n_rows,
            feature_names,
            task,
            class_names,
            target,
        )
    }

    fn build(
        name: String,
        storage: Storage,
        n_rows: usize,
        feature_names: Vec<String>,
        task: Task,
        class_names: Vec<String>,
        target: Target,
    ) -> Result<Self> {
        match (&target, task) {
            (Target::Classes(labels), Task::Classification) => {
                if labels.len() != n_rows {
                    return Err(Error::shape(
                        "dataset target",
                        format!("[{n_rows}]"),
                        &[labels.len()],
                    ));
                }
                if let Some(&bad) = labels.iter().find(|&&l| l >= class_names.len()) {
                    return Err(Error::invalid(
                        "class label",
                        bad,
                        &format!("< {} (the number of class names)", class_names.len()),
                    ));
                }
            }
            (Target::Values(values), Task::Regression) => {
                if values.len() != n_rows {
                    return Err(Error::shape(
                        "dataset target",
                        format!("[{n_rows}]"),
                        &[values.len()],
                    ));
                }
            }
            (Target::Missing, _) => {}
            (Target::Classes(_), Task::Regression) => {
                return Err(Error::invalid(
                    "target",
                    "class labels",
                    "regression values for a regression task",
                ));
            }
            (Target::Values(_), Task::Classification) => {
                return Err(Error::invalid(
                    "target",
                    "regression values",
                    "class labels for a classification task",
                ));
            }
        }
        if task == Task::Regression && !class_names.is_empty() {
            return Err(Error::invalid(
                "class_names",
                class_names.join(","),
                "empty for a regression task",
            ));
        }
        Ok(Dataset {
            name,
            n_rows,
            feature_names,
            storage,
            task,
            class_names,
            target,
        })
    }

    /// The dataset's name (bundled name or file path), used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of rows (samples).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of feature columns (after one-hot encoding).
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Feature names, one per column (one-hot columns are named `column_category`).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Class names in label order (label `i` is `class_names[i]`); empty for regression.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Number of classes (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Class label of each row, if this is a labelled classification dataset.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.target {
            Target::Classes(l) => Some(l),
            _ => None,
        }
    }

    /// Regression value of each row, if this is a labelled regression dataset.
    pub fn values(&self) -> Option<&[f64]> {
        match &self.target {
            Target::Values(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the rows carry a target (false for prediction input).
    pub fn has_target(&self) -> bool {
        !matches!(self.target, Target::Missing)
    }

    /// Number of rows of each class, indexed by label (empty for regression or no target).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        if let Some(labels) = self.labels() {
            for &l in labels {
                counts[l] += 1;
            }
        }
        counts
    }

    /// Whether features are stored as `f32` (MNIST) rather than `f64`.
    pub fn is_f32(&self) -> bool {
        matches!(self.storage, Storage::F32(_))
    }

    /// Features `[n_rows, n_features]` row-major as `f64` (borrowed if stored as `f64`).
    pub fn features_f64(&self) -> Cow<'_, [f64]> {
        match &self.storage {
            Storage::F64(v) => Cow::Borrowed(v),
            Storage::F32(v) => Cow::Owned(v.iter().map(|&x| x as f64).collect()),
        }
    }

    /// Features `[n_rows, n_features]` row-major as `f32` (borrowed if stored as `f32`).
    pub fn features_f32(&self) -> Cow<'_, [f32]> {
        match &self.storage {
            Storage::F64(v) => Cow::Owned(v.iter().map(|&x| x as f32).collect()),
            Storage::F32(v) => Cow::Borrowed(v),
        }
    }

    /// Feature `col` of row `row` as `f64`. Panics if out of range (an indexing bug, not input).
    pub fn value(&self, row: usize, col: usize) -> f64 {
        assert!(
            row < self.n_rows && col < self.n_features(),
            "Dataset::value out of range"
        );
        let i = row * self.n_features() + col;
        match &self.storage {
            Storage::F64(v) => v[i],
            Storage::F32(v) => v[i] as f64,
        }
    }

    /// All features as an `f32` tensor `[n_rows, n_features]`.
    pub fn features_tensor(&self) -> Tensor {
        let data = self.features_f32().into_owned();
        Tensor::new(data, &[self.n_rows, self.n_features()]).expect("sizes checked at construction")
    }

    /// The features of `rows` (in that order) as an `f32` tensor `[rows.len(), n_features]`: a
    /// mini-batch. Errors if a row index is `>= n_rows`.
    pub fn gather(&self, rows: &[usize]) -> Result<Tensor> {
        self.check_rows(rows)?;
        let d = self.n_features();
        let mut out = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            match &self.storage {
                Storage::F64(v) => out.extend(v[r * d..(r + 1) * d].iter().map(|&x| x as f32)),
                Storage::F32(v) => out.extend_from_slice(&v[r * d..(r + 1) * d]),
            }
        }
        Tensor::new(out, &[rows.len(), d])
    }

    /// Regression targets as an `f32` tensor `[n_rows, 1]` (None unless `Target::Values`).
    pub fn values_tensor(&self) -> Option<Tensor> {
        let v = self.values()?;
        Tensor::new(v.iter().map(|&x| x as f32).collect(), &[v.len(), 1]).ok()
    }

    /// A new dataset holding `rows` (in that order, repeats allowed), same names and storage
    /// type. Errors if a row index is `>= n_rows`.
    pub fn select(&self, rows: &[usize]) -> Result<Dataset> {
        self.check_rows(rows)?;
        let d = self.n_features();
        let storage = match &self.storage {
            Storage::F64(v) => Storage::F64(
                rows.iter()
                    .flat_map(|&r| v[r * d..(r + 1) * d].iter().copied())
                    .collect(),
            ),
            Storage::F32(v) => Storage::F32(
                rows.iter()
                    .flat_map(|&r| v[r * d..(r + 1) * d].iter().copied())
                    .collect(),
            ),
        };
        let target = match &self.target {
            Target::Classes(l) => Target::Classes(rows.iter().map(|&r| l[r]).collect()),
            Target::Values(v) => Target::Values(rows.iter().map(|&r| v[r]).collect()),
            Target::Missing => Target::Missing,
        };
        Ok(Dataset {
            name: self.name.clone(),
            n_rows: rows.len(),
            feature_names: self.feature_names.clone(),
            storage,
            task: self.task,
            class_names: self.class_names.clone(),
            target,
        })
    }

    /// A new dataset holding the feature columns `cols` (indices into
    /// [`Dataset::feature_names`], in that order), same rows, target and storage type. Errors if
    /// a column index is `>= n_features`.
    pub fn select_columns(&self, cols: &[usize]) -> Result<Dataset> {
        let d = self.n_features();
        if let Some(&bad) = cols.iter().find(|&&c| c >= d) {
            return Err(Error::invalid(
                "column index",
                bad,
                &format!("< {d} (features of {})", self.name),
            ));
        }
        let pick = |row: usize| cols.iter().map(move |&c| row * d + c);
        let storage = match &self.storage {
            Storage::F64(v) => {
                Storage::F64((0..self.n_rows).flat_map(pick).map(|i| v[i]).collect())
            }
            Storage::F32(v) => {
                Storage::F32((0..self.n_rows).flat_map(pick).map(|i| v[i]).collect())
            }
        };
        Ok(Dataset {
            feature_names: cols
                .iter()
                .map(|&c| self.feature_names[c].clone())
                .collect(),
            storage,
            ..self.clone_without_features()
        })
    }

    /// The same dataset with features replaced by `features` (`[n_rows, n_features]`, `f64`),
    /// e.g. after standardisation. Errors on a size mismatch.
    pub fn with_features_f64(&self, features: Vec<f64>) -> Result<Dataset> {
        check_len(features.len(), self.n_rows, self.n_features())?;
        Ok(Dataset {
            storage: Storage::F64(features),
            ..self.clone_without_features()
        })
    }

    /// As [`Dataset::with_features_f64`] with `f32` features.
    pub fn with_features_f32(&self, features: Vec<f32>) -> Result<Dataset> {
        check_len(features.len(), self.n_rows, self.n_features())?;
        Ok(Dataset {
            storage: Storage::F32(features),
            ..self.clone_without_features()
        })
    }

    fn clone_without_features(&self) -> Dataset {
        Dataset {
            name: self.name.clone(),
            n_rows: self.n_rows,
            feature_names: self.feature_names.clone(),
            storage: Storage::F64(Vec::new()),
            task: self.task,
            class_names: self.class_names.clone(),
            target: self.target.clone(),
        }
    }

    /// Applies `f` to every feature value in place (in the storage's precision). `f` gets the
    /// column index and the value.
    pub(crate) fn map_features(&mut self, mut f: impl FnMut(usize, f64) -> f64) {
        let d = self.n_features();
        if d == 0 {
            return;
        }
        match &mut self.storage {
            Storage::F64(v) => {
                for (i, x) in v.iter_mut().enumerate() {
                    *x = f(i % d, *x);
                }
            }
            Storage::F32(v) => {
                for (i, x) in v.iter_mut().enumerate() {
                    *x = f(i % d, *x as f64) as f32;
                }
            }
        }
    }

    fn check_rows(&self, rows: &[usize]) -> Result<()> {
        match rows.iter().find(|&&r| r >= self.n_rows) {
            Some(&r) => Err(Error::invalid(
                "row index",
                r,
                &format!("< {} (rows of {})", self.n_rows, self.name),
            )),
            None => Ok(()),
        }
    }
}

fn check_len(len: usize, n_rows: usize, n_features: usize) -> Result<()> {
    if n_rows.checked_mul(n_features) != Some(len) {
        return Err(Error::Shape {
            op: "dataset features",
            expected: format!(
                "{n_rows} x {n_features} = {} values",
                n_rows.saturating_mul(n_features)
            ),
            got: format!("{len} values"),
        });
    }
    Ok(())
}
