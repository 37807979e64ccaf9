//! Seeded train / validation / test split, stratified for classification.
//!
//! Method: rows are shuffled with the random stream `Rng::new(seed, "split")`. Without labels the
//! first `k_test` shuffled rows form the test split, the next `k_val` the validation split and
//! the rest the training split, where `k = round(fraction * n)`, raised to 1 when the fraction is
//! above 0. With labels (stratified) the same rule is applied to each class on its own, classes
//! taken in label order, so every split holds each class in proportion to its size (per-class
//! proportional allocation, as scikit-learn's `StratifiedShuffleSplit` aims for). Each split's
//! indices are returned in ascending order. The same seed, fractions and labels always give the
//! same split, on every platform.

use crate::{Error, Result, Rng};

use crate::data::dataset::Dataset;

/// Row indices of the three splits, each ascending. Together they hold every row exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows (empty when the validation fraction is 0).
    pub val: Vec<usize>,
    /// Test rows (empty when the test fraction is 0).
    pub test: Vec<usize>,
}

impl Split {
    /// The three splits of `data` as datasets `(train, val, test)`.
    pub fn apply(&self, data: &Dataset) -> Result<(Dataset, Dataset, Dataset)> {
        Ok((
            data.select(&self.train)?,
            data.select(&self.val)?,
            data.select(&self.test)?,
        ))
    }
}

/// Checks that each fraction is in [0, 1) and that their sum is below 1.
pub fn check_fractions(val_fraction: f64, test_fraction: f64) -> Result<()> {
    for (name, f) in [
        ("val_fraction", val_fraction),
        ("test_fraction", test_fraction),
    ] {
        if !(0.0..1.0).contains(&f) {
            return Err(Error::invalid(name, f, "0 <= fraction < 1"));
        }
    }
    if val_fraction + test_fraction >= 1.0 {
        return Err(Error::invalid(
            "val_fraction + test_fraction",
            val_fraction + test_fraction,
            "< 1 (some rows must be left for training)",
        ));
    }
    Ok(())
}

/// Number of held-out rows for `fraction` of `n`: `round(fraction * n)`, at least 1 if
/// `fraction > 0`.
fn held_out(n: usize, fraction: f64) -> usize {
    if fraction <= 0.0 {
        0
    } else {
        ((fraction * n as f64).round() as usize).max(1)
    }
}

/// Splits `0..n_rows` at random (no stratification); for regression.
///
/// Errors: invalid fractions (see [`check_fractions`]); `n_rows == 0`; too few rows to leave at
/// least one training row after the held-out splits.
pub fn random_split(
    n_rows: usize,
    val_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Result<Split> {
    check_fractions(val_fraction, test_fraction)?;
    if n_rows == 0 {
        return Err(Error::invalid("rows", 0, ">= 1 (nothing to split)"));
    }
    let (k_val, k_test) = (
        held_out(n_rows, val_fraction),
        held_out(n_rows, test_fraction),
    );
    if k_val + k_test >= n_rows {
        let rows = if n_rows == 1 { "row is" } else { "rows are" };
        return Err(Error::Other(format!(
            "{n_rows} {rows} too few for validation fraction {val_fraction} and test fraction \
             {test_fraction}: {k_val} validation and {k_test} test rows would leave no training row; \
             lower the fractions or set them to 0"
        )));
    }
    let mut rng = Rng::new(seed, "split");
    let perm = if k_val + k_test == 0 {
        (0..n_rows).collect()
    } else {
        rng.permutation(n_rows)
    };
    Ok(sorted(assemble(
        &perm,
        k_val,
        k_test,
        Split {
            train: vec![],
            val: vec![],
            test: vec![],
        },
    )))
}

/// Splits rows stratified by `labels` (class index per row; `class_names[label]` names it in
/// errors).
///
/// Errors: invalid fractions; no rows; a label `>= class_names.len()`; a class whose rows cannot
/// give each non-empty split at least one row and keep one training row (the message names the
/// class, its row count and the rows it would need).
pub fn stratified_split(
    labels: &[usize],
    class_names: &[String],
    val_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Result<Split> {
    check_fractions(val_fraction, test_fraction)?;
    if labels.is_empty() {
        return Err(Error::invalid("rows", 0, ">= 1 (nothing to split)"));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); class_names.len()];
    for (row, &l) in labels.iter().enumerate() {
        match by_class.get_mut(l) {
            Some(rows) => rows.push(row),
            None => {
                return Err(Error::invalid(
                    "class label",
                    l,
                    &format!("< {}", class_names.len()),
                ));
            }
        }
    }
    let mut rng = Rng::new(seed, "split");
    let mut split = Split {
        train: vec![],
        val: vec![],
        test: vec![],
    };
    for (c, rows) in by_class.iter_mut().enumerate() {
        let n = rows.len();
        if n == 0 {
            continue;
        }
        let (k_val, k_test) = (held_out(n, val_fraction), held_out(n, test_fraction));
        if k_val + k_test >= n {
            return Err(Error::Other(format!(
                "class '{}' has {n} row{}: too few for a stratified split with validation fraction \
                 {val_fraction} and test fraction {test_fraction} (it needs at least {} rows: {k_val} \
                 validation, {k_test} test and 1 training); add rows of this class, lower the \
                 fractions or set them to 0",
                class_names[c],
                if n == 1 { "" } else { "s" },
                k_val + k_test + 1
            )));
        }
        if k_val + k_test > 0 {
            rng.shuffle(rows);
        }
        split = assemble(rows, k_val, k_test, split);
    }
    Ok(sorted(split))
}

/// Stratified split for a labelled classification dataset, random split otherwise.
pub fn split_dataset(
    data: &Dataset,
    val_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Result<Split> {
    match data.labels() {
        Some(labels) => stratified_split(
            labels,
            data.class_names(),
            val_fraction,
            test_fraction,
            seed,
        ),
        None => random_split(data.n_rows(), val_fraction, test_fraction, seed),
    }
}

/// Appends `order[..k_test]` to test, the next `k_val` to val, the rest to train.
fn assemble(order: &[usize], k_val: usize, k_test: usize, mut split: Split) -> Split {
    split.test.extend_from_slice(&order[..k_test]);
    split.val.extend_from_slice(&order[k_test..k_test + k_val]);
    split.train.extend_from_slice(&order[k_test + k_val..]);
    split
}

fn sorted(mut split: Split) -> Split {
    split.train.sort_unstable();
    split.val.sort_unstable();
    split.test.sort_unstable();
    split
}
