//! `class_weight: balanced` (scikit-learn's 'balanced', PyTorch's `CrossEntropyLoss(weight)`)
//! through the library's fit: the weights are computed on the training split by hand here, the
//! reported loss is the weighted cross-entropy recomputed by hand from the model's logits, and
//! on imbalanced data the weights raise the rare class's recall.

use learnable::data::{Options, Source};
use learnable::fit::{ClassWeight, FitConfig, FitData, ModelKind, Solver, fit};
use learnable::train::Targets;

/// Two overlapping classes, 9 to 1: class "a" around x = 0, class "b" around x = 0.6, with a
/// deterministic jitter (no RNG needed).
fn imbalanced_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let mut s = String::from("x1,x2,label\n");
    for i in 0..400 {
        let rare = i % 10 == 0;
        let t = (i as f64 * 0.618_033_988_7).fract() - 0.5;
        let u = (i as f64 * 0.414_213_562_3).fract() - 0.5;
        let shift = if rare { 0.6 } else { 0.0 };
        s.push_str(&format!(
            "{:.6},{:.6},{}\n",
            shift + 2.0 * t,
            shift + 2.0 * u,
            if rare { "b" } else { "a" }
        ));
    }
    let p = dir.join("imbalanced.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn data(dir: &std::path::Path) -> FitData {
    let source = Source::Csv {
        path: imbalanced_csv(dir),
        target: "label".into(),
    };
    FitData::prepare(&source, &Options::default()).unwrap()
}

fn labels(y: &Targets) -> Vec<usize> {
    match y {
        Targets::Classes(c) => c.clone(),
        Targets::Values(_) => panic!("expected classes"),
    }
}

fn config(class_weight: ClassWeight) -> FitConfig {
    FitConfig {
        model: ModelKind::Softmax,
        solver: Solver::GradientDescent,
        epochs: 30,
        learning_rate: 0.05,
        class_weight,
        ..FitConfig::default()
    }
}

#[test]
fn balanced_weights_are_n_over_k_counts_and_the_reported_loss_is_the_weighted_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path());
    let model = fit(&config(ClassWeight::Balanced), &data).unwrap();

    // By hand: w[c] = n / (k · count[c]) over the training split.
    let y = labels(&data.train.y);
    let n = y.len() as f64;
    let count = |c: usize| y.iter().filter(|&&v| v == c).count() as f64;
    let want = [n / (2.0 * count(0)), n / (2.0 * count(1))];
    let got = model
        .config
        .training
        .class_weight
        .clone()
        .expect("recorded");
    assert_eq!(got.len(), 2);
    for c in 0..2 {
        assert!(
            (got[c] as f64 - want[c]).abs() < 1e-6,
            "{got:?} vs {want:?}"
        );
    }
    assert!(want[1] > 4.0 * want[0], "class b is the rare one: {want:?}");
    assert_eq!(
        model.config.training.settings.get("class_weight"),
        Some(&serde_json::json!("balanced"))
    );

    // The test loss is Σ w[y_i]·(−log softmax(z_i)[y_i]) / Σ w[y_i] of the stored logits.
    let test = data.test.as_ref().unwrap();
    let z = model.outputs(&test.x).unwrap();
    let yt = labels(&test.y);
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (i, &c) in yt.iter().enumerate() {
        let row: Vec<f64> = z.data()[2 * i..2 * i + 2]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let m = row[0].max(row[1]);
        let lse = m + ((row[0] - m).exp() + (row[1] - m).exp()).ln();
        num += want[c] * (lse - row[c]);
        den += want[c];
    }
    let reported = model.config.metrics["test_loss"];
    assert!(
        (reported - num / den).abs() < 1e-4,
        "reported {reported}, by hand {}",
        num / den
    );
}

#[test]
fn balanced_weights_raise_the_rare_class_recall() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path());
    let recall_of_rare = |cw: ClassWeight| {
        let model = fit(&config(cw), &data).unwrap();
        let z = model.outputs(&data.train.x).unwrap();
        let y = labels(&data.train.y);
        let (mut hit, mut total) = (0, 0);
        for (i, &c) in y.iter().enumerate() {
            if c == 1 {
                total += 1;
                hit += usize::from(z.data()[2 * i + 1] > z.data()[2 * i]);
            }
        }
        hit as f64 / total as f64
    };
    let plain = recall_of_rare(ClassWeight::None);
    let balanced = recall_of_rare(ClassWeight::Balanced);
    assert!(
        balanced > plain + 0.2,
        "recall of the rare class: balanced {balanced}, plain {plain}"
    );
}

#[test]
fn class_weight_is_reported_unused_where_it_cannot_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path());
    // The closed-form/L-BFGS solvers do not take class weights.
    let exact = FitConfig {
        solver: Solver::Exact,
        ..config(ClassWeight::Balanced)
    };
    let unused = exact.unused_settings(&data);
    assert!(
        unused
            .iter()
            .any(|(s, why)| *s == "class_weight" && why.contains("L-BFGS")),
        "{unused:?}"
    );
    let model = fit(&exact, &data).unwrap();
    assert_eq!(model.config.training.class_weight, None);
    assert!(!model.config.training.settings.contains_key("class_weight"));
}
