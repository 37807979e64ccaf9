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

// ---------------------------------------------------------------------------------------------
// Logistic and softmax regression (fixtures/reference/logistic_regression.json).

use learnable::models::logistic_regression::{LogisticRegression, LogisticRegressionConfig};

/// A bundled classification CSV: a count header line, then rows of features and an integer
/// label in the last column.
fn load_classification(path: &str) -> (Vec<f64>, usize, usize, Vec<usize>) {
    let text = std::fs::read_to_string(format!("{ROOT}/{path}")).expect("data file");
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut d = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        d = fields.len() - 1;
        x.extend(
            fields[..d]
                .iter()
                .map(|t| t.trim().parse::<f64>().expect("number")),
        );
        y.push(fields[d].trim().parse::<usize>().expect("label"));
    }
    (x, y.len(), d, y)
}

/// StandardScaler: population mean and std (ddof = 0), as scikit-learn. Returns (mean, scale).
fn standardise(x: &mut [f64], n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64)
        .collect();
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            ((0..n)
                .map(|i| (x[i * d + j] - mean[j]).powi(2))
                .sum::<f64>()
                / n as f64)
                .sqrt()
        })
        .collect();
    for i in 0..n {
        for j in 0..d {
            x[i * d + j] = (x[i * d + j] - mean[j]) / scale[j];
        }
    }
    (mean, scale)
}

fn flat(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .flat_map(|r| f64s(r))
        .collect()
}

/// Fits one `cases` entry of logistic_regression.json (with `newton_steps` Newton steps after
/// L-BFGS; 0 checks L-BFGS alone) and checks it at the README's tolerances (section 2); prints
/// the measured errors.
fn check_logistic_case(name: &str, file: &str, newton_steps: usize) {
    let case = &fixture("logistic_regression.json")["cases"][name];
    let (mut x, n, d, y) = load_classification(file);
    let (mean, scale) = standardise(&mut x, n, d);
    let e_mean = max_rel(&mean, &f64s(&case["scaler_mean"]));
    let e_scale = max_rel(&scale, &f64s(&case["scaler_scale"]));
    assert!(
        e_mean < 1e-12 && e_scale < 1e-12,
        "{name}: scaler mean {e_mean:e} scale {e_scale:e}"
    );

    let c = case["settings"].as_str().unwrap();
    assert!(c.contains("C=1.0"), "{c}");
    let model = LogisticRegressionConfig {
        c: 1.0,
        newton_steps,
        ..Default::default()
    }
    .fit(&x, n, d, &y)
    .unwrap();
    let shape: Vec<usize> = case["coef_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(
        [model.n_outputs(), model.n_features()],
        [shape[0], shape[1]]
    );

    let newton = &case["newton_refined"];
    let e_coef_newton = max_abs(model.coef(), &flat(&newton["coef"]));
    let e_int_newton = max_abs(model.intercept(), &f64s(&newton["intercept"]));
    let e_coef_sk = max_abs(model.coef(), &flat(&case["coef"]));
    let e_int_sk = max_abs(model.intercept(), &f64s(&case["intercept"]));
    let proba = model.predict_proba(&x, n, d).unwrap();
    let k = model.n_classes();
    let e_proba = max_abs(&proba[..5 * k], &flat(&case["predict_proba_first5"]));
    let df = model.decision_function(&x, n, d).unwrap();
    let df_ref = &case["decision_function_first5"];
    let df_ref: Vec<f64> = if model.n_outputs() == 1 {
        f64s(df_ref)
    } else {
        flat(df_ref)
    };
    let e_df = max_abs(&df[..df_ref.len()], &df_ref);
    let info = model.fit_info().unwrap();
    let obj_ref = case["objective_value"].as_f64().unwrap();
    let e_obj = (info.objective - obj_ref).abs() / obj_ref;
    let pred = model.predict(&x, n, d).unwrap();
    let acc = pred.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / n as f64;
    eprintln!(
        "{name} (newton_steps {newton_steps}): coef max abs err vs newton_refined {e_coef_newton:.2e}, intercept {e_int_newton:.2e}; \
         vs sklearn coef {e_coef_sk:.2e}, intercept {e_int_sk:.2e}; predict_proba_first5 {e_proba:.2e}; \
         decision_function_first5 {e_df:.2e}; objective rel {e_obj:.2e}; accuracy {acc} (ref {}); \
         lbfgs n_iter {} ({:?}), newton steps {}, final max|grad| {:.2e}",
        case["train_accuracy"], info.n_iter, info.termination, info.n_newton_steps, info.grad_max
    );
    // Tolerances from fixtures/reference/README.md section 2.
    assert!(
        info.grad_max < 1e-9,
        "{name}: not converged, max|grad| {:e}",
        info.grad_max
    );
    assert!(
        e_coef_newton < 1e-7 && e_int_newton < 1e-7,
        "{name}: {e_coef_newton:e} {e_int_newton:e}"
    );
    assert!(
        e_coef_sk < 1e-5 && e_int_sk < 1e-5,
        "{name}: vs sklearn {e_coef_sk:e} {e_int_sk:e}"
    );
    assert!(e_proba < 1e-6, "{name}: predict_proba {e_proba:e}");
    assert!(e_df < 1e-5, "{name}: decision_function {e_df:e}");
    assert!(e_obj < 1e-9, "{name}: objective {e_obj:e}");
    assert_eq!(
        acc,
        case["train_accuracy"].as_f64().unwrap(),
        "{name}: train accuracy"
    );
    // Rows of probabilities sum to one.
    for row in proba.chunks_exact(k) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}

#[test]
fn binary_logistic_regression_matches_scikit_learn_on_breast_cancer() {
    check_logistic_case(
        "breast_cancer_binary",
        "data/breast_cancer/breast_cancer.csv",
        10,
    );
}

#[test]
fn lbfgs_alone_converges_to_the_optimum_on_breast_cancer() {
    check_logistic_case(
        "breast_cancer_binary",
        "data/breast_cancer/breast_cancer.csv",
        0,
    );
}

#[test]
fn softmax_regression_matches_scikit_learn_on_iris() {
    check_logistic_case("iris_multinomial", "data/iris/iris.csv", 10);
}

#[test]
fn lbfgs_alone_converges_to_the_optimum_on_iris() {
    check_logistic_case("iris_multinomial", "data/iris/iris.csv", 0);
}

#[test]
fn softmax_intercepts_sum_to_zero_and_coefficient_columns_too() {
    // At the optimum the penalty makes every coefficient column sum to zero, and L-BFGS from
    // zero keeps Σ intercepts = 0 (fixture README section 2; the fixture's sum_of_intercepts).
    let (mut x, n, d, y) = load_classification("data/iris/iris.csv");
    standardise(&mut x, n, d);
    let model = LogisticRegressionConfig::default()
        .fit(&x, n, d, &y)
        .unwrap();
    assert!(model.intercept().iter().sum::<f64>().abs() < 1e-9);
    for j in 0..d {
        let col: f64 = (0..3).map(|k| model.coef()[k * d + j]).sum();
        assert!(col.abs() < 1e-9, "column {j}: {col}");
    }
}

#[test]
fn fitting_logistic_regression_twice_gives_identical_coefficients() {
    let (mut x, n, d, y) = load_classification("data/iris/iris.csv");
    standardise(&mut x, n, d);
    let cfg = LogisticRegressionConfig {
        c: 0.5,
        ..Default::default()
    };
    assert_eq!(
        cfg.fit(&x, n, d, &y).unwrap(),
        cfg.fit(&x, n, d, &y).unwrap()
    );
}

#[test]
fn a_separable_pair_of_points_gives_the_hand_derived_optimum() {
    // One feature, points x = -1 (class 0) and x = +1 (class 1), C = 1. By symmetry b = 0 and
    // the optimum solves w = C·Σ(y - σ(wx))x = 2·(1 - σ(w)), i.e. w = 2σ(-w), whose root
    // (bisection by hand to 1e-15 in f64) is w = 0.9178640147896...; check the equation itself.
    let model = LogisticRegressionConfig::default()
        .fit(&[-1.0, 1.0], 2, 1, &[0, 1])
        .unwrap();
    let w = model.coef()[0];
    let sigmoid_neg_w = 1.0 / (1.0 + w.exp());
    assert!((w - 2.0 * sigmoid_neg_w).abs() < 1e-12, "w = {w}");
    assert!(model.intercept()[0].abs() < 1e-12);
    assert_eq!(model.predict(&[-3.0, 0.5], 2, 1).unwrap(), vec![0, 1]);
}

#[test]
fn logistic_regression_rejects_bad_input_with_typed_errors() {
    let x = [0.0, 1.0, 2.0, 3.0];
    // Wrong feature count at predict names both counts.
    let model = LogisticRegressionConfig::default()
        .fit(&x, 4, 1, &[0, 0, 1, 1])
        .unwrap();
    match model.predict_proba(&[1.0, 2.0], 1, 2).unwrap_err() {
        Error::Shape { expected, got, .. } => {
            assert!(expected.contains("1 features") && got.contains("2 features"))
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    // Hyperparameters.
    for c in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = LogisticRegressionConfig {
            c,
            ..Default::default()
        }
        .fit(&x, 4, 1, &[0, 0, 1, 1])
        .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { name, .. } if name == "C"),
            "{err}"
        );
    }
    let err = LogisticRegressionConfig {
        max_iter: 0,
        ..Default::default()
    }
    .fit(&x, 4, 1, &[0, 0, 1, 1])
    .unwrap_err();
    assert!(matches!(&err, Error::InvalidArgument { name, .. } if name == "max_iter"));
    // One class only; a missing class; NaN input; no rows; label count mismatch.
    assert!(matches!(
        LogisticRegressionConfig::default().fit(&x, 4, 1, &[0, 0, 0, 0]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        LogisticRegressionConfig::default().fit(&x, 4, 1, &[0, 2, 0, 2]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        LogisticRegressionConfig::default().fit(&[0.0, f64::NAN], 2, 1, &[0, 1]),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(
        LogisticRegressionConfig::default()
            .fit(&[], 0, 1, &[])
            .is_err()
    );
    assert!(matches!(
        LogisticRegressionConfig::default().fit(&x, 4, 1, &[0, 1]),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn logistic_named_tensors_have_the_nn_linear_layout_and_round_trip() {
    let (mut x, n, d, y) = load_classification("data/iris/iris.csv");
    standardise(&mut x, n, d);
    let model = LogisticRegressionConfig::default()
        .fit(&x, n, d, &y)
        .unwrap();
    let named = model.to_named_tensors();
    // PyTorch nn.Linear(4, 3): weight [3, 4], bias [3].
    let names: Vec<(&str, &[usize])> = named.iter().map(|(k, t)| (k.as_str(), t.shape())).collect();
    assert_eq!(
        names,
        vec![("weight", &[3usize, 4][..]), ("bias", &[3usize][..])]
    );
    let back = LogisticRegression::from_named_tensors(&named).unwrap();
    assert_eq!(back.n_classes(), 3);
    for (a, b) in back.coef().iter().zip(model.coef()) {
        assert_eq!(*a, *b as f32 as f64);
    }
    // f32 rounding of the parameters does not change any iris prediction.
    assert_eq!(
        back.predict(&x, n, d).unwrap(),
        model.predict(&x, n, d).unwrap()
    );
    // A binary model exports one row.
    let bin = LogisticRegressionConfig::default()
        .fit(&[0.0, 1.0, 2.0, 3.0], 4, 1, &[0, 0, 1, 1])
        .unwrap();
    assert_eq!(bin.to_named_tensors()[0].1.shape(), &[1, 1]);
    assert_eq!(
        LogisticRegression::from_named_tensors(&bin.to_named_tensors())
            .unwrap()
            .n_classes(),
        2
    );
}

#[test]
fn a_vanishing_c_gives_zero_coefficients_and_the_log_odds_intercept_on_breast_cancer() {
    // As C -> 0 the penalty dominates the coefficients (W = 0) while the unpenalised intercept
    // still minimises the log loss: σ(b) = n1/n, i.e. b = log(n1/n0) (by hand). The model then
    // predicts the majority class for every row.
    let (mut x, n, d, y) = load_classification("data/breast_cancer/breast_cancer.csv");
    standardise(&mut x, n, d);
    let n1 = y.iter().filter(|&&k| k == 1).count() as f64;
    let n0 = n as f64 - n1;
    let cfg = LogisticRegressionConfig {
        c: 1e-30,
        ..LogisticRegressionConfig::default()
    };
    let model = cfg.fit(&x, n, d, &y).unwrap();
    let coef_max = model.coef().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(coef_max < 1e-20, "coef max abs {coef_max:e}");
    let b = model.intercept()[0];
    assert!(
        (b - (n1 / n0).ln()).abs() < 1e-12,
        "intercept {b} vs {}",
        (n1 / n0).ln()
    );
    let pred = model.predict(&x, n, d).unwrap();
    let majority = if n1 > n0 { 1 } else { 0 };
    assert!(pred.iter().all(|&p| p == majority));
    assert!(model.fit_info().unwrap().converged);
}

#[test]
fn a_huge_c_on_separable_data_gives_a_separating_model_not_zeros() {
    // x = -2, -1, 1, 2 with labels 0, 0, 1, 1 is separated by x = 0 (by hand). At C = 1e300
    // the penalty is negligible and the weight grows as far as the solver goes: it must be
    // positive and large, the intercept near 0 by symmetry, and every row classified right.
    let x = [-2.0, -1.0, 1.0, 2.0];
    let y = [0, 0, 1, 1];
    let cfg = LogisticRegressionConfig {
        c: 1e300,
        ..LogisticRegressionConfig::default()
    };
    let model = cfg.fit(&x, 4, 1, &y).unwrap();
    let w = model.coef()[0];
    let b = model.intercept()[0];
    assert!(w.is_finite() && w > 5.0, "w {w}");
    assert!(b.abs() < 1e-3 * w, "b {b}, w {w}");
    assert_eq!(model.predict(&x, 4, 1).unwrap(), y);
    // The same on three classes (softmax): 1-D points -3..3 in three separated groups.
    let x3 = [-3.0, -2.5, 0.0, 0.5, 2.5, 3.0];
    let y3 = [0, 0, 1, 1, 2, 2];
    let model = cfg.fit(&x3, 6, 1, &y3).unwrap();
    assert!(model.coef().iter().all(|v| v.is_finite()));
    assert!(model.coef().iter().any(|v| v.abs() > 1.0));
    assert_eq!(model.predict(&x3, 6, 1).unwrap(), y3);
}

#[test]
fn stopping_at_max_iter_is_reported_as_not_converged() {
    // One L-BFGS iteration and no Newton steps cannot reach max|grad| <= 1e-12·C·n on
    // breast_cancer (lbfgs_alone_converges_to_the_optimum_on_breast_cancer needs dozens).
    let (mut x, n, d, y) = load_classification("data/breast_cancer/breast_cancer.csv");
    standardise(&mut x, n, d);
    let cfg = LogisticRegressionConfig {
        max_iter: 1,
        newton_steps: 0,
        ..LogisticRegressionConfig::default()
    };
    let info = cfg.fit(&x, n, d, &y).unwrap().fit_info().unwrap().clone();
    assert_eq!(
        info.termination,
        learnable::models::lbfgs::Termination::MaxIter
    );
    assert!(!info.converged, "{info:?}");
}
