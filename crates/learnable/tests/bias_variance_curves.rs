//! Validation and learning curves against scikit-learn's `validation_curve` and
//! `learning_curve` on the closed-form models (fixture `fixtures/reference/curves.json`, made
//! by `gen_curves.py` beside it) to 1e-6 (the models are evaluated in f32, as every learnable
//! model; the fits are f64), and thread-count invariance of an MLP curve.

use learnable::bias_variance::{CurveOptions, diagnose, learning_curve, validation_curve};
use learnable::data::{Options, Source, SplitSize};
use learnable::fit::{FitConfig, FitData, ModelKind};
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn fixture() -> Value {
    let path = format!("{ROOT}/fixtures/reference/curves.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// Every row a training row, in file order, unscaled: what scikit-learn sees.
fn raw(name: &str) -> FitData {
    let options = Options {
        val_size: SplitSize::Fraction(0.0),
        test_size: SplitSize::Fraction(0.0),
        standardize: false,
        ..Options::default()
    };
    FitData::prepare(&Source::Bundled(name.into()), &options).unwrap()
}

#[test]
fn ridge_validation_curve_matches_scikit_learn() {
    let f = &fixture()["ridge_alpha"];
    let values: Vec<String> = f["alphas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap().to_string())
        .collect();
    let config = FitConfig::defaults(ModelKind::Ridge);
    let curve = validation_curve(
        &config,
        &raw("diabetes"),
        "alpha",
        &values,
        CurveOptions::default(),
        None,
    )
    .unwrap();
    assert_eq!(curve.metric, "r2");
    let (train, val) = (matrix(&f["train_scores"]), matrix(&f["val_scores"]));
    for (i, p) in curve.points.iter().enumerate() {
        for k in 0..5 {
            assert!(
                (p.train_scores[k] - train[i][k]).abs() < 1e-6,
                "alpha {} fold {k} train: {} vs {}",
                p.value,
                p.train_scores[k],
                train[i][k]
            );
            assert!(
                (p.val_scores[k] - val[i][k]).abs() < 1e-6,
                "alpha {} fold {k} val",
                p.value
            );
        }
    }
    // alpha = 10000 shrinks the weights to ~0: validation R² near 0, train R² near 0: underfit.
    let d = diagnose(&curve);
    assert_eq!(d.verdicts.last().unwrap().label(), "underfit (high bias)");
}

#[test]
fn linear_learning_curve_matches_scikit_learn() {
    let f = &fixture()["linear_learning_curve"];
    let sizes: Vec<f64> = f["fractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap())
        .collect();
    let config = FitConfig::defaults(ModelKind::Linear);
    let curve = learning_curve(
        &config,
        &raw("diabetes"),
        &sizes,
        CurveOptions::default(),
        None,
    )
    .unwrap();
    let rows: Vec<String> = f["train_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let (train, val) = (matrix(&f["train_scores"]), matrix(&f["val_scores"]));
    for (i, p) in curve.points.iter().enumerate() {
        assert_eq!(p.value, rows[i]);
        for k in 0..5 {
            assert!(
                (p.train_scores[k] - train[i][k]).abs() < 1e-6,
                "size {} fold {k} train: {} vs {}",
                p.value,
                p.train_scores[k],
                train[i][k]
            );
            assert!(
                (p.val_scores[k] - val[i][k]).abs() < 1e-6,
                "size {} fold {k} val",
                p.value
            );
        }
    }
}

#[test]
fn an_mlp_curve_is_identical_on_one_and_two_threads() {
    let data = raw("iris");
    let config = FitConfig {
        epochs: 5,
        ..FitConfig::defaults(ModelKind::Mlp)
    };
    let values = vec!["2".to_string(), "16".to_string()];
    let opts = CurveOptions {
        folds: 3,
        shuffle_seed: Some(1),
    };
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| validation_curve(&config, &data, "width", &values, opts, None).unwrap())
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn bad_requests_fail_before_any_fit() {
    let data = raw("iris");
    let config = FitConfig::defaults(ModelKind::Mlp);
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let e = validation_curve(
        &config,
        &data,
        "alpha",
        &v(&["1"]),
        CurveOptions::default(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("alpha"), "{e}");
    let e = validation_curve(
        &config,
        &data,
        "width",
        &v(&["wide"]),
        CurveOptions::default(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("width") && e.contains("wide"), "{e}");
    let opts = CurveOptions {
        folds: 51,
        shuffle_seed: None,
    };
    let e = validation_curve(&config, &data, "width", &v(&["4"]), opts, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("folds") && e.contains("only 50 rows"), "{e}");
}
