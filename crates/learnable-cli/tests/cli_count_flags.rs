//! Whole-number flags (counts, sizes, seeds, indices) name themselves and their range for a
//! negative, fractional or too large value, in the words of every other range error, with exit
//! code 1: `error: --epochs -1 is out of range: allowed >= 1` (flags::Count in src/flags.rs).
//! Before the fix clap read `-1` as an unknown flag ("unexpected argument '-1' found") or gave
//! "invalid digit found in string", with exit code 2.
//!
//! And a setting read from a model's config.json is named as that file's field, not as a flag
//! the user never typed (`eval` has no `--dropout`).

mod common;

use common::{learnable, out_str};
use std::path::Path;

fn stderr_of(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let o = learnable(dir).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn negative_and_fractional_counts_name_the_flag_and_its_range() {
    let tmp = tempfile::tempdir().unwrap();
    // Minimums: the library's own (epochs, batch size, widths and patience >= 1), 0 for
    // seeds, steps, rows and token ids; params' batch size and sequence length >= 1.
    let cases: &[(&[&str], &str)] = &[
        (
            &["train", "--epochs", "-1"],
            "--epochs -1 is out of range: allowed >= 1",
        ),
        (
            &["train", "--seed", "-1"],
            "--seed -1 is out of range: allowed >= 0",
        ),
        (
            &["train", "--batch-size", "-1"],
            "--batch-size -1 is out of range: allowed >= 1",
        ),
        (
            &["train", "--hidden=-5"],
            "--hidden -5 is out of range: allowed >= 1",
        ),
        (
            &["train", "--hidden", "16,-5"],
            "--hidden -5 is out of range: allowed >= 1",
        ),
        (
            &["train", "--warmup-steps", "-1"],
            "--warmup-steps -1 is out of range: allowed >= 0",
        ),
        (
            &["train", "--patience", "-2"],
            "--patience -2 is out of range: allowed >= 1",
        ),
        (
            &["train", "--epochs", "2.5"],
            "--epochs 2.5 is not valid: allowed a whole number >= 1",
        ),
        (
            &["logits", "--values", "1,2", "--draw", "-1"],
            "--draw -1 is out of range: allowed 0 <= --draw <= 10000000",
        ),
        (
            &["logits", "--values", "1,2", "--seed", "-1"],
            "--seed -1 is out of range: allowed >= 0",
        ),
        (
            &[
                "logits",
                "--values",
                "1,2",
                "--repetition-penalty",
                "2",
                "--context",
                "0,-1",
            ],
            "--context -1 is out of range: allowed >= 0",
        ),
        (
            &["predict", "--model", "m", "--sample", "--seed", "-1"],
            "--seed -1 is out of range: allowed >= 0",
        ),
        (
            &["params", "gpt2", "--batch-size", "0"],
            "--batch-size 0 is out of range: allowed >= 1",
        ),
        (
            &["params", "gpt2", "--seq-len", "-1"],
            "--seq-len -1 is out of range: allowed >= 1",
        ),
        (
            &["train", "--seed", "18446744073709551616"],
            "--seed 18446744073709551616 is out of range: allowed 0 <= --seed <= 18446744073709551615",
        ),
    ];
    for (args, want) in cases {
        let (code, err) = stderr_of(tmp.path(), args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert_eq!(err.trim_end(), format!("error: {want}"), "{args:?}");
    }
    // Other clap errors keep clap's text and exit code 2.
    let (code, err) = stderr_of(tmp.path(), &["train", "--no-such-flag"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unexpected argument"), "{err}");
}

#[test]
fn a_config_json_setting_out_of_range_names_the_field_not_a_flag() {
    let tmp = tempfile::tempdir().unwrap();
    learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--quiet",
        ])
        .args(["--out", "m"])
        .assert()
        .success();
    let path = tmp.path().join("m/config.json");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // Before the fix: "error: m/config.json: invalid network: --dropout 2 is out of range:
    // allowed [0, 1)", naming a flag that eval does not have.
    let mut cfg = good.clone();
    cfg["architecture"]["mlp"]["dropout"] = serde_json::json!(2.0);
    std::fs::write(&path, cfg.to_string()).unwrap();
    for args in [
        &["eval", "--model", "m", "--dataset", "iris"][..],
        &["predict", "--model", "m", "--dataset", "iris"][..],
        &["logits", "--model", "m", "--dataset", "iris", "--row", "0"][..],
    ] {
        let o = learnable(tmp.path()).args(args).output().unwrap();
        let s = out_str(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {s}");
        assert!(
            s.contains("config.json")
                && s.contains("field architecture.mlp.dropout: 2 is out of range: allowed [0, 1)"),
            "{args:?}: {s}"
        );
        assert!(!s.contains("--dropout"), "{args:?}: {s}");
    }
    // A split option of the stored training options: named in the library's words, not as
    // eval's (nonexistent) --test-size.
    let mut cfg = good.clone();
    cfg["options"]["test_size"] = serde_json::json!(2.0);
    std::fs::write(&path, cfg.to_string()).unwrap();
    let o = learnable(tmp.path())
        .args(["eval", "--model", "m", "--dataset", "iris"])
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("test_size") && !s.contains("--test-size"), "{s}");
}
