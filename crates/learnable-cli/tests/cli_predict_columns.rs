//! End-to-end tests of how `learnable predict --data FILE.csv` maps a file's columns to the
//! model's inputs: the real binary in a temporary directory. The expected outputs are the
//! predictions of the same rows in a file holding exactly the model's input columns (computed
//! by the same binary), and the expected messages are written by hand from the documented
//! formats in `learnable::data::encode` and `prep::load_for_model_in`.

mod common;
use common::{learnable, out_str};

use std::path::Path;

/// Runs the command, asserts success and returns (stdout, stderr).
fn run_ok(dir: &Path, args: &[&str]) -> (String, String) {
    let o = learnable(dir).args(args).output().unwrap();
    assert!(o.status.success(), "{args:?} failed:\n{}", out_str(&o));
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// Runs the command, asserts exit status 1 and returns stderr.
fn run_err(dir: &Path, args: &[&str]) -> String {
    let o = learnable(dir).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{args:?}:\n{}", out_str(&o));
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Row `i` of the training file: x1 in 0..10 decides the class (a below 5, b from 5), x2 is
/// noise, c alternates u/v.
fn row(i: usize) -> (String, String, &'static str, &'static str) {
    let x1 = i % 10;
    let x2 = (i * 7) % 11;
    (
        format!("{x1}.5"),
        format!("{x2}.25"),
        if i % 2 == 0 { "u" } else { "v" },
        if x1 < 5 { "a" } else { "b" },
    )
}

/// Writes train.csv (x1, x2, c, y; 60 rows) into `dir` and trains a softmax model into
/// `dir/m` (`extra` flags are added to the train command).
fn trained(dir: &Path, extra: &[&str]) {
    let mut text = String::from("x1,x2,c,y\n");
    for i in 0..60 {
        let (x1, x2, c, y) = row(i);
        text.push_str(&format!("{x1},{x2},{c},{y}\n"));
    }
    std::fs::write(dir.join("train.csv"), text).unwrap();
    let mut args = vec![
        "train",
        "--data",
        "train.csv",
        "--target",
        "y",
        "--model",
        "softmax",
        "--out",
        "m",
    ];
    args.extend_from_slice(extra);
    run_ok(dir, &args);
}

/// The first 7 rows with only the model's inputs, in the training order.
fn inputs_only(dir: &Path) {
    let mut text = String::from("x1,x2,c\n");
    for i in 0..7 {
        let (x1, x2, c, _) = row(i);
        text.push_str(&format!("{x1},{x2},{c}\n"));
    }
    std::fs::write(dir.join("inputs.csv"), text).unwrap();
}

#[test]
fn a_labelled_file_predicts_the_same_values_as_the_file_without_its_label_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    trained(d, &[]);
    inputs_only(d);
    // The same rows with the label first and the inputs shuffled.
    let mut text = String::from("y,c,x1,x2\n");
    for i in 0..7 {
        let (x1, x2, c, y) = row(i);
        text.push_str(&format!("{y},{c},{x1},{x2}\n"));
    }
    std::fs::write(d.join("labelled.csv"), text).unwrap();
    let (expected, quiet) = run_ok(d, &["predict", "--model", "m", "--data", "inputs.csv"]);
    assert_eq!(quiet, "");
    assert_eq!(expected.lines().count(), 8, "{expected}");
    let (got, stderr) = run_ok(d, &["predict", "--model", "m", "--data", "labelled.csv"]);
    assert_eq!(got, expected);
    assert_eq!(
        stderr,
        "note: ignoring the target column 'y' of labelled.csv\n"
    );
}

#[test]
fn extra_columns_are_ignored_with_one_warning_naming_them_and_predict_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    trained(d, &[]);
    inputs_only(d);
    let mut text = String::from("id,x2,comment,c,x1\n");
    for i in 0..7 {
        let (x1, x2, c, _) = row(i);
        text.push_str(&format!("{i},{x2},hello,{c},{x1}\n"));
    }
    std::fs::write(d.join("junk.csv"), text).unwrap();
    let (expected, _) = run_ok(d, &["predict", "--model", "m", "--data", "inputs.csv"]);
    let (got, stderr) = run_ok(d, &["predict", "--model", "m", "--data", "junk.csv"]);
    assert_eq!(got, expected);
    assert_eq!(
        stderr,
        "warning: ignoring 2 columns of junk.csv that the model does not use: 'id', 'comment'\n"
    );
}

#[test]
fn a_missing_input_column_is_one_line_naming_only_it_and_the_config_listing_the_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    trained(d, &[]);
    // The file has x1, c, the label and a junk column, but not x2.
    std::fs::write(d.join("q.csv"), "x1,c,y,junk\n1.5,u,a,7\n").unwrap();
    let stderr = run_err(d, &["predict", "--model", "m", "--data", "q.csv"]);
    let config = Path::new("m").join("config.json");
    assert_eq!(
        stderr,
        format!(
            "error: invalid file q.csv: missing input column 'x2'; the model's 3 input columns \
             are listed in {} (preprocessing.encoder.columns)\n",
            config.display()
        )
    );
}

#[test]
fn many_missing_input_columns_list_ten_then_say_how_many_more() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // 13 inputs f0..f12; f0 decides the class.
    let names: Vec<String> = (0..13).map(|k| format!("f{k}")).collect();
    let mut text = format!("{},y\n", names.join(","));
    for i in 0..40 {
        let cells: Vec<String> = (0..13).map(|k| format!("{}", (i * (k + 1)) % 7)).collect();
        text.push_str(&format!(
            "{},{}\n",
            cells.join(","),
            if i % 7 < 3 { 0 } else { 1 }
        ));
    }
    std::fs::write(d.join("wide.csv"), text).unwrap();
    let train = [
        "train", "--data", "wide.csv", "--target", "y", "--model", "softmax", "--out", "w",
    ];
    run_ok(d, &train);
    std::fs::write(d.join("q.csv"), "f0,y\n1,0\n").unwrap();
    let stderr = run_err(d, &["predict", "--model", "w", "--data", "q.csv"]);
    // Missing: f1..f12 (12 columns); the first 10 are named.
    assert_eq!(
        stderr,
        format!(
            "error: invalid file q.csv: missing input columns 'f1', 'f2', 'f3', 'f4', 'f5', \
             'f6', 'f7', 'f8', 'f9', 'f10' and 2 more; the model's 13 input columns are listed \
             in {} (preprocessing.encoder.columns)\n",
            Path::new("w").join("config.json").display()
        )
    );
}

#[test]
fn a_missing_cell_suggests_filling_it_or_retraining_with_impute_not_a_predict_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    trained(d, &[]);
    std::fs::write(d.join("cell.csv"), "x1,x2,c\n1.5,3.25,u\n2.5,,v\n").unwrap();
    let stderr = run_err(d, &["predict", "--model", "m", "--data", "cell.csv"]);
    assert_eq!(
        stderr,
        "error: invalid file cell.csv: line 3, column 'x2': missing value (empty cell); the \
         model was trained without --impute, so it cannot fill it: fill the cell, or retrain \
         with `learnable train ... --impute mean` (or median) so that the model fills missing \
         values\n"
    );
    assert!(
        !stderr.contains("fill missing values with --impute"),
        "{stderr}"
    );
    // The hint holds: a model trained with --impute mean predicts the same file by itself.
    std::fs::remove_dir_all(d.join("m")).unwrap();
    trained(d, &["--impute", "mean"]);
    let (out, stderr) = run_ok(d, &["predict", "--model", "m", "--data", "cell.csv"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(stderr, "");
}
