//! Tables printed by the CLI hold user data (class labels from config.json or `--labels`,
//! tensor names from a safetensors file). Before the fix, a cell wider than 65,535 characters
//! reached `format!("{:>w$}")` and panicked with "Formatting argument out of range" (exit 101).
//! Now such a cell is shortened to 200 characters around an ellipsis
//! (`learnable::text::MAX_CELL_CHARS`), and JSON output keeps the whole text.

mod common;

use common::{learnable, out_str};
use std::path::Path;

const LONG: usize = 70_000;

/// Exit code 0, no panic, at least one shortened cell and no line longer than `max` chars.
fn assert_short_table(o: &std::process::Output, max: usize) -> String {
    let s = out_str(o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        &s[s.len().saturating_sub(2000)..]
    );
    assert!(!s.contains("panicked"));
    assert!(s.contains('…'), "no shortened cell");
    let widest = s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= max, "a line is {widest} characters wide");
    s
}

/// Trains a one-epoch softmax model on iris into `dir/m` and gives its first class a
/// 70,000-character label in config.json.
fn model_with_a_long_label(dir: &Path) -> String {
    learnable(dir)
        .args([
            "train",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--out",
            "m",
        ])
        .assert()
        .success();
    let path = dir.join("m/config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let label = format!("{}-setosa", "s".repeat(LONG));
    cfg["classes"][0] = serde_json::json!(label);
    std::fs::write(&path, cfg.to_string()).unwrap();
    label
}

#[test]
fn eval_prints_a_70000_character_class_label_shortened() {
    let tmp = tempfile::tempdir().unwrap();
    let label = model_with_a_long_label(tmp.path());
    let o = learnable(tmp.path())
        .args(["eval", "--model", "m", "--dataset", "iris"])
        .output()
        .unwrap();
    // Per-class table: 200-character label column, then precision..support; the confusion
    // matrix has a 200-wide row-label column and a 200-wide first class column.
    let s = assert_short_table(&o, 700);
    assert!(
        s.contains("sss…sss") && s.contains("sss-setosa     1.0000"),
        "{s}"
    );
    // JSON keeps the label whole.
    let o = learnable(tmp.path())
        .args(["eval", "--model", "m", "--dataset", "iris", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["classes"][0], serde_json::json!(label));
}

#[test]
fn logits_prints_a_70000_character_label_shortened() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = format!("{},dog,car", "c".repeat(LONG));
    for extra in [
        &[][..],
        &["--temperature", "0.5,2"][..],
        &["--draw", "10"][..],
    ] {
        let o = learnable(tmp.path())
            .args(["logits", "--values", "4.2,2.1,-1.3", "--labels", &labels])
            .args(extra)
            .output()
            .unwrap();
        assert_short_table(&o, 400);
    }
    // The model form takes its labels from config.json.
    model_with_a_long_label(tmp.path());
    let o = learnable(tmp.path())
        .args(["logits", "--model", "m", "--dataset", "iris", "--row", "0"])
        .output()
        .unwrap();
    assert_short_table(&o, 400);
}

#[test]
fn params_prints_a_70000_character_tensor_name_shortened() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("long.safetensors");
    let name = format!("{}.weight", "t".repeat(LONG));
    let w = learnable::Tensor::zeros(&[2, 3]);
    learnable::io::save_safetensors(&path, [(name.as_str(), &w)]).unwrap();
    let o = learnable(tmp.path())
        .args(["params", "long.safetensors"])
        .output()
        .unwrap();
    let s = assert_short_table(&o, 400);
    assert!(
        s.contains("ttt…ttt") && s.contains("ttt.weight  [2, 3]"),
        "{s}"
    );
}
