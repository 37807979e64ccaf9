//! End-to-end: the data-input flags of `learnable train` (`--max-categories`, `--drop`,
//! `--features`, `--categorical`, `--numeric`, `--val-size`, `--test-size`) and the limits on
//! what a CSV may be (`/dev/zero`), run as the real binary on files written by each test.

mod common;
use common::{learnable, out_str};

use std::path::Path;

/// Runs the command and asserts success, returning stdout + stderr.
#[allow(dead_code)]
fn ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = learnable(dir).args(args).output().unwrap();
    assert!(o.status.success(), "{args:?} failed:\n{}", out_str(&o));
    o
}

/// Runs the command and asserts the user-error contract: exit status 1, stderr is one line
/// `error: ...` holding every needle, no panic. Returns that line.
fn fails(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let o = learnable(dir).args(args).output().unwrap();
    let text = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: exit status\n{text}");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: stderr is not one line:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: expected '{n}' in:\n{stderr}");
    }
    assert!(!text.contains("panicked"), "{args:?}: {text}");
    lines[0].to_string()
}

/// 40,000 rows `id,x,y`: a distinct id per row, x = i % 7, y = a or b by parity.
fn write_id_file(dir: &Path) {
    let mut text = String::from("id,x,y\n");
    for i in 0..40_000 {
        text.push_str(&format!("u{i:05},{},{}\n", i % 7, if i % 2 == 0 { "a" } else { "b" }));
    }
    std::fs::write(dir.join("ids.csv"), text).unwrap();
}

#[test]
fn an_id_column_fails_fast_with_a_message_suggesting_drop() {
    let dir = tempfile::tempdir().unwrap();
    write_id_file(dir.path());
    let start = std::time::Instant::now();
    let line = fails(
        dir.path(),
        &["train", "--data", "ids.csv", "--target", "y", "--out", "m"],
        &[
            "column 'id' has 40000 distinct values in 40000 rows",
            "more than the 1000 categories one-hot encoding allows (--max-categories)",
            "leave it out with --drop id",
        ],
    );
    assert!(!line.contains("`drop`"), "{line}");
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}
