//! Bundled datasets: sizes, class counts and first values against `data/*/SOURCE.txt` and the
//! files themselves.

use learnable::data::bundled;
use learnable::data::{Target, Task};

fn counts(name: &str) -> Vec<usize> {
    bundled::load(name).unwrap().class_counts()
}

#[test]
fn iris_has_150_rows_4_features_and_50_of_each_species() {
    // data/iris/SOURCE.txt: "150 data rows, 5 columns each, class counts 0:50 1:50 2:50".
    let ds = bundled::load("iris").unwrap();
    assert_eq!((ds.n_rows(), ds.n_features()), (150, 4));
    assert_eq!(ds.class_names(), ["setosa", "versicolor", "virginica"]);
    assert_eq!(ds.class_counts(), vec![50, 50, 50]);
    assert_eq!(ds.feature_names()[0], "sepal length (cm)");
    // First data line of data/iris/iris.csv: 5.1,3.5,1.4,0.2,0
    assert_eq!(&ds.features_f64()[..4], &[5.1, 3.5, 1.4, 0.2]);
    assert_eq!(ds.labels().unwrap()[0], 0);
}

#[test]
fn wine_has_178_rows_13_features_and_classes_59_71_48() {
    // data/wine/SOURCE.txt: "178 data rows, 14 columns each, class counts 0:59 1:71 2:48".
    let ds = bundled::load("wine").unwrap();
    assert_eq!((ds.n_rows(), ds.n_features()), (178, 13));
    assert_eq!(ds.class_names(), ["class_0", "class_1", "class_2"]);
    assert_eq!(counts("wine"), vec![59, 71, 48]);
    assert_eq!(ds.feature_names()[12], "proline");
}

#[test]
fn breast_cancer_has_569_rows_30_features_and_212_malignant() {
    // data/breast_cancer/SOURCE.txt: "569 data rows, 31 columns each, label counts 0:212 1:357".
    let ds = bundled::load("breast_cancer").unwrap();
    assert_eq!((ds.n_rows(), ds.n_features()), (569, 30));
    assert_eq!(ds.class_names(), ["malignant", "benign"]);
    assert_eq!(ds.class_counts(), vec![212, 357]);
    // scikit-learn's feature_names: field 0 is "mean radius", 10 "radius error", 20 "worst radius".
    assert_eq!(ds.feature_names()[0], "mean radius");
    assert_eq!(ds.feature_names()[10], "radius error");
    assert_eq!(ds.feature_names()[29], "worst fractal dimension");
    assert_eq!(ds.value(0, 0), 17.99);
}

#[test]
fn diabetes_is_a_regression_set_of_442_raw_rows_with_targets_25_to_346() {
    // data/diabetes/SOURCE.txt: "442 rows x 10 columns; 442 targets, min 25.0 max 346.0";
    // first line of diabetes_data_raw.csv: 59 2 32.1 101.0 157 93.2 38.0 4.0 4.8598 87, target 151.
    let ds = bundled::load("diabetes").unwrap();
    assert_eq!(ds.task(), Task::Regression);
    assert_eq!((ds.n_rows(), ds.n_features()), (442, 10));
    assert_eq!(
        &ds.features_f64()[..10],
        &[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    let y = ds.values().unwrap();
    assert_eq!(y[0], 151.0);
    assert_eq!(y.iter().cloned().fold(f64::INFINITY, f64::min), 25.0);
    assert_eq!(y.iter().cloned().fold(f64::NEG_INFINITY, f64::max), 346.0);
    assert!(ds.class_names().is_empty());
}

#[test]
fn digits_has_1797_rows_of_64_pixels_with_the_documented_class_counts() {
    // data/digits/SOURCE.txt: "1797 rows, 65 columns, pixel min 0 max 16, class counts
    // 0:178 1:182 2:177 3:183 4:181 5:182 6:181 7:179 8:174 9:180".
    let ds = bundled::load("digits").unwrap();
    assert_eq!((ds.n_rows(), ds.n_features()), (1797, 64));
    assert_eq!(
        ds.class_counts(),
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    let x = ds.features_f64();
    assert_eq!(x.iter().cloned().fold(f64::INFINITY, f64::min), 0.0);
    assert_eq!(x.iter().cloned().fold(f64::NEG_INFINITY, f64::max), 16.0);
    assert_eq!(ds.feature_names()[9], "pixel_1_1");
    let t = ds.features_tensor();
    assert_eq!(t.shape(), &[1797, 64]);
}

#[test]
fn mnist_has_60000_training_and_10000_test_images_with_the_standard_label_counts() {
    // data/mnist/SOURCE.txt: 60000x28x28 and 10000x28x28, label counts
    // train 0:5923 1:6742 2:5958 3:6131 4:5842 5:5421 6:5918 7:6265 8:5851 9:5949,
    // test  0:980 1:1135 2:1032 3:1010 4:982 5:892 6:958 7:1028 8:974 9:1009.
    let train = bundled::load("mnist").unwrap();
    assert_eq!((train.n_rows(), train.n_features()), (60000, 784));
    assert!(train.is_f32());
    assert_eq!(
        train.class_counts(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    let x = train.features_f32();
    assert_eq!(x.iter().cloned().fold(f32::INFINITY, f32::min), 0.0);
    assert_eq!(x.iter().cloned().fold(f32::NEG_INFINITY, f32::max), 1.0);
    drop(x);
    let test = bundled::load_test("mnist")
        .unwrap()
        .expect("mnist has a fixed test split");
    assert_eq!((test.n_rows(), test.n_features()), (10000, 784));
    assert_eq!(
        test.class_counts(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(test.feature_names(), train.feature_names());
}

#[test]
fn only_mnist_has_a_fixed_test_split() {
    assert!(bundled::load_test("iris").unwrap().is_none());
    assert!(bundled::load_test("digits").unwrap().is_none());
}

#[test]
fn the_listing_matches_what_each_loader_returns() {
    for info in bundled::list().iter().filter(|i| i.name != "mnist") {
        let ds = bundled::load(info.name).unwrap();
        assert_eq!(ds.n_rows(), info.rows, "{}", info.name);
        assert_eq!(ds.n_features(), info.features, "{}", info.name);
        assert_eq!(ds.n_classes(), info.classes, "{}", info.name);
        assert_eq!(ds.task(), info.task, "{}", info.name);
        assert!(matches!(
            ds.target(),
            Target::Classes(_) | Target::Values(_)
        ));
    }
    let names: Vec<&str> = bundled::list().iter().map(|i| i.name).collect();
    assert_eq!(
        names,
        [
            "iris",
            "wine",
            "breast_cancer",
            "diabetes",
            "digits",
            "linnerud",
            "mnist"
        ]
    );
}

#[test]
fn an_unknown_name_lists_the_bundled_datasets() {
    let err = bundled::load("irises").unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for dataset: irises (allowed: iris | wine | breast_cancer | diabetes | digits | linnerud | mnist)"
    );
}

#[test]
fn a_missing_data_folder_names_the_file_and_the_environment_variable() {
    let dir = std::env::temp_dir().join("learnable-data-no-such-dir");
    let err = bundled::load_from(&dir, "iris").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "cannot read bundled dataset file {}",
            dir.join("iris").join("iris.csv").display()
        )),
        "{err}"
    );
    assert!(err.contains("set LEARNABLE_DATA"), "{err}");
}

#[test]
fn linnerud_loads_as_scikit_learn_with_weight_as_the_target() {
    // scikit-learn's load_linnerud: data = data/linnerud/linnerud_exercise.csv (Chins Situps
    // Jumps), target = linnerud_physiological.csv (Weight Waist Pulse), 20 rows each. By hand
    // from the files: first rows "5 162 60" and "191 36 50", last rows "2 110 43" and
    // "138 33 68"; the Weight column sums to 3572 (mean 178.6).
    let ds = bundled::load("linnerud").unwrap();
    assert_eq!((ds.n_rows(), ds.n_features()), (20, 3));
    assert_eq!(ds.task(), Task::Regression);
    assert_eq!(ds.feature_names(), ["Chins", "Situps", "Jumps"]);
    let x = ds.features_f64();
    assert_eq!(&x[..3], &[5.0, 162.0, 60.0]);
    assert_eq!(&x[57..], &[2.0, 110.0, 43.0]);
    let y = ds.values().unwrap();
    assert_eq!((y[0], y[19]), (191.0, 138.0));
    assert_eq!(y.iter().sum::<f64>(), 3572.0);
    let info = bundled::info("linnerud").unwrap();
    assert_eq!(
        (info.rows, info.features, info.task),
        (20, 3, Task::Regression)
    );
    assert!(bundled::list().iter().any(|i| i.name == "linnerud"));
    // Through prepare: a random 20-row regression split, round(2) validation and round(4)
    // test rows.
    let p = learnable::data::prepare(
        &learnable::data::Source::Bundled("linnerud".into()),
        &learnable::data::Options::default(),
    )
    .unwrap();
    assert_eq!(
        (p.train.n_rows(), p.val.n_rows(), p.test.n_rows()),
        (14, 2, 4)
    );
}

/// tiny_shakespeare as data/tiny_shakespeare/SOURCE.txt describes it: 1,115,394 characters, 65
/// distinct, 40,000 newlines, first line "First Citizen:".
#[test]
fn tiny_shakespeare_is_the_char_rnn_text() {
    let text = learnable::data::bundled::load_text("tiny_shakespeare").unwrap();
    assert_eq!(text.chars().count(), 1_115_394);
    let distinct: std::collections::BTreeSet<char> = text.chars().collect();
    assert_eq!(distinct.len(), 65);
    assert_eq!(text.matches('\n').count(), 40_000);
    assert!(text.starts_with("First Citizen:\nBefore we proceed any further, hear me speak."));
    assert!(learnable::data::bundled::is_text("tiny_shakespeare"));
    let e = learnable::data::bundled::load_text("war_and_peace").unwrap_err();
    assert!(e.to_string().contains("tiny_shakespeare"), "{e}");
}
