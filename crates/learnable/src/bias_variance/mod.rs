//! Bias and variance: how training and validation scores move as a hyperparameter (model
//! complexity) or the training-set size grows, and what that says about the model.
//!
//! * [`folds`]: k-fold splits of the training rows, as scikit-learn's `KFold` and
//!   `StratifiedKFold` cut them (unshuffled by default, so the same folds as scikit-learn's
//!   `validation_curve(cv=K)`), or shuffled with a seed.
//! * [`setting`]: one hyperparameter of a [`crate::fit::FitConfig`] set by its config.json name
//!   (`hidden`, `alpha`, `C`, `weight_decay`, `dropout`, `epochs`, ...) and which way it moves
//!   complexity.
//! * [`curve`]: the validation curve (score per value and fold) and the learning curve (score
//!   per training size and fold), fitted through the one [`crate::fit::fit`], in parallel over
//!   values and folds; the result does not depend on the thread count.
//! * [`diagnosis`]: per value underfitting (high bias), overfitting (high variance) or good,
//!   the best value and the value the one-standard-error rule chooses, and the remedy.
//!
//! The vocabulary is the source text's and the textbooks' (C. M. Bishop, "Pattern Recognition
//! and Machine Learning", 2006, §1.1 and §3.2; T. Hastie, R. Tibshirani, J. Friedman, "The
//! Elements of Statistical Learning", 2nd ed., §7.3 and §7.10 for the one-standard-error rule).

pub mod curve;
pub mod diagnosis;
pub mod folds;
pub mod setting;

pub use curve::{Curve, CurveOptions, CurvePoint, learning_curve, validation_curve};
pub use diagnosis::{Diagnosis, Verdict, diagnose};
