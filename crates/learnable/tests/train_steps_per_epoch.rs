//! The loop's step-based epochs (`steps_per_epoch`: nanoGPT's random batches with an
//! `eval_interval`) and its wall-clock budget (`max_seconds`): step counts, determinism, resume
//! bit for bit, and the stop reason.

use learnable::models::mlp::{Activation, Mlp, MlpConfig};
use learnable::optim::{AdamWConfig, OptimizerConfig};
use learnable::train::{self, Resume, Silent, Split, Targets, TrainConfig};
use learnable::{ParamStore, Rng, Tensor};

fn data() -> Split {
    let n = 100;
    let x = Tensor::from_fn(&[n, 3], |i| ((i * 37 % 101) as f32 / 101.0) - 0.5);
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    Split::new(x, Targets::Classes(y)).unwrap()
}

fn model(store: &mut ParamStore) -> Mlp {
    let cfg = MlpConfig {
        input_dim: 3,
        hidden: vec![8],
        output_dim: 3,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    Mlp::new(cfg, store, &mut Rng::new(1, "init")).unwrap()
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 4,
        steps_per_epoch: Some(5),
        ..TrainConfig::default()
    }
}

fn run(epochs: usize) -> (ParamStore, train::TrainState) {
    let mut store = ParamStore::new();
    let net = model(&mut store);
    let mut opt = OptimizerConfig::AdamW(AdamWConfig::default())
        .build()
        .unwrap();
    let state = train::fit(
        &net,
        &mut store,
        opt.as_mut(),
        &data(),
        None,
        &config(epochs),
        None,
        &mut Silent,
    )
    .unwrap();
    (store, state)
}

#[test]
fn an_epoch_is_steps_per_epoch_steps_of_random_batches() {
    let (a, state) = run(3);
    assert_eq!(state.global_step, 15);
    assert_eq!(state.history.len(), 3);
    assert_eq!(state.stop_reason.as_deref(), Some("completed 15 steps"));
    // Accuracy is a fraction of the targets seen (20 per epoch here), so it is in [0, 1].
    for r in &state.history {
        assert!((0.0..=1.0).contains(&r.train_metric), "{r:?}");
        let scaled = r.train_metric * 20.0;
        assert!((scaled - scaled.round()).abs() < 1e-9, "{r:?}");
    }
    let (b, _) = run(3);
    for ((_, x), (_, y)) in a.named_values().zip(b.named_values()) {
        assert_eq!(x.data(), y.data(), "same seed, same parameters");
    }
}

#[test]
fn resuming_a_step_based_run_continues_bit_for_bit() {
    let (whole, _) = run(3);
    // Two epochs, then the third from the returned state with the same store and optimizer.
    let mut store = ParamStore::new();
    let net = model(&mut store);
    let mut opt = OptimizerConfig::AdamW(AdamWConfig::default())
        .build()
        .unwrap();
    let d = data();
    let state = train::fit(
        &net,
        &mut store,
        opt.as_mut(),
        &d,
        None,
        &config(2),
        None,
        &mut Silent,
    )
    .unwrap();
    let resume = Resume { state, best: None };
    let state = train::fit(
        &net,
        &mut store,
        opt.as_mut(),
        &d,
        None,
        &config(3),
        Some(resume),
        &mut Silent,
    )
    .unwrap();
    assert_eq!(state.global_step, 15);
    for ((n, x), (_, y)) in whole.named_values().zip(store.named_values()) {
        assert_eq!(x.data(), y.data(), "{n} differs after resume");
    }
}

#[test]
fn a_spent_time_budget_stops_after_the_epoch_with_a_reason() {
    let mut store = ParamStore::new();
    let net = model(&mut store);
    let mut opt = OptimizerConfig::AdamW(AdamWConfig::default())
        .build()
        .unwrap();
    let cfg = TrainConfig {
        max_seconds: Some(1e-9),
        ..config(50)
    };
    let state = train::fit(
        &net,
        &mut store,
        opt.as_mut(),
        &data(),
        None,
        &cfg,
        None,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(state.epochs_done, 1);
    assert_eq!(
        state.stop_reason.as_deref(),
        Some("stopped after epoch 1: the time budget of 0.000000001s is spent")
    );
    let bad = TrainConfig {
        steps_per_epoch: Some(0),
        ..config(1)
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("steps_per_epoch")
    );
}
