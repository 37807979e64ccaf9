//! Inference: a trained model loaded once, weights packed once, predictions on raw rows with the
//! stored preprocessing applied. Forward only; parameters are never updated.
//!
//! [`Predictor`] owns a [`TrainedModel`] and its packed weights (for the fused kernel, see
//! [`crate::kernels::fused_linear`]), so a long-lived server packs once per load, not per
//! request. A row's outputs are the same bits whatever batch it comes in.
//!
//! [`ModelInputs`] turns rows as users have them (a CSV table, or a bundled dataset) into the
//! model's standardised features: columns matched by header name in any order, the target and
//! unused columns set aside with a note, categories one-hot encoded, missing values imputed as
//! at training, features standardised with the training split's statistics.

use std::path::Path;

use crate::data::csv::Table;
use crate::data::{self, Dataset, Source};
use crate::error::{Error, Result};
use crate::fit::finite_features;
use crate::metrics::argmax;
use crate::models::mlp::PackedLayers;
use crate::sampling::SamplingChain;
use crate::tensor::Tensor;
use crate::trained::TrainedModel;

/// A trained model ready for repeated inference: weights packed once.
pub struct Predictor {
    model: TrainedModel,
    packed: Option<PackedLayers>,
}

impl Predictor {
    /// Packs `model`'s weights for inference.
    pub fn new(model: TrainedModel) -> Self {
        let packed = model.net.pack(&model.store);
        Predictor { model, packed }
    }

    /// Loads the model directory `dir` ([`TrainedModel::load`]) and packs it.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Ok(Predictor::new(TrainedModel::load(dir)?))
    }

    /// The raw input columns the model's CSV rows must have, in the stored order
    /// ([`crate::model_dir::ModelConfig::input_columns`]).
    pub fn input_columns(&self) -> Vec<crate::data::encode::InputColumn> {
        self.model.config.input_columns()
    }

    /// The model.
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// Raw outputs `[rows, outputs]` (logits for classifiers) for preprocessed features `x`
    /// `[rows, features]`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `x` is not `[rows, features]`.
    pub fn outputs(&self, x: &Tensor) -> Result<Tensor> {
        self.model
            .net
            .predict_packed(&self.model.store, self.packed.as_ref(), x)
    }

    /// Predictions for the rows of `table` (raw CSV cells, columns by header name in any
    /// order; a target column and unused columns are ignored, see [`ModelInputs::notes`]).
    ///
    /// # Errors
    /// As [`ModelInputs::from_table`].
    pub fn predict_table(&self, table: &Table) -> Result<Predictions> {
        let inputs = ModelInputs::from_table(&self.model, table, false)?;
        self.predict(&inputs)
    }

    /// Predictions for already prepared inputs.
    pub fn predict(&self, inputs: &ModelInputs) -> Result<Predictions> {
        Ok(Predictions {
            outputs: self.outputs(&inputs.x)?,
            classes: self.model.classes().to_vec(),
        })
    }
}

/// A model's outputs for a batch of rows, with the class labels to read them.
#[derive(Clone, Debug)]
pub struct Predictions {
    /// Raw outputs `[rows, outputs]`: logits for classifiers, values `[rows, 1]` for regressors.
    pub outputs: Tensor,
    /// Class labels in logit order (empty for a regressor).
    pub classes: Vec<String>,
}

impl Predictions {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.outputs.rows()
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The logits (classifiers) or values of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        self.outputs.row(i)
    }

    /// The predicted class index of every row: the argmax of its logits (lowest on ties).
    pub fn class_indices(&self) -> Vec<usize> {
        crate::metrics::argmax_rows(&self.outputs)
    }

    /// The predicted label of row `i` (classifiers) or its value as text (regressors).
    pub fn label(&self, i: usize) -> String {
        if self.classes.is_empty() {
            format!("{}", self.outputs.row(i)[0])
        } else {
            self.classes
                .get(argmax(self.outputs.row(i)))
                .cloned()
                .unwrap_or_default()
        }
    }

    /// The probabilities of row `i` after `chain` (temperature, and truncation when sampling):
    /// softmax over the kept classes, 0 for the others. Built on the one softmax of
    /// [`crate::sampling`].
    ///
    /// # Errors
    /// [`crate::sampling::SamplingError`] for logits that are NaN or +inf.
    pub fn probabilities(&self, i: usize, chain: &SamplingChain) -> Result<Vec<f64>> {
        Ok(chain
            .distribution(self.outputs.row(i), &[])
            .map_err(|e| Error::Sampling(e.in_row(i)))?
            .probabilities())
    }
}

/// Rows ready for a model: standardised features and the dataset they came from (for its
/// targets at evaluation), with the notes a user should see about columns that were set aside.
#[derive(Clone, Debug)]
pub struct ModelInputs {
    /// Standardised features `[rows, features]`.
    pub x: Tensor,
    /// The encoded rows, with their targets when the source had them.
    pub dataset: Dataset,
    /// Notes on the input (`ignoring the target column 'y' of FILE`).
    pub notes: Vec<String>,
    /// Warnings (`ignoring 2 columns of FILE that the model does not use: 'a', 'b'`).
    pub warnings: Vec<String>,
}

impl ModelInputs {
    /// Rows of a bundled dataset for `model`: for the dataset the model was trained on, its
    /// test split as training drew it (same seed and sizes; the training split when there is
    /// no test split); another bundled dataset whole, with the stored preprocessing.
    ///
    /// # Errors
    /// An unknown dataset; a dataset whose features are not the model's.
    pub fn from_bundled(model: &TrainedModel, name: &str) -> Result<ModelInputs> {
        let c = &model.config;
        let own = matches!(&c.source, Source::Bundled(n) if n == name);
        let ds = if own {
            let p = data::prepare(&c.source, &c.options)?;
            if p.test.n_rows() > 0 { p.test } else { p.train }
        } else {
            c.preprocessing.scale(data::bundled::load(name)?)?
        };
        Ok(ModelInputs {
            x: finite_features(&ds)?,
            dataset: ds,
            notes: vec![],
            warnings: vec![],
        })
    }

    /// Rows of a CSV table for `model`, matched to its input columns by header name in any
    /// order. With `need_target` (evaluation) the target column must be present; without it,
    /// a target column is ignored with a note. Other columns the model does not use are
    /// ignored with one warning naming them (as a scikit-learn user selects the trained
    /// feature names before predicting).
    ///
    /// # Errors
    /// [`Error::Format`] naming the missing input columns (at most 10) and where the model's
    /// inputs are listed; the errors of encoding (missing values, unseen categories, with file,
    /// line and column) and a value beyond the f32 range after standardisation.
    pub fn from_table(
        model: &TrainedModel,
        table: &Table,
        need_target: bool,
    ) -> Result<ModelInputs> {
        let pre = &model.config.preprocessing;
        let m = pre.encoder.match_header(table.header());
        if !m.missing.is_empty() {
            let listed_in = model
                .dir
                .as_ref()
                .map(|d| d.join("config.json").display().to_string());
            return Err(pre
                .encoder
                .missing_columns_error(table, &m.missing, listed_in.as_deref()));
        }
        let ds = if need_target {
            pre.encode_table(table)?
        } else {
            pre.encode_table_features(table)?
        };
        let mut notes = Vec::new();
        if m.has_target && !need_target {
            notes.push(format!(
                "ignoring the target column '{}' of {}",
                pre.target_column(),
                table.path()
            ));
        }
        let mut warnings = Vec::new();
        if !m.ignored.is_empty() {
            warnings.push(format!(
                "ignoring {} column{} of {} that the model does not use: {}",
                m.ignored.len(),
                if m.ignored.len() == 1 { "" } else { "s" },
                table.path(),
                short_list(&m.ignored)
            ));
        }
        Ok(ModelInputs {
            x: finite_features(&ds)?,
            dataset: ds,
            notes,
            warnings,
        })
    }
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
