//! The epoch loop seen from the command line: plain progress lines when output is piped, and a
//! diverging run (NaN or infinite loss) that stops with the epoch and step and leaves the last
//! good checkpoint as it was.

mod common;
use common::{learnable, out_str};

use std::path::Path;

/// Every file of a directory with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The checkpoint loads as finite tensors and says how many epochs it holds.
fn check_checkpoint(dir: &Path) -> u64 {
    for f in ["model.safetensors", "optimizer.safetensors"] {
        let tensors = learnable::io::load_safetensors(dir.join(f)).unwrap();
        // (SGD without momentum keeps no optimizer tensors.)
        assert!(!tensors.is_empty() || f.starts_with("optimizer"), "{f}");
        for (name, t) in &tensors {
            assert!(t.all_finite(), "{f}: {name} is not finite");
        }
    }
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    state["epochs_done"].as_u64().unwrap()
}

#[test]
fn piped_training_prints_one_plain_line_per_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "8",
            "--epochs",
            "5",
            "--out",
            "m",
        ])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{text}");
    // No progress bar: no escape sequences, no carriage returns.
    assert!(!text.contains('\u{1b}'), "ANSI escape in:\n{text:?}");
    assert!(!text.contains('\r'), "carriage return in:\n{text:?}");
    let epochs: Vec<&str> = text.lines().filter(|l| l.starts_with("epoch")).collect();
    assert_eq!(epochs.len(), 5, "{text}");
    for (i, line) in epochs.iter().enumerate() {
        // "epoch 1/5  loss 1.0952  accuracy 0.3619 | val loss 1.0678  accuracy 0.4000 *  lr ..."
        let n = line["epoch".len()..].trim_start();
        assert!(n.starts_with(&format!("{}/5 ", i + 1)), "{line}");
        for key in ["  loss ", "  accuracy ", " | val loss ", "  lr "] {
            assert!(line.contains(key), "{key:?} missing in {line}");
        }
        // Fits 100 columns.
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    // The history has the same epochs.
    let h = std::fs::read_to_string(tmp.path().join("m/history.csv")).unwrap();
    assert_eq!(h.lines().count(), 6);
}

#[test]
fn a_loss_that_overflows_stops_training_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let common = [
        "train",
        "--dataset",
        "diabetes",
        "--hidden",
        "8",
        "--quiet",
        "--out",
        "m",
    ];
    let o = learnable(d)
        .args(common)
        .args(["--epochs", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let ckpt = d.join("m/checkpoint");
    let before = snapshot(&ckpt);
    assert_eq!(check_checkpoint(&ckpt), 2);

    // Resume with a learning rate of 1e30: AdamW moves every weight by about 1e30 in the first
    // step of epoch 3, and the next forward pass overflows f32.
    let o = learnable(d)
        .args(common)
        .args(["--epochs", "4", "--resume", "--learning-rate", "1e30"])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for needle in ["epoch 3, step ", "learning", "checkpoint", "after epoch 2"] {
        assert!(stderr.contains(needle), "'{needle}' missing in {stderr}");
    }
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(snapshot(&ckpt), before, "the last good checkpoint changed");
    assert_eq!(check_checkpoint(&ckpt), 2);
    // And training resumes from it with a sane learning rate.
    let o = learnable(d)
        .args(common)
        .args(["--epochs", "3", "--resume"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    assert_eq!(check_checkpoint(&ckpt), 3);
}

#[test]
fn a_run_that_diverges_in_its_first_epoch_says_no_checkpoint_was_written() {
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "diabetes",
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--learning-rate",
            "1e30",
            "--quiet",
            "--out",
            "m",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", out_str(&o));
    assert!(stderr.contains("epoch 1, step "), "{stderr}");
    assert!(stderr.contains("no checkpoint"), "{stderr}");
    assert!(!tmp.path().join("m/config.json").exists());
    assert!(!tmp.path().join("m/checkpoint/state.json").exists());
}

#[test]
fn sgd_with_too_large_a_step_diverges_over_epochs_and_keeps_a_finite_checkpoint() {
    // Full-batch SGD without momentum on a linear model: with learning rate 1.5 the error grows
    // by |1 − 1.5·λ| per step along the top eigenvector of the Hessian (λ ≈ 2·the largest
    // eigenvalue of the features' correlation matrix, above 2 on diabetes), so the loss
    // overflows after some epochs rather than at once.
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "linear",
            "--solver",
            "gd",
            "--optimizer",
            "sgd",
            "--momentum",
            "0",
            "--weight-decay",
            "0",
            "--learning-rate",
            "1.5",
            "--batch-size",
            "1000",
            "--epochs",
            "500",
            "--quiet",
            "--out",
            "m",
        ])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The first epoch named is the one that failed (its training loss or, when only the update
    // of its last step overflowed, its validation loss); the checkpoint holds the epoch before.
    let at = stderr.find("epoch ").unwrap_or_else(|| panic!("{stderr}"));
    let epoch: u64 = stderr[at + 6..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(epoch > 2 && epoch < 500, "{stderr}");
    let done = check_checkpoint(&tmp.path().join("m/checkpoint"));
    assert_eq!(done, epoch - 1, "{stderr}");
    assert!(stderr.contains(&format!("after epoch {done}")), "{stderr}");
}

#[test]
fn an_update_that_overflows_a_weight_is_caught_before_it_is_checkpointed() {
    // Learning rate 3e38 times gradients above 1.2 overflows f32 (max 3.4e38) in the very first
    // update (the target is standardised, so the weight gradient 2·mean((ŷ − y)·x) is about
    // twice a feature's correlation with it: bmi's is 0.59 on diabetes), while the loss of that
    // step (computed before the update) is finite. With
    // one step per epoch and no validation split, nothing else would notice before the
    // checkpoint of epoch 1 is written.
    let tmp = tempfile::tempdir().unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "linear",
            "--solver",
            "gd",
            "--optimizer",
            "sgd",
            "--momentum",
            "0",
            "--learning-rate",
            "3e38",
            "--batch-size",
            "1000",
            "--val-fraction",
            "0",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            "m",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", out_str(&o));
    for needle in [
        "layers.0.",
        "NaN or infinite",
        "epoch 1, step 1",
        "no checkpoint",
    ] {
        assert!(stderr.contains(needle), "'{needle}' missing in {stderr}");
    }
    assert!(!tmp.path().join("m/checkpoint/model.safetensors").exists());
}
