//! One conformance test over every model, as scikit-learn's `check_estimator` and linfa's common
//! tests: for each model,
//!
//! 1. fitting twice on the same data with the same seed gives bit-identical parameters;
//! 2. save then load gives bit-identical predictions;
//! 3. a wrong feature count, at fit or at predict, is a typed `Error::Shape` (no panic).
//!
//! Models: the MLP trained by `learnable::train::fit` with AdamW (a classifier with dropout,
//! and a regressor), ordinary least squares and ridge regression, binary logistic regression
//! and softmax regression. The MLP saves through `ParamStore::save`/`load` (safetensors in a
//! temporary directory); the closed-form models through `to_named_tensors`, the safetensors
//! writer and `from_named_tensors`.
//!
//! Closed-form models fit in f64 and persist as f32 (the `nn.Linear` layout every model shares),
//! so their first save rounds the coefficients to f32: check 2 compares the loaded model with
//! the fitted one rounded the same way (bit for bit), and with the f64 fit within f32 rounding.

use std::path::Path;

use learnable::models::linear_regression::{LinearRegression, LinearRegressionConfig};
use learnable::models::logistic_regression::{LogisticRegression, LogisticRegressionConfig};
use learnable::models::mlp::{Activation, Mlp, MlpConfig};
use learnable::optim::{AdamW, AdamWConfig};
use learnable::train::{self, Silent, Split, Targets, TrainConfig};
use learnable::{Error, ParamStore, Result, Rng, Tensor};

const ROWS: usize = 48;
const FEATURES: usize = 3;

/// Seeded features `[ROWS, FEATURES]` ~ N(0, 1) from the stream "conformance-x".
fn features(rows: usize, d: usize) -> Vec<f64> {
    let mut rng = Rng::new(11, "conformance-x");
    (0..rows * d).map(|_| rng.normal() as f64).collect()
}

/// The features every target is computed from (targets do not depend on the `x` a fit gets,
/// so a fit on malformed `x` still has well-formed targets).
fn base() -> Vec<f64> {
    features(ROWS, FEATURES)
}

/// A noisy linear target y = x·[1.5, −2, 0.5] + 0.3 + noise.
fn values(x: &[f64]) -> Vec<f64> {
    let mut rng = Rng::new(12, "conformance-y");
    x.chunks_exact(FEATURES)
        .map(|r| 1.5 * r[0] - 2.0 * r[1] + 0.5 * r[2] + 0.3 + 0.1 * rng.normal() as f64)
        .collect()
}

/// Classes from the first two features: binary (x0 + x1 > 0) or 3-way (by x0 thirds), with a
/// few labels flipped so the data are not separable.
fn classes(x: &[f64], k: usize) -> Vec<usize> {
    x.chunks_exact(FEATURES)
        .enumerate()
        .map(|(i, r)| {
            let c = if k == 2 {
                usize::from(r[0] + r[1] > 0.0)
            } else if r[0] < -0.43 {
                0
            } else if r[0] < 0.43 {
                1
            } else {
                2
            };
            if i % 11 == 5 { (c + 1) % k } else { c }
        })
        .collect()
}

/// Parameters as (name, bit patterns), for exact comparison.
type Bits = Vec<(String, Vec<u64>)>;

/// A fitted model under test.
trait Fitted {
    /// Every parameter, by name, as bit patterns.
    fn parameters(&self) -> Bits;
    /// Predictions (outputs, logits or probabilities) for `x: [rows, d]`, widened to f64.
    fn predict(&self, x: &[f64], rows: usize, d: usize) -> Result<Vec<f64>>;
    /// Saves to `dir` and loads back into a fresh model.
    fn save_and_load(&self, dir: &Path) -> Result<Box<dyn Fitted>>;
}

/// A model and its training data: fits with a fixed seed.
struct Case {
    name: &'static str,
    fit: fn(x: &[f64], rows: usize, d: usize, seed: u64) -> Result<Box<dyn Fitted>>,
    /// Relative tolerance of loaded vs fitted predictions (0: bit-identical).
    save_tolerance: f64,
}

// ---- MLP trained by the epoch loop ----

struct FittedMlp {
    net: Mlp,
    store: ParamStore,
}

impl Fitted for FittedMlp {
    fn parameters(&self) -> Bits {
        self.store
            .named_values()
            .map(|(n, t)| {
                let bits = t.data().iter().map(|v| v.to_bits() as u64).collect();
                (n.to_string(), bits)
            })
            .collect()
    }

    fn predict(&self, x: &[f64], rows: usize, d: usize) -> Result<Vec<f64>> {
        let x = Tensor::new(x.iter().map(|&v| v as f32).collect(), &[rows, d])?;
        let y = self.net.predict(&self.store, &x)?;
        Ok(y.data().iter().map(|&v| v as f64).collect())
    }

    fn save_and_load(&self, dir: &Path) -> Result<Box<dyn Fitted>> {
        let path = dir.join("model.safetensors");
        self.store.save(&path)?;
        // A fresh model with other initial weights, then the saved values.
        let mut store = ParamStore::new();
        Mlp::new(
            self.net.config.clone(),
            &mut store,
            &mut Rng::new(999, "init"),
        )?;
        store.load(&path)?;
        let net = Mlp::from_store(self.net.config.clone(), &store)?;
        Ok(Box::new(FittedMlp { net, store }))
    }
}

/// Trains an MLP with AdamW for 4 epochs of batches of 8 (seeded shuffling, dropout and init),
/// validating on the last 8 rows.
fn fit_mlp(
    x: &[f64],
    rows: usize,
    d: usize,
    seed: u64,
    y: Targets,
    output_dim: usize,
    dropout: f32,
) -> Result<Box<dyn Fitted>> {
    let config = MlpConfig {
        input_dim: d,
        hidden: vec![8, 6],
        output_dim,
        activation: Activation::Tanh,
        dropout,
    };
    let mut store = ParamStore::new();
    let net = Mlp::new(config, &mut store, &mut Rng::new(seed, "init"))?;
    let xt = Tensor::new(x.iter().map(|&v| v as f32).collect(), &[rows, d])?;
    let n_train = rows.saturating_sub(8);
    let take = |t: &Targets, idx: &[usize]| match t {
        Targets::Classes(c) => Targets::Classes(idx.iter().map(|&i| c[i]).collect()),
        Targets::Values(v) => Targets::Values(train::gather_rows(v, idx)),
    };
    let tr: Vec<usize> = (0..n_train).collect();
    let va: Vec<usize> = (n_train..rows).collect();
    let train_split = Split::new(train::gather_rows(&xt, &tr), take(&y, &tr))?;
    let val_split = Split::new(train::gather_rows(&xt, &va), take(&y, &va))?;
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 0.01,
        ..AdamWConfig::default()
    })?;
    let cfg = TrainConfig {
        epochs: 4,
        batch_size: 8,
        learning_rate: 0.01,
        seed,
        ..TrainConfig::default()
    };
    train::fit(
        &net,
        &mut store,
        &mut opt,
        &train_split,
        Some(&val_split),
        &cfg,
        None,
        &mut Silent,
    )?;
    Ok(Box::new(FittedMlp { net, store }))
}

fn fit_mlp_classifier(x: &[f64], rows: usize, d: usize, seed: u64) -> Result<Box<dyn Fitted>> {
    let y = Targets::Classes(classes(&base(), 3));
    fit_mlp(x, rows, d, seed, y, 3, 0.2)
}

fn fit_mlp_regressor(x: &[f64], rows: usize, d: usize, seed: u64) -> Result<Box<dyn Fitted>> {
    let v = values(&base());
    let y = Targets::Values(Tensor::new(
        v.iter().map(|&t| t as f32).collect(),
        &[v.len(), 1],
    )?);
    fit_mlp(x, rows, d, seed, y, 1, 0.0)
}

// ---- closed-form models, persisted as nn.Linear tensors ----

fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Writes named tensors to `dir/model.safetensors` and reads them back in file order.
fn round_trip(tensors: Vec<(String, Tensor)>, dir: &Path) -> Result<Vec<(String, Tensor)>> {
    let path = dir.join("model.safetensors");
    learnable::io::save_safetensors(&path, tensors.iter().map(|(n, t)| (n.as_str(), t)))?;
    Ok(learnable::io::load_safetensors(&path)?
        .into_iter()
        .collect())
}

impl Fitted for LinearRegression {
    fn parameters(&self) -> Bits {
        vec![
            ("coef".into(), bits64(self.coef())),
            ("intercept".into(), bits64(&[self.intercept()])),
        ]
    }
    fn predict(&self, x: &[f64], rows: usize, d: usize) -> Result<Vec<f64>> {
        LinearRegression::predict(self, x, rows, d)
    }
    fn save_and_load(&self, dir: &Path) -> Result<Box<dyn Fitted>> {
        let loaded = round_trip(self.to_named_tensors(), dir)?;
        Ok(Box::new(LinearRegression::from_named_tensors(&loaded)?))
    }
}

impl Fitted for LogisticRegression {
    fn parameters(&self) -> Bits {
        vec![
            ("coef".into(), bits64(self.coef())),
            ("intercept".into(), bits64(self.intercept())),
        ]
    }
    fn predict(&self, x: &[f64], rows: usize, d: usize) -> Result<Vec<f64>> {
        // Probabilities and logits: both must survive the round trip.
        let mut out = self.predict_proba(x, rows, d)?;
        out.extend(self.decision_function(x, rows, d)?);
        Ok(out)
    }
    fn save_and_load(&self, dir: &Path) -> Result<Box<dyn Fitted>> {
        let loaded = round_trip(self.to_named_tensors(), dir)?;
        Ok(Box::new(LogisticRegression::from_named_tensors(&loaded)?))
    }
}

fn fit_ols(x: &[f64], rows: usize, d: usize, _seed: u64) -> Result<Box<dyn Fitted>> {
    let y = values(&base());
    Ok(Box::new(LinearRegressionConfig::ols().fit(
        x,
        rows,
        d,
        &y[..rows],
    )?))
}

fn fit_ridge(x: &[f64], rows: usize, d: usize, _seed: u64) -> Result<Box<dyn Fitted>> {
    let y = values(&base());
    Ok(Box::new(LinearRegressionConfig::ridge(0.5).fit(
        x,
        rows,
        d,
        &y[..rows],
    )?))
}

fn fit_logistic(x: &[f64], rows: usize, d: usize, _seed: u64) -> Result<Box<dyn Fitted>> {
    let y = classes(&base(), 2);
    Ok(Box::new(LogisticRegressionConfig::default().fit(
        x,
        rows,
        d,
        &y[..rows],
    )?))
}

fn fit_softmax(x: &[f64], rows: usize, d: usize, _seed: u64) -> Result<Box<dyn Fitted>> {
    let y = classes(&base(), 3);
    Ok(Box::new(
        LogisticRegressionConfig {
            c: 2.0,
            ..LogisticRegressionConfig::default()
        }
        .fit(x, rows, d, &y[..rows])?,
    ))
}

fn every_model() -> Vec<Case> {
    // f32 storage of f64 coefficients: relative rounding 2^-24 ≈ 6e-8 per coefficient; the
    // predictions (sums of 3 products plus a bias, then softmax) stay within 1e-6 relative.
    let f32_rounding = 1e-6;
    vec![
        Case {
            name: "MLP classifier (AdamW, dropout)",
            fit: fit_mlp_classifier,
            save_tolerance: 0.0,
        },
        Case {
            name: "MLP regressor (AdamW)",
            fit: fit_mlp_regressor,
            save_tolerance: 0.0,
        },
        Case {
            name: "LinearRegression (OLS)",
            fit: fit_ols,
            save_tolerance: f32_rounding,
        },
        Case {
            name: "LinearRegression (ridge)",
            fit: fit_ridge,
            save_tolerance: f32_rounding,
        },
        Case {
            name: "LogisticRegression (binary)",
            fit: fit_logistic,
            save_tolerance: f32_rounding,
        },
        Case {
            name: "LogisticRegression (softmax)",
            fit: fit_softmax,
            save_tolerance: f32_rounding,
        },
    ]
}

fn assert_shape_error<T>(r: Result<T>, model: &str, what: &str) {
    match r {
        Err(Error::Shape { .. }) => {}
        Err(e) => panic!("{model}: {what} gave {e:?}, expected Error::Shape"),
        Ok(_) => panic!("{model}: {what} succeeded, expected Error::Shape"),
    }
}

#[test]
fn every_model_refits_identically_round_trips_through_a_file_and_rejects_wrong_feature_counts() {
    let x = features(ROWS, FEATURES);
    for case in every_model() {
        let name = case.name;
        let seed = 7;

        // 1. Fit twice with one seed: identical parameters, bit for bit.
        let a = (case.fit)(&x, ROWS, FEATURES, seed).unwrap_or_else(|e| panic!("{name}: {e}"));
        let b = (case.fit)(&x, ROWS, FEATURES, seed).unwrap();
        let pa = a.parameters();
        assert!(!pa.is_empty(), "{name}");
        assert_eq!(pa, b.parameters(), "{name}: two fits with one seed differ");

        // 2. Save, then load into a fresh model: identical predictions.
        let tmp = tempfile::tempdir().unwrap();
        let loaded = a
            .save_and_load(tmp.path())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = a.predict(&x, ROWS, FEATURES).unwrap();
        let got = loaded.predict(&x, ROWS, FEATURES).unwrap();
        assert_eq!(want.len(), got.len(), "{name}");
        assert!(got.iter().all(|v| v.is_finite()), "{name}");
        if case.save_tolerance == 0.0 {
            assert_eq!(
                bits64(&want),
                bits64(&got),
                "{name}: predictions after load"
            );
        } else {
            let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (w, g) in want.iter().zip(&got) {
                assert!(
                    (w - g).abs() <= case.save_tolerance * scale,
                    "{name}: {w} vs {g} after load"
                );
            }
            // From the stored (f32) parameters on, the round trip is exact.
            let tmp2 = tempfile::tempdir().unwrap();
            let again = loaded.save_and_load(tmp2.path()).unwrap();
            assert_eq!(loaded.parameters(), again.parameters(), "{name}");
            let got2 = again.predict(&x, ROWS, FEATURES).unwrap();
            assert_eq!(bits64(&got), bits64(&got2), "{name}: second round trip");
        }
        // The fitted parameters differ from a fit with another seed only where the model is
        // random (the MLP); a deterministic solver ignores the seed.
        let c = (case.fit)(&x, ROWS, FEATURES, seed + 1).unwrap();
        if name.starts_with("MLP") {
            assert_ne!(pa, c.parameters(), "{name}: the seed is not used");
        } else {
            assert_eq!(pa, c.parameters(), "{name}");
        }

        // 3. A wrong feature count: a typed shape error, at predict and at fit.
        let x4 = features(ROWS, FEATURES + 1);
        assert_shape_error(
            a.predict(&x4, ROWS, FEATURES + 1),
            name,
            "predict, 4 features",
        );
        assert_shape_error(
            loaded.predict(&x[..ROWS * 2], ROWS, 2),
            name,
            "predict, 2 features",
        );
        // Data whose length does not match rows x features.
        assert_shape_error(
            a.predict(&x[..ROWS * FEATURES - 1], ROWS, FEATURES),
            name,
            "predict, ragged data",
        );
        assert_shape_error(
            (case.fit)(&x[..ROWS * FEATURES - 1], ROWS, FEATURES, seed),
            name,
            "fit, ragged data",
        );
    }
}

#[test]
fn an_mlp_refuses_a_checkpoint_of_another_width() {
    // A store saved for 3 inputs loaded into a model for 4: a typed error naming the tensor.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.safetensors");
    let cfg = |d| MlpConfig {
        input_dim: d,
        hidden: vec![5],
        output_dim: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut s3 = ParamStore::new();
    Mlp::new(cfg(3), &mut s3, &mut Rng::new(0, "init")).unwrap();
    s3.save(&path).unwrap();
    let mut s4 = ParamStore::new();
    Mlp::new(cfg(4), &mut s4, &mut Rng::new(0, "init")).unwrap();
    match s4.load(&path) {
        Err(Error::Format { reason, .. }) => {
            assert!(reason.contains("layers.0.weight"), "{reason}");
            assert!(
                reason.contains("[5, 3]") && reason.contains("[5, 4]"),
                "{reason}"
            );
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn the_training_loop_rejects_a_split_of_another_width_with_a_shape_error() {
    let cfg = MlpConfig {
        input_dim: FEATURES,
        hidden: vec![4],
        output_dim: 3,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut store = ParamStore::new();
    let net = Mlp::new(cfg, &mut store, &mut Rng::new(0, "init")).unwrap();
    let x = features(ROWS, FEATURES + 1);
    let split = Split::new(
        Tensor::new(x.iter().map(|&v| v as f32).collect(), &[ROWS, FEATURES + 1]).unwrap(),
        Targets::Classes(classes(&base(), 3)),
    )
    .unwrap();
    let mut opt = AdamW::new(AdamWConfig::default()).unwrap();
    let before: Vec<f32> = store
        .named_values()
        .flat_map(|(_, t)| t.data().to_vec())
        .collect();
    let r = train::fit(
        &net,
        &mut store,
        &mut opt,
        &split,
        None,
        &TrainConfig::default(),
        None,
        &mut Silent,
    );
    assert_shape_error(r, "MLP", "train::fit on 4 features");
    let after: Vec<f32> = store
        .named_values()
        .flat_map(|(_, t)| t.data().to_vec())
        .collect();
    assert_eq!(before, after, "parameters changed by a failed fit");
    assert_shape_error(
        train::evaluate(&net, &store, &split, &TrainConfig::default()),
        "MLP",
        "train::evaluate on 4 features",
    );
}
