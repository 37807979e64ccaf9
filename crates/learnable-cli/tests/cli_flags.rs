//! The command line speaks in flags: an invalid setting is named by the flag the user typed
//! (`--batch-size`, not the library's `batch_size`), and every option the user gave that the
//! run ignores gets one warning line on stderr while the run still goes on.
//!
//! Expected texts: the flag names are the clap definitions in cmd/train.rs, prep.rs and
//! cmd/predict.rs; the allowed ranges are the library's own (`Error::invalid` call sites in
//! learnable and learnable-data, `SamplingError::invalid` in learnable::sampling); the format
//! is the one documented in src/flags.rs.

mod common;

use common::learnable;
use std::path::Path;

/// Runs `learnable ARGS` in `dir`: (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = learnable(dir).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The `warning:` lines of stderr, in order.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect()
}

#[test]
fn an_invalid_setting_is_reported_with_the_flag_the_user_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let iris = ["train", "--dataset", "iris", "--epochs", "1", "--quiet"];
    let cases: &[(&[&str], &[&str], &str)] = &[
        (
            &iris,
            &["--batch-size", "0"],
            "error: --batch-size 0 is out of range: allowed >= 1",
        ),
        (
            &iris,
            &["--learning-rate", "-1"],
            "error: --learning-rate -1 is out of range: allowed finite and > 0",
        ),
        (
            &iris,
            &["--val-fraction", "1.5"],
            "error: --val-fraction 1.5 is out of range: allowed 0 <= fraction < 1",
        ),
        (
            &iris,
            &["--val-fraction", "0.6", "--test-fraction", "0.6"],
            "error: --val-fraction + --test-fraction 1.2 is out of range: allowed < 1 (some rows must be left for training)",
        ),
        (
            &["train", "--dataset", "iris", "--quiet"],
            &["--epochs", "0"],
            "error: --epochs 0 is out of range: allowed >= 1",
        ),
        (
            &iris,
            &["--dropout", "1.5"],
            "error: --dropout 1.5 is out of range: allowed [0, 1)",
        ),
        (
            &iris,
            &["--weight-decay", "-1"],
            "error: --weight-decay -1 is out of range: allowed finite and >= 0",
        ),
        (
            &iris,
            &["--optimizer", "sgd", "--momentum", "2"],
            "error: --momentum 2 is out of range: allowed [0, 1)",
        ),
        (
            &iris,
            &["--max-grad-norm", "0"],
            "error: --max-grad-norm 0 is out of range: allowed > 0 and finite",
        ),
        (
            &iris,
            &["--label-smoothing", "1"],
            "error: --label-smoothing 1 is out of range: allowed [0, 1)",
        ),
        (
            &["train", "--dataset", "iris", "--model", "softmax"],
            &["--C", "0"],
            "error: --C 0 is out of range: allowed finite and > 0",
        ),
        (
            &["train", "--dataset", "diabetes", "--model", "ridge"],
            &["--alpha", "-1"],
            "error: --alpha -1 is out of range: allowed finite and >= 0",
        ),
        // predict validates its sampling flags before it loads the model.
        (
            &["predict", "--model", "absent", "--dataset", "iris"],
            &["--sample", "--top-p", "2"],
            "error: --top-p 2 is out of range: allowed 0 <= --top-p <= 1",
        ),
        (
            &["logits", "--values", "1,2,3"],
            &["--min-tokens-to-keep", "0"],
            "error: --min-tokens-to-keep 0 is out of range: allowed >= 1",
        ),
    ];
    for (base, extra, want) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        if args[0] == "train" {
            args.extend(["--out", "m"]);
        }
        let (code, _, err) = run(d, &args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().last(), Some(*want), "{args:?}: {err}");
        assert!(!d.join("m/config.json").exists(), "{args:?} saved a model");
    }
    // A named choice (--activation, like --model and --optimizer) is checked by the parser
    // against the library's table: a usage error (exit 2) that lists every name.
    let (code, _, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "iris",
            "--activation",
            "swish",
            "--out",
            "m",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("invalid value 'swish' for '--activation"),
        "{err}"
    );
    assert!(
        err.contains("[possible values: relu, gelu, tanh, sigmoid]"),
        "{err}"
    );
}

#[test]
fn options_a_closed_form_fit_ignores_each_get_one_warning_and_the_model_is_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, out, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "linear",
            "--hidden",
            "8",
            "--epochs",
            "40",
            "--learning-rate",
            "0.1",
            "--alpha",
            "2",
            "--C",
            "3",
            "--target",
            "x",
            "--seed",
            "1",
            "--out",
            "m",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    // --epochs 40 is the default value typed explicitly: still warned (value_source, not a
    // comparison with the default). --seed applies (the split) and gets no warning.
    assert_eq!(
        warnings(&err),
        [
            "warning: --hidden has no effect with --model linear (closed-form solver)",
            "warning: --epochs has no effect with --model linear (closed-form solver)",
            "warning: --learning-rate has no effect with --model linear (closed-form solver)",
            "warning: --alpha has no effect with --model linear (ridge only)",
            "warning: --C has no effect with --model linear (logistic and softmax only)",
            "warning: --target has no effect without --data (a bundled dataset has its own target)",
        ],
        "{err}"
    );
    assert!(d.join("m/config.json").exists());
}

#[test]
fn options_a_gradient_descent_run_ignores_each_get_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, out, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "ridge",
            "--solver",
            "gd",
            "--epochs",
            "1",
            "--quiet",
            "--alpha",
            "2",
            "--dropout",
            "0.1",
            "--momentum",
            "0.5",
            "--warmup-steps",
            "3",
            "--label-smoothing",
            "0.1",
            "--out",
            "m",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        warnings(&err),
        [
            "warning: --dropout has no effect with --model ridge --solver gd (no hidden layers)",
            "warning: --momentum has no effect with --optimizer adamw (sgd only)",
            "warning: --warmup-steps has no effect with --schedule constant (cosine only)",
            "warning: --label-smoothing has no effect with a regression target (mean squared error loss)",
            "warning: --alpha has no effect with --solver gd (closed-form ridge only; use --weight-decay)",
        ],
        "{err}"
    );
    assert!(d.join("m/config.json").exists());
}

#[test]
fn patience_without_a_validation_set_and_a_solver_for_an_mlp_are_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "1",
            "--quiet",
            "--val-fraction",
            "0",
            "--patience",
            "2",
            "--solver",
            "exact",
            "--out",
            "m",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        warnings(&err),
        [
            "warning: --solver has no effect with --model mlp (always trained by gradient descent)",
            "warning: --patience has no effect with --val-fraction 0 (no validation set)",
        ],
        "{err}"
    );
}

#[test]
fn defaults_and_options_that_apply_give_no_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Every option here applies: SGD momentum, cosine warmup, patience with a validation set,
    // label smoothing of a classifier, the MLP's own options.
    let (code, out, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "2",
            "--quiet",
            "--hidden",
            "8",
            "--activation",
            "tanh",
            "--dropout",
            "0.1",
            "--optimizer",
            "sgd",
            "--momentum",
            "0.5",
            "--schedule",
            "cosine",
            "--warmup-steps",
            "2",
            "--patience",
            "3",
            "--label-smoothing",
            "0.1",
            "--out",
            "mlp",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(warnings(&err), Vec::<&str>::new(), "{err}");
    // A closed-form fit with nothing but defaults for the gradient-descent options.
    let (code, out, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "ridge",
            "--out",
            "r",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(warnings(&err), Vec::<&str>::new(), "{err}");
}

#[test]
fn predict_warns_that_logits_and_temperature_do_not_apply_to_a_regression_model() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, out, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "ridge",
            "--out",
            "r",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(
        d,
        &[
            "predict",
            "--model",
            "r",
            "--dataset",
            "diabetes",
            "--logits",
            "--temperature",
            "2",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("row,prediction\n"), "{out}");
    assert_eq!(
        warnings(&err),
        [
            "warning: --logits has no effect with a regression model (r is kind ridge; it predicts values, not class logits)",
            "warning: --temperature has no effect with a regression model (r is kind ridge; it predicts values, not class logits)",
        ],
        "{err}"
    );
    let (code, _, err) = run(d, &["predict", "--model", "r", "--dataset", "diabetes"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(warnings(&err), Vec::<&str>::new(), "{err}");
}

#[test]
fn class_weight_balanced_is_stored_with_the_model_and_warned_about_where_it_cannot_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, out, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--solver",
            "gd",
            "--epochs",
            "2",
            "--quiet",
            "--class-weight",
            "balanced",
            "--out",
            "m",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(warnings(&err).is_empty(), "{err}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    // iris' stratified training split has the same count of each class: every weight is 1.
    let w = config["training"]["class_weight"].as_array().unwrap();
    assert_eq!(w.len(), 3, "{config}");
    for v in w {
        assert!((v.as_f64().unwrap() - 1.0).abs() < 0.05, "{config}");
    }
    assert_eq!(config["training"]["settings"]["class_weight"], "balanced");

    let (code, _, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "ridge",
            "--solver",
            "gd",
            "--epochs",
            "1",
            "--quiet",
            "--class-weight",
            "balanced",
            "--out",
            "r",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        warnings(&err),
        [
            "warning: --class-weight has no effect with a regression target (mean squared error loss)"
        ],
        "{err}"
    );
    let (code, _, err) = run(
        d,
        &[
            "train",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--class-weight",
            "balanced",
            "--out",
            "s",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        warnings(&err),
        ["warning: --class-weight has no effect with --model softmax (L-BFGS solver)"],
        "{err}"
    );
    let (code, _, err) = run(d, &["train", "--class-weight", "inverse", "--out", "x"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("[possible values: none, balanced]"), "{err}");
}
