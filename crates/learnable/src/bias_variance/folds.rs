//! K-fold splits of `n` rows: scikit-learn's `KFold` and `StratifiedKFold` (scikit-learn 1.9,
//! `sklearn/model_selection/_split.py`), unshuffled or shuffled with a seeded stream.

use crate::error::{Error, Result};
use crate::rng::Rng;

/// The validation rows of each of `k` folds (ascending row indices); the training rows of fold
/// `i` are all the others.
///
/// * `labels = None` (regression): `KFold`: fold sizes `n / k`, the first `n % k` folds one
///   larger, consecutive rows (after a seeded permutation when `seed` is `Some`).
/// * `labels = Some` (classification): `StratifiedKFold`: classes ordered by first appearance,
///   the sorted class sequence dealt to folds round-robin to decide how many rows of each class
///   each fold gets, then each class's rows (in order) go to folds in fold order (the fold
///   sequence of each class shuffled when `seed` is `Some`).
///
/// Errors (before any fit): `k < 2`; fewer rows than folds; with labels, a class with fewer
/// rows than folds (naming the class index and its count).
pub fn k_fold(
    n: usize,
    k: usize,
    labels: Option<&[usize]>,
    seed: Option<u64>,
) -> Result<Vec<Vec<usize>>> {
    if k < 2 {
        return Err(Error::invalid("folds", k, "at least 2"));
    }
    if n < k {
        return Err(Error::invalid(
            "folds",
            k,
            &format!("at most the number of training rows ({n})"),
        ));
    }
    let mut test_fold = vec![0usize; n];
    match labels {
        None => {
            let order: Vec<usize> = match seed {
                Some(s) => Rng::new(s, "k-fold").permutation(n),
                None => (0..n).collect(),
            };
            let mut start = 0;
            for f in 0..k {
                let size = n / k + usize::from(f < n % k);
                for &row in &order[start..start + size] {
                    test_fold[row] = f;
                }
                start += size;
            }
        }
        Some(labels) => {
            if labels.len() != n {
                return Err(Error::shape(
                    "k_fold",
                    format!("labels [{n}]"),
                    &[labels.len()],
                ));
            }
            // Classes by first appearance, as StratifiedKFold encodes them.
            let mut first_seen: Vec<usize> = Vec::new();
            let mut code = std::collections::HashMap::new();
            let encoded: Vec<usize> = labels
                .iter()
                .map(|&l| {
                    *code.entry(l).or_insert_with(|| {
                        first_seen.push(l);
                        first_seen.len() - 1
                    })
                })
                .collect();
            let n_classes = first_seen.len();
            let mut counts = vec![0usize; n_classes];
            encoded.iter().for_each(|&c| counts[c] += 1);
            if let Some(c) = (0..n_classes).find(|&c| counts[c] < k) {
                return Err(Error::invalid(
                    "folds",
                    k,
                    &format!(
                        "at most {}: class {} has only {} rows, and every fold needs one of each class",
                        counts[c], first_seen[c], counts[c]
                    ),
                ));
            }
            // allocation[f][c]: rows of class c in fold f (y_order[f::k] counted per class).
            let mut y_order: Vec<usize> = encoded.clone();
            y_order.sort_unstable();
            let mut allocation = vec![vec![0usize; n_classes]; k];
            for (i, &c) in y_order.iter().enumerate() {
                allocation[i % k][c] += 1;
            }
            let mut rng = seed.map(|s| Rng::new(s, "stratified-k-fold"));
            for c in 0..n_classes {
                let mut folds_for_class: Vec<usize> = (0..k)
                    .flat_map(|f| std::iter::repeat_n(f, allocation[f][c]))
                    .collect();
                if let Some(r) = rng.as_mut() {
                    r.shuffle(&mut folds_for_class);
                }
                let rows = (0..n).filter(|&i| encoded[i] == c);
                for (row, f) in rows.zip(folds_for_class) {
                    test_fold[row] = f;
                }
            }
        }
    }
    Ok((0..k)
        .map(|f| (0..n).filter(|&i| test_fold[i] == f).collect())
        .collect())
}

/// The rows not in `val` out of `0..n` (ascending).
pub fn complement(n: usize, val: &[usize]) -> Vec<usize> {
    let mut is_val = vec![false; n];
    val.iter().for_each(|&i| is_val[i] = true);
    (0..n).filter(|&i| !is_val[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn 1.9: `[list(t) for _, t in KFold(3).split(np.zeros(7))]`
    /// = [[0, 1, 2], [3, 4], [5, 6]].
    #[test]
    fn k_fold_matches_scikit_learn() {
        assert_eq!(
            k_fold(7, 3, None, None).unwrap(),
            vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]
        );
    }

    /// scikit-learn 1.9: `[list(t) for _, t in StratifiedKFold(2).split(X, [1, 1, 0, 0, 1, 0,
    /// 1, 1])]` = [[0, 1, 2, 4], [3, 5, 6, 7]], and `StratifiedKFold(3)` on
    /// [2, 0, 1, 2, 0, 1, 2, 0, 1, 2] = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]].
    #[test]
    fn stratified_k_fold_matches_scikit_learn() {
        let y = [1, 1, 0, 0, 1, 0, 1, 1];
        assert_eq!(
            k_fold(8, 2, Some(&y), None).unwrap(),
            vec![vec![0, 1, 2, 4], vec![3, 5, 6, 7]]
        );
        let y = [2, 0, 1, 2, 0, 1, 2, 0, 1, 2];
        assert_eq!(
            k_fold(10, 3, Some(&y), None).unwrap(),
            vec![vec![0, 1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]]
        );
    }

    #[test]
    fn bad_fold_counts_are_errors_naming_folds() {
        assert!(
            k_fold(5, 1, None, None)
                .unwrap_err()
                .to_string()
                .contains("folds")
        );
        assert!(
            k_fold(2, 3, None, None)
                .unwrap_err()
                .to_string()
                .contains("folds")
        );
        let e = k_fold(6, 3, Some(&[0, 0, 0, 0, 1, 1]), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("class 1 has only 2 rows"), "{e}");
    }

    #[test]
    fn shuffled_folds_partition_the_rows_and_repeat_with_the_seed() {
        let a = k_fold(10, 3, None, Some(4)).unwrap();
        assert_eq!(a, k_fold(10, 3, None, Some(4)).unwrap());
        let mut all: Vec<usize> = a.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_ne!(a, k_fold(10, 3, None, None).unwrap());
    }
}
