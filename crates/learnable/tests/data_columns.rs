//! Choosing and typing the input columns of a CSV: the limit on one-hot categories (an ID
//! column), `features` / `drop`, forced `categorical` / `numeric` types, and the columns guessed
//! categorical. Expected values are worked out by hand from the small files each test writes.

use std::path::{Path, PathBuf};

use learnable::Error;
use learnable::data::{Options, Source, prepare};

/// Writes `text` to `name` in a fresh temporary folder; returns the folder guard and path.
fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn csv(path: &Path, target: &str) -> Source {
    Source::Csv {
        path: path.to_path_buf(),
        target: target.into(),
    }
}

/// No split, no scaling: every row is a training row and values stay as written.
fn raw() -> Options {
    Options {
        val_fraction: 0.0,
        test_fraction: 0.0,
        standardize: false,
        ..Options::default()
    }
}

/// 40,000 rows `id,x,y`: a distinct id per row (`u00000`..`u39999`), x = i % 7, y = a or b.
fn id_file() -> (tempfile::TempDir, PathBuf) {
    let mut text = String::from("id,x,y\n");
    for i in 0..40_000 {
        text.push_str(&format!("u{i:05},{},{}\n", i % 7, if i % 2 == 0 { "a" } else { "b" }));
    }
    file("ids.csv", &text)
}

#[test]
fn an_id_column_is_an_error_naming_it_and_the_drop_option_before_any_big_allocation() {
    // One-hot encoding 40,000 distinct ids densely would be 40,000 x 40,000 f64 (12.8 GB): the
    // encoder must stop at the category count (40,000 > 1000) before allocating.
    let (_d, path) = id_file();
    let start = std::time::Instant::now();
    let err = prepare(&csv(&path, "y"), &Options::default()).unwrap_err();
    assert!(
        start.elapsed().as_secs() < 30,
        "took {:?}",
        start.elapsed()
    );
    match &err {
        Error::TooManyCategories {
            column,
            distinct,
            rows,
            max,
            ..
        } => assert_eq!((column.as_str(), *distinct, *rows, *max), ("id", 40_000, 40_000, 1000)),
        other => panic!("expected TooManyCategories, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "invalid file {}: column 'id' has 40000 distinct values in 40000 rows, more than the \
             1000 categories one-hot encoding allows (option `max_categories`); it looks like an \
             identifier or free text: leave it out with the `drop` option",
            path.display()
        )
    );
}

#[test]
fn max_categories_is_the_largest_allowed_count_of_distinct_values() {
    // Column c has 3 distinct values (red, green, blue) and one missing cell, not counted.
    let (_d, path) = file(
        "c.csv",
        "c,y\nred,1\ngreen,2\nblue,3\n,4\nred,5\n",
    );
    let at = |max| {
        let opts = Options {
            max_categories: max,
            impute: Some(learnable::data::Impute::Mean),
            ..raw()
        };
        prepare(&csv(&path, "y"), &opts)
    };
    let p = at(3).unwrap();
    assert_eq!(
        p.preprocessing.feature_names(),
        vec!["c_blue", "c_green", "c_red"]
    );
    let err = at(2).unwrap_err().to_string();
    assert!(
        err.contains("column 'c' has 3 distinct values in 5 rows, more than the 2 categories"),
        "{err}"
    );
}

#[test]
fn an_old_config_without_max_categories_loads_with_the_default() {
    let json = r#"{"task":null,"impute":null,"val_fraction":0.1,"test_fraction":0.2,"seed":0,"standardize":true}"#;
    let opts: Options = serde_json::from_str(json).unwrap();
    assert_eq!(opts, Options::default());
}
