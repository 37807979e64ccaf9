//! Metrics of a model's predictions: one home for argmax, accuracy, precision / recall / F1, the
//! confusion matrix, MSE, MAE, R² and log loss. The training loop (per-epoch metrics), the final
//! evaluation of `fit`, `learnable eval` and the server all use these, so they never disagree.
//!
//! Definitions follow scikit-learn's `sklearn.metrics` (`accuracy_score`,
//! `precision_recall_fscore_support` with `zero_division=0`, `confusion_matrix`,
//! `mean_squared_error`, `mean_absolute_error`, `r2_score`, `log_loss`).

use crate::error::{Error, Result};
use crate::kernels::softmax::log_softmax;
use crate::tensor::Tensor;

/// Index of the largest value; ties go to the lowest index (as `torch.argmax` and NumPy's
/// `argmax`). NaN entries never win (a row of NaN gives 0). An empty row gives 0.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] || (row[best].is_nan() && !v.is_nan()) {
            best = i;
        }
    }
    best
}

/// The argmax of every row of `logits` `[rows, classes]`: `[rows]`.
pub fn argmax_rows(logits: &Tensor) -> Vec<usize> {
    let k = logits.last_dim().max(1);
    logits.data().chunks(k).map(argmax).collect()
}

/// Number of rows of `logits` `[rows, classes]` whose argmax equals the class in `classes`.
pub fn count_correct(logits: &Tensor, classes: &[usize]) -> usize {
    argmax_rows(logits)
        .iter()
        .zip(classes)
        .filter(|(p, t)| p == t)
        .count()
}

/// Fraction of equal entries (`accuracy_score`); 0 for empty input.
pub fn accuracy(truth: &[usize], pred: &[usize]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    truth.iter().zip(pred).filter(|(t, p)| t == p).count() as f64 / truth.len() as f64
}

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassScores {
    /// TP / (TP + FP); 0 when the class was never predicted (`zero_division=0`).
    pub precision: f64,
    /// TP / (TP + FN); 0 when the class never occurs.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Rows whose true class is this one.
    pub support: usize,
}

/// A classifier's report: accuracy, per-class scores and the confusion matrix, as
/// scikit-learn's `classification_report` and `confusion_matrix`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassReport {
    /// Fraction of rows predicted correctly.
    pub accuracy: f64,
    /// Scores per class, in class-index order.
    pub per_class: Vec<ClassScores>,
    /// Counts `[classes][classes]`: row = true class, column = predicted class.
    pub confusion: Vec<Vec<usize>>,
}

impl ClassReport {
    /// Computes the report from true and predicted class indices, both in `0..n_classes`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the lengths differ; [`Error::InvalidArgument`] for an index
    /// `>= n_classes`.
    pub fn new(truth: &[usize], pred: &[usize], n_classes: usize) -> Result<Self> {
        if truth.len() != pred.len() {
            return Err(Error::shape(
                "ClassReport::new",
                format!("{} predictions", truth.len()),
                &[pred.len()],
            ));
        }
        let k = n_classes;
        let mut confusion = vec![vec![0usize; k]; k];
        for (&t, &p) in truth.iter().zip(pred) {
            if t >= k || p >= k {
                return Err(Error::invalid(
                    "class index",
                    t.max(p),
                    &format!("< {k} (the number of classes)"),
                ));
            }
            confusion[t][p] += 1;
        }
        let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
        let per_class = (0..k)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let predicted: usize = (0..k).map(|t| confusion[t][c]).sum();
                let support: usize = confusion[c].iter().sum();
                let precision = if predicted == 0 {
                    0.0
                } else {
                    tp / predicted as f64
                };
                let recall = if support == 0 {
                    0.0
                } else {
                    tp / support as f64
                };
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        Ok(ClassReport {
            accuracy: correct as f64 / truth.len().max(1) as f64,
            per_class,
            confusion,
        })
    }

    /// Unweighted mean of the per-class F1 scores (`f1_score(average="macro")`).
    pub fn macro_f1(&self) -> f64 {
        let k = self.per_class.len().max(1) as f64;
        self.per_class.iter().map(|c| c.f1).sum::<f64>() / k
    }
}

/// Mean squared error (`mean_squared_error`); 0 for empty input.
pub fn mse(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    pred.iter()
        .zip(truth)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / n
}

/// Mean absolute error (`mean_absolute_error`); 0 for empty input.
pub fn mae(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    pred.iter()
        .zip(truth)
        .map(|(p, t)| (p - t).abs())
        .sum::<f64>()
        / n
}

/// R² = 1 − SS_res / SS_tot over all values, in f64 (`r2_score` for one output).
///
/// A constant target (SS_tot = 0) follows scikit-learn's rule (`force_finite=True`): 1.0 if the
/// predictions are perfect, 0.0 otherwise.
pub fn r2(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// [`r2`] of two f32 tensors of the same shape (all outputs pooled).
pub fn r2_tensor(pred: &Tensor, truth: &Tensor) -> f64 {
    let p: Vec<f64> = pred.data().iter().map(|&v| v as f64).collect();
    let t: Vec<f64> = truth.data().iter().map(|&v| v as f64).collect();
    r2(&p, &t)
}

/// Mean negative log-likelihood of the true classes under softmax(`logits`) (`log_loss` on the
/// softmax probabilities, without its clipping): `logits` `[rows, classes]`, natural log.
///
/// # Errors
/// [`Error::Shape`] if `classes` has another length than the rows of `logits`;
/// [`Error::InvalidArgument`] for a class index out of range.
pub fn log_loss(logits: &Tensor, classes: &[usize]) -> Result<f64> {
    let k = logits.last_dim();
    if logits.ndim() != 2 || logits.rows() != classes.len() {
        return Err(Error::shape(
            "log_loss",
            format!("[{}, classes]", classes.len()),
            logits.shape(),
        ));
    }
    let mut sum = 0.0f64;
    for (row, &c) in logits.data().chunks(k.max(1)).zip(classes) {
        if c >= k {
            return Err(Error::invalid("class index", c, &format!("< {k}")));
        }
        sum -= log_softmax(row)[c] as f64;
    }
    Ok(sum / classes.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_report_matches_a_hand_count() {
        // truth 0 0 1 1 2, pred 0 1 1 1 0: class 0 precision 1/2 recall 1/2; class 1 precision
        // 2/3 recall 1 (F1 0.8); class 2 precision 0 (no predictions) recall 0. accuracy 3/5.
        let r = ClassReport::new(&[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], 3).unwrap();
        assert_eq!(r.accuracy, 0.6);
        assert_eq!(
            r.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert_eq!(r.per_class[0].precision, 0.5);
        assert!((r.per_class[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.per_class[1].recall, 1.0);
        assert!((r.per_class[1].f1 - 0.8).abs() < 1e-12);
        assert_eq!(
            r.per_class[2],
            ClassScores {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0,
                support: 1
            }
        );
        // macro F1 = (0.5 + 0.8 + 0) / 3
        assert!((r.macro_f1() - 1.3 / 3.0).abs() < 1e-12);
        assert!(ClassReport::new(&[0, 3], &[0, 0], 3).is_err());
    }

    #[test]
    fn r2_follows_scikit_learn_on_a_constant_target() {
        // sklearn.metrics.r2_score([2, 2, 2], [2, 2, 2]) == 1.0; ([2, 2, 2], [1, 2, 3]) == 0.0
        assert_eq!(r2(&[2.0, 2.0, 2.0], &[2.0, 2.0, 2.0]), 1.0);
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]), 0.0);
        // r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.9486081370449679 (sklearn docs example)
        let v = r2(&[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0]);
        assert!((v - 0.948_608_137_044_967_9).abs() < 1e-12);
        // mean_squared_error / mean_absolute_error of the same example: 0.375 and 0.5
        assert_eq!(mse(&[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0]), 0.375);
        assert_eq!(mae(&[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0]), 0.5);
    }

    #[test]
    fn argmax_takes_the_first_of_ties_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0, 0.5]), 1);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn log_loss_of_uniform_logits_is_ln_k() {
        let t = Tensor::new(vec![0.0; 6], &[2, 3]).unwrap();
        let l = log_loss(&t, &[0, 2]).unwrap();
        assert!((l - 3f64.ln()).abs() < 1e-6);
        // sklearn.metrics.log_loss([0, 1], [[0.9, 0.1], [0.2, 0.8]]) = 0.164252033486018
        // with logits ln(p): softmax(ln p) = p.
        let t = Tensor::new(
            vec![0.9f32.ln(), 0.1f32.ln(), 0.2f32.ln(), 0.8f32.ln()],
            &[2, 2],
        )
        .unwrap();
        assert!((log_loss(&t, &[0, 1]).unwrap() - 0.164_252_033_486_018).abs() < 1e-6);
    }
}
