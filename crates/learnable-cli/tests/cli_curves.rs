//! `learnable validation-curve` / `learning-curve`: the JSON numbers equal scikit-learn's
//! `validation_curve` on diabetes (fixture `fixtures/reference/curves.json`, `gen_curves.py`)
//! when the data are used as scikit-learn sees them, the files written by --out, and clear
//! errors for bad requests.

mod common;
use common::{learnable, out_str};

use serde_json::Value;

#[test]
fn ridge_alpha_curve_as_json_matches_scikit_learn_and_is_written_to_out() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "validation-curve",
            "--dataset",
            "diabetes",
            "--model",
            "ridge",
        ])
        .args(["--param", "alpha", "--values", "0.001,0.1,1,10,100,10000"])
        .args([
            "--test-size",
            "0",
            "--no-standardize",
            "--json",
            "--out",
            "c",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/reference/curves.json"
    );
    let want: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let val = &want["ridge_alpha"]["val_scores"];
    for (i, p) in got["curve"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for k in 0..5 {
            let (a, b) = (
                p["val_scores"][k].as_f64().unwrap(),
                val[i][k].as_f64().unwrap(),
            );
            assert!((a - b).abs() < 1e-6, "point {i} fold {k}: {a} vs {b}");
        }
    }
    assert_eq!(
        got["diagnosis"]["verdicts"][5]["verdict"],
        "underfit (high bias)"
    );
    let csv = std::fs::read_to_string(tmp.path().join("c/curve.csv")).unwrap();
    assert!(csv.starts_with("alpha,fold,train_rows,train_r2,val_r2,train_loss,val_loss\n"));
    assert_eq!(csv.lines().count(), 1 + 6 * 5);
    assert!(tmp.path().join("c/curve.json").exists());
}

#[test]
fn learning_curve_prints_a_table_with_a_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "learning-curve",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--folds",
            "3",
        ])
        .output()
        .unwrap();
    // iris's training rows come sorted by class: the first 10% of a fold are one class.
    assert_eq!(o.status.code(), Some(1), "{}", out_str(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--shuffle"),
        "{}",
        out_str(&o)
    );
    let o = learnable(tmp.path())
        .args([
            "learning-curve",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--folds",
            "3",
        ])
        .arg("--shuffle")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("learning curve of train_size on iris (3-fold, stratified"),
        "{s}"
    );
    assert!(s.contains("* best"), "{s}");
}

#[test]
fn bad_requests_are_clear_errors_before_any_fit() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, expect) in [
        (vec!["--param", "size", "--values", "1"], "size"),
        (vec!["--param", "width", "--values", "1,wide"], "wide"),
        (vec!["--param", "alpha", "--values", "1"], "alpha"),
        (
            vec!["--param", "width", "--values", "4", "--folds", "200"],
            "folds",
        ),
    ] {
        let o = learnable(tmp.path())
            .args(["validation-curve", "--dataset", "iris", "--model", "mlp"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", out_str(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(expect) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}
