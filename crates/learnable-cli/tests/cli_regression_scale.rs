//! End-to-end: gradient-descent regression standardises its target (a newcomer's MLP got
//! R² = -74 on a target around 1e5). Predictions and metrics must come back in original units;
//! classifiers must not be touched.

mod common;
use common::learnable;

use std::path::Path;

fn stdout(args: &[&str], dir: &Path) -> String {
    let out = learnable(dir).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// y = 1e5 + 3e4·x + noise, x on a grid in [-2, 2], noise = 500·sin(7i) (std ≈ 350, by hand:
/// 500/√2). The noise-free R² is 1 - 350²/(3e4²·var(x)) ≈ 0.9998, so an MLP that learns the
/// line reaches far above 0.9. Returns the file text and the targets.
fn big_target_csv() -> (String, Vec<f64>) {
    let mut text = String::from("x,y\n");
    let mut ys = Vec::new();
    for i in 0..300 {
        let x = -2.0 + 4.0 * i as f64 / 299.0;
        let y = 1e5 + 3e4 * x + 500.0 * (7.0 * i as f64).sin();
        text.push_str(&format!("{x:.6},{y:.3}\n"));
        ys.push(y);
    }
    (text, ys)
}

#[test]
fn an_mlp_on_a_target_around_1e5_fits_well_and_predicts_in_original_units() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (csv, ys) = big_target_csv();
    std::fs::write(dir.join("big.csv"), csv).unwrap();
    let out = stdout(
        &[
            "train", "--data", "big.csv", "--target", "y", "--model", "mlp", "--out", "m",
        ],
        dir,
    );
    let r2: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("test r2: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test r2 line in:\n{out}"));
    assert!(r2 > 0.9, "test r2 {r2}");

    // The stored scaling is the training split's; it must lie near the whole file's mean and
    // population std (mean 1e5, std ≈ 3e4·4/√12 ≈ 34700 by hand for the uniform grid).
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m/config.json")).unwrap()).unwrap();
    let scaling = &config["training"]["target_scaling"];
    let mean_all = ys.iter().sum::<f64>() / ys.len() as f64;
    let mean = scaling["mean"].as_f64().unwrap();
    let std = scaling["std"].as_f64().unwrap();
    assert!((mean - mean_all).abs() < 5e3, "mean {mean} vs {mean_all}");
    assert!((std - 34700.0).abs() < 4e3, "std {std}");

    // Predictions in original units: the line gives 1e5 at x = 0 and 1.3e5 at x = 1.
    std::fs::write(dir.join("new.csv"), "x\n0\n1\n").unwrap();
    let pred = stdout(&["predict", "--model", "m", "--data", "new.csv"], dir);
    let values: Vec<f64> = pred
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!((values[0] - 1e5).abs() < 3e3, "{pred}");
    assert!((values[1] - 1.3e5).abs() < 3e3, "{pred}");

    // eval on the whole file: R² in original units.
    let eval = stdout(
        &["eval", "--model", "m", "--data", "big.csv", "--json"],
        dir,
    );
    let metrics: serde_json::Value = serde_json::from_str(&eval).unwrap();
    assert!(metrics["r2"].as_f64().unwrap() > 0.9, "{eval}");
}

#[test]
fn classifiers_and_closed_form_regression_get_no_target_scaling() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = stdout(
        &[
            "train",
            "--dataset",
            "iris",
            "--model",
            "mlp",
            "--out",
            "iris",
        ],
        dir,
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("iris/config.json")).unwrap())
            .unwrap();
    assert!(config["training"]["target_scaling"].is_null(), "{config}");
    // iris is nearly separable: an MLP classifies well above chance (1/3).
    let acc: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test accuracy in:\n{out}"));
    assert!(acc > 0.8, "iris mlp accuracy {acc}");

    let (csv, _) = big_target_csv();
    std::fs::write(dir.join("big.csv"), csv).unwrap();
    stdout(
        &[
            "train", "--data", "big.csv", "--target", "y", "--model", "linear", "--out", "lin",
        ],
        dir,
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("lin/config.json")).unwrap())
            .unwrap();
    assert!(config["training"]["target_scaling"].is_null(), "{config}");
}
