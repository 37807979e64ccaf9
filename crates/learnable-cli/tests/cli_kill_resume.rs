//! SIGKILL during training never resumes into a different model: a run killed at any moment
//! and resumed with `--resume` ends with the same model.safetensors, byte for byte, as an
//! uninterrupted run; while only a checkpoint exists, `eval` says so and how to resume.
//!
//! Bounded form (3 kills at different moments); `scripts/kill_resume.sh` runs many more. The
//! exhaustive in-process version (a crash before every file-system operation of the checkpoint
//! writer) is `crates/learnable/tests/checkpoint_unit.rs`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ARGS: &[&str] = &[
    "train",
    "--dataset",
    "digits",
    "--hidden",
    "32",
    "--epochs",
    "8",
    "--quiet",
];

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("learnable")
}

fn run(dir: &Path, extra: &[&str]) -> (bool, String) {
    let o = Command::new(bin())
        .current_dir(dir)
        .args(ARGS)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn a_run_killed_at_any_moment_resumes_into_the_uninterrupted_model() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (ok, text) = run(d, &["--out", "whole"]);
    assert!(ok, "{text}");
    let whole = std::fs::read(d.join("whole/model.safetensors")).unwrap();
    // Kill points: soon after start, once the first checkpoint exists, and a few epochs in.
    for (i, wait_epochs) in [0usize, 1, 4].into_iter().enumerate() {
        let out = format!("k{i}");
        let mut child = Command::new(bin())
            .current_dir(d)
            .args(ARGS)
            .args(["--out", &out])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let manifest = d.join(&out).join("checkpoint/manifest.json");
        let start = Instant::now();
        loop {
            let epoch = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["epoch"].as_u64())
                .unwrap_or(0) as usize;
            if epoch >= wait_epochs || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let finished = d.join(&out).join("config.json").exists();
        if !finished && d.join(&out).join("checkpoint").exists() {
            let o = Command::new(bin())
                .current_dir(d)
                .args(["eval", "--model", &out, "--dataset", "digits"])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(
                err.contains("only a training checkpoint") && err.contains("--resume"),
                "{err}"
            );
        }
        let (ok, text) = run(d, &["--out", &out, "--resume"]);
        if !ok {
            // Killed before the first checkpoint was committed: nothing to resume.
            assert!(text.contains("no checkpoint"), "kill {i}: {text}");
            let (ok, text) = run(d, &["--out", &out, "--force"]);
            assert!(ok, "{text}");
        }
        let got = std::fs::read(d.join(&out).join("model.safetensors")).unwrap();
        assert!(
            got == whole,
            "kill {i} (after epoch >= {wait_epochs}): the resumed model differs"
        );
        // No temporary or staging files are left.
        for e in std::fs::read_dir(d.join(&out)).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(!name.starts_with('.'), "kill {i}: {name} left behind");
        }
    }
}
