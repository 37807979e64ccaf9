//! Fused losses: cross-entropy (class weights, label smoothing, ignore_index, reductions), MSE
//! and BCE-with-logits; scikit-learn's balanced class weights.
//! Hand-computed values (arithmetic in the comments), slow f64 references written out here,
//! finite-difference gradient checks, typed errors and thread-count determinism.

use learnable::gradcheck::check_gradients;
use learnable::loss::{CrossEntropyOptions, Reduction, balanced_class_weight};
use learnable::{Error, Rng, Tape, Tensor};

fn rand(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    Tensor::uniform(shape, lo, hi, &mut Rng::new(seed, "test"))
}

/// Two rows with round probabilities: row 0 = [ln 1, ln 2, ln 5] → p = [1/8, 2/8, 5/8];
/// row 1 = [ln 3, 0, 0] → p = [3/5, 1/5, 1/5]. Targets [2, 1].
fn two_rows() -> Tensor {
    let (l2, l3, l5) = (2f32.ln(), 3f32.ln(), 5f32.ln());
    Tensor::new(vec![0.0, l2, l5, l3, 0.0, 0.0], &[2, 3]).unwrap()
}

/// Loss value and d loss / d logits.
fn ce(logits: &Tensor, targets: &[usize], opts: &CrossEntropyOptions) -> (f64, Vec<f32>) {
    let mut t = Tape::train();
    let x = t.input_with_grad(logits.clone());
    let l = t.cross_entropy(x, targets, opts).unwrap();
    assert_eq!(t.shape(l), &[] as &[usize]);
    let v = t.value(l).item().unwrap() as f64;
    let g = t.backward(l).unwrap();
    (v, g.input(x).unwrap().data().to_vec())
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((*g as f64 - w).abs() < tol, "[{i}]: {g} vs {w}");
    }
}

#[test]
fn cross_entropy_of_two_rows_is_the_mean_negative_log_probability() {
    // Row 0: -ln(5/8) = ln 8 - ln 5; row 1: -ln(1/5) = ln 5. Mean = ln 8 / 2 = 1.0397207708399179.
    // Gradient (p - onehot)/2: row 0 ([1/8, 2/8, 5/8] - [0, 0, 1])/2 = [0.0625, 0.125, -0.1875];
    // row 1 ([3/5, 1/5, 1/5] - [0, 1, 0])/2 = [0.3, -0.4, 0.1].
    let (v, g) = ce(&two_rows(), &[2, 1], &CrossEntropyOptions::default());
    assert!((v - 8f64.ln() / 2.0).abs() < 1e-6, "{v}");
    assert_close(&g, &[0.0625, 0.125, -0.1875, 0.3, -0.4, 0.1], 1e-6);
}

#[test]
fn label_smoothing_mixes_in_the_mean_negative_log_probability_over_classes() {
    // ε = 0.1, C = 3: loss_i = 0.9·(-log p_{y_i}) + 0.1·mean_c(-log p_c).
    // Row 0: -log p = [ln 8, ln 4, ln 8 - ln 5], mean = (8 ln 2 - ln 5)/3 = 1.3119131773484873;
    //        loss = 0.9·0.4700036292457356 + 0.1·1.3119131773484873 = 0.5541945840560106.
    // Row 1: -log p = [ln 5 - ln 3, ln 5, ln 5], mean = (3 ln 5 - ln 3)/3 = 1.243233816211397;
    //        loss = 0.9·1.6094379124341003 + 0.1·1.243233816211397 = 1.57281750281183.
    // Mean = 1.0635060434339203.
    // Gradient (p - q)/2 with q = 0.9·onehot + 0.1/3:
    //   row 0: ([1/8, 2/8, 5/8] - [1/30, 1/30, 0.9 + 1/30])/2 = [0.0458333, 0.1083333, -0.1541667]
    //   row 1: ([3/5, 1/5, 1/5] - [1/30, 0.9 + 1/30, 1/30])/2 = [0.2833333, -0.3666667, 0.0833333]
    let ln = f64::ln;
    let l0 = 0.9 * (ln(8.0) - ln(5.0)) + 0.1 * (8.0 * ln(2.0) - ln(5.0)) / 3.0;
    let l1 = 0.9 * ln(5.0) + 0.1 * (3.0 * ln(5.0) - ln(3.0)) / 3.0;
    assert!(((l0 + l1) / 2.0 - 1.0635060434339203).abs() < 1e-15);
    let opts = CrossEntropyOptions {
        label_smoothing: 0.1,
        ignore_index: None,
        ..Default::default()
    };
    let (v, g) = ce(&two_rows(), &[2, 1], &opts);
    assert!((v - 1.0635060434339203).abs() < 1e-6, "{v}");
    let q = 0.1 / 3.0;
    let want = [
        (0.125 - q) / 2.0,
        (0.25 - q) / 2.0,
        (0.625 - 0.9 - q) / 2.0,
        (0.6 - q) / 2.0,
        (0.2 - 0.9 - q) / 2.0,
        (0.2 - q) / 2.0,
    ];
    assert_close(&g, &want, 1e-6);
}

#[test]
fn ignored_rows_add_nothing_to_the_loss_the_mean_or_the_gradient() {
    // Append a third row (arbitrary logits) whose target is ignore_index = 7 (not a class, as
    // PyTorch's -100 padding). The mean is over the 2 valid rows, so the values are the ones
    // above, and row 2's gradient is 0 -- with and without label smoothing.
    let mut data = two_rows().into_data();
    data.extend([5.0, -3.0, 0.5]);
    let logits = Tensor::new(data, &[3, 3]).unwrap();
    let opts = CrossEntropyOptions {
        label_smoothing: 0.0,
        ignore_index: Some(7),
        ..Default::default()
    };
    let (v, g) = ce(&logits, &[2, 1, 7], &opts);
    assert!((v - 8f64.ln() / 2.0).abs() < 1e-6, "{v}");
    assert_close(
        &g,
        &[0.0625, 0.125, -0.1875, 0.3, -0.4, 0.1, 0.0, 0.0, 0.0],
        1e-6,
    );
    let opts = CrossEntropyOptions {
        label_smoothing: 0.1,
        ignore_index: Some(7),
        ..Default::default()
    };
    let (v, g) = ce(&logits, &[2, 1, 7], &opts);
    assert!((v - 1.0635060434339203).abs() < 1e-6, "{v}");
    assert_eq!(&g[6..], &[0.0, 0.0, 0.0]);
}

#[test]
fn ignore_index_can_be_a_real_class() {
    // ignore_index = 1 drops row 1 (target 1): loss = row 0 alone = ln 8 - ln 5 = 0.4700036292457356,
    // gradient of row 0 = p - onehot = [0.125, 0.25, -0.375] (divided by n_valid = 1).
    let opts = CrossEntropyOptions {
        label_smoothing: 0.0,
        ignore_index: Some(1),
        ..Default::default()
    };
    let (v, g) = ce(&two_rows(), &[2, 1], &opts);
    assert!((v - 0.4700036292457356).abs() < 1e-6, "{v}");
    assert_close(&g, &[0.125, 0.25, -0.375, 0.0, 0.0, 0.0], 1e-6);
}

#[test]
fn cross_entropy_on_huge_logits_is_finite() {
    // [1000, 999, 998], target 0: -log_softmax[0] = 0.4076059644443804 (fixture
    // softmax_and_sampling.json, log_softmax_float64 of this row, negated).
    let x = Tensor::new(vec![1000.0, 999.0, 998.0], &[1, 3]).unwrap();
    let (v, g) = ce(&x, &[0], &CrossEntropyOptions::default());
    assert!((v - 0.4076059644443804).abs() < 1e-6, "{v}");
    assert!(g.iter().all(|v| v.is_finite()));
}

/// Slow reference: PyTorch's definition with plain f64 loops.
/// loss = Σ_valid [(1-ε)(-log p_{i,y}) + (ε/C) Σ_c (-log p_{i,c})] / n_valid.
fn ref_cross_entropy(x: &Tensor, targets: &[usize], eps: f64, ignore: Option<usize>) -> f64 {
    let c = x.last_dim();
    let (mut total, mut n_valid) = (0.0, 0usize);
    for (i, &t) in targets.iter().enumerate() {
        if Some(t) == ignore {
            continue;
        }
        let row: Vec<f64> = x.row(i).iter().map(|&v| v as f64).collect();
        let mut m = f64::NEG_INFINITY;
        for &v in &row {
            m = m.max(v);
        }
        let mut s = 0.0;
        for &v in &row {
            s += (v - m).exp();
        }
        let logp: Vec<f64> = row.iter().map(|v| v - m - s.ln()).collect();
        let mut smooth = 0.0;
        for lp in &logp {
            smooth -= lp;
        }
        total += (1.0 - eps) * -logp[t] + eps / c as f64 * smooth;
        n_valid += 1;
    }
    total / n_valid as f64
}

#[test]
fn cross_entropy_matches_the_slow_reference_on_random_rows() {
    let x = rand(&[9, 6], -4.0, 4.0, 1);
    let targets = [0, 5, 3, 3, 1, 5, 2, 0, 4];
    let mut worst = 0.0f64;
    for (eps, ignore) in [(0.0, None), (0.2, None), (0.0, Some(3)), (0.35, Some(5))] {
        let want = ref_cross_entropy(&x, &targets, eps, ignore);
        let opts = CrossEntropyOptions {
            label_smoothing: eps as f32,
            ignore_index: ignore,
            ..Default::default()
        };
        let (v, _) = ce(&x, &targets, &opts);
        worst = worst.max((v - want).abs() / want.abs());
        assert!(
            (v - want).abs() <= 1e-6 * want.abs(),
            "eps {eps} ignore {ignore:?}: {v} vs {want}"
        );
    }
    eprintln!("cross_entropy: max rel error vs f64 reference {worst:e}");
}

#[test]
fn cross_entropy_gradient_matches_central_differences() {
    let targets = [1, 0, 3, 2, 3];
    for (eps, ignore) in [(0.0, None), (0.15, Some(2))] {
        let opts = CrossEntropyOptions {
            label_smoothing: eps,
            ignore_index: ignore,
            ..Default::default()
        };
        let r = check_gradients(&[rand(&[5, 4], -2.0, 2.0, 3)], 1e-2, |t, v| {
            t.cross_entropy(v[0], &targets, &opts)
        })
        .unwrap();
        eprintln!(
            "cross_entropy eps {eps} ignore {ignore:?}: max rel error {:e}",
            r.max_rel_error
        );
        assert!(r.max_rel_error < 1e-3, "{r:?}");
    }
}

#[test]
fn cross_entropy_flattens_leading_dimensions_into_rows() {
    // [2, 1, 3] logits are the same two rows as [2, 3].
    let x = two_rows().reshape(&[2, 1, 3]).unwrap();
    let (v, _) = ce(&x, &[2, 1], &CrossEntropyOptions::default());
    assert!((v - 8f64.ln() / 2.0).abs() < 1e-6);
}

#[test]
fn cross_entropy_errors_name_the_bad_row_and_value() {
    let mut t = Tape::eval();
    let x = t.input(two_rows());
    let e = t
        .cross_entropy(x, &[2, 3], &CrossEntropyOptions::default())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("cross_entropy")
            && m.contains("row 1")
            && m.contains(": 3")
            && m.contains("0..3"),
        "{m}"
    );

    let e = t
        .cross_entropy(x, &[2], &CrossEntropyOptions::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "cross_entropy",
                ..
            }
        ),
        "{e:?}"
    );

    let opts = CrossEntropyOptions {
        label_smoothing: 1.5,
        ignore_index: None,
        ..Default::default()
    };
    let e = t.cross_entropy(x, &[2, 1], &opts).unwrap_err().to_string();
    assert!(e.contains("label_smoothing") && e.contains("1.5"), "{e}");
}

/// Loss values (flat) and d Σ(loss·r) / d logits with r = upstream (1 for a scalar loss).
fn ce_any(
    logits: &Tensor,
    targets: &[usize],
    opts: &CrossEntropyOptions,
    upstream: &[f32],
) -> (Vec<f32>, Vec<usize>, Vec<f32>) {
    let mut t = Tape::train();
    let x = t.input_with_grad(logits.clone());
    let l = t.cross_entropy(x, targets, opts).unwrap();
    let shape = t.shape(l).to_vec();
    let values = t.value(l).data().to_vec();
    let r = t.input(Tensor::new(upstream.to_vec(), &shape).unwrap());
    let lr = t.mul(l, r).unwrap();
    let s = t.sum(lr).unwrap();
    let g = t.backward(s).unwrap();
    (values, shape, g.input(x).unwrap().data().to_vec())
}

#[test]
fn class_weights_scale_each_row_and_the_mean_divides_by_the_weight_sum() {
    // two_rows, targets [2, 1], weight [1, 3, 2]: row 0 weighs w[2] = 2, row 1 w[1] = 3.
    // -log p: row 0 ln(8/5) = 0.4700036292457356, row 1 ln 5 = 1.6094379124341003.
    // none: [2·ln 1.6, 3·ln 5] = [0.9400072584914713, 4.828313737302301];
    // sum = 5.768320995793772; mean = sum / (2 + 3) = 1.1536641991587544.
    // Gradient of the sum: w_y·(p − onehot): row 0 2·[0.125, 0.25, −0.375] = [0.25, 0.5, −0.75],
    // row 1 3·[0.6, −0.8, 0.2] = [1.8, −2.4, 0.6]; of the mean: that / 5.
    // (All values as PyTorch 2.15 F.cross_entropy(weight=[1, 3, 2]) gives them in float64.)
    let opts = |reduction| CrossEntropyOptions {
        weight: Some(vec![1.0, 3.0, 2.0]),
        reduction,
        ..Default::default()
    };
    let g_sum = [0.25, 0.5, -0.75, 1.8, -2.4, 0.6];
    let (v, shape, g) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::Mean), &[1.0]);
    assert_eq!(shape, [] as [usize; 0]);
    assert_close(&v, &[1.1536641991587544], 1e-6);
    assert_close(&g, &g_sum.map(|v| v / 5.0), 1e-6);
    let (v, shape, g) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::Sum), &[1.0]);
    assert_eq!(shape, [] as [usize; 0]);
    assert_close(&v, &[5.768320995793772], 1e-6);
    assert_close(&g, &g_sum, 1e-6);
    // none, upstream [1, 1]: the sum's gradient; upstream [0.5, -2]: rows scaled by it.
    let (v, shape, g) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::None), &[1.0, 1.0]);
    assert_eq!(shape, [2]);
    assert_close(&v, &[0.9400072584914713, 4.828313737302301], 1e-6);
    assert_close(&g, &g_sum, 1e-6);
    let (_, _, g) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::None), &[0.5, -2.0]);
    assert_close(&g, &[0.125, 0.25, -0.375, -3.6, 4.8, -1.2], 1e-6);

    // ignore_index = 1 drops row 1: the weighted mean of the single row 0 is its plain loss
    // ln 1.6 (2·ln 1.6 / 2), gradient p − onehot = [0.125, 0.25, −0.375] and 0 for row 1.
    let o = CrossEntropyOptions {
        ignore_index: Some(1),
        ..opts(Reduction::Mean)
    };
    let (v, _, g) = ce_any(&two_rows(), &[2, 1], &o, &[1.0]);
    assert_close(&v, &[0.4700036292457356], 1e-6);
    assert_close(&g, &[0.125, 0.25, -0.375, 0.0, 0.0, 0.0], 1e-6);
}

#[test]
fn class_weights_weigh_the_smoothing_term_per_class() {
    // ε = 0.1, C = 3, weight [1, 3, 2], targets [2, 1] (PyTorch: (1−ε)·w[y]·(−log p_y) +
    // (ε/C)·Σ_c w[c]·(−log p_c), mean divided by Σ w[y_i] = 5):
    // row 0: 0.9·2·ln 1.6 + (0.1/3)·(1·ln 8 + 3·ln 4 + 2·ln 1.6) = 1.0852842620933567
    // row 1: 0.9·3·ln 5 + (0.1/3)·(1·ln(5/3) + 3·ln 5 + 2·ln 5) = 4.63074953643662
    // mean = 5.716033798529978 / 5 = 1.1432067597059954.
    // Gradient row i: a·p − 0.9·w[y]·onehot − (0.1/3)·w, a = 0.9·w[y] + (0.1/3)·Σw:
    //   row 0: a = 2.0: [0.25, 0.5, 1.25] − [1/30, 0.1, 1.8 + 2/30] = [0.2166667, 0.4, −0.6166667]
    //   row 1: a = 2.9: [1.74, 0.58, 0.58] − [1/30, 2.7 + 0.1, 2/30] = [1.7066667, −2.22, 0.5133333]
    // and the mean's gradient is that / 5 (values as PyTorch 2.15 in float64).
    let opts = |reduction| CrossEntropyOptions {
        label_smoothing: 0.1,
        weight: Some(vec![1.0, 3.0, 2.0]),
        reduction,
        ..Default::default()
    };
    let g_sum = [
        0.25 - 0.1 / 3.0,
        0.4,
        1.25 - 1.8 - 0.2 / 3.0,
        1.74 - 0.1 / 3.0,
        -2.22,
        0.58 - 0.2 / 3.0,
    ];
    let (v, _, g) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::Mean), &[1.0]);
    assert_close(&v, &[1.1432067597059954], 1e-6);
    assert_close(&g, &g_sum.map(|v| v / 5.0), 1e-6);
    let (v, _, g) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::Sum), &[1.0]);
    assert_close(&v, &[5.716033798529978], 1e-5);
    assert_close(&g, &g_sum, 1e-6);
    let (v, _, _) = ce_any(&two_rows(), &[2, 1], &opts(Reduction::None), &[1.0, 1.0]);
    assert_close(&v, &[1.0852842620933567, 4.63074953643662], 1e-6);
}

#[test]
fn unit_weights_and_the_unweighted_path_agree() {
    // weight = all ones is PyTorch's unweighted loss; the weighted code path must agree with
    // the unweighted one to rounding, for every reduction, smoothing and ignore_index.
    let x = rand(&[7, 5], -3.0, 3.0, 21);
    let targets = [4, 0, 2, 2, 1, 9, 3];
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for eps in [0.0, 0.2] {
            let plain = CrossEntropyOptions {
                label_smoothing: eps,
                ignore_index: Some(9),
                weight: None,
                reduction,
            };
            let ones = CrossEntropyOptions {
                weight: Some(vec![1.0; 5]),
                ..plain.clone()
            };
            let up: Vec<f32> = (0..7).map(|i| 0.5 + i as f32 * 0.25).collect();
            let up = if reduction == Reduction::None {
                &up[..]
            } else {
                &up[..1]
            };
            let (v0, s0, g0) = ce_any(&x, &targets, &plain, up);
            let (v1, s1, g1) = ce_any(&x, &targets, &ones, up);
            assert_eq!(s0, s1);
            let v1: Vec<f64> = v1.iter().map(|&v| v as f64).collect();
            let g1: Vec<f64> = g1.iter().map(|&v| v as f64).collect();
            assert_close(&v0, &v1, 1e-6);
            assert_close(&g0, &g1, 1e-6);
            if reduction == Reduction::None {
                assert_eq!(v0[5], 0.0, "ignored row");
            }
        }
    }
}

#[test]
fn reduction_none_keeps_the_leading_dimensions_and_sum_is_mean_times_count() {
    // [2, 3, 4] logits → [2, 3] losses; Σ none = sum = mean · n_valid (5 rows kept of 6).
    let x = rand(&[2, 3, 4], -2.0, 2.0, 22);
    let targets = [0, 3, 99, 2, 2, 1];
    let o = |reduction| CrossEntropyOptions {
        label_smoothing: 0.05,
        ignore_index: Some(99),
        reduction,
        ..Default::default()
    };
    let (none, shape, _) = ce_any(&x, &targets, &o(Reduction::None), &[1.0; 6]);
    assert_eq!(shape, [2, 3]);
    assert_eq!(none[2], 0.0);
    let (sum, _, _) = ce_any(&x, &targets, &o(Reduction::Sum), &[1.0]);
    let (mean, _, _) = ce_any(&x, &targets, &o(Reduction::Mean), &[1.0]);
    let total: f64 = none.iter().map(|&v| v as f64).sum();
    assert!((sum[0] as f64 - total).abs() < 1e-5, "{sum:?} {total}");
    assert!(
        (mean[0] as f64 * 5.0 - total).abs() < 1e-5,
        "{mean:?} {total}"
    );
    // 1-D logits [C] (one row) with reduction none: a 0-d loss, as PyTorch.
    let (_, shape, _) = ce_any(
        &two_rows().reshape(&[6]).unwrap(),
        &[4],
        &o(Reduction::None),
        &[1.0],
    );
    assert_eq!(shape, [] as [usize; 0]);
}

#[test]
fn weighted_cross_entropy_gradients_match_central_differences_for_every_reduction() {
    let targets = [1, 0, 3, 2, 3, 1];
    let weight = vec![0.5, 2.0, 0.0, 1.25];
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for (eps, ignore, w) in [
            (0.0, None, Some(weight.clone())),
            (0.15, Some(2), Some(weight.clone())),
            (0.3, None, Some(weight.clone())),
            (0.1, Some(3), None),
        ] {
            let opts = CrossEntropyOptions {
                label_smoothing: eps,
                ignore_index: ignore,
                weight: w.clone(),
                reduction,
            };
            let r = check_gradients(&[rand(&[6, 4], -2.0, 2.0, 23)], 1e-2, |t, v| {
                let l = t.cross_entropy(v[0], &targets, &opts)?;
                // A different weight per row makes 'none' test each row's upstream gradient.
                learnable::gradcheck::weighted_sum(t, l, 5)
            })
            .unwrap();
            eprintln!(
                "cross_entropy {reduction} eps {eps} ignore {ignore:?} weighted {}: max rel error {:e}",
                w.is_some(),
                r.max_rel_error
            );
            assert!(
                r.max_rel_error < 1e-3,
                "{reduction} {eps} {ignore:?}: {r:?}"
            );
        }
    }
}

/// Loss values of a cross-entropy on an eval tape.
fn ce_value(
    logits: &Tensor,
    targets: &[usize],
    opts: &CrossEntropyOptions,
) -> (Vec<f32>, Vec<usize>) {
    let mut t = Tape::eval();
    let x = t.input(logits.clone());
    let l = t.cross_entropy(x, targets, opts).unwrap();
    (t.value(l).data().to_vec(), t.shape(l).to_vec())
}

#[test]
fn an_all_ignored_mean_is_nan_as_pytorch_and_backward_refuses_it() {
    // PyTorch 2.15: F.cross_entropy(x, [1, 1], ignore_index=1) = NaN (0/0) (see nan_cases in
    // fixtures/reference/cross_entropy_weighted.json); 'sum' gives 0 with gradient 0.
    for weight in [None, Some(vec![1.0, 2.0, 3.0])] {
        for eps in [0.0, 0.1] {
            let o = CrossEntropyOptions {
                label_smoothing: eps,
                ignore_index: Some(1),
                weight: weight.clone(),
                reduction: Reduction::Mean,
            };
            let (v, _) = ce_value(&two_rows(), &[1, 1], &o);
            assert!(v[0].is_nan(), "{v:?}");
            let mut t = Tape::train();
            let x = t.input_with_grad(two_rows());
            let l = t.cross_entropy(x, &[1, 1], &o).unwrap();
            let e = t.backward(l).unwrap_err();
            assert!(matches!(e, Error::NonFinite { what: "loss", .. }), "{e:?}");
            let o = CrossEntropyOptions {
                reduction: Reduction::Sum,
                ..o
            };
            let (v, _, g) = ce_any(&two_rows(), &[1, 1], &o, &[1.0]);
            assert_eq!(v, [0.0]);
            assert!(g.iter().all(|&d| d == 0.0), "{g:?}");
        }
    }
    // Zero rows: mean NaN, sum 0, none an empty [0] tensor.
    let empty = Tensor::zeros(&[0, 3]);
    let (v, _) = ce_value(&empty, &[], &CrossEntropyOptions::default());
    assert!(v[0].is_nan());
    let o = |reduction| CrossEntropyOptions {
        reduction,
        ..Default::default()
    };
    assert_eq!(ce_value(&empty, &[], &o(Reduction::Sum)).0, [0.0]);
    let (v, shape) = ce_value(&empty, &[], &o(Reduction::None));
    assert!(v.is_empty() && shape == [0]);
    // Every kept target of weight 0: the mean is 0/0 = NaN too.
    let o = CrossEntropyOptions {
        weight: Some(vec![1.0, 0.0, 3.0]),
        ..Default::default()
    };
    assert!(ce_value(&two_rows(), &[1, 1], &o).0[0].is_nan());
}

#[test]
fn bad_class_weights_are_named_with_their_length_or_index() {
    let mut t = Tape::eval();
    let x = t.input(two_rows());
    let o = CrossEntropyOptions {
        weight: Some(vec![1.0, 2.0]),
        ..Default::default()
    };
    let e = t.cross_entropy(x, &[2, 1], &o).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "cross_entropy",
                ..
            }
        ),
        "{e:?}"
    );
    let m = e.to_string();
    assert!(
        m.contains("weight of length 3")
            && m.contains("weight of length 2")
            && m.contains("[2, 3]"),
        "{m}"
    );
    for (bad, shown) in [(-0.5f32, "-0.5"), (f32::NAN, "NaN"), (f32::INFINITY, "inf")] {
        let o = CrossEntropyOptions {
            weight: Some(vec![1.0, bad, 2.0]),
            ..Default::default()
        };
        let e = t.cross_entropy(x, &[2, 1], &o).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
        let m = e.to_string();
        assert!(
            m.contains("weight[1]") && m.contains(shown) && m.contains(">= 0"),
            "{m}"
        );
    }
}

#[test]
fn reduction_parses_pytorch_names() {
    for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        assert_eq!(r.as_str().parse::<Reduction>().unwrap(), r);
    }
    assert_eq!(Reduction::default(), Reduction::Mean);
    let e = "avg".parse::<Reduction>().unwrap_err().to_string();
    assert!(
        e.contains("reduction") && e.contains("avg") && e.contains("mean, sum, none"),
        "{e}"
    );
}

#[test]
fn balanced_class_weight_is_n_samples_over_n_classes_times_count() {
    // y = [0, 0, 0, 1, 2, 2, 2, 2], 3 classes: counts [3, 1, 4], n = 8:
    // w = 8 / (3·[3, 1, 4]) = [8/9, 8/3, 2/3] = [0.8888889, 2.6666667, 0.6666667].
    let w = balanced_class_weight(&[0, 0, 0, 1, 2, 2, 2, 2], 3).unwrap();
    assert_close(&w, &[8.0 / 9.0, 8.0 / 3.0, 2.0 / 3.0], 1e-7);
    // Balanced: every class then carries the same total weight n / n_classes = 8/3.
    assert_close(&[w[0] * 3.0, w[1], w[2] * 4.0], &[8.0 / 3.0; 3], 1e-6);
    // Equal counts give weight 1 each.
    assert_eq!(balanced_class_weight(&[1, 0, 1, 0], 2).unwrap(), [1.0, 1.0]);
}

#[test]
fn balanced_class_weight_names_an_absent_class_or_a_bad_target() {
    // Class 1 has no samples: scikit-learn raises ("classes should have valid labels that are
    // in y"); so do we, naming the class.
    let e = balanced_class_weight(&[0, 2, 2], 3).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("class_weight") && m.contains("class 1 has no samples"),
        "{m}"
    );
    let m = balanced_class_weight(&[0, 1, 5], 3)
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("row 2") && m.contains(": 5") && m.contains("0..3"),
        "{m}"
    );
    let m = balanced_class_weight(&[], 2).unwrap_err().to_string();
    assert!(m.contains("class 0 has no samples"), "{m}");
    assert!(balanced_class_weight(&[], 0).is_err());
}

#[test]
fn mse_loss_matches_a_hand_computed_value_and_gradient() {
    // pred [1, 2, 3], target [1, 0, 5]: differences [0, 2, -2], mean square (0 + 4 + 4)/3 = 8/3.
    // d/dpred = 2·diff/3 = [0, 4/3, -4/3]; d/dtarget = -that.
    let mut t = Tape::train();
    let p = t.input_with_grad(Tensor::new(vec![1.0, 2.0, 3.0], &[3]).unwrap());
    let y = t.input_with_grad(Tensor::new(vec![1.0, 0.0, 5.0], &[3]).unwrap());
    let l = t.mse_loss(p, y).unwrap();
    assert!((t.value(l).item().unwrap() - 8.0 / 3.0).abs() < 1e-6);
    let g = t.backward(l).unwrap();
    assert_close(
        g.input(p).unwrap().data(),
        &[0.0, 4.0 / 3.0, -4.0 / 3.0],
        1e-6,
    );
    assert_close(
        g.input(y).unwrap().data(),
        &[0.0, -4.0 / 3.0, 4.0 / 3.0],
        1e-6,
    );
}

#[test]
fn bce_with_logits_matches_hand_values_and_survives_large_logits() {
    // x = [0, 100, -100], y = [1, 0, 0]:
    //   x=0,y=1:    0 - 0 + ln(1 + 1) = ln 2 = 0.6931471805599453
    //   x=100,y=0:  100 - 0 + ln(1 + e^-100) = 100
    //   x=-100,y=0: 0 - 0 + ln(1 + e^-100) = 3.7e-44
    // mean = (ln 2 + 100)/3 = 33.564382393519985.
    // d/dx = (σ(x) - y)/3 = [(0.5 - 1)/3, (1 - 0)/3, ~0] = [-1/6, 1/3, 0];  d/dy = -x/3 = [0, -33.33, 33.33].
    let mut t = Tape::train();
    let x = t.input_with_grad(Tensor::new(vec![0.0, 100.0, -100.0], &[3]).unwrap());
    let y = t.input_with_grad(Tensor::new(vec![1.0, 0.0, 0.0], &[3]).unwrap());
    let l = t.bce_with_logits(x, y).unwrap();
    assert!((t.value(l).item().unwrap() as f64 - 33.564382393519985).abs() < 1e-5);
    let g = t.backward(l).unwrap();
    assert_close(
        g.input(x).unwrap().data(),
        &[-1.0 / 6.0, 1.0 / 3.0, 0.0],
        1e-7,
    );
    assert_close(
        g.input(y).unwrap().data(),
        &[0.0, -100.0 / 3.0, 100.0 / 3.0],
        1e-5,
    );
}

#[test]
fn mse_and_bce_match_slow_f64_references() {
    // MSE: Σ (p - t)² / n.  BCE: Σ -[y ln σ(x) + (1 - y) ln(1 - σ(x))] / n (the textbook form,
    // safe here because |x| ≤ 4).
    let (p, q) = (rand(&[4, 5], -4.0, 4.0, 7), rand(&[4, 5], 0.0, 1.0, 8));
    let n = 20.0;
    let (mut mse, mut bce) = (0.0f64, 0.0f64);
    for (&a, &b) in p.data().iter().zip(q.data()) {
        let (a, b) = (a as f64, b as f64);
        mse += (a - b) * (a - b) / n;
        let s = 1.0 / (1.0 + (-a).exp());
        bce += -(b * s.ln() + (1.0 - b) * (1.0 - s).ln()) / n;
    }
    let mut t = Tape::eval();
    let (pv, qv) = (t.input(p), t.input(q));
    let m = t.mse_loss(pv, qv).unwrap();
    let b = t.bce_with_logits(pv, qv).unwrap();
    let (m, b) = (
        t.value(m).item().unwrap() as f64,
        t.value(b).item().unwrap() as f64,
    );
    assert!(
        (m - mse).abs() < 1e-6 * mse && (b - bce).abs() < 1e-6 * bce,
        "{m} {mse} {b} {bce}"
    );
}

#[test]
fn mse_and_bce_gradients_match_central_differences_for_both_inputs() {
    let inputs = [rand(&[3, 4], -2.0, 2.0, 9), rand(&[3, 4], 0.0, 1.0, 10)];
    let r = check_gradients(&inputs, 1e-2, |t, v| t.mse_loss(v[0], v[1])).unwrap();
    assert!(r.max_rel_error < 1e-3, "mse {r:?}");
    let r = check_gradients(&inputs, 1e-2, |t, v| t.bce_with_logits(v[0], v[1])).unwrap();
    assert!(r.max_rel_error < 1e-3, "bce {r:?}");
}

#[test]
fn mse_and_bce_reject_mismatched_or_empty_shapes() {
    let mut t = Tape::eval();
    let a = t.input(Tensor::zeros(&[2, 3]));
    let b = t.input(Tensor::zeros(&[3, 2]));
    let e = t.mse_loss(a, b).unwrap_err().to_string();
    assert!(
        e.contains("mse_loss") && e.contains("[2, 3]") && e.contains("[3, 2]"),
        "{e}"
    );
    let e = t.bce_with_logits(a, b).unwrap_err().to_string();
    assert!(e.contains("bce_with_logits"), "{e}");
    let z = t.input(Tensor::zeros(&[0]));
    assert!(matches!(
        t.mse_loss(z, z),
        Err(Error::Shape { op: "mse_loss", .. })
    ));
}

#[test]
fn one_and_two_threads_give_bit_identical_cross_entropy_and_gradient_weighted_or_not() {
    // 64 x 1024 logits: above the size at which the loss goes parallel over rows.
    let x = rand(&[64, 1024], -5.0, 5.0, 11);
    let targets: Vec<usize> = (0..64).map(|i| (i * 37) % 1024).collect();
    let opts = CrossEntropyOptions {
        label_smoothing: 0.1,
        ignore_index: Some(37),
        ..Default::default()
    };
    let weighted = CrossEntropyOptions {
        weight: Some((0..1024).map(|c| 0.5 + (c % 7) as f32 * 0.25).collect()),
        ..opts.clone()
    };
    let up: Vec<f32> = (0..64).map(|i| 1.0 - i as f32 / 64.0).collect();
    let run_weighted = |threads: usize, reduction| -> (Vec<u32>, Vec<u32>) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let o = CrossEntropyOptions {
            reduction,
            ..weighted.clone()
        };
        let up = if reduction == Reduction::None {
            &up[..]
        } else {
            &up[..1]
        };
        pool.install(|| {
            let (v, _, g) = ce_any(&x, &targets, &o, up);
            (
                v.iter().map(|f| f.to_bits()).collect(),
                g.iter().map(|f| f.to_bits()).collect(),
            )
        })
    };
    for reduction in [Reduction::Mean, Reduction::None] {
        assert!(run_weighted(1, reduction) == run_weighted(2, reduction));
    }
    let run = |threads: usize| -> (u32, Vec<u32>) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (v, g) = ce(&x, &targets, &opts);
            (
                (v as f32).to_bits(),
                g.iter().map(|f| f.to_bits()).collect(),
            )
        })
    };
    assert!(run(1) == run(2));
}
