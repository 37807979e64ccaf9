//! Linear and logistic regression against scikit-learn reference values
//! (`fixtures/reference/linear_regression.json`, `logistic_regression.json`; generators
//! `gen_linear_regression.py`, `gen_logistic_regression.py` beside them) and hand-computed cases.

use learnable::Error;
use learnable::models::linear_regression::{LinearRegression, LinearRegressionConfig};
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn fixture(name: &str) -> Value {
    let path = format!("{ROOT}/fixtures/reference/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Whitespace-separated numbers, one row per line (as `np.loadtxt` reads them).
fn load_whitespace(path: &str) -> (Vec<f64>, usize) {
    let text = std::fs::read_to_string(format!("{ROOT}/{path}")).expect("data file");
    let mut out = Vec::new();
    let mut rows = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        out.extend(
            line.split_whitespace()
                .map(|t| t.parse::<f64>().expect("number")),
        );
        rows += 1;
    }
    (out, rows)
}

/// The diabetes data as the generator loads it: X [442, 10] raw, y [442].
fn diabetes() -> (Vec<f64>, usize, usize, Vec<f64>) {
    let (x, n) = load_whitespace("data/diabetes/diabetes_data_raw.csv");
    let (y, ny) = load_whitespace("data/diabetes/diabetes_target.csv");
    assert_eq!((n, ny, x.len()), (442, 442, 4420));
    (x, n, 10, y)
}

/// Largest |a - b| / |b| over paired elements.
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs())
        .fold(0.0, f64::max)
}

fn max_abs(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn mse(y: &[f64], pred: &[f64]) -> f64 {
    y.iter()
        .zip(pred)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / y.len() as f64
}

/// sklearn.metrics.r2_score: 1 - SS_res / SS_tot.
fn r2(y: &[f64], pred: &[f64]) -> f64 {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|a| (a - m) * (a - m)).sum();
    1.0 - mse(y, pred) * y.len() as f64 / ss_tot
}

/// Compares a diabetes fit with a `fit_report` entry of linear_regression.json.
fn check_report(
    name: &str,
    model: &LinearRegression,
    x: &[f64],
    n: usize,
    d: usize,
    y: &[f64],
    r: &Value,
) {
    let coef = f64s(&r["coef"]);
    let intercept = r["intercept"].as_f64().unwrap();
    let pred = model.predict(x, n, d).unwrap();
    let e_coef = max_rel(model.coef(), &coef);
    let e_int = ((model.intercept() - intercept) / intercept).abs();
    let e_pred = max_rel(&pred[..5], &f64s(&r["predictions_first5"]));
    let e_r2 =
        ((r2(y, &pred) - r["r2_train"].as_f64().unwrap()) / r["r2_train"].as_f64().unwrap()).abs();
    let e_mse = ((mse(y, &pred) - r["mse_train"].as_f64().unwrap())
        / r["mse_train"].as_f64().unwrap())
    .abs();
    eprintln!(
        "{name}: max rel err coef {e_coef:.2e}, intercept {e_int:.2e}, predictions_first5 {e_pred:.2e}, r2 {e_r2:.2e}, mse {e_mse:.2e}"
    );
    // Tolerances from fixtures/reference/README.md section 1.
    assert!(
        e_coef < 1e-6 && e_int < 1e-6,
        "{name}: coef {e_coef:e}, intercept {e_int:e}"
    );
    assert!(
        e_pred < 1e-8 && e_r2 < 1e-8 && e_mse < 1e-8,
        "{name}: pred {e_pred:e} r2 {e_r2:e} mse {e_mse:e}"
    );
}

#[test]
fn ordinary_least_squares_matches_scikit_learn_on_diabetes() {
    let (x, n, d, y) = diabetes();
    let model = LinearRegressionConfig::ols().fit(&x, n, d, &y).unwrap();
    check_report(
        "ols",
        &model,
        &x,
        n,
        d,
        &y,
        &fixture("linear_regression.json")["ols"],
    );
    assert_eq!(model.lstsq_info().unwrap().rank, 10);
}

#[test]
fn ridge_with_alpha_one_matches_scikit_learn_on_diabetes() {
    let (x, n, d, y) = diabetes();
    let model = LinearRegressionConfig::ridge(1.0)
        .fit(&x, n, d, &y)
        .unwrap();
    check_report(
        "ridge",
        &model,
        &x,
        n,
        d,
        &y,
        &fixture("linear_regression.json")["ridge"],
    );
}

#[test]
fn a_duplicated_column_gets_the_minimum_norm_solution_as_scikit_learn() {
    let (x, n, d, y) = diabetes();
    let r = &fixture("linear_regression.json")["rank_deficient"];
    // Columns [0, 1, 2] plus a copy of column 0, as gen_linear_regression.py builds them.
    let xr: Vec<f64> = (0..n)
        .flat_map(|i| [x[i * d], x[i * d + 1], x[i * d + 2], x[i * d]])
        .collect();
    let model = LinearRegressionConfig::ols().fit(&xr, n, 4, &y).unwrap();
    let coef = f64s(&r["coef"]);
    let scale = coef.iter().fold(0.0f64, |m, c| m.max(c.abs()));
    let e_coef = max_abs(model.coef(), &coef) / scale;
    let e_int = ((model.intercept() - r["intercept"].as_f64().unwrap())
        / r["intercept"].as_f64().unwrap())
    .abs();
    let pred = model.predict(&xr, n, 4).unwrap();
    let e_pred = max_rel(&pred, &f64s(&r["predictions"]));
    let e_r2 = (r2(&y, &pred) / r["r2_train"].as_f64().unwrap() - 1.0).abs();
    let e_mse = (mse(&y, &pred) / r["mse_train"].as_f64().unwrap() - 1.0).abs();
    let info = model.lstsq_info().unwrap();
    let sv = f64s(&r["singular_values_centred"]);
    let e_sv = max_rel(&info.singular_values[..3], &sv[..3]);
    eprintln!(
        "rank_deficient: coef err / max|coef| {e_coef:.2e}, intercept rel {e_int:.2e}, predictions rel {e_pred:.2e}, r2 {e_r2:.2e}, mse {e_mse:.2e}, singular values rel {e_sv:.2e}, smallest {:.2e}",
        info.singular_values[3]
    );
    // Tolerances from fixtures/reference/README.md section 1.
    assert!(e_coef < 1e-6, "coef {:?} vs {coef:?}", model.coef());
    assert!(e_int < 1e-6);
    assert!(e_pred < 1e-8 && e_r2 < 1e-8 && e_mse < 1e-8);
    assert_eq!(info.rank, r["rank"].as_u64().unwrap() as usize);
    assert!(e_sv < 1e-10);
    assert!(info.singular_values[3] < 1e-6 * info.singular_values[0]);
    // The weight is split equally between the two copies of column 0.
    assert!((model.coef()[0] - model.coef()[3]).abs() <= 1e-9 * scale);
}

#[test]
fn fits_a_line_through_three_points() {
    // Points (0, 1), (1, 3), (2, 2). By hand: x̄ = 1, ȳ = 2, Σ(x-x̄)(y-ȳ) = (-1)(-1) + 0 + (1)(0) = 1,
    // Σ(x-x̄)² = 2, so w = 1/2 and b = ȳ - w·x̄ = 3/2. Predictions 3/2, 2, 5/2; residuals
    // -1/2, 1, -1/2, so MSE = (1/4 + 1 + 1/4)/3 = 1/2.
    let x = [0.0, 1.0, 2.0];
    let y = [1.0, 3.0, 2.0];
    let model = LinearRegressionConfig::ols().fit(&x, 3, 1, &y).unwrap();
    assert!((model.coef()[0] - 0.5).abs() < 1e-15, "{:?}", model.coef());
    assert!((model.intercept() - 1.5).abs() < 1e-15);
    let pred = model.predict(&x, 3, 1).unwrap();
    assert!(max_abs(&pred, &[1.5, 2.0, 2.5]) < 1e-15, "{pred:?}");
    assert!((mse(&y, &pred) - 0.5).abs() < 1e-15);
    // Ridge on the same points: w = Σ(x-x̄)(y-ȳ) / (Σ(x-x̄)² + alpha) = 1 / (2 + 2) = 1/4, b = 2 - 1/4.
    let ridge = LinearRegressionConfig::ridge(2.0)
        .fit(&x, 3, 1, &y)
        .unwrap();
    assert!((ridge.coef()[0] - 0.25).abs() < 1e-15);
    assert!((ridge.intercept() - 1.75).abs() < 1e-15);
}

#[test]
fn fitting_twice_gives_identical_coefficients() {
    let (x, n, d, y) = diabetes();
    for cfg in [
        LinearRegressionConfig::ols(),
        LinearRegressionConfig::ridge(0.5),
    ] {
        let a = cfg.fit(&x, n, d, &y).unwrap();
        let b = cfg.fit(&x, n, d, &y).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn a_wrong_feature_count_at_predict_is_a_shape_error_naming_both_counts() {
    let model = LinearRegressionConfig::ols()
        .fit(&[0.0, 1.0, 2.0, 1.0, 0.0, 1.0], 3, 2, &[1.0, 2.0, 0.0])
        .unwrap();
    let err = model.predict(&[1.0, 2.0, 3.0], 1, 3).unwrap_err();
    match &err {
        Error::Shape { expected, got, .. } => {
            assert!(
                expected.contains("2 features") && got.contains("3 features"),
                "{err}"
            );
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let cfg = LinearRegressionConfig::ols();
    // NaN in x names its row and column.
    let err = cfg
        .fit(&[0.0, f64::NAN, 2.0], 3, 1, &[1.0, 2.0, 3.0])
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { name, .. } if name.contains("row 1, column 0")),
        "{err}"
    );
    // Infinite target.
    assert!(matches!(
        cfg.fit(&[0.0, 1.0], 2, 1, &[1.0, f64::INFINITY]),
        Err(Error::InvalidArgument { .. })
    ));
    // No rows.
    assert!(matches!(
        cfg.fit(&[], 0, 3, &[]),
        Err(Error::InvalidArgument { .. })
    ));
    // Mismatched lengths.
    assert!(matches!(
        cfg.fit(&[0.0, 1.0], 2, 1, &[1.0]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        cfg.fit(&[0.0, 1.0, 2.0], 2, 1, &[1.0, 2.0]),
        Err(Error::Shape { .. })
    ));
    // Hyperparameters.
    for alpha in [-1.0, f64::NAN, f64::INFINITY] {
        let err = LinearRegressionConfig::ridge(alpha)
            .fit(&[0.0, 1.0], 2, 1, &[0.0, 1.0])
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { name, .. } if name == "alpha"),
            "{err}"
        );
    }
}

#[test]
fn named_tensors_have_the_nn_linear_layout_and_round_trip() {
    let (x, n, d, y) = diabetes();
    let model = LinearRegressionConfig::ols().fit(&x, n, d, &y).unwrap();
    let named = model.to_named_tensors();
    let names: Vec<(&str, &[usize])> = named.iter().map(|(k, t)| (k.as_str(), t.shape())).collect();
    // PyTorch nn.Linear(10, 1): weight [1, 10], bias [1].
    assert_eq!(
        names,
        vec![("weight", &[1usize, 10][..]), ("bias", &[1usize][..])]
    );
    let back = LinearRegression::from_named_tensors(&named).unwrap();
    for (a, b) in back.coef().iter().zip(model.coef()) {
        assert_eq!(*a, *b as f32 as f64);
    }
    assert_eq!(back.intercept(), model.intercept() as f32 as f64);
    assert!(back.lstsq_info().is_none());
}
