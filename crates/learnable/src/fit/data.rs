//! Training data ready for a fit: the splits as engine tensors and the fitted preprocessing.

use crate::data::{self, Dataset, Options, Preprocessing, Source, Target, Task};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::train::{Split, Targets};

/// Training data ready for [`fit`]: the three splits as engine tensors, their description and
/// the preprocessing fitted on the training split (stored with the model).
#[derive(Clone, Debug)]
pub struct FitData {
    /// Where the rows came from (stored with the model so evaluation can rebuild the split).
    pub source: Source,
    /// The split and preprocessing options used.
    pub options: Options,
    /// Training split: standardised features `[rows, features]` and targets.
    pub train: Split,
    /// Validation split, if it has rows.
    pub val: Option<Split>,
    /// Test split, if it has rows.
    pub test: Option<Split>,
    /// The fitted preprocessing (encoding, imputation, standardisation).
    pub preprocessing: Preprocessing,
    /// The training split as read (f64 features for the closed-form solvers).
    pub train_rows: Dataset,
    /// Columns whose type was guessed categorical (one-hot encoded), for a note to the user.
    pub guessed_categorical: Vec<String>,
}

impl FitData {
    /// Loads, splits (seeded; stratified for classification), fits the preprocessing on the
    /// training rows and applies it to every split (see [`crate::data::prepare()`]).
    ///
    /// # Errors
    /// Those of [`crate::data::prepare()`], and [`Error::InvalidArgument`] naming the row and
    /// feature of a value beyond the f32 range after preprocessing.
    pub fn prepare(source: &Source, options: &Options) -> Result<FitData> {
        // (A model kind that implies the task, e.g. linear on a whole-number CSV target, is the
        // caller's to set in `options.task`: see `ModelKind::task`.)
        let p = data::prepare(source, options)?;
        let nonempty = |d: &Dataset| -> Result<Option<Split>> {
            if d.n_rows() == 0 {
                Ok(None)
            } else {
                Ok(Some(to_split(d)?))
            }
        };
        Ok(FitData {
            source: source.clone(),
            options: options.clone(),
            train: to_split(&p.train)?,
            val: nonempty(&p.val)?,
            test: nonempty(&p.test)?,
            preprocessing: p.preprocessing,
            train_rows: p.train,
            guessed_categorical: p.guessed_categorical,
        })
    }

    /// What the fit configuration needs to know of these data (see
    /// [`super::FitConfig::unused_settings_on`]).
    pub fn shape(&self) -> super::DataShape {
        super::DataShape {
            validation: self.val.is_some(),
            classification: self.classes().is_some(),
            val_size: self.options.val_size,
        }
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.preprocessing.task()
    }

    /// Class labels in logit order (classification), or `None`.
    pub fn classes(&self) -> Option<&[String]> {
        (self.task() == Task::Classification).then(|| self.preprocessing.class_names())
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.train.x.last_dim()
    }

    /// A short name of the source: the dataset name or the file path.
    pub fn source_name(&self) -> String {
        match &self.source {
            Source::Bundled(n) => n.clone(),
            Source::Csv { path, .. } => path.display().to_string(),
        }
    }
}

/// The engine's view of a dataset: f32 features `[rows, features]` and targets.
///
/// # Errors
/// [`Error::Missing`] if the dataset has no target; [`Error::Data`] naming the row (1-based) and
/// feature of a value beyond the f32 range (e.g. 1e39 in a CSV).
pub fn to_split(ds: &Dataset) -> Result<Split> {
    let y = match ds.target() {
        Target::Classes(c) => Targets::Classes(c.clone()),
        Target::Values(v) => Targets::Values(Tensor::new(
            v.iter().map(|&x| x as f32).collect(),
            &[v.len(), 1],
        )?),
        Target::Missing => {
            return Err(Error::Missing(format!(
                "{} has no target column",
                ds.name()
            )));
        }
    };
    Split::new(finite_features(ds)?, y)
}

/// The f32 features `[rows, features]` of `ds`.
///
/// # Errors
/// [`Error::Data`] naming the row (1-based, in the dataset's order) and the feature
/// when a value is not finite in f32, e.g. a CSV value of 1e39 that standardisation leaves
/// beyond f32's range (about 3.4e38), which would silently give garbage outputs.
pub fn finite_features(ds: &Dataset) -> Result<Tensor> {
    let x = ds.features_tensor();
    if let Some(i) = x.data().iter().position(|v| !v.is_finite()) {
        let nf = ds.n_features().max(1);
        let name = ds.feature_names().get(i % nf).cloned().unwrap_or_default();
        let v = ds.features_f64()[i];
        return Err(Error::Data(format!(
            "{}: feature '{name}' of row {} is {v:e} after preprocessing, beyond the f32 range (about ±3.4e38)",
            ds.name(),
            i / nf + 1
        )));
    }
    Ok(x)
}
