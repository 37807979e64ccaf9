//! Optimizers inside real training steps: saving and resuming the state (bit-identical to an
//! uninterrupted run), state-file mismatches, gradient accumulation over uneven micro-batches,
//! and independence from the thread count.

use learnable::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradAccumulator, Optimizer, Sgd, SgdConfig,
};
use learnable::{Error, Gradients, ParamStore, Result, Rng, Tape, Tensor, init};

/// A two-layer network `[inp] -> [hidden] -> relu -> [out]` registered with PyTorch-style names.
fn model(inp: usize, hidden: usize, out: usize, seed: u64) -> ParamStore {
    let mut rng = Rng::new(seed, "init");
    let mut s = ParamStore::new();
    s.add(
        "layers.0.weight",
        init::linear_weight(hidden, inp, &mut rng),
    )
    .unwrap();
    s.add("layers.0.bias", init::linear_bias(hidden, inp, &mut rng))
        .unwrap();
    s.add(
        "layers.2.weight",
        init::linear_weight(out, hidden, &mut rng),
    )
    .unwrap();
    s.add("layers.2.bias", init::linear_bias(out, hidden, &mut rng))
        .unwrap();
    s
}

/// Mean squared error (`tape.mse_loss`, mean over all elements as PyTorch's `F.mse_loss`) of the
/// network `linear -> relu -> linear` on (x, y), and its gradients.
fn mse_grads(store: &ParamStore, x: &Tensor, y: &Tensor) -> Result<(f32, Gradients)> {
    let mut t = Tape::train();
    let p: Vec<_> = [
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
    ]
    .iter()
    .map(|n| t.param(store, store.id(n).unwrap()))
    .collect();
    let xv = t.input(x.clone());
    let h = t.linear(xv, p[0], Some(p[1]))?;
    let h = t.relu(h)?;
    let out = t.linear(h, p[2], Some(p[3]))?;
    let yv = t.input(y.clone());
    let loss = t.mse_loss(out, yv)?;
    let value = t.value(loss).item()?;
    Ok((value, t.backward(loss)?))
}

/// Random data: x `[rows, inp]` in U(-1, 1), y `[rows, out]` in U(-1, 1).
fn data(rows: usize, inp: usize, out: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = Rng::new(seed, "data");
    (
        Tensor::uniform(&[rows, inp], -1.0, 1.0, &mut rng),
        Tensor::uniform(&[rows, out], -1.0, 1.0, &mut rng),
    )
}

/// One training step on batch `k` of a fixed stream of batches.
fn train_step(store: &mut ParamStore, opt: &mut dyn Optimizer, k: u64) -> f32 {
    let (x, y) = data(8, 5, 3, 100 + k);
    store.zero_grad();
    let (loss, grads) = mse_grads(store, &x, &y).unwrap();
    store.accumulate(&grads);
    opt.step(store).unwrap();
    loss
}

fn assert_bit_identical(a: &ParamStore, b: &ParamStore) {
    for ((_, pa), (_, pb)) in a.iter().zip(b.iter()) {
        let same = pa
            .value
            .data()
            .iter()
            .zip(pb.value.data())
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(
            same,
            "{} differs by {}",
            pa.name,
            pa.value.max_abs_diff(&pb.value)
        );
    }
}

fn resume_is_bit_identical(make: impl Fn() -> Box<dyn Optimizer>) {
    let dir = tempfile::tempdir().unwrap();
    // uninterrupted: 6 steps
    let mut full = model(5, 7, 3, 1);
    let mut opt = make();
    for k in 0..6 {
        train_step(&mut full, opt.as_mut(), k);
    }
    // interrupted after 3 steps: save parameters and optimizer state, rebuild both from files
    let mut part = model(5, 7, 3, 1);
    let mut opt = make();
    for k in 0..3 {
        train_step(&mut part, opt.as_mut(), k);
    }
    part.save(dir.path().join("model.safetensors")).unwrap();
    opt.save_state(&dir.path().join("optim.safetensors"))
        .unwrap();
    drop((part, opt));
    let mut resumed = model(5, 7, 3, 99); // different init, overwritten by the load
    resumed.load(dir.path().join("model.safetensors")).unwrap();
    let mut opt = make();
    opt.load_state(&dir.path().join("optim.safetensors"), &resumed)
        .unwrap();
    assert_eq!(opt.steps(), 3);
    for k in 3..6 {
        train_step(&mut resumed, opt.as_mut(), k);
    }
    assert_eq!(opt.steps(), 6);
    assert_bit_identical(&full, &resumed);
}

#[test]
fn resuming_adamw_from_saved_state_continues_bit_for_bit() {
    resume_is_bit_identical(|| {
        Box::new(
            AdamW::new(AdamWConfig {
                learning_rate: 0.01,
                ..Default::default()
            })
            .unwrap(),
        )
    });
}

#[test]
fn resuming_adam_from_saved_state_continues_bit_for_bit() {
    let c = AdamConfig {
        learning_rate: 0.01,
        weight_decay: 0.1,
        ..Default::default()
    };
    resume_is_bit_identical(move || Box::new(Adam::new(c.clone()).unwrap()));
}

#[test]
fn resuming_sgd_momentum_from_saved_state_continues_bit_for_bit() {
    let c = SgdConfig {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-3,
        ..Default::default()
    };
    resume_is_bit_identical(move || Box::new(Sgd::new(c.clone()).unwrap()));
}

#[test]
fn a_resumed_run_would_diverge_without_the_moments() {
    // Guards the test above: restoring parameters but not the optimizer state changes the result.
    let mut full = model(5, 7, 3, 1);
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 0.01,
        ..Default::default()
    })
    .unwrap();
    for k in 0..4 {
        train_step(&mut full, &mut opt, k);
    }
    let mut part = model(5, 7, 3, 1);
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 0.01,
        ..Default::default()
    })
    .unwrap();
    for k in 0..2 {
        train_step(&mut part, &mut opt, k);
    }
    let mut fresh = AdamW::new(AdamWConfig {
        learning_rate: 0.01,
        ..Default::default()
    })
    .unwrap();
    for k in 2..4 {
        train_step(&mut part, &mut fresh, k);
    }
    let w = full.id("layers.0.weight").unwrap();
    assert!(full.value(w).max_abs_diff(part.value(w)) > 1e-4);
}

#[test]
fn the_state_file_names_buffers_as_pytorch_and_records_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optim.safetensors");
    let mut store = model(5, 7, 3, 1);
    let mut opt = AdamW::new(AdamWConfig::default()).unwrap();
    train_step(&mut store, &mut opt, 0);
    train_step(&mut store, &mut opt, 1);
    opt.save_state(&path).unwrap();
    let tensors = learnable::io::load_safetensors(&path).unwrap();
    let names: Vec<&str> = tensors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "exp_avg.layers.0.bias",
            "exp_avg.layers.0.weight",
            "exp_avg.layers.2.bias",
            "exp_avg.layers.2.weight",
            "exp_avg_sq.layers.0.bias",
            "exp_avg_sq.layers.0.weight",
            "exp_avg_sq.layers.2.bias",
            "exp_avg_sq.layers.2.weight"
        ]
    );
    let (m, _) = opt.moments("layers.0.weight").unwrap();
    assert_eq!(&tensors["exp_avg.layers.0.weight"], m);
    let bytes = std::fs::read(&path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["step"], "2");
    assert_eq!(meta["optimizer"], "adamw");
    assert_eq!(meta["learning_rate"], "0.001");
}

fn format_reason(e: Error) -> String {
    match e {
        Error::Format { reason, .. } => reason,
        other => panic!("expected Format, got {other:?}"),
    }
}

#[test]
fn loading_state_for_a_different_model_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optim.safetensors");
    let mut store = model(5, 7, 3, 1);
    let mut opt = AdamW::new(AdamWConfig::default()).unwrap();
    train_step(&mut store, &mut opt, 0);
    opt.save_state(&path).unwrap();

    // other hidden width: shapes differ
    let wider = model(5, 9, 3, 1);
    let mut fresh = AdamW::new(AdamWConfig::default()).unwrap();
    let reason = format_reason(fresh.load_state(&path, &wider).unwrap_err());
    assert!(
        reason.contains("shape") && reason.contains("layers.0"),
        "{reason}"
    );
    assert_eq!(
        fresh.steps(),
        0,
        "a failed load leaves the optimizer unchanged"
    );

    // an extra parameter without buffers: missing tensors
    let mut bigger = model(5, 7, 3, 1);
    bigger.add("head.weight", Tensor::zeros(&[2])).unwrap();
    let reason = format_reason(fresh.load_state(&path, &bigger).unwrap_err());
    assert!(
        reason.contains("missing") && reason.contains("exp_avg.head.weight"),
        "{reason}"
    );

    // a parameter renamed: unexpected tensor
    let mut renamed = ParamStore::new();
    for (_, p) in store.iter() {
        renamed
            .add(p.name.replace("layers.2", "out"), p.value.clone())
            .unwrap();
    }
    let reason = format_reason(fresh.load_state(&path, &renamed).unwrap_err());
    assert!(reason.contains("no parameter layers.2"), "{reason}");

    // an SGD state loaded into AdamW
    let mut sgd = Sgd::new(SgdConfig {
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    train_step(&mut store, &mut sgd, 1);
    sgd.save_state(&path).unwrap();
    let reason = format_reason(fresh.load_state(&path, &store).unwrap_err());
    assert!(
        reason.contains("sgd") && reason.contains("adamw"),
        "{reason}"
    );

    // a parameter file is not a state file
    store.save(dir.path().join("model.safetensors")).unwrap();
    let reason = format_reason(
        fresh
            .load_state(&dir.path().join("model.safetensors"), &store)
            .unwrap_err(),
    );
    assert!(reason.contains("not an optimizer state"), "{reason}");
}

#[test]
fn an_optimizer_refuses_a_store_it_was_not_built_for() {
    let mut a = model(5, 7, 3, 1);
    let mut b = model(5, 9, 3, 1);
    let mut opt = Sgd::new(SgdConfig {
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    train_step(&mut a, &mut opt, 0);
    b.zero_grad();
    let before = b.clone();
    assert!(opt.step(&mut b).is_err());
    assert_bit_identical(&before, &b);
}

#[test]
fn accumulating_uneven_micro_batches_equals_the_full_batch_gradient() {
    // Full batch of 10 rows vs micro-batches of 3, 5 and 2 rows, each a mean loss weighted by
    // rows/10 (see optim/accumulate.rs: L = Σ (nᵢ/N)·Lᵢ). Reference: one backward on all 10 rows.
    let store0 = model(4, 6, 2, 3);
    let (x, y) = data(10, 4, 2, 7);
    let mut full = store0.clone();
    let (_, g) = mse_grads(&full, &x, &y).unwrap();
    full.accumulate(&g);

    let rows = |t: &Tensor, r: std::ops::Range<usize>| {
        let d = t.last_dim();
        Tensor::new(t.data()[r.start * d..r.end * d].to_vec(), &[r.len(), d]).unwrap()
    };
    let mut acc_store = store0.clone();
    let mut acc = GradAccumulator::new(10).unwrap();
    for r in [0..3, 3..8, 8..10] {
        let (_, g) = mse_grads(&acc_store, &rows(&x, r.clone()), &rows(&y, r.clone())).unwrap();
        acc.add(&mut acc_store, &g, r.len()).unwrap();
    }
    assert!(acc.is_complete());
    acc.finish().unwrap();

    let mut plain_sum = store0.clone(); // the naive sum of micro-batch mean gradients
    for r in [0..3, 3..8, 8..10] {
        let (_, g) = mse_grads(&plain_sum, &rows(&x, r.clone()), &rows(&y, r)).unwrap();
        plain_sum.accumulate(&g);
    }
    let mut max_err = 0.0f32;
    let mut naive_err = 0.0f32;
    for (((_, f), (_, a)), (_, n)) in full.iter().zip(acc_store.iter()).zip(plain_sum.iter()) {
        max_err = max_err.max(f.grad.max_abs_diff(&a.grad));
        naive_err = naive_err.max(f.grad.max_abs_diff(&n.grad));
    }
    eprintln!(
        "accumulated vs full-batch gradient: max abs diff {max_err:.3e} (naive sum: {naive_err:.3e})"
    );
    assert!(max_err <= 1e-6, "{max_err}");
    assert!(
        naive_err > 1e-2,
        "the naive sum should be wrong: {naive_err}"
    );
}

#[test]
fn accumulation_checks_the_row_count() {
    let mut store = model(4, 6, 2, 3);
    let mut acc = GradAccumulator::new(4).unwrap();
    let g = Gradients::default();
    acc.add(&mut store, &g, 3).unwrap();
    assert!(matches!(
        acc.add(&mut store, &g, 2),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        acc.clone().finish(),
        Err(Error::InvalidArgument { .. })
    ));
    acc.add(&mut store, &g, 1).unwrap();
    acc.finish().unwrap();
    assert!(GradAccumulator::new(0).is_err());
}

/// Trains a model wide enough that the matrix multiplies and the optimizer updates (40960-element
/// weight, above the parallel chunk of 32768) run in parallel when threads are available.
fn train_in_pool(threads: usize) -> ParamStore {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut store = model(160, 256, 10, 5);
        let mut opt = AdamW::new(AdamWConfig {
            learning_rate: 1e-3,
            ..Default::default()
        })
        .unwrap();
        for k in 0..3 {
            let (x, y) = data(64, 160, 10, 200 + k);
            store.zero_grad();
            let (_, g) = mse_grads(&store, &x, &y).unwrap();
            store.accumulate(&g);
            learnable::optim::clip_grad_norm(&mut store, 1.0).unwrap();
            opt.step(&mut store).unwrap();
        }
        store
    })
}

#[test]
fn training_gives_bit_identical_parameters_on_one_or_two_threads() {
    let one = train_in_pool(1);
    let two = train_in_pool(2);
    assert_bit_identical(&one, &two);
    let w = one.id("layers.0.weight").unwrap();
    assert!(
        one.value(w).max_abs_diff(model(160, 256, 10, 5).value(w)) > 0.0,
        "training moved nothing"
    );
}
