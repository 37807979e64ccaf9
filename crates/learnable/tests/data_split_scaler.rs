//! Seeded splits and standardisation.

use learnable::data::split::{SplitSize, allocate, random_split, split_dataset, stratified_split};
use learnable::data::{Dataset, StandardScaler, Target, Task, bundled};
use learnable::data::{Options, Source, prepare};

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
        "invalid value for val_size: 1 (allowed: 0 <= fraction < 1, or a whole number of rows)"
    );
    let err = random_split(10, 0.1, -0.1, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for test_size: -0.1 (allowed: 0 <= fraction < 1, or a whole number of rows)"
    );
    let err = random_split(10, 0.5, 0.5, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for val_size + test_size: 1 (allowed: < 1 (some rows must be left for training))"
    );
    let err = random_split(10, f64::NAN, 0.1, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for val_size: NaN (allowed: 0 <= fraction < 1, or a whole number of rows)"
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

/// `n` rows of each of `k` classes, labels 0 0 .. 1 1 ..
fn balanced(k: usize, n: usize) -> (Vec<usize>, Vec<String>) {
    let labels = (0..k).flat_map(|c| std::iter::repeat_n(c, n)).collect();
    (labels, (0..k).map(|c| format!("k{c}")).collect())
}

#[test]
fn a_stratified_size_below_the_class_count_is_an_error_not_a_silently_larger_split() {
    // 5 classes of 10 rows. Before: test fraction 0.06 asked for round(3) = 3 rows and got one
    // per class, 5. scikit-learn: "The test_size = 3 should be greater or equal to the number
    // of classes = 5".
    let (labels, names) = balanced(5, 10);
    let err = stratified_split(&labels, &names, 0.1, 0.06, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid value for test_size: 0.06 (allowed: a size of at least 5 rows, the number of \
         classes (a stratified split needs a row of each class; 0.06 of 50 rows is 3))"
    );
    let err = stratified_split(&labels, &names, 0.02, 0.2, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid value for val_size: 0.02 (allowed: a size of at least 5 rows"),
        "{err}"
    );
    let err = stratified_split(&labels, &names, 0usize, 3usize, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid value for test_size: 3 (allowed: a size of at least 5 rows, the number of \
         classes (a stratified split needs a row of each class))"
    );
    // Exactly the class count is allowed: 0.1 of 50 = 5 rows, one per class.
    let split = stratified_split(&labels, &names, 0.0, 0.1, 0).unwrap();
    assert_eq!(split.test.len(), 5);
    let split = stratified_split(&labels, &names, 0usize, 5usize, 0).unwrap();
    assert_eq!(split.test.len(), 5);
}

#[test]
fn iris_defaults_are_unchanged_and_row_counts_give_the_same_split_as_equal_fractions() {
    // iris: 50 rows per class; 0.1 -> 5 and 0.2 -> 10 per class (15 and 30 rows), which is also
    // how 15 and 30 rows are shared out among 3 equal classes, so the split is the same.
    let ds = bundled::load("iris").unwrap();
    let by_fraction = split_dataset(&ds, 0.1, 0.2, 0).unwrap();
    let by_rows = split_dataset(&ds, 15usize, 30usize, 0).unwrap();
    assert_eq!(by_fraction, by_rows);
    assert_eq!((by_rows.val.len(), by_rows.test.len()), (15, 30));
    // Through prepare with the default options: the same rows.
    let p = prepare(&Source::Bundled("iris".into()), &Options::default()).unwrap();
    assert_eq!(p.split, by_fraction);
}

#[test]
fn a_row_count_is_exact_and_shared_among_classes_by_largest_remainders() {
    // 90 rows of class 0 and 10 of class 1, 20 test rows: quotas 18 and 2.
    let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 90)).collect();
    let names = vec!["a".to_string(), "b".to_string()];
    let split = stratified_split(&labels, &names, 0usize, 20usize, 0).unwrap();
    let ones = split.test.iter().filter(|&&r| r >= 90).count();
    assert_eq!((split.test.len(), ones), (20, 2));
    // By hand: [50, 50, 50] and 10: quotas 3.33 each, floors 3 3 3, the one left goes to the
    // first class (ties to the lower index); [90, 10] and 20: exactly 18 and 2; [98, 1, 1] and
    // 5: floors 4 0 0 raised to 4 1 1 = 6, one taken back from class 0; an empty class gets 0.
    assert_eq!(allocate(&[50, 50, 50], 10), vec![4, 3, 3]);
    assert_eq!(allocate(&[90, 10], 20), vec![18, 2]);
    assert_eq!(allocate(&[98, 1, 1], 5), vec![3, 1, 1]);
    assert_eq!(allocate(&[0, 5, 5], 2), vec![0, 1, 1]);
    // A random split with counts: the same permutation and sizes as the equal fractions.
    assert_eq!(
        random_split(442, 44usize, 88usize, 0).unwrap(),
        random_split(442, 0.1, 0.2, 0).unwrap()
    );
}

#[test]
fn a_row_count_that_leaves_no_training_row_is_an_error_naming_the_option_and_the_rows() {
    let err = random_split(150, 0usize, 150usize, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid value for test_size: 150 (allowed: <= 149 rows (the data have 150 rows; at \
         least one must be left for training))"
    );
    let (labels, names) = balanced(3, 50);
    let err = stratified_split(&labels, &names, 1000usize, 0.2, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid value for val_size: 1000 (allowed: <= 149 rows"),
        "{err}"
    );
    let err = random_split(150, 100usize, 60usize, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "150 rows are too few for validation size 100 rows and test size 60 rows: 100 validation \
         and 60 test rows would leave no training row; lower the sizes (`val_size`, `test_size`) \
         or set them to 0"
    );
}

#[test]
fn split_sizes_parse_like_scikit_learn_and_old_configs_read_fractions() {
    assert_eq!("100".parse::<SplitSize>().unwrap(), SplitSize::Rows(100));
    assert_eq!("0".parse::<SplitSize>().unwrap(), SplitSize::Rows(0));
    assert_eq!(
        "0.25".parse::<SplitSize>().unwrap(),
        SplitSize::Fraction(0.25)
    );
    for bad in ["1.5", "-1", "1.0", "abc", ""] {
        let err = bad.parse::<SplitSize>().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "expected a fraction of the rows in [0, 1) such as 0.2, or a whole number of \
                 rows such as 100 (0: none), not '{bad}'"
            )
        );
    }
    let opts = Options {
        val_size: SplitSize::Rows(50),
        ..Options::default()
    };
    let json = serde_json::to_string(&opts).unwrap();
    assert!(json.contains(r#""val_size":50,"test_size":0.2"#), "{json}");
    assert_eq!(serde_json::from_str::<Options>(&json).unwrap(), opts);
    let old = r#"{"task":null,"impute":null,"val_fraction":0.0,"test_fraction":0.25,"seed":1,"standardize":true}"#;
    let o: Options = serde_json::from_str(old).unwrap();
    assert_eq!(
        (o.val_size, o.test_size),
        (SplitSize::Fraction(0.0), SplitSize::Fraction(0.25))
    );
    assert!(o.val_size.is_none() && SplitSize::Rows(0).is_none());
}
