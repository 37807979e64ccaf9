//! `learnable predict --model DIR --template`: the CSV header a user's --data file needs (the
//! model's raw input columns in the stored order), and a note naming the categorical columns.

mod common;
use common::{learnable, out_str};

use std::path::Path;

fn flowers() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flowers.csv")
        .display()
        .to_string()
}

fn train(dir: &Path, target: &str, out: &str) {
    let o = learnable(dir)
        .args(["train", "--data", &flowers(), "--target", target])
        .args(["--hidden", "4", "--epochs", "1", "--quiet", "--out", out])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
}

#[test]
fn template_prints_the_input_columns_and_predict_accepts_a_file_built_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    // Predicting the petal width makes the species column a categorical input.
    train(tmp.path(), "petal width (cm)", "m");
    let o = learnable(tmp.path())
        .args(["predict", "--model", "m", "--template"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let header = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(
        header,
        "sepal length (cm),sepal width (cm),petal length (cm),species\n"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("categorical: species (setosa, versicolor, virginica)"),
        "{stderr}"
    );
    // The header plus one row is a valid --data file.
    std::fs::write(
        tmp.path().join("new.csv"),
        format!("{header}5.1,3.5,1.4,setosa\n"),
    )
    .unwrap();
    let o = learnable(tmp.path())
        .args(["predict", "--model", "m", "--data", "new.csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("row,prediction\n0,"), "{text}");
}

#[test]
fn template_of_a_classifier_names_its_numeric_columns_and_quotes_as_csv() {
    let tmp = tempfile::tempdir().unwrap();
    train(tmp.path(), "species", "m");
    let o = learnable(tmp.path())
        .args(["predict", "--model", "m", "--template"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    assert_eq!(
        String::from_utf8(o.stdout.clone()).unwrap(),
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("4 input columns, all numbers"),
        "{}",
        out_str(&o)
    );
    // A column name with a comma is quoted, so the header reads back as the same names.
    let csv =
        "a,\"b,c\",y\n1,2,x\n2,1,y\n3,3,x\n4,0,y\n5,1,x\n6,2,y\n7,3,x\n8,1,y\n9,2,x\n10,0,y\n";
    std::fs::write(tmp.path().join("comma.csv"), csv).unwrap();
    let o = learnable(tmp.path())
        .args([
            "train",
            "--data",
            "comma.csv",
            "--target",
            "y",
            "--hidden",
            "2",
        ])
        .args(["--epochs", "1", "--quiet", "--out", "c", "--val-size", "0"])
        .args(["--test-size", "0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let o = learnable(tmp.path())
        .args(["predict", "--model", "c", "--template"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "a,\"b,c\"\n");
}

#[test]
fn template_conflicts_with_data_and_dataset_and_needs_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    for extra in [&["--data", "x.csv"][..], &["--dataset", "iris"][..]] {
        let o = learnable(tmp.path())
            .args(["predict", "--model", "m", "--template"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", out_str(&o));
        assert!(
            out_str(&o).contains("cannot be used with"),
            "{}",
            out_str(&o)
        );
    }
    let o = learnable(tmp.path())
        .args(["predict", "--model", "nosuch", "--template"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", out_str(&o));
    assert!(out_str(&o).contains("nosuch"), "{}", out_str(&o));
}
