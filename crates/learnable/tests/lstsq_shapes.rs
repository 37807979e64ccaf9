//! Least squares on shapes beyond the diabetes case, against scikit-learn's `LinearRegression`
//! (scipy `lstsq`, LAPACK gelsd) and numpy's SVD: wide data (minimum norm), rank-deficient wide
//! and tall data, tall data over several row groups, an ill-conditioned design.
//! Fixture: `fixtures/reference/lstsq_shapes.json`, made by `gen_lstsq_shapes.py` beside it
//! (the matrices are a closed-form formula repeated below).

use learnable::models::linear_regression::LinearRegressionConfig;
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn cases() -> Value {
    let path = format!("{ROOT}/fixtures/reference/lstsq_shapes.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Value>(&text).unwrap()["cases"].clone()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The generator's formula (see gen_lstsq_shapes.py).
fn data(case: &Value) -> (Vec<f64>, usize, usize, Vec<f64>) {
    let n = case["n"].as_u64().unwrap() as usize;
    let d = case["d"].as_u64().unwrap() as usize;
    let mut x = vec![0.0; n * d];
    for i in 0..n {
        for j in 0..d {
            x[i * d + j] =
                (0.37 * i as f64 + 1.3 * j as f64).sin() + 0.1 * ((7 * i + 13 * j) % 17) as f64;
        }
    }
    for dup in case["dup"].as_array().unwrap() {
        let col = dup[0].as_u64().unwrap() as usize;
        for i in 0..n {
            x[i * d + col] = match &dup[1] {
                Value::Number(src) => x[i * d + src.as_u64().unwrap() as usize],
                Value::String(s) if s == "1+2*2" => x[i * d + 1] + 2.0 * x[i * d + 2],
                Value::String(s) if s == "3+1e-4*cos" => {
                    x[i * d + 3] + 1e-4 * (0.05 * i as f64).cos()
                }
                other => panic!("unknown column rule {other}"),
            };
        }
    }
    let y = (0..n)
        .map(|i| {
            (0..d)
                .map(|j| (j + 1) as f64 * x[i * d + j] * if j % 2 == 0 { 1.0 } else { -1.0 })
                .sum::<f64>()
                + 0.5 * (0.11 * i as f64).cos()
        })
        .collect();
    (x, n, d, y)
}

/// Relative to the largest magnitude of the reference (coefficients of a rank-deficient fit
/// are only defined as a whole vector).
fn max_err(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn every_shape_matches_scikit_learn() {
    let cases = cases();
    for (name, case) in cases.as_object().unwrap() {
        let (x, n, d, y) = data(case);
        let model = LinearRegressionConfig::ols().fit(&x, n, d, &y).unwrap();
        let info = model.lstsq_info().unwrap();
        assert_eq!(
            info.rank,
            case["rank"].as_u64().unwrap() as usize,
            "{name}: rank"
        );
        let sv = f64s(&case["singular_values"]);
        assert_eq!(
            info.singular_values.len(),
            sv.len(),
            "{name}: min(n, d) values"
        );
        let e_sv = max_err(&info.singular_values, &sv);
        // cond ~1e5 in the ill-conditioned case: the solution moves by cond·(rounding of the
        // inputs, which differ in sin/cos's last bit between numpy and Rust).
        let tol = if name.contains("ill") { 1e-8 } else { 1e-10 };
        let e_coef = max_err(model.coef(), &f64s(&case["coef"]));
        let want_b = case["intercept"].as_f64().unwrap();
        let e_b = (model.intercept() - want_b).abs() / want_b.abs().max(1.0);
        let pred = model.predict(&x[..5 * d], 5, d).unwrap();
        let e_pred = max_err(&pred, &f64s(&case["pred_first5"]));
        eprintln!("{name}: coef {e_coef:.1e} intercept {e_b:.1e} sv {e_sv:.1e} pred {e_pred:.1e}");
        assert!(e_sv < 1e-12, "{name}: singular values off by {e_sv:e}");
        assert!(e_coef < tol, "{name}: coef off by {e_coef:e}");
        assert!(e_b < tol, "{name}: intercept off by {e_b:e}");
        assert!(e_pred < 1e-10, "{name}: predictions off by {e_pred:e}");
    }
}

#[test]
fn the_fit_is_bit_identical_on_one_and_two_threads() {
    let cases = cases();
    let (x, n, d, y) = data(&cases["tall_three_groups_9000x7"]);
    let fit = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                LinearRegressionConfig::ridge(0.5)
                    .fit(&x, n, d, &y)
                    .unwrap()
            })
    };
    let (one, two) = (fit(1), fit(2));
    assert_eq!(one.coef(), two.coef());
    assert_eq!(one.intercept(), two.intercept());
}
