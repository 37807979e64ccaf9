//! Seeded splits and standardisation.

use learnable::data::split::{random_split, split_dataset, stratified_split};
use learnable::data::{Dataset, StandardScaler, Target, Task, bundled};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i}")).collect()
}

#[test]
fn a_stratified_split_of_digits_holds_each_class_in_proportion() {
    // Per class c with n_c rows: test = round(0.2 n_c), val = round(0.1 n_c) (split.rs). With the
    // class counts of data/digits/SOURCE.txt (178 182 177 183 181 182 181 179 174 180) by hand:
    // test 36 36 35 37 36 36 36 36 35 36 (= 359), val 18 18 18 18 18 18 18 18 17 18 (= 179).
    let ds = bundled::load("digits").unwrap();
    let split = split_dataset(&ds, 0.1, 0.2, 0).unwrap();
    let (train, val, test) = split.apply(&ds).unwrap();
    assert_eq!(
        test.class_counts(),
        vec![36, 36, 35, 37, 36, 36, 36, 36, 35, 36]
    );
    assert_eq!(
        val.class_counts(),
        vec![18, 18, 18, 18, 18, 18, 18, 18, 17, 18]
    );
    assert_eq!(
        (train.n_rows(), val.n_rows(), test.n_rows()),
        (1259, 179, 359)
    );
    // Every row exactly once.
    let mut all: Vec<usize> = split
        .train
        .iter()
        .chain(&split.val)
        .chain(&split.test)
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..1797).collect::<Vec<_>>());
}

#[test]
fn the_same_seed_gives_the_same_split_and_another_seed_a_different_one() {
    let ds = bundled::load("iris").unwrap();
    let a = split_dataset(&ds, 0.2, 0.2, 7).unwrap();
    let b = split_dataset(&ds, 0.2, 0.2, 7).unwrap();
    let c = split_dataset(&ds, 0.2, 0.2, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.test, c.test);
    // 50 per class: round(0.2 * 50) = 10 per class in val and in test.
    assert_eq!(a.apply(&ds).unwrap().2.class_counts(), vec![10, 10, 10]);
}

#[test]
fn zero_fractions_put_every_row_in_training() {
    let split = random_split(5, 0.0, 0.0, 3).unwrap();
    assert_eq!(split.train, vec![0, 1, 2, 3, 4]);
    assert!(split.val.is_empty() && split.test.is_empty());
    let split = stratified_split(&[0, 1, 0, 1], &names(2), 0.0, 0.0, 3).unwrap();
    assert_eq!(split.train, vec![0, 1, 2, 3]);
}

#[test]
fn a_random_split_takes_rounded_fractions_of_the_rows() {
    // 442 rows: test round(88.4) = 88, val round(44.2) = 44.
    let split = random_split(442, 0.1, 0.2, 0).unwrap();
    assert_eq!(
        (split.train.len(), split.val.len(), split.test.len()),
        (310, 44, 88)
    );
}

#[test]
fn fractions_outside_zero_to_one_or_summing_to_one_are_rejected() {
    let err = random_split(10, 1.0, 0.0, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for val_fraction: 1 (allowed: 0 <= fraction < 1)"
    );
    let err = random_split(10, 0.1, -0.1, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for test_fraction: -0.1 (allowed: 0 <= fraction < 1)"
    );
    let err = random_split(10, 0.5, 0.5, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for val_fraction + test_fraction: 1 (allowed: < 1 (some rows must be left for training))"
    );
    let err = random_split(10, f64::NAN, 0.1, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for val_fraction: NaN (allowed: 0 <= fraction < 1)"
    );
}

#[test]
fn a_class_too_small_to_stratify_is_named_with_its_count() {
    // Class "rare" has 2 rows; validation and test each need one, training one more: 3.
    let labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    let classes = vec!["common".to_string(), "rare".to_string()];
    let err = stratified_split(&labels, &classes, 0.1, 0.2, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "class 'rare' has 2 rows: too few for a stratified split with validation fraction 0.1 and \
         test fraction 0.2 (it needs at least 3 rows: 1 validation, 1 test and 1 training); add \
         rows of this class, lower the fractions or set them to 0"
    );
    // Without a validation split the same class can be stratified.
    assert!(stratified_split(&labels, &classes, 0.0, 0.2, 0).is_ok());
}

#[test]
fn one_row_is_too_few_for_a_split_and_the_message_says_row() {
    let err = random_split(1, 0.1, 0.2, 0).unwrap_err().to_string();
    assert!(
        err.starts_with("1 row is too few for validation fraction 0.1"),
        "{err}"
    );
}

#[test]
fn too_few_rows_for_a_random_split_is_an_error() {
    let err = random_split(2, 0.1, 0.2, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "2 rows are too few for validation fraction 0.1 and test fraction 0.2: 1 validation and 1 \
         test rows would leave no training row; lower the fractions or set them to 0"
    );
}

fn small() -> Dataset {
    // Column 0: 1 2 3 6; column 1: constant 10; column 2: -1 1 -1 1.
    let x = vec![
        1.0, 10.0, -1.0, 2.0, 10.0, 1.0, 3.0, 10.0, -1.0, 6.0, 10.0, 1.0,
    ];
    Dataset::new(
        "small",
        x,
        4,
        names(3),
        Task::Regression,
        vec![],
        Target::Values(vec![0.0; 4]),
    )
    .unwrap()
}

#[test]
fn the_scaler_uses_the_population_standard_deviation_and_scale_one_for_constant_columns() {
    // By hand: column 0 mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5 (ddof = 0), scale sqrt(3.5);
    // column 1 constant -> scale 1 (sklearn StandardScaler); column 2 mean 0, scale 1.
    let s = StandardScaler::fit(&small()).unwrap();
    assert_eq!(s.mean, vec![3.0, 10.0, 0.0]);
    assert_eq!(s.scale, vec![3.5f64.sqrt(), 1.0, 1.0]);
    let z = s.transform(&small()).unwrap();
    let z = z.features_f64();
    assert!((z[0] - (-2.0 / 3.5f64.sqrt())).abs() < 1e-15);
    assert_eq!(z[1], 0.0);
    assert_eq!(z[2], -1.0);
    let mut back = z.to_vec();
    s.inverse_transform_f64(&mut back).unwrap();
    assert_eq!(back, small().features_f64().to_vec());
}

#[test]
fn the_scaler_on_iris_and_breast_cancer_matches_scikit_learn() {
    // fixtures/reference/logistic_regression.json: scaler_mean / scaler_scale from sklearn 1.9.1
    // StandardScaler on the full datasets; the README's tolerance is rtol 1e-12.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/reference/logistic_regression.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (case, name) in [
        ("iris_multinomial", "iris"),
        ("breast_cancer_binary", "breast_cancer"),
    ] {
        let s = StandardScaler::fit(&bundled::load(name).unwrap()).unwrap();
        let want = |key: &str| -> Vec<f64> {
            fixture["cases"][case][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        for (got, want) in [
            (&s.mean, want("scaler_mean")),
            (&s.scale, want("scaler_scale")),
        ] {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(((g - w) / w).abs() < 1e-12, "{name}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn the_scaler_round_trips_through_json() {
    let s = StandardScaler::fit(&small()).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: StandardScaler = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn the_scaler_rejects_a_different_feature_count() {
    let s = StandardScaler::fit(&small()).unwrap();
    let other = bundled::load("iris").unwrap();
    let err = s.transform(&other).unwrap_err().to_string();
    assert_eq!(
        err,
        "shape mismatch in StandardScaler::transform: expected [*, 3], got [4]"
    );
}
