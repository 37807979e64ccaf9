//! The in-memory `Dataset`: construction checks, views and row selection.

use learnable::data::{Dataset, Target, Task};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i}")).collect()
}

fn three_rows() -> Dataset {
    // Rows [1, 2], [3, 4], [5, 6]; labels b, a, b.
    let classes = vec!["a".to_string(), "b".to_string()];
    Dataset::new(
        "t",
        vec![1., 2., 3., 4., 5., 6.],
        3,
        names(2),
        Task::Classification,
        classes,
        Target::Classes(vec![1, 0, 1]),
    )
    .unwrap()
}

#[test]
fn gather_builds_a_batch_tensor_of_the_given_rows_in_order() {
    let batch = three_rows().gather(&[2, 0]).unwrap();
    assert_eq!(batch.shape(), &[2, 2]);
    assert_eq!(batch.data(), &[5.0, 6.0, 1.0, 2.0]);
}

#[test]
fn select_keeps_features_and_labels_together() {
    let s = three_rows().select(&[1, 2]).unwrap();
    assert_eq!(s.features_f64().to_vec(), vec![3., 4., 5., 6.]);
    assert_eq!(s.labels().unwrap(), [0, 1]);
    assert_eq!(s.class_counts(), vec![1, 1]);
}

#[test]
fn a_row_index_past_the_end_is_an_error() {
    let err = three_rows().gather(&[3]).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid value for row index: 3 (allowed: < 3 (rows of t))"
    );
}

#[test]
fn sizes_that_do_not_fit_are_rejected() {
    let err = Dataset::new(
        "t",
        vec![1., 2., 3.],
        2,
        names(2),
        Task::Regression,
        vec![],
        Target::Values(vec![0., 1.]),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "shape mismatch in dataset features: expected 2 x 2 = 4 values, got 3 values"
    );
    let err = Dataset::new(
        "t",
        vec![1., 2.],
        2,
        names(1),
        Task::Regression,
        vec![],
        Target::Values(vec![0.]),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "shape mismatch in dataset target: expected [2], got [1]"
    );
    let err = Dataset::new(
        "t",
        vec![1.],
        1,
        names(1),
        Task::Classification,
        vec!["a".into()],
        Target::Classes(vec![1]),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid value for class label: 1 (allowed: < 1 (the number of class names))"
    );
}

#[test]
fn f32_storage_gives_the_same_values_through_both_views() {
    let d = Dataset::from_f32(
        "t",
        vec![0.5, 0.25],
        1,
        names(2),
        Task::Regression,
        vec![],
        Target::Values(vec![1.0]),
    )
    .unwrap();
    assert!(d.is_f32());
    assert_eq!(d.features_f64().to_vec(), vec![0.5, 0.25]);
    assert_eq!(d.features_tensor().data(), &[0.5, 0.25]);
    assert_eq!(d.values_tensor().unwrap().shape(), &[1, 1]);
}
