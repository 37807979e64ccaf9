//! End-to-end robustness tests of the `learnable` binary: closed pipes, hostile sizes and model
//! directories, resume mismatches, negative numbers and error wording. Each reproduces a problem
//! a newcomer reported; the expected text is what the fix promises.

mod common;
use common::{learnable, out_str};

use std::path::Path;

/// Runs `learnable args` with stdout connected to a pipe whose reading end is already closed
/// (what `| head -1` does once head has exited) and returns its exit status and stderr.
#[cfg(unix)]
fn run_into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("learnable"))
        .args(args)
        .current_dir(tmp.path())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn writing_into_a_closed_pipe_ends_quietly_by_sigpipe_like_other_unix_tools() {
    use std::os::unix::process::ExitStatusExt;
    // Before the fix each of these panicked ("failed printing to stdout: Broken pipe", exit 101)
    // or printed an error. Expected: killed by SIGPIPE (signal 13 on Linux and macOS), no output.
    for args in [
        &["train", "--dataset", "iris", "--epochs", "1", "--quiet"][..],
        &["logits", "--values", "1,2"][..],
        &["datasets", "--json"][..],
    ] {
        let (status, stderr) = run_into_closed_pipe(args);
        assert_eq!(status.signal(), Some(13), "{args:?}: {status:?} {stderr}");
        assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    }
}

/// Trains a small iris MLP (one epoch, hidden 4) into `dir/m` and returns its config.json value.
fn small_model(dir: &Path) -> serde_json::Value {
    learnable(dir)
        .args([
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "4",
            "--epochs",
            "1",
        ])
        .args(["--quiet", "--out", "m"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.join("m/config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write_config(dir: &Path, cfg: &serde_json::Value) {
    std::fs::write(dir.join("m/config.json"), cfg.to_string()).unwrap();
}

#[test]
fn a_hidden_width_too_large_to_allocate_is_refused_naming_hidden_and_the_count() {
    let tmp = tempfile::tempdir().unwrap();
    // iris: 4 inputs, 3 classes. hidden 1e9: 4e9 + 1e9 + 3e9 + 3 = 8_000_000_003 parameters
    // (by hand), above the 2^31 cap. Before the fix: allocation abort (not exit 1).
    let o = learnable(tmp.path())
        .args(["train", "--dataset", "iris", "--hidden", "1000000000"])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(
        s.contains("hidden") && s.contains("8000000003 parameters"),
        "{s}"
    );
    // usize::MAX: the count overflows; before the fix "capacity overflow" panic (exit 101).
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "18446744073709551615",
        ])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("hidden") && !s.contains("panicked"), "{s}");
}

#[test]
fn a_hostile_model_config_is_refused_before_allocating_and_names_config_json() {
    let tmp = tempfile::tempdir().unwrap();
    let good = small_model(tmp.path());
    let eval = |tmp: &Path| {
        let o = learnable(tmp)
            .args(["eval", "--model", "m", "--dataset", "iris"])
            .output()
            .unwrap();
        (o.status.code(), out_str(&o))
    };
    // A width of 1e12: before the fix eval aborted out of memory.
    let mut cfg = good.clone();
    cfg["architecture"]["mlp"]["hidden"] = serde_json::json!([1_000_000_000_000u64]);
    write_config(tmp.path(), &cfg);
    let (code, s) = eval(tmp.path());
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("config.json") && s.contains("hidden"), "{s}");
    // A width that fits the cap but not the tensors (layers.0.weight is [4, 4], config says 5).
    let mut cfg = good.clone();
    cfg["architecture"]["mlp"]["hidden"] = serde_json::json!([5]);
    write_config(tmp.path(), &cfg);
    let (code, s) = eval(tmp.path());
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("layers.0.weight") && s.contains("[4, 4]"), "{s}");
    // Two class labels for three outputs: before the fix eval panicked (index out of bounds).
    let mut cfg = good.clone();
    cfg["classes"] = serde_json::json!(["a", "b"]);
    write_config(tmp.path(), &cfg);
    let (code, s) = eval(tmp.path());
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains("config.json") && s.contains("2 classes for 3 network outputs"),
        "{s}"
    );
    // The untouched config still evaluates.
    write_config(tmp.path(), &good);
    let (code, s) = eval(tmp.path());
    assert_eq!(code, Some(0), "{s}");
}

#[test]
fn negative_numbers_reach_the_range_check_that_names_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    // Before the fix clap read "-0.1" as a flag: "unexpected argument '-0' found".
    for (flag, value, name, model) in [
        ("--dropout", "-0.1", "--dropout -0.1", "mlp"),
        ("--weight-decay", "-1", "--weight-decay -1", "mlp"),
        ("--max-grad-norm", "-1", "--max-grad-norm -1", "mlp"),
        ("--alpha", "-1", "--alpha -1", "ridge"),
    ] {
        let dataset = if model == "ridge" { "diabetes" } else { "iris" };
        let o = learnable(tmp.path())
            .args(["train", "--dataset", dataset, "--epochs", "1", "--quiet"])
            .args(["--model", model, flag, value])
            .output()
            .unwrap();
        let s = out_str(&o);
        assert_eq!(o.status.code(), Some(1), "{flag}: {s}");
        assert!(!s.contains("unexpected argument"), "{flag}: {s}");
        assert!(s.contains(name), "{flag}: {s}");
    }
}

#[test]
fn patience_zero_is_refused_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    // Before the fix --patience 0 was accepted and training stopped after epoch 1.
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--epochs",
            "3",
            "--patience",
            "0",
        ])
        .output()
        .unwrap();
    let s = out_str(&o);
    // Exit 1 and the words of every other range error (flags::Count; clap's own error with
    // exit 2 before).
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert_eq!(
        s.trim_end(),
        "error: --patience 0 is out of range: allowed >= 1"
    );
}

#[test]
fn an_os_error_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    // Before the fix: "... No such file or directory (os error 2): No such file or directory
    // (os error 2)".
    let o = learnable(tmp.path())
        .args(["train", "--data", "missing.csv", "--target", "y"])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert_eq!(s.matches("os error 2").count(), 1, "{s}");
}

#[test]
fn the_model_line_says_adamw_and_one_epoch_and_a_config_file_is_not_a_model_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "4",
            "--epochs",
            "1",
        ])
        .args(["--quiet", "--out", "m"])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert!(o.status.success(), "{s}");
    // Before the fix: "1 epochs" and "Adamw" (the enum's Debug name).
    assert!(s.contains(", 1 epoch, batch 32, AdamW lr"), "{s}");
    // Before the fix: "model directory m/config.json does not exist".
    let o = learnable(tmp.path())
        .args(["eval", "--model", "m/config.json"])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(
        s.contains("--model m/config.json is not valid: allowed the model directory (the folder holding config.json)"),
        "{s}"
    );
}

#[test]
fn resume_refuses_other_arguments_listing_each_difference() {
    let tmp = tempfile::tempdir().unwrap();
    small_model(tmp.path());
    let resume = |extra: &[&str]| {
        let o = learnable(tmp.path())
            .args(["train", "--dataset", "iris", "--epochs", "2", "--quiet"])
            .args(["--out", "m", "--resume"])
            .args(extra)
            .output()
            .unwrap();
        (o.status.code(), out_str(&o))
    };
    // Before the fix both runs resumed silently with the new seed and activation.
    let (code, s) = resume(&["--hidden", "4", "--seed", "7", "--activation", "tanh"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("--seed: checkpoint 0, now 7"), "{s}");
    assert!(s.contains("--activation: checkpoint relu, now tanh"), "{s}");
    assert!(!s.contains("--epochs"), "{s}");
    // Another width is named as such (not "unexpected tensor").
    let (code, s) = resume(&["--hidden", "8"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("--hidden: checkpoint [4], now [8]"), "{s}");
    // The same arguments with more epochs resume.
    let (code, s) = resume(&["--hidden", "4"]);
    assert_eq!(code, Some(0), "{s}");
    assert!(
        s.contains("resuming from") && s.contains("after epoch 1"),
        "{s}"
    );
}

#[test]
fn a_feature_beyond_the_f32_range_is_refused_naming_the_row_and_feature() {
    let tmp = tempfile::tempdir().unwrap();
    small_model(tmp.path());
    // 1e39 > f32::MAX (3.4028235e38, IEEE 754): standardised with iris's petal width
    // statistics it stays about 1.3e39, infinite in f32. Before the fix the inf reached the
    // network and predict only said "row 2: logit 0 is NaN", naming neither input nor feature.
    std::fs::write(
        tmp.path().join("big.csv"),
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n\
         5.1,3.5,1.4,0.2\n4.9,3.0,1.4,0.2\n6,3,4,1e39\n",
    )
    .unwrap();
    let o = learnable(tmp.path())
        .args(["predict", "--model", "m", "--data", "big.csv"])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(
        s.contains("feature 'petal width (cm)' of row 3") && s.contains("beyond the f32 range"),
        "{s}"
    );
}

#[cfg(unix)]
#[test]
fn training_on_dev_zero_ends_at_once_with_a_clear_error() {
    // Before the CSV limits, this read /dev/zero until memory ran out.
    let tmp = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let o = learnable(tmp.path())
        .args(["train", "--data", "/dev/zero", "--target", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", out_str(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: invalid file /dev/zero: line 1: a NUL byte: this is not a text CSV file (a \
         binary file, or text saved as UTF-16? save it as UTF-8)\n"
    );
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}
