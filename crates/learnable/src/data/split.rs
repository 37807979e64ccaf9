//! Seeded train / validation / test split, stratified for classification.
//!
//! Sizes ([`SplitSize`]) follow scikit-learn's `train_test_split(test_size=...)`: a fraction of
//! the rows (a float in [0, 1)) or a number of rows (an integer; 0 means none).
//!
//! Method: rows are shuffled with the random stream `Rng::new(seed, "split")`. Without labels the
//! first `k_test` shuffled rows form the test split, the next `k_val` the validation split and
//! the rest the training split, where `k = round(fraction * n)`, raised to 1 when the fraction is
//! above 0, or `k` = the row count asked for. With labels (stratified) a fraction is applied to
//! each class on its own, classes taken in label order, so every split holds each class in
//! proportion to its size (per-class proportional allocation, as scikit-learn's
//! `StratifiedShuffleSplit` aims for); a row count `k` is shared out among the classes in
//! proportion to their sizes, each class getting at least one row and the total being exactly
//! `k` (largest remainders; see [`allocate`]). Each split's indices are returned in ascending
//! order. The same seed, sizes and labels always give the same split, on every platform.
//!
//! A size is never changed silently: a stratified split needs a row of each class in every
//! held-out split, so a size below the number of classes is an error (scikit-learn: "The
//! test_size = 3 should be greater or equal to the number of classes = 5"), and so is a size
//! that leaves no training row.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// The size of a held-out split, as scikit-learn's `test_size`: a fraction of the rows or a
/// number of rows.
///
/// Text form ([`FromStr`], [`fmt::Display`]): an integer is a row count (`100`; `0` is none), a
/// decimal in [0, 1) a fraction (`0.2`). In JSON (e.g. a model's `config.json`) an integer is a
/// row count and a float a fraction, so `0.2` from older files that stored `val_fraction` /
/// `test_fraction` reads as the fraction it was.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SplitSize {
    /// A fraction of the rows in [0, 1): `round(fraction * n)` rows, at least 1 if above 0
    /// (stratified: per class).
    Fraction(f64),
    /// Exactly this many rows (0: none).
    Rows(usize),
}

impl SplitSize {
    /// Whether the split is empty by request (`Rows(0)` or `Fraction(0.0)`).
    pub fn is_none(&self) -> bool {
        matches!(*self, SplitSize::Rows(0)) || matches!(*self, SplitSize::Fraction(f) if f == 0.0)
    }

    /// Number of held-out rows out of `n` (a fraction: `round(f * n)`, at least 1 if `f > 0`;
    /// a count: itself).
    pub fn rows_of(&self, n: usize) -> usize {
        match *self {
            SplitSize::Fraction(f) => held_out(n, f),
            SplitSize::Rows(k) => k,
        }
    }

    /// Checks a fraction is finite and in [0, 1); `name` names the option in the error.
    fn check(&self, name: &str) -> Result<()> {
        match *self {
            SplitSize::Fraction(f) if !(0.0..1.0).contains(&f) => Err(Error::invalid(
                name,
                f,
                "0 <= fraction < 1, or a whole number of rows",
            )),
            _ => Ok(()),
        }
    }
}

impl From<f64> for SplitSize {
    /// A fraction.
    fn from(f: f64) -> Self {
        SplitSize::Fraction(f)
    }
}

impl From<usize> for SplitSize {
    /// A row count.
    fn from(k: usize) -> Self {
        SplitSize::Rows(k)
    }
}

impl fmt::Display for SplitSize {
    /// `0.2` for a fraction, `100` for a row count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitSize::Fraction(x) => write!(f, "{x}"),
            SplitSize::Rows(k) => write!(f, "{k}"),
        }
    }
}

impl FromStr for SplitSize {
    type Err = Error;

    /// Parses a whole number of rows (`100`, `0`) or a fraction in [0, 1) (`0.2`), as
    /// scikit-learn's `test_size`. Errors on anything else (`1.5`, `-1`, `1.0`, `abc`).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if let Ok(k) = s.parse::<usize>() {
            return Ok(SplitSize::Rows(k));
        }
        match s.parse::<f64>() {
            Ok(f) if (0.0..1.0).contains(&f) => Ok(SplitSize::Fraction(f)),
            _ => Err(Error::Other(format!(
                "expected a fraction of the rows in [0, 1) such as 0.2, or a whole number of \
                 rows such as 100 (0: none), not '{s}'"
            ))),
        }
    }
}

impl Serialize for SplitSize {
    /// A float for a fraction, an integer for a row count.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match *self {
            SplitSize::Fraction(f) => serializer.serialize_f64(f),
            SplitSize::Rows(k) => serializer.serialize_u64(k as u64),
        }
    }
}

impl<'de> Deserialize<'de> for SplitSize {
    /// An integer is a row count, a float a fraction (checked when splitting).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SplitSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fraction in [0, 1) or a whole number of rows")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<SplitSize, E> {
                usize::try_from(v)
                    .map(SplitSize::Rows)
                    .map_err(|_| E::custom(format!("{v} rows is too many")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<SplitSize, E> {
                usize::try_from(v).map(SplitSize::Rows).map_err(|_| {
                    E::custom(format!(
                        "{v} is not a size (a fraction in [0, 1) or a whole number of rows)"
                    ))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<SplitSize, E> {
                Ok(SplitSize::Fraction(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Checks that each fraction is in [0, 1) and that their sum is below 1 (errors name
/// `val_fraction` and `test_fraction`; the split functions name `val_size` and `test_size`).
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

/// Validates both sizes (fractions in [0, 1); two fractions summing below 1); errors name
/// `val_size`, `test_size` and `val_size + test_size`.
fn check_sizes(val: SplitSize, test: SplitSize) -> Result<()> {
    val.check("val_size")?;
    test.check("test_size")?;
    if let (SplitSize::Fraction(v), SplitSize::Fraction(t)) = (val, test) {
        if v + t >= 1.0 {
            return Err(Error::invalid(
                "val_size + test_size",
                v + t,
                "< 1 (some rows must be left for training)",
            ));
        }
    }
    Ok(())
}

/// `validation fraction 0.1` / `validation size 50 rows`.
fn describe(what: &str, size: SplitSize) -> String {
    match size {
        SplitSize::Fraction(f) => format!("{what} fraction {f}"),
        SplitSize::Rows(k) => format!("{what} size {k} row{}", if k == 1 { "" } else { "s" }),
    }
}

/// `fractions` when both sizes are fractions, else `sizes (`val_size`, `test_size`)`.
fn lower_what(val: SplitSize, test: SplitSize) -> &'static str {
    match (val, test) {
        (SplitSize::Fraction(_), SplitSize::Fraction(_)) => "fractions",
        _ => "sizes (`val_size`, `test_size`)",
    }
}

/// Errors when a row count alone leaves no training row out of `n` (naming the option).
fn check_count(name: &str, size: SplitSize, n: usize) -> Result<()> {
    match size {
        SplitSize::Rows(k) if k >= n => Err(Error::invalid(
            name,
            k,
            &format!(
                "<= {} rows (the data have {n} row{}; at least one must be left for training)",
                n.saturating_sub(1),
                if n == 1 { "" } else { "s" }
            ),
        )),
        _ => Ok(()),
    }
}

/// Splits `0..n_rows` at random (no stratification); for regression. `val` and `test` are
/// [`SplitSize`]s (an `f64` is a fraction, a `usize` a row count).
///
/// Errors: a fraction outside [0, 1) or two summing to 1 or more (naming `val_size` /
/// `test_size`); `n_rows == 0`; a row count of `n_rows` or more (naming the option and the
/// row count); sizes together leaving no training row.
pub fn random_split(
    n_rows: usize,
    val: impl Into<SplitSize>,
    test: impl Into<SplitSize>,
    seed: u64,
) -> Result<Split> {
    let (val, test) = (val.into(), test.into());
    check_sizes(val, test)?;
    if n_rows == 0 {
        return Err(Error::invalid("rows", 0, ">= 1 (nothing to split)"));
    }
    check_count("val_size", val, n_rows)?;
    check_count("test_size", test, n_rows)?;
    let (k_val, k_test) = (val.rows_of(n_rows), test.rows_of(n_rows));
    if k_val + k_test >= n_rows {
        let rows = if n_rows == 1 { "row is" } else { "rows are" };
        return Err(Error::Data(format!(
            "{n_rows} {rows} too few for {} and {}: {k_val} validation and {k_test} test rows \
             would leave no training row; lower the {} or set them to 0",
            describe("validation", val),
            describe("test", test),
            lower_what(val, test),
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

/// Shares `k` rows out among classes of sizes `counts` (classes of size 0 get none) in
/// proportion to their sizes, each non-empty class getting at least 1, the total exactly `k`
/// (`k` must be at least the number of non-empty classes). Largest-remainder method: class `c`
/// starts at `max(1, floor(q_c))` with quota `q_c = k * n_c / n`; then, while the total is
/// below `k`, one more row goes to the class with the largest `q_c - a_c`, and while it is
/// above `k`, one row comes off the class with the smallest `q_c - a_c` among those above 1;
/// ties go to the lower class index.
pub fn allocate(counts: &[usize], k: usize) -> Vec<usize> {
    let n: usize = counts.iter().sum();
    let quota: Vec<f64> = counts
        .iter()
        .map(|&c| {
            if n == 0 {
                0.0
            } else {
                k as f64 * c as f64 / n as f64
            }
        })
        .collect();
    let mut a: Vec<usize> = counts
        .iter()
        .zip(&quota)
        .map(|(&c, &q)| {
            if c == 0 {
                0
            } else {
                (q.floor() as usize).max(1)
            }
        })
        .collect();
    let gap = |a: &[usize], c: usize| quota[c] - a[c] as f64;
    let mut total: usize = a.iter().sum();
    while total < k {
        let best =
            (0..counts.len())
                .filter(|&c| counts[c] > 0)
                .fold(None, |best: Option<usize>, c| match best {
                    Some(b) if gap(&a, b) >= gap(&a, c) => Some(b),
                    _ => Some(c),
                });
        match best {
            Some(c) => a[c] += 1,
            None => break,
        }
        total += 1;
    }
    while total > k {
        let best = (0..counts.len())
            .filter(|&c| a[c] > 1)
            .fold(None, |best: Option<usize>, c| match best {
                Some(b) if gap(&a, b) <= gap(&a, c) => Some(b),
                _ => Some(c),
            });
        match best {
            Some(c) => a[c] -= 1,
            None => break,
        }
        total -= 1;
    }
    a
}

/// Splits rows stratified by `labels` (class index per row; `class_names[label]` names it in
/// errors). `val` and `test` are [`SplitSize`]s (an `f64` is a fraction, a `usize` a row count).
///
/// Errors: invalid sizes (as [`random_split`]); no rows; a label `>= class_names.len()`; a
/// class whose rows cannot give each non-empty split at least one row and keep one training
/// row (the message names the class, its row count and the rows it would need); a held-out
/// size (asked for as a count, or a fraction's `round(fraction * n)`) below the number of
/// classes, which would otherwise be silently enlarged to one row per class (naming
/// `val_size` / `test_size` and the class count, as scikit-learn does).
pub fn stratified_split(
    labels: &[usize],
    class_names: &[String],
    val: impl Into<SplitSize>,
    test: impl Into<SplitSize>,
    seed: u64,
) -> Result<Split> {
    let (val, test) = (val.into(), test.into());
    check_sizes(val, test)?;
    if labels.is_empty() {
        return Err(Error::invalid("rows", 0, ">= 1 (nothing to split)"));
    }
    let n = labels.len();
    check_count("val_size", val, n)?;
    check_count("test_size", test, n)?;
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
    let counts: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let n_classes = counts.iter().filter(|&&c| c > 0).count();
    let too_small = |name: &str, size: SplitSize| -> Result<()> {
        let k = size.rows_of(n);
        if size.is_none() || k >= n_classes {
            return Ok(());
        }
        let asked = match size {
            SplitSize::Fraction(f) => format!("; {f} of {n} rows is {k}"),
            SplitSize::Rows(_) => String::new(),
        };
        Err(Error::invalid(
            name,
            size,
            &format!(
                "a size of at least {n_classes} rows, the number of classes (a stratified split \
                 needs a row of each class{asked})"
            ),
        ))
    };
    // Row counts are shared out among the classes, which needs one row per class.
    for (name, size) in [("val_size", val), ("test_size", test)] {
        if let SplitSize::Rows(_) = size {
            too_small(name, size)?;
        }
    }
    let per_class = |size: SplitSize| -> Vec<usize> {
        match size {
            SplitSize::Fraction(f) => counts.iter().map(|&c| held_out(c, f)).collect(),
            SplitSize::Rows(k) if k == 0 => vec![0; counts.len()],
            SplitSize::Rows(k) => allocate(&counts, k),
        }
    };
    let (k_vals, k_tests) = (per_class(val), per_class(test));
    for c in 0..counts.len() {
        let (n_c, k_val, k_test) = (counts[c], k_vals[c], k_tests[c]);
        if n_c > 0 && k_val + k_test >= n_c {
            return Err(Error::Data(format!(
                "class '{}' has {n_c} row{}: too few for a stratified split with {} and {} (it \
                 needs at least {} rows: {k_val} validation, {k_test} test and 1 training); add \
                 rows of this class, lower the {} or set them to 0",
                class_names[c],
                if n_c == 1 { "" } else { "s" },
                describe("validation", val),
                describe("test", test),
                k_val + k_test + 1,
                lower_what(val, test),
            )));
        }
    }
    // A fraction's size, rounded, below the class count would be enlarged to one row per class.
    too_small("val_size", val)?;
    too_small("test_size", test)?;
    let mut rng = Rng::new(seed, "split");
    let mut split = Split {
        train: vec![],
        val: vec![],
        test: vec![],
    };
    for (c, rows) in by_class.iter_mut().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let (k_val, k_test) = (k_vals[c], k_tests[c]);
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
    val: impl Into<SplitSize>,
    test: impl Into<SplitSize>,
    seed: u64,
) -> Result<Split> {
    match data.labels() {
        Some(labels) => stratified_split(labels, data.class_names(), val, test, seed),
        None => random_split(data.n_rows(), val, test, seed),
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
