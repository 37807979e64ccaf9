//! `prepare` on bundled datasets: split sizes, the fixed MNIST test split, stored preprocessing.

use learnable::data::{Options, Source, SplitSize, Task, bundled, prepare};

#[test]
fn digits_prepare_gives_the_stratified_split_and_a_scaler_fitted_on_training_rows() {
    let p = prepare(&Source::Bundled("digits".into()), &Options::default()).unwrap();
    // Per-class counts by hand in tests/split_scaler.rs: 1259 / 179 / 359.
    assert_eq!(
        (p.train.n_rows(), p.val.n_rows(), p.test.n_rows()),
        (1259, 179, 359)
    );
    assert!(!p.fixed_test);
    assert_eq!(p.preprocessing.task(), Task::Classification);
    assert_eq!(p.preprocessing.n_features(), 64);
    assert_eq!(p.preprocessing.target_column(), "target");
    // The scaler's means are those of the raw training rows.
    let raw = bundled::load("digits")
        .unwrap()
        .select(&p.split.train)
        .unwrap();
    let mean_col_10 =
        (0..raw.n_rows()).map(|r| raw.value(r, 10)).sum::<f64>() / raw.n_rows() as f64;
    let scaler = p.preprocessing.scaler.as_ref().unwrap();
    assert!((scaler.mean[10] - mean_col_10).abs() < 1e-12);
    // Pixel (0, 0) is always 0 in digits: a constant column gets scale 1.
    assert_eq!(scaler.scale[0], 1.0);
}

#[test]
fn mnist_keeps_its_fixed_test_split_and_takes_validation_rows_from_training() {
    let opts = Options {
        val_size: SplitSize::Fraction(0.1),
        test_size: SplitSize::Fraction(0.2),
        standardize: false,
        ..Options::default()
    };
    let p = prepare(&Source::Bundled("mnist".into()), &opts).unwrap();
    assert!(p.fixed_test);
    // 10% of each class of the 60000 training images (per-class rounding sums to 6000 here).
    assert_eq!(
        (p.train.n_rows(), p.val.n_rows(), p.test.n_rows()),
        (54000, 6000, 10000)
    );
    assert!(p.train.is_f32());
}

#[test]
fn a_task_override_that_contradicts_a_bundled_dataset_is_an_error() {
    let opts = Options {
        task: Some(Task::Regression),
        ..Options::default()
    };
    let err = prepare(&Source::Bundled("iris".into()), &opts)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid value for task: regression (allowed: classification (the task of dataset iris))"
    );
}

#[test]
fn diabetes_prepare_is_a_random_regression_split() {
    let p = prepare(&Source::Bundled("diabetes".into()), &Options::default()).unwrap();
    // 442 rows: test round(88.4) = 88, val round(44.2) = 44.
    assert_eq!(
        (p.train.n_rows(), p.val.n_rows(), p.test.n_rows()),
        (310, 44, 88)
    );
    assert_eq!(p.preprocessing.task(), Task::Regression);
    assert!(p.train.values().is_some());
}
