//! CSV loading: accepted syntax, bad input with exact messages, one-hot encoding, target and task
//! inference, imputation fitted on training rows, and prediction with stored preprocessing.
//! Expected values are worked out by hand from the small files written in each test.

use std::path::PathBuf;

use learnable::data::csv::Table;
use learnable::data::encode::{ColumnEncoding, Encoder, TargetEncoder};
use learnable::data::{Impute, Options, Preprocessing, Source, SplitSize, Task, prepare};

/// Writes `text` to `name` in a fresh temporary folder; returns the folder guard and path.
fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn table(text: &str) -> Table {
    Table::from_reader("t.csv", text.as_bytes()).unwrap()
}

fn err_of(text: &str) -> String {
    Table::from_reader("t.csv", text.as_bytes())
        .unwrap_err()
        .to_string()
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

fn csv_source(path: &PathBuf, target: &str) -> Source {
    Source::Csv {
        path: path.clone(),
        target: target.into(),
    }
}

#[test]
fn an_empty_file_is_an_error_naming_the_file_and_line_1() {
    let (_d, path) = file("empty.csv", "");
    let err = Table::read(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: line 1: the file is empty; expected a header line naming the columns",
            path.display()
        )
    );
}

#[test]
fn a_header_without_rows_is_an_error() {
    assert_eq!(
        err_of("a,b,y\n"),
        "invalid file t.csv: line 1: a header but no data rows"
    );
}

#[test]
fn a_ragged_row_is_an_error_naming_its_line() {
    assert_eq!(
        err_of("a,b,y\n1,2,0\n3,4\n"),
        "invalid file t.csv: line 3: 2 fields, expected 3 as in the header (line 1)"
    );
    assert_eq!(
        err_of("a,b,y\n1,2,0,9\n"),
        "invalid file t.csv: line 2: 4 fields, expected 3 as in the header (line 1)"
    );
}

#[test]
fn line_numbers_stay_right_with_crlf_line_ends_and_a_bom() {
    // csv 1.4's own line count is off by one after CRLF; the table counts lines itself.
    assert_eq!(
        err_of("\u{feff}a,b,y\r\n1,2,0\r\n3,4,1\r\n5,6\r\n"),
        "invalid file t.csv: line 4: 2 fields, expected 3 as in the header (line 1)"
    );
    assert_eq!(
        err_of("a,b,y\r\n"),
        "invalid file t.csv: line 1: a header but no data rows"
    );
}

/// A file over 4 MiB is read in parts (in parallel) when nothing is quoted: every row and
/// line number must be as a single pass gives them, across CRLF ends, blank lines and part
/// boundaries, and the first bad row (by line) is the one reported.
#[test]
fn a_large_file_read_in_parts_keeps_every_row_and_line_number() {
    // 400,000 rows of ~17 bytes = ~7 MB: at least two parts. Every 1000th line is followed by
    // a blank line, so file lines and row indices drift apart in a known way.
    let mut text = String::from("a,b,y\r\n");
    let mut expected_line = Vec::new();
    let mut line = 2u64;
    for r in 0..400_000u64 {
        text.push_str(&format!("{r},{},{}\r\n", r * 3, r % 2));
        expected_line.push(line);
        line += 1;
        if r % 1000 == 999 {
            text.push_str("\r\n");
            line += 1;
        }
    }
    assert!(text.len() > 6 << 20);
    let t = table(&text);
    assert_eq!(t.n_rows(), 400_000);
    for r in [0usize, 999, 1000, 150_000, 399_999] {
        assert_eq!(t.cell(r, 0), r.to_string());
        assert_eq!(t.cell(r, 1), (r * 3).to_string());
        assert_eq!(t.line(r), expected_line[r], "row {r}");
    }
    // Two ragged rows, one in a late part and one earlier: the earlier one is reported.
    let bad = text
        .replacen("350000,1050000,0\r\n", "350000,1050000\r\n", 1)
        .replacen("200000,600000,0\r\n", "200000\r\n", 1);
    assert_eq!(
        err_of(&bad),
        format!(
            "invalid file t.csv: line {}: 1 fields, expected 3 as in the header (line 1)",
            expected_line[200_000]
        )
    );
}

#[test]
fn repeated_or_empty_column_names_are_errors() {
    assert_eq!(
        err_of("a,b,a\n1,2,3\n"),
        "invalid file t.csv: line 1: column 'a' appears twice (columns 1 and 3)"
    );
    assert_eq!(
        err_of("a,,y\n1,2,3\n"),
        "invalid file t.csv: line 1: column 2 of the header has no name"
    );
}

#[test]
fn invalid_utf8_is_an_error_naming_the_line() {
    let bytes = b"a,y\n1,0\n\xff\xfe,1\n";
    let err = Table::from_reader("t.csv", &bytes[..])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "invalid file t.csv: line 3: not valid UTF-8 text");
}

#[test]
fn a_bom_crlf_line_ends_and_quoted_fields_are_accepted() {
    let t = table(
        "\u{feff}size,\"colour, name\",y\r\n1.5,\"red, dark\",a\r\n2,\"say \"\"hi\"\"\",b\r\n",
    );
    assert_eq!(t.header(), ["size", "colour, name", "y"]);
    assert_eq!(t.n_rows(), 2);
    assert_eq!(t.cell(0, 1), "red, dark");
    assert_eq!(t.cell(1, 1), "say \"hi\"");
    assert_eq!((t.line(0), t.line(1)), (2, 3));
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let enc = Encoder::fit(&t, target, &[0, 1], None).unwrap();
    assert_eq!(
        enc.feature_names(),
        ["size", "colour, name_red, dark", "colour, name_say \"hi\""]
    );
}

#[test]
fn blank_lines_are_skipped_and_line_numbers_still_count_them() {
    let t = table("a,y\n1,0\n\n2,1\n");
    assert_eq!(t.n_rows(), 2);
    assert_eq!(t.line(1), 4);
}

#[test]
fn a_missing_target_column_names_it_and_lists_the_columns() {
    let (_d, path) = file("d.csv", "a,b,y\n1,2,0\n3,4,1\n");
    let err = prepare(&csv_source(&path, "label"), &raw())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: no column 'label' (the target); the columns are: a, b, y",
            path.display()
        )
    );
}

#[test]
fn a_missing_value_names_file_line_and_column() {
    // Line 1 is the header, so the third data row is line 4.
    for token in ["NaN", "NA", "nan"] {
        let text = format!("a,b,y\n1,2,0\n3,4,1\n5,{token},0\n7,8,1\n");
        let (_d, path) = file("m.csv", &text);
        let err = prepare(&csv_source(&path, "y"), &raw())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "invalid file {}: line 4, column 'b': missing value '{token}'; fill missing values with \
                 --impute mean or --impute median",
                path.display()
            )
        );
    }
    let (_d, path) = file("m.csv", "a,b,y\n1,,0\n3,4,1\n");
    let err = prepare(&csv_source(&path, "y"), &raw())
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("line 2, column 'b': missing value (empty cell); fill missing values with --impute mean or --impute median"), "{err}");
}

#[test]
fn a_missing_target_value_is_an_error_even_with_imputation() {
    let (_d, path) = file("m.csv", "a,y\n1,0\n2,\n3,1\n");
    let opts = Options {
        impute: Some(Impute::Mean),
        ..raw()
    };
    let err = prepare(&csv_source(&path, "y"), &opts)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: line 3, column 'y': missing target value (empty cell); every training row needs a target",
            path.display()
        )
    );
}

#[test]
fn imputation_uses_statistics_of_the_training_rows_only() {
    // Column a over rows 0..4: 1, 3, NA, 100, 6. Training rows {0, 1, 2, 4}: values 1, 3, 6, so
    // mean = 10/3 and median = 3; row 3's 100 must not enter. Column c (text): most frequent in
    // the training rows is "u" (2 of 3), "v" appears only in row 3.
    let t = table("a,c,y\n1,u,0\n3,u,1\nNA,,0\n100,v,1\n6,w,0\n");
    let train = [0, 1, 2, 4];
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let mean = Encoder::fit(&t, target.clone(), &train, Some(Impute::Mean)).unwrap();
    assert_eq!(
        mean.columns[0].encoding,
        ColumnEncoding::Numeric {
            fill: Some(10.0 / 3.0)
        }
    );
    assert_eq!(
        mean.columns[1].encoding,
        ColumnEncoding::OneHot {
            categories: vec!["u".into(), "w".into()],
            fill: Some("u".into())
        }
    );
    let median = Encoder::fit(&t, target, &train, Some(Impute::Median)).unwrap();
    assert_eq!(
        median.columns[0].encoding,
        ColumnEncoding::Numeric { fill: Some(3.0) }
    );
    // Row 2 encodes as [mean, one-hot "u"].
    let ds = mean.transform(&t, &[2]).unwrap();
    assert_eq!(ds.features_f64().to_vec(), vec![10.0 / 3.0, 1.0, 0.0]);
    // Row 3's category "v" was not in the training rows.
    let err = mean.transform(&t, &[3]).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid file t.csv: line 5, column 'c': unseen category 'v' (categories of the training split: u, w)"
    );
}

#[test]
fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
    // Training values 4, 1, 3, 2 -> sorted 1 2 3 4 -> median 2.5 (numpy.median).
    let t = table("a,y\n4,0\n1,1\n3,0\n2,1\n,0\n");
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let enc = Encoder::fit(&t, target, &[0, 1, 2, 3], Some(Impute::Median)).unwrap();
    assert_eq!(
        enc.columns[0].encoding,
        ColumnEncoding::Numeric { fill: Some(2.5) }
    );
}

#[test]
fn text_columns_are_one_hot_encoded_with_sorted_categories() {
    // Categories sorted: blue, green, red; rows red, blue, green, red.
    let (_d, path) = file(
        "c.csv",
        "colour,size,y\nred,1,a\nblue,2,b\ngreen,3,a\nred,4,b\n",
    );
    let p = prepare(&csv_source(&path, "y"), &raw()).unwrap();
    assert_eq!(
        p.train.feature_names(),
        ["colour_blue", "colour_green", "colour_red", "size"]
    );
    assert_eq!(
        p.train.features_f64().to_vec(),
        vec![
            0., 0., 1., 1., 1., 0., 0., 2., 0., 1., 0., 3., 0., 0., 1., 4.
        ]
    );
    assert_eq!(p.train.class_names(), ["a", "b"]);
    assert_eq!(p.train.labels().unwrap(), [0, 1, 0, 1]);
}

#[test]
fn a_text_target_is_classification_with_sorted_class_names() {
    let t = table("x,species\n1,versicolor\n2,setosa\n3,virginica\n4,setosa\n");
    let target = TargetEncoder::fit(&t, "species", None).unwrap();
    assert_eq!(target.task, Task::Classification);
    assert_eq!(target.classes, ["setosa", "versicolor", "virginica"]);
}

#[test]
fn few_distinct_integers_are_classes_in_numeric_order_and_other_numbers_are_regression() {
    // 1, 2, 10 sort numerically (not as text, which would put 10 before 2); 3.0 is the integer 3.
    let t = table("x,y\n1,10\n2,2\n3,1\n4,3.0\n");
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    assert_eq!(target.task, Task::Classification);
    assert_eq!(target.classes, ["1", "2", "3", "10"]);
    assert_eq!(
        target.encode(&t, &[0, 1, 2, 3]).unwrap(),
        learnable::data::Target::Classes(vec![3, 1, 0, 2])
    );

    let t = table("x,y\n1,0.5\n2,2\n");
    assert_eq!(
        TargetEncoder::fit(&t, "y", None).unwrap().task,
        Task::Regression
    );

    // 21 distinct integers are more than MAX_INTEGER_CLASSES = 20: regression.
    let text: String = std::iter::once("x,y\n".to_string())
        .chain((0..21).map(|i| format!("{i},{i}\n")))
        .collect();
    assert_eq!(
        TargetEncoder::fit(&table(&text), "y", None).unwrap().task,
        Task::Regression
    );
}

#[test]
fn an_explicit_task_overrides_the_guess() {
    let t = table("x,y\n1,0\n2,1\n3,1\n");
    let target = TargetEncoder::fit(&t, "y", Some(Task::Regression)).unwrap();
    assert_eq!((target.task, target.classes.len()), (Task::Regression, 0));
    let t = table("x,y\n1,a\n2,b\n");
    let err = TargetEncoder::fit(&t, "y", Some(Task::Regression))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid file t.csv: line 2, column 'y': 'a' is not a number; a regression target must be numeric"
    );
}

#[test]
fn a_single_class_target_is_an_error() {
    let err = TargetEncoder::fit(&table("x,y\n1,a\n2,a\n"), "y", None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid file t.csv: the target column 'y' has a single class 'a'; classification needs at least 2"
    );
}

#[test]
fn a_single_whole_number_target_suggests_regression_only_when_the_task_was_guessed() {
    // Whole numbers are guessed as classes; a lone value 3 is one class.
    let t = table("x,y\n1,3\n2,3\n");
    let err = TargetEncoder::fit(&t, "y", None).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid file t.csv: the target column 'y' has a single class '3'; classification needs at \
         least 2; if its values are numbers to predict, give the task (--task regression)"
    );
    let err = TargetEncoder::fit(&t, "y", Some(Task::Classification))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid file t.csv: the target column 'y' has a single class '3'; classification needs at least 2"
    );
}

#[test]
fn an_infinite_feature_value_is_an_error() {
    let (_d, path) = file("i.csv", "a,y\n1,0\ninf,1\n");
    let err = prepare(&csv_source(&path, "y"), &raw())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("line 3, column 'a': 'inf' is not a finite number"),
        "{err}"
    );
}

#[test]
fn the_split_is_stratified_and_the_scaler_is_fitted_on_training_rows_only() {
    // 10 rows of class a (x = 0..9) and 10 of class b (x = 10..19); test 0.2 -> 2 per class.
    let mut text = String::from("x,y\n");
    for i in 0..20 {
        text += &format!("{i},{}\n", if i < 10 { "a" } else { "b" });
    }
    let (_d, path) = file("s.csv", &text);
    let opts = Options {
        val_size: SplitSize::Fraction(0.0),
        test_size: SplitSize::Fraction(0.2),
        seed: 3,
        ..Options::default()
    };
    let p = prepare(&csv_source(&path, "y"), &opts).unwrap();
    assert_eq!(p.test.class_counts(), vec![2, 2]);
    assert_eq!(p.train.class_counts(), vec![8, 8]);
    // The scaler's mean is the mean of x over the training rows (x = row index).
    let train_mean = p.split.train.iter().map(|&r| r as f64).sum::<f64>() / 16.0;
    let scaler = p.preprocessing.scaler.as_ref().unwrap();
    assert!((scaler.mean[0] - train_mean).abs() < 1e-12);
    // Standardised training features have mean 0.
    let m: f64 = p.train.features_f64().iter().sum::<f64>() / 16.0;
    assert!(m.abs() < 1e-12, "{m}");
}

fn trained() -> (tempfile::TempDir, Preprocessing) {
    let (d, path) = file(
        "train.csv",
        "colour,size,y\nred,1,a\nblue,2,b\nred,3,a\nblue,5,b\n",
    );
    let p = prepare(
        &csv_source(&path, "y"),
        &Options {
            val_size: SplitSize::Fraction(0.0),
            test_size: SplitSize::Fraction(0.0),
            ..Options::default()
        },
    )
    .unwrap();
    (d, p.preprocessing)
}

#[test]
fn prediction_input_may_lack_the_target_column_or_carry_it() {
    let (dir, pre) = trained();
    // size: training mean 2.75, population std sqrt(((1.75)^2 + 0.75^2 + 0.25^2 + 2.25^2)/4)
    // = sqrt(2.1875); one-hot columns: blue in {0,1,0,1} -> mean 0.5, std 0.5.
    let without = dir.path().join("new.csv");
    std::fs::write(&without, "size,colour\n2.75,blue\n").unwrap();
    let ds = pre.load_csv_features(&without).unwrap();
    assert!(!ds.has_target());
    assert_eq!(ds.features_f64().to_vec(), vec![1.0, -1.0, 0.0]);
    let with = dir.path().join("with.csv");
    std::fs::write(&with, "colour,size,y\nblue,2.75,zzz\n").unwrap();
    assert_eq!(
        pre.load_csv_features(&with)
            .unwrap()
            .features_f64()
            .to_vec(),
        vec![1.0, -1.0, 0.0]
    );
    // Evaluation needs the target and rejects a class the model does not know.
    let err = pre.load_csv(&with).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: line 2, column 'y': unseen class 'zzz' (known classes: a, b)",
            with.display()
        )
    );
}

#[test]
fn prediction_input_with_an_unseen_category_names_the_value_and_column() {
    let (dir, pre) = trained();
    let path = dir.path().join("new.csv");
    std::fs::write(&path, "colour,size\nred,1\ngreen,2\n").unwrap();
    let err = pre.load_csv_features(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: line 3, column 'colour': unseen category 'green' (categories of the training split: blue, red)",
            path.display()
        )
    );
}

#[test]
fn prediction_input_must_have_the_models_columns_and_other_columns_are_ignored() {
    let (dir, pre) = trained();
    let path = dir.path().join("new.csv");
    std::fs::write(&path, "colour\nred\n").unwrap();
    let err = pre.load_csv_features(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: missing input column 'size'; the model's 2 input columns are \
             listed in the model's config.json (preprocessing.encoder.columns)",
            path.display()
        )
    );
    // An extra column is ignored. Features are [colour_blue, colour_red, size]: red -> one-hot
    // [0, 1] standardised to [-1, 1]; size 1 -> (1 - 2.75) / sqrt(2.1875) (see the test above).
    std::fs::write(&path, "colour,size,id\nred,1,7\n").unwrap();
    let with_id = pre.load_csv_features(&path).unwrap();
    let x = with_id.features_f64().to_vec();
    let z = -1.75 / 2.1875f64.sqrt();
    assert_eq!(x.len(), 3);
    assert_eq!(x[..2].to_vec(), vec![-1.0, 1.0]);
    assert!((x[2] - z).abs() < 1e-12, "{x:?}");
    std::fs::write(&path, "colour,size\nred,big\n").unwrap();
    let err = pre.load_csv_features(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: line 2, column 'size': 'big' is not a number (the column is numeric in the training data)",
            path.display()
        )
    );
}

#[test]
fn stored_preprocessing_survives_json_and_encodes_identically() {
    let (dir, pre) = trained();
    let json = serde_json::to_string_pretty(&pre).unwrap();
    let back: Preprocessing = serde_json::from_str(&json).unwrap();
    assert_eq!(back, pre);
    let path = dir.path().join("new.csv");
    std::fs::write(&path, "colour,size\nred,1.1\nblue,4.7\n").unwrap();
    assert_eq!(
        back.load_csv_features(&path).unwrap(),
        pre.load_csv_features(&path).unwrap()
    );
    // The JSON says what each column is.
    assert!(json.contains("\"kind\": \"onehot\""), "{json}");
    assert!(json.contains("\"task\": \"classification\""), "{json}");
}

/// The message for a quote that opens a field on `line`, in `column`, with `excerpt` (the rest of
/// that line from the quote), and is never closed. Written out here by hand from the file text.
fn unclosed(line: u64, column: &str, excerpt: &str) -> String {
    format!(
        "invalid file t.csv: line {line}, {column}: the quote opening this field ({excerpt}) is \
         never closed, so the rest of the file would be read as one field; add the closing quote, \
         or write a quote inside a quoted field as \"\""
    )
}

#[test]
fn an_unclosed_quote_is_an_error_naming_the_line_and_column_where_it_opens() {
    // Line 3, second field (column 'b'): `"abc,2` opens a quote that nothing closes; the csv
    // crate alone would read `abc,2\n3,4,1\n5,6,0\n` as one field.
    assert_eq!(
        err_of("a,b,y\n0.5,x,0\n1,\"abc,2\n3,4,1\n5,6,0\n"),
        unclosed(3, "column 'b'", "\"abc,2")
    );
    // The same with a BOM, CRLF line ends and a blank line before it: still line 4 by hand count.
    assert_eq!(
        err_of("\u{feff}a,b,y\r\n0.5,x,0\r\n\r\n1,\"abc,2\r\n3,4,1\r\n"),
        unclosed(4, "column 'b'", "\"abc,2")
    );
    // In the header: there is no column name yet, so the column is counted (field 3).
    assert_eq!(
        err_of("a,b,\"y\n1,2,3\n"),
        unclosed(1, "column 3 of the header", "\"y")
    );
    // The last field of the last line; a long rest of line is cut after 20 characters.
    assert_eq!(
        err_of("a,y\n1,0\n2,\"one two three four five six"),
        unclosed(3, "column 'y'", "\"one two three four ...")
    );
    // A quote opening a field after a properly quoted field on an earlier line: that earlier
    // quoted field spans lines 2-3, so the open quote is on line 4, first field.
    assert_eq!(
        err_of("a,y\n\"x\ny\",1\n\"z,2\n"),
        unclosed(4, "column 'a'", "\"z,2")
    );
}

#[test]
fn closed_quotes_spanning_lines_and_quotes_inside_unquoted_fields_are_accepted() {
    // A quote that is not the first character of a field is text (as in the csv crate), and a
    // quoted field may hold a line end and doubled quotes; none of these is an unclosed quote.
    let t = table("a,b,y\n1,ab\"c,0\n2,\"line\none \"\"q\"\"\",1\n3, \"d,1\n");
    assert_eq!(t.n_rows(), 3);
    assert_eq!(t.cell(0, 1), "ab\"c");
    assert_eq!(t.cell(1, 1), "line\none \"q\"");
    assert_eq!(t.cell(2, 1), "\"d");
    assert_eq!((t.line(0), t.line(1), t.line(2)), (2, 3, 5));
}

/// The missing-value markers of `learnable::data::csv::MISSING` except the empty cell, as the
/// message lists them (copied by hand from pandas' `na_values`).
const MARKERS: &str = "#N/A, #N/A N/A, #NA, -1.#IND, -1.#QNAN, -NaN, -nan, 1.#IND, 1.#QNAN, \
                       <NA>, N/A, NA, NULL, NaN, None, n/a, nan, null";

#[test]
fn a_mostly_numeric_column_with_a_stray_text_cell_is_an_error_naming_the_cell() {
    // x: 3.5, 4.1, n/a?, 2.0 -> 3 numbers and 1 text cell; before, x became 4 one-hot features.
    let t = table("x,y\n3.5,a\n4.1,b\nn/a?,a\n2.0,b\n");
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let err = Encoder::fit(&t, target, &[0, 1, 2, 3], None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "invalid file t.csv: line 4, column 'x': 'n/a?' is not a number, but 3 of the \
             column's 4 non-missing values are; fix the cell, or mark it as missing with an empty \
             cell or one of {MARKERS} (and train with --impute mean or --impute median); if \
             the column's values are categories, declare it categorical (option `categorical`)"
        )
    );
    // Two text cells among 4 numbers (missing cells not counted): the first one is named.
    let t = table("x,y\n1,a\n?,b\nNA,a\n2,b\n,a\nbad,b\n3,a\n4,b\n");
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let err = Encoder::fit(&t, target, &[0, 1, 2, 3, 4, 5, 6, 7], Some(Impute::Mean))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "invalid file t.csv: line 3, column 'x': '?' is not a number (the first of 2 such \
             cells), but 4 of the column's 6 non-missing values are; fix the cell"
        ),
        "{err}"
    );
}

#[test]
fn the_fix_the_message_gives_makes_a_stray_cell_a_missing_value() {
    // 'n/a?' replaced by 'n/a' (a marker): the column is numeric and imputed with the mean of
    // 3.5, 4.1, 2.0 = 9.6 / 3 = 3.2.
    let t = table("x,y\n3.5,a\n4.1,b\nn/a,a\n2.0,b\n");
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let enc = Encoder::fit(&t, target, &[0, 1, 2, 3], Some(Impute::Mean)).unwrap();
    match enc.columns[0].encoding {
        ColumnEncoding::Numeric { fill: Some(v) } => assert!((v - 3.2).abs() < 1e-12, "{v}"),
        ref other => panic!("expected a numeric column, got {other:?}"),
    }
}

#[test]
fn columns_with_no_numbers_or_at_most_half_numbers_stay_categorical() {
    // x: 1, a, 2, b -> 2 numbers, 2 text cells: not a majority of numbers, so one-hot with the
    // categories sorted as text: 1, 2, a, b. z: no numbers at all.
    let t = table("x,z,y\n1,p,a\na,q,b\n2,p,a\nb,q,b\n");
    let target = TargetEncoder::fit(&t, "y", None).unwrap();
    let enc = Encoder::fit(&t, target, &[0, 1, 2, 3], None).unwrap();
    assert_eq!(
        enc.feature_names(),
        ["x_1", "x_2", "x_a", "x_b", "z_p", "z_q"]
    );
}

#[test]
fn a_mostly_numeric_target_with_a_stray_text_cell_is_an_error_unless_the_task_is_given() {
    // 0.5, 1.5, oops, 2.5: before, this silently became 4 classes.
    let t = table("x,y\n1,0.5\n2,1.5\n3,oops\n4,2.5\n");
    let err = TargetEncoder::fit(&t, "y", None).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid file t.csv: line 4, column 'y': 'oops' is not a number, but 3 of the target's 4 \
         values are; fix the cell, or give the task (--task classification) if the values are \
         class names"
    );
    // Told it is classification: classes sorted as text.
    let target = TargetEncoder::fit(&t, "y", Some(Task::Classification)).unwrap();
    assert_eq!(target.classes, ["0.5", "1.5", "2.5", "oops"]);
}

#[cfg(unix)]
#[test]
fn reading_dev_zero_ends_at_once_with_an_error_naming_the_file() {
    // /dev/zero never ends and holds only NUL bytes; before the limits, Table::read read it
    // until memory ran out.
    let start = std::time::Instant::now();
    let err = Table::read(std::path::Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid file /dev/zero: line 1: a NUL byte: this is not a text CSV file (a binary file, \
         or text saved as UTF-16? save it as UTF-8)"
    );
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
}

#[test]
fn a_line_longer_than_the_limit_is_an_error_naming_it() {
    use learnable::data::csv::{MAX_LINE_BYTES, ReadLimits};
    // An endless line of 'a' after a header line: refused once line 2 passes 16 MiB.
    let endless = std::io::Read::chain(&b"a,b\n"[..], std::io::repeat(b'a'));
    let err = Table::from_reader("endless.csv", endless)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid file endless.csv: line 2: the line is longer than 16 MiB, the most a CSV line \
         may be; is this a CSV file?"
    );
    assert_eq!(MAX_LINE_BYTES, 16 * 1024 * 1024);
    // The limit is inclusive: a 10-byte line passes a 10-byte limit, 11 bytes do not.
    let (_d, path) = file("ten.csv", "abcdefghij\n1\n");
    let limits = ReadLimits {
        max_line_bytes: 10,
        ..ReadLimits::default()
    };
    assert_eq!(Table::read_with(&path, &limits).unwrap().n_rows(), 1);
    let (_d, path) = file("eleven.csv", "x\nabcdefghijk\n");
    let err = Table::read_with(&path, &limits).unwrap_err().to_string();
    assert!(err.ends_with("line 2: the line is longer than 10 bytes, the most a CSV line may be; is this a CSV file?"), "{err}");
}

#[test]
fn a_file_larger_than_the_limit_is_refused_before_reading() {
    use learnable::data::csv::{MAX_FILE_BYTES, ReadLimits};
    // A sparse 2 GiB regular file: its size, above the 1 GiB limit, is checked up front, so
    // nothing is read (reading it would take 2 GiB of memory).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.csv");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(2 * MAX_FILE_BYTES).unwrap();
    drop(f);
    let start = std::time::Instant::now();
    let err = Table::read(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid file {}: larger than 1 GiB, the most a CSV file may be (it is read into \
             memory whole)",
            path.display()
        )
    );
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    // 3 lines of 4 bytes are 12 bytes, over a 10-byte limit: a regular file is refused by its
    // size, a stream (no size up front) once it passes the limit; 12 bytes pass a 12-byte one.
    let limits = |max| ReadLimits {
        max_file_bytes: max,
        ..ReadLimits::default()
    };
    let text = "a,b\n1,2\n3,4\n";
    let (_d, path) = file("twelve.csv", text);
    let err = Table::read_with(&path, &limits(10))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(
            "twelve.csv: larger than 10 bytes, the most a CSV file may be (it is read into \
             memory whole)"
        ),
        "{err}"
    );
    let err = Table::from_reader_with("pipe", text.as_bytes(), &limits(10))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid file pipe: larger than 10 bytes, the most a CSV file may be (it is read into \
         memory whole)"
    );
    assert_eq!(
        Table::from_reader_with("pipe", text.as_bytes(), &limits(12))
            .unwrap()
            .n_rows(),
        2
    );
}
