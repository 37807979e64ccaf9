//! Choosing and typing the input columns of a CSV: the limit on one-hot categories (an ID
//! column), `features` / `drop`, forced `categorical` / `numeric` types, and the columns guessed
//! categorical. Expected values are worked out by hand from the small files each test writes.

use std::path::{Path, PathBuf};

use learnable::Error;
use learnable::data::{Options, Source, SplitSize, prepare};

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
        val_size: SplitSize::Fraction(0.0),
        test_size: SplitSize::Fraction(0.0),
        standardize: false,
        ..Options::default()
    }
}

/// 40,000 rows `id,x,y`: a distinct id per row (`u00000`..`u39999`), x = i % 7, y = a or b.
fn id_file() -> (tempfile::TempDir, PathBuf) {
    let mut text = String::from("id,x,y\n");
    for i in 0..40_000 {
        text.push_str(&format!(
            "u{i:05},{},{}\n",
            i % 7,
            if i % 2 == 0 { "a" } else { "b" }
        ));
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
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
    match &err {
        Error::TooManyCategories {
            column,
            distinct,
            rows,
            max,
            ..
        } => assert_eq!(
            (column.as_str(), *distinct, *rows, *max),
            ("id", 40_000, 40_000, 1000)
        ),
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
    let (_d, path) = file("c.csv", "c,y\nred,1\ngreen,2\nblue,3\n,4\nred,5\n");
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

/// `id,age,color,zip,half,y`: id distinct per row; age numeric; color words; zip numbers with
/// one stray word on line 5 (row 4); half numbers on lines 2-3 and words on lines 4-5.
const PEOPLE: &str = "\
id,age,color,zip,half,y
p1,30,red,1000,1,a
p2,40,blue,2000,2,b
p3,35,red,1000,x,a
p4,50,green,abc,y,b
";

fn people() -> (tempfile::TempDir, PathBuf) {
    file("people.csv", PEOPLE)
}

fn with(f: impl FnOnce(&mut Options)) -> Options {
    let mut o = raw();
    f(&mut o);
    o
}

#[test]
fn drop_leaves_columns_out_and_features_keeps_only_the_named_ones_in_their_order() {
    let (_d, path) = people();
    let p = prepare(
        &csv(&path, "y"),
        &with(|o| o.drop = vec!["id".into(), "zip".into(), "half".into()]),
    )
    .unwrap();
    assert_eq!(
        p.preprocessing.feature_names(),
        vec!["age", "color_blue", "color_green", "color_red"]
    );
    // Row 0 (line 2): age 30, color red.
    assert_eq!(&p.train.features_f64()[..4], &[30.0, 0.0, 0.0, 1.0]);

    let p = prepare(
        &csv(&path, "y"),
        &with(|o| o.features = Some(vec!["color".into(), "age".into()])),
    )
    .unwrap();
    assert_eq!(
        p.preprocessing.feature_names(),
        vec!["color_blue", "color_green", "color_red", "age"]
    );
    assert_eq!(&p.train.features_f64()[..4], &[0.0, 0.0, 1.0, 30.0]);
    // The stored encoder ignores the other columns, so new ids at prediction time are fine.
    let (_d2, new) = file("new.csv", "id,age,color,zip,half\nq9,44,blue,zzz,w\n");
    let x = p.preprocessing.load_csv_features(&new).unwrap();
    assert_eq!(x.features_f64().as_ref(), &[1.0, 0.0, 0.0, 44.0]);
}

#[test]
fn an_unknown_column_is_an_error_naming_it_and_the_available_columns() {
    let (_d, path) = people();
    let err = prepare(
        &csv(&path, "y"),
        &with(|o| o.features = Some(vec!["agee".into(), "age".into(), "colour".into()])),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid value for features: agee, colour (allowed: column names of {}: id, age, \
             color, zip, half)",
            path.display()
        )
    );
    let err = prepare(&csv(&path, "y"), &with(|o| o.drop = vec!["ID".into()])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid value for drop: ID (allowed: column names of"),
        "{err}"
    );
    // At most 10 available columns are listed: c0..c11 and y make 12 inputs.
    let header: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    let row = vec!["0"; 12].join(",");
    let text = format!("{},y\n{row},1\n{row},2\n", header.join(","));
    let (_d3, wide) = file("wide.csv", &text);
    let err = prepare(&csv(&wide, "y"), &with(|o| o.drop = vec!["nope".into()])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid value for drop: nope (allowed: column names of {}: c0, c1, c2, c3, c4, c5, \
             c6, c7, c8, c9, ... (12 in all))",
            wide.display()
        )
    );
}

#[test]
fn the_target_cannot_be_dropped_or_be_a_feature_and_some_input_must_remain() {
    let (_d, path) = people();
    for (option, opts) in [
        ("drop", with(|o| o.drop = vec!["y".into()])),
        (
            "features",
            with(|o| o.features = Some(vec!["age".into(), "y".into()])),
        ),
    ] {
        let err = prepare(&csv(&path, "y"), &opts).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("invalid value for {option}: y (allowed: columns other than the target 'y')")
        );
    }
    let err = prepare(
        &csv(&path, "y"),
        &with(|o| {
            o.features = Some(vec!["age".into()]);
            o.drop = vec!["age".into()];
        }),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        format!(
            "invalid value for drop: age (allowed: at least one input column of {} left)",
            path.display()
        )
    );
    let err = prepare(
        &csv(&path, "y"),
        &with(|o| o.features = Some(vec!["age".into(), "age".into()])),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid value for features: age (allowed: each column named once)"
    );
}

#[test]
fn column_choices_are_stored_in_options_and_old_configs_load_without_them() {
    let opts = with(|o| {
        o.features = Some(vec!["age".into(), "color".into()]);
        o.drop = vec!["id".into()];
        o.categorical = vec!["age".into()];
    });
    let json = serde_json::to_string(&opts).unwrap();
    assert!(json.contains(r#""features":["age","color"]"#), "{json}");
    assert!(json.contains(r#""drop":["id"]"#), "{json}");
    let back: Options = serde_json::from_str(&json).unwrap();
    assert_eq!(back, opts);
    let old = r#"{"task":null,"impute":"mean","val_fraction":0.0,"test_fraction":0.5,"seed":3,"standardize":false}"#;
    let o: Options = serde_json::from_str(old).unwrap();
    assert_eq!(
        (o.features, o.drop, o.categorical, o.numeric),
        (None, vec![], vec![], vec![])
    );
}

#[test]
fn a_bundled_dataset_takes_features_and_drop_by_its_feature_names() {
    let src = Source::Bundled("iris".into());
    let p = prepare(
        &src,
        &Options {
            features: Some(vec!["petal width (cm)".into(), "sepal length (cm)".into()]),
            standardize: false,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(
        p.preprocessing.feature_names(),
        vec!["petal width (cm)", "sepal length (cm)"]
    );
    // The split is the same as with every feature (it does not depend on the columns): compare
    // with the full dataset's rows, data/iris/iris.csv row r = (sl, sw, pl, pw).
    let full = prepare(
        &src,
        &Options {
            standardize: false,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(p.split, full.split);
    let (a, b) = (p.train.features_f64(), full.train.features_f64());
    for r in 0..p.train.n_rows() {
        assert_eq!([a[2 * r], a[2 * r + 1]], [b[4 * r + 3], b[4 * r]]);
    }
    let p = prepare(
        &src,
        &Options {
            drop: vec!["sepal width (cm)".into()],
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(p.train.n_features(), 3);
    let err = prepare(
        &src,
        &Options {
            categorical: vec!["sepal width (cm)".into()],
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid value for categorical: sepal width (cm) (allowed: no column for dataset iris, \
         whose features are all numeric)"
    );
    let err = prepare(
        &src,
        &Options {
            drop: vec!["petal".into()],
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(
            "invalid value for drop: petal (allowed: column names of iris: sepal length (cm), "
        ),
        "{err}"
    );
}

#[test]
fn columns_guessed_categorical_are_reported_and_forced_ones_are_not() {
    let (_d, path) = people();
    // zip is mostly numbers with a stray word: an error unless its type is given.
    let err = prepare(&csv(&path, "y"), &with(|o| o.drop = vec!["id".into()]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 5, column 'zip': 'abc' is not a number, but 3 of the column's 4"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "if the column's values are categories, declare it categorical (option `categorical`)"
        ),
        "{err}"
    );
    let p = prepare(
        &csv(&path, "y"),
        &with(|o| {
            o.drop = vec!["id".into()];
            o.categorical = vec!["zip".into(), "age".into()];
        }),
    )
    .unwrap();
    // half (2 numbers, 2 words) and color are guessed; zip and age were asked for.
    assert_eq!(p.guessed_categorical, vec!["color", "half"]);
    assert_eq!(
        p.preprocessing.feature_names(),
        vec![
            "age_30",
            "age_35",
            "age_40",
            "age_50",
            "color_blue",
            "color_green",
            "color_red",
            "zip_1000",
            "zip_2000",
            "zip_abc",
            "half_1",
            "half_2",
            "half_x",
            "half_y"
        ]
    );
    let p = prepare(
        &csv(&path, "y"),
        &with(|o| o.features = Some(vec!["age".into()])),
    )
    .unwrap();
    assert!(p.guessed_categorical.is_empty());
}

#[test]
fn numeric_reads_a_column_as_numbers_and_names_the_first_cell_that_is_not() {
    let (_d, path) = people();
    let err = prepare(
        &csv(&path, "y"),
        &with(|o| {
            o.features = Some(vec!["half".into()]);
            o.numeric = vec!["half".into()];
        }),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!(
            "invalid file {}: line 4, column 'half': 'x' is not a number, but the column is \
             declared numeric (option `numeric`); fix the cell, or mark it as missing",
            path.display()
        )),
        "{err}"
    );
    // Lines 2-3 only (a copy without the words): numeric as declared.
    let (_d2, two) = file("two.csv", "half,y\n1,a\n2,b\n");
    let p = prepare(&csv(&two, "y"), &with(|o| o.numeric = vec!["half".into()])).unwrap();
    assert_eq!(p.train.features_f64().as_ref(), &[1.0, 2.0]);
    let err = prepare(
        &csv(&path, "y"),
        &with(|o| {
            o.categorical = vec!["age".into()];
            o.numeric = vec!["age".into()];
        }),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid value for categorical: age (allowed: columns not also declared numeric (option \
         `numeric`))"
    );
    let err = prepare(
        &csv(&path, "y"),
        &with(|o| {
            o.drop = vec!["age".into()];
            o.numeric = vec!["age".into()];
        }),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid value for numeric: age (allowed: input columns (not dropped, and among \
         `features` when given))"
    );
}
