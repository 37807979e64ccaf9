//! End-to-end tests of `learnable train`, `eval` and `predict`: the real binary in a temporary
//! directory.

mod common;
use common::{learnable, out_str};

use predicates::prelude::*;

/// Parses "test accuracy: 0.9750" from the train output.
fn reported(o: &str, key: &str) -> f64 {
    let line = o
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no '{key}' in:\n{o}"));
    line[key.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_default_mlp_on_digits_reaches_at_least_095_test_accuracy() {
    // The target for the full default run is >= 0.97; CI trains 15 epochs and asserts
    // >= 0.95 on the fixed seeded test split (359 rows: 20% of each class, rounded).
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args(["train", "--epochs", "15", "--out", "m"])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{text}");
    let acc = reported(&text, "test accuracy:");
    assert!(acc >= 0.95, "accuracy {acc}\n{text}");
    for f in ["config.json", "model.safetensors", "history.csv"] {
        assert!(tmp.path().join("m").join(f).exists(), "missing {f}");
    }
    let history = std::fs::read_to_string(tmp.path().join("m/history.csv")).unwrap();
    assert_eq!(history.lines().count(), 16, "{history}");
    assert!(history.starts_with(
        "epoch,train_loss,train_metric,val_loss,val_metric,grad_norm,learning_rate,seconds"
    ));

    // eval on the same dataset reproduces the test split and the same accuracy.
    let e = learnable(tmp.path())
        .args(["eval", "--model", "m", "--dataset", "digits", "--json"])
        .output()
        .unwrap();
    assert!(e.status.success(), "{}", out_str(&e));
    let v: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    assert!((v["accuracy"].as_f64().unwrap() - acc).abs() < 1e-4, "{v}");
    assert_eq!(v["rows"].as_u64().unwrap(), 359);
    let cm = v["confusion_matrix"].as_array().unwrap();
    let total: u64 = cm
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 359);

    // predict: probabilities per class that sum to 1, logits with --logits.
    let p = learnable(tmp.path())
        .args([
            "predict",
            "--model",
            "m",
            "--dataset",
            "digits",
            "--logits",
            "--out",
            "pred.csv",
        ])
        .output()
        .unwrap();
    assert!(p.status.success(), "{}", out_str(&p));
    let csv = std::fs::read_to_string(tmp.path().join("pred.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 2 + 10 + 10, "{header:?}");
    assert_eq!(&header[..3], &["row", "prediction", "p_0"]);
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    let s: f64 = first[2..12].iter().map(|v| v.parse::<f64>().unwrap()).sum();
    assert!((s - 1.0).abs() < 1e-4, "{first:?}");
}

#[test]
fn resuming_after_epoch_3_ends_at_the_same_parameters_as_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let common = [
        "train",
        "--dataset",
        "iris",
        "--hidden",
        "16",
        "--dropout",
        "0.1",
        "--quiet",
    ];
    let a = learnable(tmp.path())
        .args(common)
        .args(["--epochs", "6", "--out", "a"])
        .output()
        .unwrap();
    assert!(a.status.success(), "{}", out_str(&a));
    let b1 = learnable(tmp.path())
        .args(common)
        .args(["--epochs", "3", "--out", "b"])
        .output()
        .unwrap();
    assert!(b1.status.success(), "{}", out_str(&b1));
    let b2 = learnable(tmp.path())
        .args(common)
        .args(["--epochs", "6", "--out", "b", "--resume"])
        .output()
        .unwrap();
    assert!(b2.status.success(), "{}", out_str(&b2));
    assert!(out_str(&b2).contains("resuming from"), "{}", out_str(&b2));
    for f in [
        "model.safetensors",
        "checkpoint/model.safetensors",
        "checkpoint/optimizer.safetensors",
    ] {
        let x = std::fs::read(tmp.path().join("a").join(f)).unwrap();
        let y = std::fs::read(tmp.path().join("b").join(f)).unwrap();
        assert!(
            x == y,
            "{f} differs between the uninterrupted and the resumed run"
        );
    }
    let ha = std::fs::read_to_string(tmp.path().join("a/history.csv")).unwrap();
    let hb = std::fs::read_to_string(tmp.path().join("b/history.csv")).unwrap();
    let strip = |h: &str| {
        h.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&ha), strip(&hb), "history (without timings) differs");
}

#[test]
fn training_twice_with_one_seed_gives_identical_models() {
    let tmp = tempfile::tempdir().unwrap();
    for out in ["x", "y"] {
        let o = learnable(tmp.path())
            .args([
                "train",
                "--dataset",
                "wine",
                "--epochs",
                "3",
                "--quiet",
                "--seed",
                "7",
                "--out",
                out,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", out_str(&o));
    }
    let x = std::fs::read(tmp.path().join("x/model.safetensors")).unwrap();
    let y = std::fs::read(tmp.path().join("y/model.safetensors")).unwrap();
    assert!(x == y);
}

#[test]
fn closed_form_models_train_on_bundled_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "linear",
            "--out",
            "lin",
        ])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{text}");
    // OLS on diabetes explains about half the variance (sklearn's train R^2 is 0.5177 on all rows).
    let r2 = reported(&text, "test r2:");
    assert!(r2 > 0.3 && r2 < 0.7, "{text}");
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--out",
            "sm",
        ])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{text}");
    assert!(reported(&text, "test accuracy:") >= 0.9, "{text}");
    let e = learnable(tmp.path())
        .args(["eval", "--model", "lin", "--dataset", "diabetes"])
        .output()
        .unwrap();
    assert!(e.status.success(), "{}", out_str(&e));
    assert!(out_str(&e).contains("mse:") && out_str(&e).contains("r2:"));
}

#[test]
fn user_errors_exit_nonzero_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--dataset", "nope"], "nope"),
        (&["train", "--val-fraction", "1.5"], "--val-fraction 1.5"),
        (
            &["train", "--learning-rate=-1", "--epochs", "1"],
            "--learning-rate -1",
        ),
        (&["train", "--dropout", "1.0", "--epochs", "1"], "dropout"),
        (
            &["train", "--activation", "swish", "--epochs", "1"],
            "activation",
        ),
        (
            &["train", "--resume", "--out", "none", "--epochs", "1"],
            "--resume",
        ),
        (
            &["train", "--dataset", "iris", "--model", "linear"],
            "categorical",
        ),
        (
            &["eval", "--model", "missing", "--dataset", "iris"],
            "does not exist",
        ),
        (
            &["predict", "--model", "missing", "--dataset", "iris"],
            "does not exist",
        ),
    ];
    for (args, needle) in cases {
        let o = learnable(tmp.path()).args(*args).output().unwrap();
        let text = out_str(&o);
        assert!(!o.status.success(), "{args:?} succeeded:\n{text}");
        assert!(
            text.contains(needle),
            "{args:?}: expected '{needle}' in:\n{text}"
        );
        assert!(!text.contains("panicked"), "{args:?} panicked:\n{text}");
    }
}

#[test]
fn a_truncated_checkpoint_is_reported_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "m",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let f = tmp.path().join("m/model.safetensors");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    learnable(tmp.path())
        .args(["predict", "--model", "m", "--dataset", "iris"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("model.safetensors")
                .and(predicate::str::contains("panicked").not()),
        );
}
