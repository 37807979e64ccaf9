//! End-to-end tests of `learnable train`, `eval` and `predict` on CSV files written by the test:
//! the real binary in a temporary directory. Expected values come from how each file is built
//! (the class of every row and the exact linear formula of every price are known by
//! construction), and the error cases name what the user must see: the file, line and column,
//! the offending value, the allowed range.

mod common;
use common::{learnable, out_str};

use std::path::Path;

/// Runs the command and asserts success, returning stdout + stderr.
fn ok(dir: &Path, args: &[&str]) -> String {
    let o = learnable(dir).args(args).output().unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{args:?} failed:\n{text}");
    text
}

/// Runs the command and asserts the user-error contract: exit status 1, stderr is one line
/// `error: ...` that contains every needle, no panic and no backtrace (besides `note:` lines
/// about the data printed before the failure, e.g. the columns guessed categorical). Returns
/// that line.
fn fails(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let o = learnable(dir).args(args).output().unwrap();
    let text = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: exit status\n{text}");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: "))
        .collect();
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
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!text.contains(bad), "{args:?}: {bad}:\n{text}");
    }
    lines[0].to_string()
}

const CLASSES: [&str; 3] = ["cat", "dog", "fish"];

/// Row `i` of the animals file: (length, weight, habitat, species). The class is `i % 3` and
/// decides the length (cat ~3, dog ~6, fish ~9, jitter ±0.4), so the classes are separable by
/// length alone; weight is noise; habitat is a string column (cats: house; dogs: house or yard;
/// fish: tank) that the encoder one-hot encodes.
fn animal(i: usize) -> (f64, f64, &'static str, &'static str) {
    let c = i % 3;
    let length = 3.0 * (c + 1) as f64 + ((i * 7) % 5) as f64 * 0.2 - 0.4;
    let weight = ((i * 13) % 11) as f64 * 0.5;
    let habitat = match c {
        0 => "house",
        1 if i % 2 == 0 => "house",
        1 => "yard",
        _ => "tank",
    };
    (length, weight, habitat, CLASSES[c])
}

/// The animals file: 60 rows, 20 per class; with `target` false the species column is left out
/// (a file to predict on).
fn animals_csv(rows: std::ops::Range<usize>, target: bool) -> String {
    let mut s = String::from(if target {
        "length,weight,habitat,species\n"
    } else {
        "length,weight,habitat\n"
    });
    for i in rows {
        let (l, w, h, y) = animal(i);
        if target {
            s.push_str(&format!("{l},{w},{h},{y}\n"));
        } else {
            s.push_str(&format!("{l},{w},{h}\n"));
        }
    }
    s
}

/// Row `i` of the houses file: (area, rooms, city, price) with the exact formula
/// price = 2.5·area + 10·rooms + 30·[city = north] + 5.25 (no noise), so least squares must
/// recover it to rounding.
fn house(i: usize) -> (f64, f64, &'static str, f64) {
    let area = 50.0 + ((i * 17) % 40) as f64 * 3.5;
    let rooms = (1 + (i * 5) % 4) as f64;
    let city = if i % 2 == 0 { "north" } else { "south" };
    (area, rooms, city, price_of(area, rooms, city))
}

fn price_of(area: f64, rooms: f64, city: &str) -> f64 {
    2.5 * area + 10.0 * rooms + if city == "north" { 30.0 } else { 0.0 } + 5.25
}

fn houses_csv(rows: std::ops::Range<usize>, target: bool) -> String {
    let mut s = String::from(if target {
        "area,rooms,city,price\n"
    } else {
        "area,rooms,city\n"
    });
    for i in rows {
        let (a, r, c, p) = house(i);
        if target {
            s.push_str(&format!("{a},{r},{c},{p}\n"));
        } else {
            s.push_str(&format!("{a},{r},{c}\n"));
        }
    }
    s
}

/// Parses a predictions CSV into its header and rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// Checks a classifier's predictions file for `n` rows: header `row,prediction,p_cat,p_dog,
/// p_fish` (classes sorted, as scikit-learn's LabelEncoder), probabilities in [0, 1] summing to 1
/// (6 printed decimals: within 3·5e-7 plus rounding), the prediction the most probable class.
/// Returns the predicted labels.
fn check_class_predictions(path: &Path, n: usize) -> Vec<String> {
    let (header, rows) = read_csv(path);
    assert_eq!(header, ["row", "prediction", "p_cat", "p_dog", "p_fish"]);
    assert_eq!(rows.len(), n);
    let mut labels = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 5, "{r:?}");
        assert_eq!(r[0], i.to_string());
        let p: Vec<f64> = r[2..].iter().map(|v| v.parse().unwrap()).collect();
        assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)), "{r:?}");
        let sum: f64 = p.iter().sum();
        assert!((sum - 1.0).abs() <= 2e-6, "row {i} sums to {sum}: {r:?}");
        let best = (0..3).fold(0, |b, k| if p[k] > p[b] { k } else { b });
        assert_eq!(r[1], CLASSES[best], "{r:?}");
        labels.push(r[1].clone());
    }
    labels
}

#[test]
fn an_mlp_trains_evaluates_and_predicts_on_a_csv_with_a_string_feature_and_target() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("animals.csv"), animals_csv(0..60, true)).unwrap();
    // Rows 60..72 are new animals built by the same rule; their species are known.
    std::fs::write(d.join("new.csv"), animals_csv(60..72, false)).unwrap();
    let text = ok(
        d,
        &[
            "train",
            "--data",
            "animals.csv",
            "--target",
            "species",
            "--hidden",
            "16",
            "--epochs",
            "30",
            "--batch-size",
            "8",
            "--learning-rate",
            "0.01",
            "--out",
            "m",
        ],
    );
    // Stratified split of 20 rows per class: round(0.2·20) = 4 test and round(0.1·20) = 2
    // validation rows per class, so 42 / 6 / 12 rows; 2 numeric + 3 one-hot features.
    assert!(
        text.contains("42 train, 6 validation, 12 test rows, 5 features, 3 classes"),
        "{text}"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    assert_eq!(cfg["classes"], serde_json::json!(CLASSES));
    assert_eq!(
        cfg["feature_names"],
        serde_json::json!([
            "length",
            "weight",
            "habitat_house",
            "habitat_tank",
            "habitat_yard"
        ])
    );
    let history = std::fs::read_to_string(d.join("m/history.csv")).unwrap();
    assert_eq!(history.lines().count(), 31, "{history}");

    // eval on the training file: the classes are separable by length (by construction).
    let e = ok(
        d,
        &["eval", "--model", "m", "--data", "animals.csv", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert_eq!(v["rows"], 60);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.95, "{v}");
    assert_eq!(v["classes"], serde_json::json!(CLASSES));
    let human = ok(d, &["eval", "--model", "m", "--data", "animals.csv"]);
    assert!(human.contains("accuracy:") && human.contains("confusion matrix"));

    // predict on a file without the target column.
    ok(
        d,
        &[
            "predict", "--model", "m", "--data", "new.csv", "--out", "pred.csv",
        ],
    );
    let labels = check_class_predictions(&d.join("pred.csv"), 12);
    let expected: Vec<&str> = (60..72).map(|i| animal(i).3).collect();
    let right = labels.iter().zip(&expected).filter(|(a, b)| a == b).count();
    assert!(right >= 11, "{labels:?} vs {expected:?}");

    // To standard output too, with the logits: 2 + 3 + 3 columns.
    let o = learnable(d)
        .args(["predict", "--model", "m", "--data", "new.csv", "--logits"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.starts_with(
            "row,prediction,p_cat,p_dog,p_fish,logit_cat,logit_dog,logit_fish\n0,cat,"
        ),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 13);
}

#[test]
fn softmax_and_logistic_regression_fit_csv_classes_in_closed_form() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("animals.csv"), animals_csv(0..60, true)).unwrap();
    std::fs::write(d.join("new.csv"), animals_csv(60..90, false)).unwrap();
    ok(
        d,
        &[
            "train",
            "--data",
            "animals.csv",
            "--target",
            "species",
            "--model",
            "softmax",
            "--out",
            "sm",
        ],
    );
    let e = ok(
        d,
        &["eval", "--model", "sm", "--data", "animals.csv", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&e).unwrap();
    // Separable by length (by construction): L-BFGS with C = 1 classifies every row.
    assert_eq!(v["accuracy"].as_f64().unwrap(), 1.0, "{v}");
    ok(
        d,
        &[
            "predict", "--model", "sm", "--data", "new.csv", "--out", "p.csv",
        ],
    );
    let labels = check_class_predictions(&d.join("p.csv"), 30);
    let expected: Vec<String> = (60..90).map(|i| animal(i).3.to_string()).collect();
    assert_eq!(labels, expected);

    // Binary logistic regression: passed = yes when hours > 5, with two rows on the "wrong"
    // side so the data are not separable (finite coefficients).
    let mut s = String::from("hours,passed\n");
    for i in 0..40 {
        let hours = i as f64 * 0.25;
        let yes = (hours > 5.0) != (i == 18 || i == 23);
        s.push_str(&format!("{hours},{}\n", if yes { "yes" } else { "no" }));
    }
    std::fs::write(d.join("exam.csv"), s).unwrap();
    std::fs::write(d.join("exam_new.csv"), "hours\n0.5\n9.5\n").unwrap();
    ok(
        d,
        &[
            "train", "--data", "exam.csv", "--target", "passed", "--model", "logistic", "--out",
            "lg",
        ],
    );
    ok(
        d,
        &[
            "predict",
            "--model",
            "lg",
            "--data",
            "exam_new.csv",
            "--out",
            "p2.csv",
        ],
    );
    let (header, rows) = read_csv(&d.join("p2.csv"));
    assert_eq!(header, ["row", "prediction", "p_no", "p_yes"]);
    assert_eq!(rows[0][1], "no");
    assert_eq!(rows[1][1], "yes");
    for r in &rows {
        let s: f64 = r[2..].iter().map(|v| v.parse::<f64>().unwrap()).sum();
        assert!((s - 1.0).abs() <= 2e-6, "{r:?}");
    }
}

#[test]
fn least_squares_on_a_regression_csv_recovers_the_exact_formula() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("houses.csv"), houses_csv(0..40, true)).unwrap();
    std::fs::write(d.join("new.csv"), houses_csv(40..50, false)).unwrap();
    ok(
        d,
        &[
            "train",
            "--data",
            "houses.csv",
            "--target",
            "price",
            "--model",
            "linear",
            "--out",
            "lin",
        ],
    );
    ok(
        d,
        &[
            "predict", "--model", "lin", "--data", "new.csv", "--out", "p.csv",
        ],
    );
    let (header, rows) = read_csv(&d.join("p.csv"));
    assert_eq!(header, ["row", "prediction"]);
    assert_eq!(rows.len(), 10);
    for (r, i) in rows.iter().zip(40..50) {
        let (.., want) = house(i);
        let got: f64 = r[1].parse().unwrap();
        // f32 parameters: relative rounding ~6e-8 of prices ~300-700.
        assert!((got - want).abs() < 1e-2, "row {i}: {got} vs {want}");
    }
    let e = ok(
        d,
        &["eval", "--model", "lin", "--data", "houses.csv", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert!(v["r2"].as_f64().unwrap() > 1.0 - 1e-9, "{v}");
    assert!(v["mae"].as_f64().unwrap() < 1e-2, "{v}");

    // Ridge shrinks the weights a little (alpha 1 on 28 standardised rows): close, not exact.
    ok(
        d,
        &[
            "train",
            "--data",
            "houses.csv",
            "--target",
            "price",
            "--model",
            "ridge",
            "--alpha",
            "1",
            "--out",
            "ridge",
        ],
    );
    let e = ok(
        d,
        &["eval", "--model", "ridge", "--data", "houses.csv", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&e).unwrap();
    let r2 = v["r2"].as_f64().unwrap();
    assert!(r2 > 0.99 && r2 < 1.0 - 1e-9, "{v}");

    // An MLP regressor trains on the same file and reports MSE/MAE/R².
    ok(
        d,
        &[
            "train",
            "--data",
            "houses.csv",
            "--target",
            "price",
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--out",
            "mlp",
        ],
    );
    let e = ok(d, &["eval", "--model", "mlp", "--data", "houses.csv"]);
    assert!(
        e.contains("mse:") && e.contains("mae:") && e.contains("r2:"),
        "{e}"
    );
    ok(d, &["predict", "--model", "mlp", "--data", "new.csv"]);
}

#[test]
fn a_missing_cell_is_an_error_naming_file_line_and_column_unless_imputed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut csv = animals_csv(0..60, true);
    // Line 1 is the header, so data row 4 is line 5; blank its weight.
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let (l, _, h, y) = animal(4);
    lines[5] = format!("{l},,{h},{y}");
    csv = lines.join("\n") + "\n";
    std::fs::write(d.join("holes.csv"), &csv).unwrap();
    let train = [
        "train",
        "--data",
        "holes.csv",
        "--target",
        "species",
        "--model",
        "softmax",
        "--out",
        "m",
    ];
    fails(
        d,
        &train,
        &["holes.csv", "line 6", "column 'weight'", "--impute"],
    );
    let mut imputed = train.to_vec();
    imputed.extend(["--impute", "mean"]);
    ok(d, &imputed);
    // The fill value is the mean weight of the training rows; predict uses it for a blank too.
    std::fs::write(d.join("q.csv"), "length,weight,habitat\n9.0,,tank\n").unwrap();
    ok(
        d,
        &[
            "predict", "--model", "m", "--data", "q.csv", "--out", "p.csv",
        ],
    );
    let (_, rows) = read_csv(&d.join("p.csv"));
    assert_eq!(rows[0][1], "fish");
}

#[test]
fn malformed_csv_files_exit_nonzero_with_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let files: &[(&str, &str, &[&str])] = &[
        ("empty.csv", "", &["empty.csv", "empty"]),
        (
            "header_only.csv",
            "x,y,label\n",
            &["header_only.csv", "no data rows"],
        ),
        (
            "ragged.csv",
            "x,y,label\n1,2,a\n3,b\n5,6,b\n",
            &["ragged.csv", "line 3", "2 fields, expected 3"],
        ),
        (
            "nan.csv",
            "x,y,label\n1,2,a\n3,NaN,b\n5,6,b\n",
            &["nan.csv", "line 3", "column 'y'", "missing value 'NaN'"],
        ),
        (
            "inf.csv",
            "x,y,label\n1,2,a\n3,inf,b\n5,6,b\n",
            &["inf.csv", "line 3", "column 'y'", "not a finite number"],
        ),
    ];
    for (name, content, needles) in files {
        std::fs::write(d.join(name), content).unwrap();
        fails(
            d,
            &[
                "train",
                "--data",
                name,
                "--target",
                "label",
                "--val-fraction",
                "0",
                "--test-fraction",
                "0",
                "--model",
                "softmax",
            ],
            needles,
        );
    }
    fails(
        d,
        &["train", "--data", "missing.csv", "--target", "label"],
        &["missing.csv"],
    );
}

#[test]
fn an_unknown_target_column_is_reported_with_the_columns_there_are() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("animals.csv"), animals_csv(0..60, true)).unwrap();
    fails(
        d,
        &["train", "--data", "animals.csv", "--target", "kind"],
        &[
            "animals.csv",
            "no column 'kind'",
            "length, weight, habitat, species",
        ],
    );
}

#[test]
fn out_of_range_hyperparameters_are_rejected_with_the_allowed_range() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("animals.csv"), animals_csv(0..60, true)).unwrap();
    let base = ["train", "--data", "animals.csv", "--target", "species"];
    let cases: &[(&[&str], &[&str])] = &[
        (&["--epochs", "0"], &["--epochs", "0", ">= 1"]),
        (&["--batch-size", "0"], &["--batch-size", "0", ">= 1"]),
        (&["--dropout", "1.5"], &["--dropout", "1.5", "[0, 1)"]),
        (
            &["--val-fraction", "0.7", "--test-fraction", "0.5"],
            &["--val-fraction + --test-fraction", "1.2", "< 1"],
        ),
        (&["--hidden", "16,0"], &["--hidden", "0", ">= 1"]),
        (
            &["--learning-rate", "0", "--epochs", "1"],
            &["--learning-rate", "> 0"],
        ),
    ];
    for (extra, needles) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.extend(["--out", "m"]);
        fails(d, &args, needles);
        // Nothing was saved for a rejected run.
        assert!(!d.join("m/config.json").exists(), "{extra:?}");
    }
}

#[test]
fn a_class_with_too_few_rows_to_stratify_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut csv = animals_csv(0..60, true);
    csv.push_str("12.0,1.0,tank,whale\n");
    std::fs::write(d.join("rare.csv"), csv).unwrap();
    fails(
        d,
        &["train", "--data", "rare.csv", "--target", "species"],
        &["class 'whale' has 1 row", "lower the fractions"],
    );
}

#[test]
fn predict_rejects_unseen_categories_and_wrong_columns_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("animals.csv"), animals_csv(0..60, true)).unwrap();
    ok(
        d,
        &[
            "train",
            "--data",
            "animals.csv",
            "--target",
            "species",
            "--model",
            "softmax",
            "--out",
            "m",
        ],
    );
    let cases: &[(&str, &[&str])] = &[
        (
            "length,weight,habitat\n3.0,1.0,house\n9.0,1.0,ocean\n",
            &[
                "line 3",
                "column 'habitat'",
                "unseen category 'ocean'",
                "house, tank, yard",
            ],
        ),
        (
            "length,habitat\n3.0,house\n",
            &["missing input column 'weight';", "config.json"],
        ),
    ];
    for (content, needles) in cases {
        std::fs::write(d.join("q.csv"), content).unwrap();
        fails(
            d,
            &["predict", "--model", "m", "--data", "q.csv"],
            &[&["q.csv"], *needles].concat(),
        );
    }
    // eval needs the target column, and its classes must be known.
    std::fs::write(
        d.join("e.csv"),
        "length,weight,habitat,species\n3.0,1.0,house,cat\n9.0,1.0,tank,shark\n",
    )
    .unwrap();
    fails(
        d,
        &["eval", "--model", "m", "--data", "e.csv"],
        &["e.csv", "line 3", "unseen class 'shark'"],
    );
    std::fs::write(d.join("e2.csv"), "length,weight,habitat\n3.0,1.0,house\n").unwrap();
    fails(
        d,
        &["eval", "--model", "m", "--data", "e2.csv"],
        &["e2.csv", "no column 'species'"],
    );
}

#[test]
fn a_bom_crlf_line_ends_and_quoted_fields_are_read_as_plain_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // The habitat names hold a comma and a doubled quote; every line ends in CRLF.
    let name = |h: &str| match h {
        "house" => "\"house, warm\"",
        "yard" => "\"yard \"\"big\"\"\"",
        _ => "tank",
    };
    let mut s = String::from("\u{feff}length,weight,habitat,\"species\"\r\n");
    for i in 0..60 {
        let (l, w, h, y) = animal(i);
        s.push_str(&format!("{l},{w},{},\"{y}\"\r\n", name(h)));
    }
    std::fs::write(d.join("bom.csv"), s).unwrap();
    let text = ok(
        d,
        &[
            "train", "--data", "bom.csv", "--target", "species", "--model", "softmax", "--out", "m",
        ],
    );
    assert!(text.contains("5 features, 3 classes"), "{text}");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    assert_eq!(
        cfg["feature_names"],
        serde_json::json!([
            "length",
            "weight",
            "habitat_house, warm",
            "habitat_tank",
            "habitat_yard \"big\""
        ])
    );
    assert_eq!(cfg["classes"], serde_json::json!(CLASSES));
    let e = ok(d, &["eval", "--model", "m", "--data", "bom.csv", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert_eq!(v["accuracy"].as_f64().unwrap(), 1.0, "{v}");
    // A prediction file in the same dialect, without the target.
    std::fs::write(
        d.join("q.csv"),
        "\u{feff}length,weight,habitat\r\n3.0,1.0,\"house, warm\"\r\n9.0,2.0,tank\r\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "predict", "--model", "m", "--data", "q.csv", "--out", "p.csv",
        ],
    );
    let (_, rows) = read_csv(&d.join("p.csv"));
    assert_eq!(rows[0][1], "cat");
    assert_eq!(rows[1][1], "fish");
    // A ragged line in a CRLF file is reported on its own line number.
    std::fs::write(
        d.join("bad.csv"),
        "\u{feff}length,weight,habitat\r\n3.0,1.0,tank\r\n3.0,1.0\r\n",
    )
    .unwrap();
    fails(
        d,
        &["predict", "--model", "m", "--data", "bad.csv"],
        &["bad.csv", "line 3"],
    );
}

#[test]
fn a_failed_predict_leaves_the_output_file_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("animals.csv"), animals_csv(0..60, true)).unwrap();
    ok(
        d,
        &[
            "train",
            "--data",
            "animals.csv",
            "--target",
            "species",
            "--model",
            "softmax",
            "--out",
            "m",
        ],
    );
    // The last row has an unseen category: the whole run fails, nothing is (partly) written.
    let mut bad = animals_csv(60..90, false);
    bad.push_str("3.0,1.0,ocean\n");
    std::fs::write(d.join("bad.csv"), bad).unwrap();
    let listing = |dir: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let before = listing(d);
    fails(
        d,
        &[
            "predict", "--model", "m", "--data", "bad.csv", "--out", "p.csv",
        ],
        &["ocean"],
    );
    assert!(!d.join("p.csv").exists());
    assert_eq!(listing(d), before, "stray files after a failed predict");

    // An existing output keeps its old content when a later predict fails.
    std::fs::write(d.join("p.csv"), "old predictions\n").unwrap();
    fails(
        d,
        &[
            "predict", "--model", "m", "--data", "bad.csv", "--out", "p.csv",
        ],
        &["ocean"],
    );
    assert_eq!(
        std::fs::read_to_string(d.join("p.csv")).unwrap(),
        "old predictions\n"
    );

    // An output in a directory that does not exist: an error naming it, no file anywhere.
    std::fs::write(d.join("good.csv"), animals_csv(60..63, false)).unwrap();
    let before = listing(d);
    fails(
        d,
        &[
            "predict",
            "--model",
            "m",
            "--data",
            "good.csv",
            "--out",
            "nowhere/p.csv",
        ],
        &["nowhere/p.csv"],
    );
    assert_eq!(listing(d), before);
    // A successful predict replaces the old file whole.
    ok(
        d,
        &[
            "predict", "--model", "m", "--data", "good.csv", "--out", "p.csv",
        ],
    );
    check_class_predictions(&d.join("p.csv"), 3);
    assert_eq!(listing(d), before);
}

#[test]
fn an_unclosed_quote_names_the_line_and_column_where_it_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Row 10 of the animals file (line 12: header + 10 rows before it) opens a quote in the
    // habitat column that nothing closes; the csv crate alone would read lines 12-61 as one
    // field and the user would get a message about the species column.
    let mut lines: Vec<String> = animals_csv(0..60, true)
        .lines()
        .map(str::to_string)
        .collect();
    let (l, w, _, y) = animal(10);
    lines[11] = format!("{l},{w},\"house,{y}");
    std::fs::write(d.join("quote.csv"), lines.join("\n") + "\n").unwrap();
    let line = fails(
        d,
        &["train", "--data", "quote.csv", "--target", "species"],
        &[
            "quote.csv",
            "line 12, column 'habitat'",
            &format!("(\"house,{y})"),
            "is never closed",
        ],
    );
    assert!(!line.contains("species'"), "{line}");
}

#[test]
fn a_stray_text_cell_in_a_numeric_column_is_named_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Row 6 (line 8) has 'n/a?' as its weight; the other 59 weights are numbers. Before, the
    // weight column silently became one one-hot feature per distinct weight.
    let mut lines: Vec<String> = animals_csv(0..60, true)
        .lines()
        .map(str::to_string)
        .collect();
    let (l, _, h, y) = animal(6);
    lines[7] = format!("{l},n/a?,{h},{y}");
    std::fs::write(d.join("stray.csv"), lines.join("\n") + "\n").unwrap();
    let train = [
        "train",
        "--data",
        "stray.csv",
        "--target",
        "species",
        "--out",
        "m",
    ];
    fails(
        d,
        &train,
        &[
            "stray.csv",
            "line 8, column 'weight'",
            "'n/a?' is not a number, but 59 of the column's 60 non-missing values are",
            "N/A, NA, NULL, NaN, None, n/a, nan, null",
            "--impute mean",
        ],
    );
    // Following the advice (mark it missing, impute) trains; weight stays one feature.
    lines[7] = format!("{l},n/a,{h},{y}");
    std::fs::write(d.join("stray.csv"), lines.join("\n") + "\n").unwrap();
    let mut imputed = train.to_vec();
    imputed.extend(["--impute", "mean", "--model", "softmax"]);
    ok(d, &imputed);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    // length, weight, then habitat's 3 categories (house, tank, yard) as in the animals file.
    assert_eq!(
        config["feature_names"],
        serde_json::json!([
            "length",
            "weight",
            "habitat_house",
            "habitat_tank",
            "habitat_yard"
        ])
    );
}
