//! The verdict on a validation curve: underfitting (high bias), overfitting (high variance) or
//! good at each value, the best value, the value the one-standard-error rule chooses, and the
//! remedy in the source text's words.
//!
//! Rules (errors are `1 − score`: the error rate for accuracy, `MSE / Var(y)` for R²):
//! * the best value has the lowest mean validation error `e*`; its standard error is
//!   `SE = sd / √K` over the `K` folds (sample sd);
//! * a value is **good** when its mean validation error is within `e* + SE` (statistically
//!   as good as the best);
//! * otherwise its excess validation error over the best splits into a bias part and a
//!   variance part: `e_i − e* = (t_i − t*) + (g_i − g*)` with `t` the training error and
//!   `g = e − t` the generalisation gap. It **underfits** (high bias) when the training-error
//!   part is the larger (it cannot fit the data it was trained on as well as the best model
//!   does), and **overfits** (high variance) when the gap part is.
//! * The chosen value is the simplest good one (the one-standard-error rule: Hastie,
//!   Tibshirani, Friedman, "The Elements of Statistical Learning", §7.10; glmnet's
//!   `lambda.1se`), simplest by the setting's complexity direction.
//! * Double descent (M. Belkin, D. Hsu, S. Ma, S. Mandal, "Reconciling modern machine-learning
//!   practice and the classical bias–variance trade-off", PNAS 116(32), 2019): when the
//!   validation error falls again by more than one SE at a more complex value than an
//!   overfitting one, the diagnosis says so: that overfitting is a peak, not a reason to stop
//!   adding capacity.

use serde_json::{Value, json};

use super::curve::{Curve, mean_std};
use super::setting::{Complexity, complexity};

/// What a value of the setting does to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// High bias: training and validation errors both high.
    Underfit,
    /// High variance: low training error, validation error well above the best.
    Overfit,
    /// Within one standard error of the best validation error: the sweet spot.
    Good,
}

impl Verdict {
    /// `underfit (high bias)`, `overfit (high variance)`, `good`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Underfit => "underfit (high bias)",
            Verdict::Overfit => "overfit (high variance)",
            Verdict::Good => "good",
        }
    }

    /// What to do about it, in the source text's words.
    pub fn remedy(self) -> &'static str {
        match self {
            Verdict::Underfit => {
                "add capacity: a wider or deeper network, more epochs, more features, less regularisation"
            }
            Verdict::Overfit => {
                "regularise (more weight decay, alpha or dropout), add data, or use a simpler model"
            }
            Verdict::Good => "keep it: the sweet spot between underfitting and overfitting",
        }
    }
}

/// The verdict on every point of a validation (or learning) curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    /// One verdict per point, in the curve's order.
    pub verdicts: Vec<Verdict>,
    /// Index of the point with the best mean validation score.
    pub best: usize,
    /// Index of the point the one-standard-error rule chooses (the simplest good one; the
    /// best when the setting has no complexity order).
    pub chosen: usize,
    /// Mean validation error of the best point, `1 − score`.
    pub best_error: f64,
    /// Its standard error over the folds.
    pub standard_error: f64,
    /// Sentences for the user: the verdict's numbers, the remedy, caveats (range edge, double
    /// descent).
    pub notes: Vec<String>,
}

/// Diagnoses `curve` (see the module documentation for the rules).
pub fn diagnose(curve: &Curve) -> Diagnosis {
    let k = curve.folds.max(1) as f64;
    let val_err: Vec<f64> = curve.points.iter().map(|p| 1.0 - p.val().0).collect();
    let train_err: Vec<f64> = curve.points.iter().map(|p| 1.0 - p.train().0).collect();
    let best = (0..val_err.len())
        .min_by(|&a, &b| val_err[a].total_cmp(&val_err[b]))
        .unwrap_or(0);
    let (_, sd_pop) = mean_std(&curve.points[best].val_scores);
    // Sample sd from the population sd: sd · √(K / (K − 1)).
    let sd = if k > 1.0 {
        sd_pop * (k / (k - 1.0)).sqrt()
    } else {
        0.0
    };
    let se = sd / k.sqrt();
    let threshold = val_err[best] + se;
    let verdicts: Vec<Verdict> = (0..val_err.len())
        .map(|i| {
            let bias_part = train_err[i] - train_err[best];
            let gap = |j: usize| val_err[j] - train_err[j];
            let variance_part = gap(i) - gap(best);
            if val_err[i] <= threshold {
                Verdict::Good
            } else if bias_part >= variance_part {
                Verdict::Underfit
            } else {
                Verdict::Overfit
            }
        })
        .collect();
    // Complexity order of the points (ascending), when the setting has one.
    let key = |v: &str| -> f64 {
        v.parse::<f64>().unwrap_or_else(|_| {
            v.split('x')
                .filter_map(|w| w.trim().parse::<f64>().ok())
                .sum()
        })
    };
    let direction = if curve.param == "train_size" {
        Complexity::Unordered
    } else {
        complexity(&curve.param)
    };
    let mut order: Vec<usize> = (0..val_err.len()).collect();
    match direction {
        Complexity::Increasing => order
            .sort_by(|&a, &b| key(&curve.points[a].value).total_cmp(&key(&curve.points[b].value))),
        Complexity::Decreasing => order
            .sort_by(|&a, &b| key(&curve.points[b].value).total_cmp(&key(&curve.points[a].value))),
        Complexity::Unordered => {}
    }
    let chosen = if direction == Complexity::Unordered {
        best
    } else {
        order
            .iter()
            .copied()
            .find(|&i| verdicts[i] == Verdict::Good)
            .unwrap_or(best)
    };
    let m = curve.metric;
    let mut notes = vec![format!(
        "best {} = {}: validation {m} {:.4} (± {:.4} standard error over {} folds), training {m} {:.4}",
        curve.param,
        curve.points[best].value,
        1.0 - val_err[best],
        se,
        curve.folds,
        1.0 - train_err[best],
    )];
    if chosen != best {
        notes.push(format!(
            "chosen {} = {} by the one-standard-error rule: the simplest value whose validation {m} ({:.4}) is within one standard error of the best",
            curve.param,
            curve.points[chosen].value,
            1.0 - val_err[chosen],
        ));
    }
    for (verdict, what) in [
        (
            Verdict::Underfit,
            "underfit (high bias): training and validation scores both low",
        ),
        (
            Verdict::Overfit,
            "overfit (high variance): training score high, validation score lower",
        ),
    ] {
        let at: Vec<&str> = (0..verdicts.len())
            .filter(|&i| verdicts[i] == verdict)
            .map(|i| curve.points[i].value.as_str())
            .collect();
        if !at.is_empty() {
            notes.push(format!(
                "{} = {}: {what}; remedy: {}",
                curve.param,
                at.join(", "),
                verdict.remedy()
            ));
        }
    }
    if direction != Complexity::Unordered && order.len() >= 3 {
        if order.last() == Some(&best) {
            notes.push(format!(
                "the best value is the most complex one tried: try more complex values of {} too",
                curve.param
            ));
        } else if order.first() == Some(&best) {
            notes.push(format!(
                "the best value is the simplest one tried: try simpler values of {} too",
                curve.param
            ));
        }
        // Double descent: an overfitting value followed, at higher complexity, by a
        // validation error lower than its own by more than one SE.
        let peak = order
            .iter()
            .enumerate()
            .filter(|&(pos, &i)| {
                verdicts[i] == Verdict::Overfit
                    && order[pos + 1..]
                        .iter()
                        .any(|&j| val_err[j] < val_err[i] - se)
            })
            .max_by(|a, b| val_err[*a.1].total_cmp(&val_err[*b.1]));
        if let Some((_, &p)) = peak {
            notes.push(format!(
                "the validation error falls again past the peak at {} = {} (double descent): \
                 the overfitting there is a peak, not a reason to stop adding capacity",
                curve.param, curve.points[p].value
            ));
        }
    }
    Diagnosis {
        verdicts,
        best,
        chosen,
        best_error: val_err[best],
        standard_error: se,
        notes,
    }
}

impl Diagnosis {
    /// The verdicts, best and chosen indices, the numbers behind them and the notes, as JSON.
    pub fn to_json(&self, curve: &Curve) -> Value {
        json!({
            "best": curve.points[self.best].value,
            "chosen": curve.points[self.chosen].value,
            "rule": "one standard error",
            "best_val_error": self.best_error,
            "standard_error": self.standard_error,
            "verdicts": curve.points.iter().zip(&self.verdicts).map(|(p, v)| json!({
                "value": p.value, "verdict": v.label(), "remedy": v.remedy(),
            })).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias_variance::CurvePoint;

    fn curve(param: &str, rows: &[(&str, [f64; 3], [f64; 3])]) -> Curve {
        Curve {
            param: param.into(),
            metric: "accuracy",
            folds: 3,
            points: rows
                .iter()
                .map(|(v, tr, va)| CurvePoint {
                    value: v.to_string(),
                    train_rows: 10,
                    train_scores: tr.to_vec(),
                    val_scores: va.to_vec(),
                    train_losses: vec![0.0; 3],
                    val_losses: vec![0.0; 3],
                })
                .collect(),
        }
    }

    /// Constructed case: width 1 cannot fit (train 0.5), width 64 memorises (train 1.0,
    /// validation 0.80), widths 8 and 16 are within one SE of the best: 8 is chosen.
    #[test]
    fn underfit_good_and_overfit_cases_get_their_verdicts() {
        let c = curve(
            "width",
            &[
                ("1", [0.50, 0.52, 0.48], [0.49, 0.50, 0.47]),
                ("8", [0.93, 0.94, 0.95], [0.905, 0.915, 0.925]),
                ("16", [0.97, 0.97, 0.98], [0.91, 0.92, 0.93]),
                ("64", [1.0, 1.0, 1.0], [0.80, 0.81, 0.79]),
            ],
        );
        let d = diagnose(&c);
        assert_eq!(
            d.verdicts,
            vec![
                Verdict::Underfit,
                Verdict::Good,
                Verdict::Good,
                Verdict::Overfit
            ]
        );
        assert_eq!((d.best, d.chosen), (2, 1));
        // SE = sample sd of [0.91, 0.92, 0.93] / √3 = 0.01 / √3.
        assert!((d.standard_error - 0.01 / 3f64.sqrt()).abs() < 1e-12);
        assert!(d.notes.iter().any(|n| n.contains("one-standard-error")));
    }

    /// For a regulariser, larger is simpler: the chosen alpha is the largest good one.
    #[test]
    fn the_simplest_good_value_of_a_regulariser_is_the_largest() {
        let c = curve(
            "alpha",
            &[
                ("0.01", [0.99, 0.99, 0.99], [0.90, 0.91, 0.92]),
                ("1", [0.95, 0.95, 0.95], [0.905, 0.915, 0.925]),
                ("100", [0.6, 0.6, 0.6], [0.58, 0.6, 0.62]),
            ],
        );
        let d = diagnose(&c);
        assert_eq!(d.best, 1);
        assert_eq!(d.chosen, 1);
        assert_eq!(d.verdicts[2], Verdict::Underfit);
    }

    /// A validation error that falls again after an overfitting peak is called double descent.
    #[test]
    fn a_second_descent_is_named() {
        let c = curve(
            "width",
            &[
                ("10", [0.9, 0.9, 0.9], [0.85, 0.86, 0.87]),
                ("50", [1.0, 1.0, 1.0], [0.50, 0.52, 0.54]),
                ("500", [1.0, 1.0, 1.0], [0.86, 0.87, 0.88]),
            ],
        );
        let d = diagnose(&c);
        assert_eq!(d.verdicts[1], Verdict::Overfit);
        assert!(
            d.notes.iter().any(|n| n.contains("double descent")),
            "{:?}",
            d.notes
        );
    }
}
