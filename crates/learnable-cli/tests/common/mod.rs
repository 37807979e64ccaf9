//! Helpers shared by the end-to-end tests: run the real `learnable` binary in a directory and
//! read what it printed.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::Path;

/// The `learnable` binary, run with `dir` as its working directory.
pub fn learnable(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("learnable").unwrap();
    c.current_dir(dir);
    c
}

/// Standard output followed by standard error, as text.
pub fn out_str(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
