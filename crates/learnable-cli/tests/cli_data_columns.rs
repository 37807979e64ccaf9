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
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: stderr is not one line:\n{stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "{args:?}: expected '{n}' in:\n{stderr}"
        );
    }
    assert!(!text.contains("panicked"), "{args:?}: {text}");
    lines[0].to_string()
}

/// 40,000 rows `id,x,y`: a distinct id per row, x = i % 7, y = a or b by parity.
fn write_id_file(dir: &Path) {
    let mut text = String::from("id,x,y\n");
    for i in 0..40_000 {
        text.push_str(&format!(
            "u{i:05},{},{}\n",
            i % 7,
            if i % 2 == 0 { "a" } else { "b" }
        ));
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

/// `id,size,color,y`: 30 rows, a distinct id per row; y = big when size > 5 (size = i % 10 +
/// 0.5), color cycles red/green/blue (noise).
fn write_people(dir: &Path, name: &str, rows: std::ops::Range<usize>, target: bool) {
    let mut text = String::from(if target {
        "id,size,color,y\n"
    } else {
        "id,size,color\n"
    });
    for i in rows {
        let size = (i % 10) as f64 + 0.5;
        let color = ["red", "green", "blue"][i % 3];
        let y = if size > 5.0 { "big" } else { "small" };
        if target {
            text.push_str(&format!("p{i},{size},{color},{y}\n"));
        } else {
            text.push_str(&format!("p{i},{size},{color}\n"));
        }
    }
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn drop_and_features_are_stored_with_the_model_and_reused_by_eval_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_people(d, "people.csv", 0..30, true);
    // New people: ids never seen in training, which a one-hot id column could not encode.
    write_people(d, "new.csv", 100..110, false);
    let train = |extra: &[&str], out: &str| {
        let mut args = vec![
            "train",
            "--data",
            "people.csv",
            "--target",
            "y",
            "--model",
            "softmax",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out]);
        ok(d, &args)
    };
    let o = train(&["--drop", "id"], "m");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    assert_eq!(
        cfg["feature_names"],
        serde_json::json!(["size", "color_blue", "color_green", "color_red"])
    );
    assert_eq!(cfg["options"]["drop"], serde_json::json!(["id"]));
    // color is guessed categorical: one note line on stderr.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(
            "note: treating 1 column as categorical (one-hot): color; use --numeric COL to override\n"
        ),
        "{stderr}"
    );
    ok(d, &["eval", "--model", "m", "--data", "people.csv"]);
    ok(
        d,
        &[
            "predict", "--model", "m", "--data", "new.csv", "--out", "p.csv",
        ],
    );
    let pred = std::fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(pred.lines().count(), 11, "{pred}");

    // --features size: only numeric inputs, so no note.
    let o = train(&["--features", "size"], "f");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("f/config.json")).unwrap()).unwrap();
    assert_eq!(cfg["feature_names"], serde_json::json!(["size"]));
    assert_eq!(cfg["options"]["features"], serde_json::json!(["size"]));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("note:"));
    ok(
        d,
        &[
            "predict", "--model", "f", "--data", "new.csv", "--out", "pf.csv",
        ],
    );
}

#[test]
fn unknown_columns_the_target_and_bad_numeric_cells_are_errors_in_flag_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_people(d, "people.csv", 0..30, true);
    let base = [
        "train",
        "--data",
        "people.csv",
        "--target",
        "y",
        "--model",
        "softmax",
    ];
    let run = |extra: &[&str], needles: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        fails(d, &args, needles)
    };
    run(
        &["--features", "size,colour"],
        &["--features colour is not valid: allowed column names of people.csv: id, size, color"],
    );
    run(
        &["--drop", "y"],
        &["--drop y is not valid: allowed columns other than the target 'y'"],
    );
    // color is words: declared numeric, the first word is named with its line (line 2).
    run(
        &["--drop", "id", "--numeric", "color"],
        &[
            "line 2, column 'color': 'red' is not a number, but the column is declared numeric (--numeric)",
        ],
    );
}

#[test]
fn test_and_validation_sizes_take_row_counts_and_never_change_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let iris = ["train", "--dataset", "iris", "--model", "softmax"];
    fn with<'a>(iris: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = iris.to_vec();
        a.extend_from_slice(extra);
        a
    }
    let with = |extra: &[&'static str]| with(&iris, extra);
    // 150 rows: 30 test rows and no validation rows leave 120 for training.
    let o = ok(
        d,
        &with(&["--val-size", "0", "--test-size", "30", "--out", "m"]),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("120 train, 0 validation, 30 test rows"),
        "{stdout}"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    assert_eq!(cfg["options"]["test_size"], serde_json::json!(30));
    assert_eq!(cfg["options"]["val_size"], serde_json::json!(0));
    // The model's own test split is rebuilt by eval from the stored sizes: 30 rows.
    let e = ok(d, &["eval", "--model", "m", "--dataset", "iris", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    assert_eq!(v["rows"], 30);
    // A fraction still works through --test-size, and the old flags are kept.
    let o = ok(
        d,
        &with(&["--test-size", "0.2", "--val-fraction", "0.1", "--out", "f"]),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("105 train, 15 validation, 30 test rows"));
    fails(
        d,
        &with(&["--test-size", "150"]),
        &["--test-size 150 is out of range: allowed <= 149 rows (the data have 150 rows"],
    );
    // Stratified, 3 classes: 2 test rows cannot hold one of each (scikit-learn's rule).
    fails(
        d,
        &with(&["--test-size", "2"]),
        &[
            "--test-size 2 is out of range: allowed a size of at least 3 rows, the number of classes",
        ],
    );
    fails(
        d,
        &with(&["--val-size", "1.5"]),
        &[
            "--val-size 1.5: expected a fraction of the rows in [0, 1) such as 0.2, or a whole number of rows",
        ],
    );
    let o = learnable(d)
        .args(with(&["--test-size", "30", "--test-fraction", "0.2"]))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out_str(&o));
}

#[test]
fn the_bundled_linnerud_dataset_trains_a_regression_on_weight() {
    // Before, --dataset linnerud was refused although its files are in data/linnerud.
    let dir = tempfile::tempdir().unwrap();
    let o = ok(
        dir.path(),
        &[
            "train",
            "--dataset",
            "linnerud",
            "--model",
            "ridge",
            "--out",
            "m",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    // 20 rows: round(0.1 * 20) = 2 validation and round(0.2 * 20) = 4 test rows.
    assert!(
        stdout.contains("14 train, 2 validation, 4 test rows, 3 features"),
        "{stdout}"
    );
    let e = ok(
        dir.path(),
        &["eval", "--model", "m", "--dataset", "linnerud"],
    );
    assert!(String::from_utf8_lossy(&e.stdout).contains("r2:"));
}

#[test]
fn resume_refuses_other_data_flags_and_accepts_the_same_ones() {
    // The new data flags change the inputs, so a resumed run must repeat them (before, a
    // different --drop of a same-width column resumed silently on other inputs).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |epochs: &str, extra: &[&str]| {
        let o = learnable(d)
            .args([
                "train",
                "--dataset",
                "iris",
                "--hidden",
                "4",
                "--epochs",
                epochs,
            ])
            .args(["--quiet", "--out", "m"])
            .args(extra)
            .output()
            .unwrap();
        (o.status.code(), out_str(&o))
    };
    let (code, s) = run("1", &["--drop", "sepal width (cm)", "--test-size", "30"]);
    assert_eq!(code, Some(0), "{s}");
    let (code, s) = run(
        "2",
        &[
            "--drop",
            "petal width (cm)",
            "--test-size",
            "30",
            "--resume",
        ],
    );
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains("--drop: checkpoint sepal width (cm), now petal width (cm)"),
        "{s}"
    );
    let (code, s) = run(
        "2",
        &[
            "--drop",
            "sepal width (cm)",
            "--test-size",
            "31",
            "--resume",
        ],
    );
    assert_eq!(code, Some(1), "{s}");
    assert!(s.contains("--test-size: checkpoint 30, now 31"), "{s}");
    let (code, s) = run(
        "2",
        &[
            "--drop",
            "sepal width (cm)",
            "--test-size",
            "30",
            "--resume",
        ],
    );
    assert_eq!(code, Some(0), "{s}");
}
