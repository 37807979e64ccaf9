//! Single-step updates of SGD, Adam and AdamW on tiny parameters, against values computed by hand
//! from the torch.optim formulas (written out in each test); config validation; non-finite
//! gradients; learning-rate schedules; gradient clipping.

use learnable::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, LrSchedule, Optimizer, OptimizerConfig, Sgd, SgdConfig,
    clip_grad_norm,
};
use learnable::{Error, ParamId, ParamStore, Tensor};

/// A store with one trainable parameter `w` holding `values`.
fn store_with(values: &[f32]) -> (ParamStore, ParamId) {
    let mut store = ParamStore::new();
    let id = store
        .add("w", Tensor::new(values.to_vec(), &[values.len()]).unwrap())
        .unwrap();
    (store, id)
}

fn set_grad(store: &mut ParamStore, id: ParamId, g: &[f32]) {
    store.get_mut(id).grad.data_mut().copy_from_slice(g);
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol,
            "element {i}: got {g}, want {w} (tol {tol})"
        );
    }
}

/// Runs `opt` for one step per gradient in `grads` on w = `init`, returns w.
fn run(opt: &mut dyn Optimizer, init: &[f32], grads: &[&[f32]]) -> Vec<f32> {
    let (mut store, id) = store_with(init);
    for g in grads {
        set_grad(&mut store, id, g);
        opt.step(&mut store).unwrap();
    }
    store.value(id).data().to_vec()
}

const G: &[f32] = &[0.5, -1.0];

#[test]
fn plain_sgd_steps_against_the_gradient() {
    // θ ← θ − lr·g = [1, −2] − 0.1·[0.5, −1] = [0.95, −1.9]
    let mut opt = Sgd::new(SgdConfig {
        learning_rate: 0.1,
        ..Default::default()
    })
    .unwrap();
    assert_close(&run(&mut opt, &[1.0, -2.0], &[G]), &[0.95, -1.9], 1e-7);
    assert_eq!(opt.steps(), 1);
}

#[test]
fn sgd_weight_decay_adds_lambda_theta_to_the_gradient() {
    // g' = g + 0.1·θ = [0.5 + 0.1, −1 − 0.2] = [0.6, −1.2]; θ ← [1 − 0.06, −2 + 0.12] = [0.94, −1.88]
    let mut opt = Sgd::new(SgdConfig {
        learning_rate: 0.1,
        weight_decay: 0.1,
        ..Default::default()
    })
    .unwrap();
    assert_close(&run(&mut opt, &[1.0, -2.0], &[G]), &[0.94, -1.88], 1e-7);
}

#[test]
fn sgd_momentum_starts_the_buffer_at_the_gradient() {
    // step 1: b = g = [0.5, −1];  θ = [1, −2] − 0.1·b = [0.95, −1.9]
    // step 2: b = 0.9·b + g = [0.95, −1.9];  θ = [0.95 − 0.095, −1.9 + 0.19] = [0.855, −1.71]
    let mut opt = Sgd::new(SgdConfig {
        learning_rate: 0.1,
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    assert_close(&run(&mut opt, &[1.0, -2.0], &[G, G]), &[0.855, -1.71], 1e-6);
    assert_close(
        opt.momentum_buffer("w").unwrap().data(),
        &[0.95, -1.9],
        1e-6,
    );
}

#[test]
fn sgd_dampening_is_not_applied_on_the_first_step() {
    // step 1: b = g = [0.5, −1] (PyTorch clones the gradient, no dampening); θ = [0.95, −1.9]
    // step 2: b = 0.9·b + (1 − 0.5)·g = [0.45 + 0.25, −0.9 − 0.5] = [0.7, −1.4]
    //         θ = [0.95 − 0.07, −1.9 + 0.14] = [0.88, −1.76]
    // (dampening on step 1 too would give b1 = [0.25, −0.5] and θ = [0.9225, −1.845])
    let cfg = SgdConfig {
        learning_rate: 0.1,
        momentum: 0.9,
        dampening: 0.5,
        ..Default::default()
    };
    let mut opt = Sgd::new(cfg).unwrap();
    assert_close(&run(&mut opt, &[1.0, -2.0], &[G, G]), &[0.88, -1.76], 1e-6);
}

#[test]
fn nesterov_momentum_looks_ahead_along_the_buffer() {
    // step 1: b = g = [0.5, −1]; d = g + 0.9·b = [0.95, −1.9]; θ = [1 − 0.095, −2 + 0.19] = [0.905, −1.81]
    // step 2: b = 0.9·b + g = [0.95, −1.9]; d = g + 0.9·b = [1.355, −2.71]
    //         θ = [0.905 − 0.1355, −1.81 + 0.271] = [0.7695, −1.539]
    let cfg = SgdConfig {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: true,
        ..Default::default()
    };
    let mut opt = Sgd::new(cfg).unwrap();
    assert_close(&run(&mut opt, &[1.0, -2.0], &[G]), &[0.905, -1.81], 1e-6);
    let mut opt = Sgd::new(SgdConfig {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: true,
        ..Default::default()
    })
    .unwrap();
    assert_close(
        &run(&mut opt, &[1.0, -2.0], &[G, G]),
        &[0.7695, -1.539],
        1e-6,
    );
}

#[test]
fn adam_two_steps_match_the_bias_corrected_formula() {
    // lr 0.1, β = (0.9, 0.999), ε = 1e-8, θ0 = [1, −2], g1 = [0.5, −1], g2 = [0.25, 0.5].
    // step 1: m = 0.1·g1 = [0.05, −0.1]; v = 0.001·g1² = [0.00025, 0.001];
    //         m̂ = m/0.1 = g1, √v̂ = √(v/0.001) = |g1|  =>  θ = θ0 − 0.1·g1/(|g1| + ε) = [0.9, −1.9]
    // step 2: m = 0.9·m + 0.1·g2 = [0.07, −0.04]; v = 0.999·v + 0.001·g2² = [0.00031225, 0.001249]
    //         1 − β1² = 0.19, 1 − β2² = 0.001999
    //         m̂ = [0.3684211, −0.2105263], √v̂ = √(v/0.001999) = [0.3952254, 0.7904508]
    //         θ = [0.9 − 0.1·0.3684211/0.3952254, −1.9 + 0.1·0.2105263/0.7904508]
    //           = [0.8067820, −1.8733663]
    let mut opt = Adam::new(AdamConfig {
        learning_rate: 0.1,
        ..Default::default()
    })
    .unwrap();
    let (mut store, id) = store_with(&[1.0, -2.0]);
    set_grad(&mut store, id, G);
    opt.step(&mut store).unwrap();
    assert_close(store.value(id).data(), &[0.9, -1.9], 1e-6);
    let (m, v) = opt.moments("w").unwrap();
    assert_close(m.data(), &[0.05, -0.1], 1e-8);
    assert_close(v.data(), &[0.00025, 0.001], 1e-10);
    set_grad(&mut store, id, &[0.25, 0.5]);
    opt.step(&mut store).unwrap();
    assert_close(store.value(id).data(), &[0.8067820, -1.8733663], 1e-6);
    let (m, v) = opt.moments("w").unwrap();
    assert_close(m.data(), &[0.07, -0.04], 1e-8);
    assert_close(v.data(), &[0.00031225, 0.001249], 1e-10);
}

#[test]
fn adam_adds_l2_weight_decay_to_the_gradient() {
    // lr 0.1, λ = 0.5, θ0 = [−1, −2], g = [0.25, −1] on both steps.
    // step 1: g' = g + 0.5·θ = [−0.25, −2] (the first sign flips); θ = θ0 − 0.1·sign(g') = [−0.9, −1.9]
    //         m = [−0.025, −0.2], v = [6.25e-5, 0.004]
    // step 2: g' = [0.25 − 0.45, −1 − 0.95] = [−0.2, −1.95]
    //         m = 0.9·m + 0.1·g' = [−0.0425, −0.375]; v = 0.999·v + 0.001·g'² = [1.024375e-4, 7.7985e-3]
    //         m̂ = m/0.19 = [−0.2236842, −1.9736842]; √v̂ = √(v/0.001999) = [0.2263722, 1.9751456]
    //         θ = [−0.9 + 0.0988126, −1.9 + 0.0999260] = [−0.8011874, −1.8000740]
    // (without the decay θ would move to [−1.1, −1.9] on step 1)
    let mut opt = Adam::new(AdamConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..Default::default()
    })
    .unwrap();
    let g: &[f32] = &[0.25, -1.0];
    assert_close(&run(&mut opt, &[-1.0, -2.0], &[g]), &[-0.9, -1.9], 1e-6);
    let mut opt = Adam::new(AdamConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..Default::default()
    })
    .unwrap();
    assert_close(
        &run(&mut opt, &[-1.0, -2.0], &[g, g]),
        &[-0.8011874, -1.8000740],
        1e-6,
    );
}

#[test]
fn adamw_decays_the_weights_apart_from_the_gradient() {
    // lr 0.1, λ = 0.5, θ0 = [−1, −2], g = [0.25, −1] on both steps.
    // step 1: θ ← θ·(1 − 0.1·0.5) = [−0.95, −1.9]; the Adam part moves by −0.1·sign(g): [−1.05, −1.8]
    // step 2: θ ← 0.95·θ = [−0.9975, −1.71]; same gradient so m̂/√v̂ = sign(g): [−1.0975, −1.61]
    let cfg = AdamWConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..Default::default()
    };
    let g: &[f32] = &[0.25, -1.0];
    let mut opt = AdamW::new(cfg.clone()).unwrap();
    assert_close(&run(&mut opt, &[-1.0, -2.0], &[g]), &[-1.05, -1.8], 1e-6);
    let mut opt = AdamW::new(cfg).unwrap();
    assert_close(
        &run(&mut opt, &[-1.0, -2.0], &[g, g]),
        &[-1.0975, -1.61],
        1e-6,
    );
    let (m, v) = opt.moments("w").unwrap();
    // m = 0.9·0.1·g + 0.1·g = 0.19·g; v = 0.999·0.001·g² + 0.001·g² = 0.001999·g²
    assert_close(m.data(), &[0.0475, -0.19], 1e-8);
    assert_close(v.data(), &[1.249375e-4, 1.999e-3], 1e-10);
}

#[test]
fn adam_adds_eps_outside_the_square_root() {
    // g = 1e-8, step 1, lr 0.1: √v̂ = |g| = 1e-8, so θ = −0.1·1e-8/(1e-8 + 1e-8) = −0.05.
    // (ε inside the root would give −0.1·1e-8/√(1e-16 + 1e-8) ≈ −1e-5.)
    let mut opt = Adam::new(AdamConfig {
        learning_rate: 0.1,
        ..Default::default()
    })
    .unwrap();
    assert_close(&run(&mut opt, &[0.0], &[&[1e-8]]), &[-0.05], 1e-7);
}

#[test]
fn adamw_defaults_are_pytorchs() {
    // torch.optim.AdamW: lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2
    let c = AdamWConfig::default();
    assert_eq!(
        (c.learning_rate, c.betas, c.eps, c.weight_decay),
        (1e-3, (0.9, 0.999), 1e-8, 1e-2)
    );
    // torch.optim.Adam: weight_decay=0; torch.optim.SGD: lr=1e-3, momentum=0, dampening=0
    assert_eq!(AdamConfig::default().weight_decay, 0.0);
    let s = SgdConfig::default();
    assert_eq!(
        (
            s.learning_rate,
            s.momentum,
            s.dampening,
            s.nesterov,
            s.weight_decay
        ),
        (1e-3, 0.0, 0.0, false, 0.0)
    );
}

#[test]
fn frozen_parameters_are_not_updated() {
    let mut store = ParamStore::new();
    let a = store
        .add("a", Tensor::new(vec![1.0, 2.0], &[2]).unwrap())
        .unwrap();
    let b = store
        .add("b", Tensor::new(vec![3.0, 4.0], &[2]).unwrap())
        .unwrap();
    store.get_mut(b).trainable = false;
    set_grad(&mut store, a, &[1.0, 1.0]);
    set_grad(&mut store, b, &[1.0, 1.0]);
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 0.1,
        ..Default::default()
    })
    .unwrap();
    opt.step(&mut store).unwrap();
    assert_eq!(store.value(b).data(), &[3.0, 4.0]);
    assert!(opt.moments("b").is_none());
    // a moves by lr·(wd·θ + 1) ≈ 0.1: 1·(1 − 0.001) − 0.1 = 0.899
    assert_close(store.value(a).data(), &[0.899, 1.898], 1e-6);
}

#[test]
fn a_nan_gradient_stops_the_step_before_anything_changes() {
    for mut opt in [
        OptimizerConfig::AdamW(AdamWConfig::default())
            .build()
            .unwrap(),
        OptimizerConfig::Sgd(SgdConfig {
            momentum: 0.9,
            ..Default::default()
        })
        .build()
        .unwrap(),
    ] {
        let mut store = ParamStore::new();
        let a = store
            .add(
                "layers.0.weight",
                Tensor::new(vec![1.0, 2.0], &[2]).unwrap(),
            )
            .unwrap();
        let b = store
            .add("layers.0.bias", Tensor::new(vec![3.0], &[1]).unwrap())
            .unwrap();
        set_grad(&mut store, a, &[0.5, 0.5]);
        opt.step(&mut store).unwrap();
        let before = store.clone();
        set_grad(&mut store, b, &[f32::NAN]);
        let err = opt.step(&mut store).unwrap_err();
        match &err {
            Error::NonFinite { what, step, name } => {
                assert_eq!(
                    (*what, *step, name.as_str()),
                    ("gradient", 2, "layers.0.bias"),
                    "{err}"
                );
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
        assert_eq!(opt.steps(), 1);
        assert_eq!(store.value(a), before.value(a));
        assert_eq!(store.value(b), before.value(b));
    }
}

fn invalid_name(e: Error) -> (String, String) {
    match e {
        Error::InvalidArgument { name, value, .. } => (name, value),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn invalid_hyperparameters_are_named_with_their_value() {
    let sgd = |c: SgdConfig| invalid_name(Sgd::new(c).unwrap_err());
    let d = SgdConfig::default;
    assert_eq!(
        sgd(SgdConfig {
            learning_rate: 0.0,
            ..d()
        }),
        ("learning_rate".into(), "0".into())
    );
    assert_eq!(
        sgd(SgdConfig {
            learning_rate: f64::NAN,
            ..d()
        })
        .0,
        "learning_rate"
    );
    assert_eq!(
        sgd(SgdConfig {
            momentum: 1.0,
            ..d()
        }),
        ("momentum".into(), "1".into())
    );
    assert_eq!(
        sgd(SgdConfig {
            momentum: -0.1,
            ..d()
        })
        .0,
        "momentum"
    );
    assert_eq!(
        sgd(SgdConfig {
            weight_decay: -1.0,
            ..d()
        }),
        ("weight_decay".into(), "-1".into())
    );
    assert_eq!(
        sgd(SgdConfig {
            nesterov: true,
            ..d()
        })
        .0,
        "momentum"
    );
    assert_eq!(
        sgd(SgdConfig {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..d()
        })
        .0,
        "dampening"
    );
    let adamw = |c: AdamWConfig| invalid_name(AdamW::new(c).unwrap_err());
    let d = AdamWConfig::default;
    assert_eq!(
        adamw(AdamWConfig {
            betas: (1.0, 0.999),
            ..d()
        }),
        ("betas.0".into(), "1".into())
    );
    assert_eq!(
        adamw(AdamWConfig {
            betas: (0.9, 1.5),
            ..d()
        })
        .0,
        "betas.1"
    );
    assert_eq!(adamw(AdamWConfig { eps: 0.0, ..d() }).0, "eps");
    assert_eq!(
        adamw(AdamWConfig {
            weight_decay: f64::INFINITY,
            ..d()
        })
        .0,
        "weight_decay"
    );
    assert_eq!(
        adamw(AdamWConfig {
            learning_rate: -1e-3,
            ..d()
        })
        .0,
        "learning_rate"
    );
    assert_eq!(
        invalid_name(
            Adam::new(AdamConfig {
                eps: -1.0,
                ..Default::default()
            })
            .unwrap_err()
        )
        .0,
        "eps"
    );
    let msg = AdamW::new(AdamWConfig {
        betas: (0.9, 1.0),
        ..d()
    })
    .unwrap_err()
    .to_string();
    assert!(msg.contains("betas.1") && msg.contains("[0, 1)"), "{msg}");
    let mut opt = AdamW::new(d()).unwrap();
    assert_eq!(
        invalid_name(opt.set_learning_rate(f64::NAN).unwrap_err()).0,
        "learning_rate"
    );
    opt.set_learning_rate(0.0).unwrap(); // the first warmup step uses lr 0
}

#[test]
fn optimizer_configs_round_trip_through_json() {
    let json = r#"{"kind": "adamw", "learning_rate": 0.003, "weight_decay": 0.1}"#;
    let c: OptimizerConfig = serde_json::from_str(json).unwrap();
    assert_eq!(
        c,
        OptimizerConfig::AdamW(AdamWConfig {
            learning_rate: 0.003,
            weight_decay: 0.1,
            ..Default::default()
        })
    );
    let back: OptimizerConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    assert!(
        serde_json::from_str::<OptimizerConfig>(r#"{"kind": "sgd", "momentun": 0.9}"#).is_err()
    );
}

#[test]
fn step_lr_decays_by_gamma_every_step_size_steps() {
    // StepLR(step_size=3, gamma=0.5), base 1.0: steps 0..2 -> 1, 3..5 -> 0.5, 6 -> 0.25, 9 -> 0.125
    let s = LrSchedule::Step {
        step_size: 3,
        gamma: 0.5,
    };
    s.validate().unwrap();
    let got: Vec<f64> = [0, 2, 3, 5, 6, 9]
        .iter()
        .map(|&t| s.lr_at(1.0, t))
        .collect();
    assert_eq!(got, [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]);
    assert_eq!(LrSchedule::Constant.lr_at(0.3, 1000), 0.3);
}

#[test]
fn cosine_schedule_warms_up_linearly_then_decays_to_min_lr() {
    // warmup 10, total 110, base 1.0, min 0.1:
    //   step 0 -> 0; step 5 -> 5/10 = 0.5; step 10 -> 1.0 (start of decay, cos 0 = 1)
    //   step 35: progress 25/100, 0.1 + 0.9·½(1 + cos(π/4)) = 0.1 + 0.45·1.7071068 = 0.8681981
    //   step 60: progress ½,     0.1 + 0.9·½(1 + cos(π/2)) = 0.55
    //   step 110 and beyond -> 0.1
    let s = LrSchedule::CosineWithWarmup {
        warmup_steps: 10,
        total_steps: 110,
        min_lr: 0.1,
    };
    s.validate().unwrap();
    let want = [
        (0, 0.0),
        (5, 0.5),
        (10, 1.0),
        (35, 0.8681981),
        (60, 0.55),
        (110, 0.1),
        (500, 0.1),
    ];
    for (step, lr) in want {
        assert!(
            (s.lr_at(1.0, step) - lr).abs() < 1e-7,
            "step {step}: {} vs {lr}",
            s.lr_at(1.0, step)
        );
    }
    let bad = LrSchedule::CosineWithWarmup {
        warmup_steps: 10,
        total_steps: 5,
        min_lr: 0.0,
    };
    assert_eq!(invalid_name(bad.validate().unwrap_err()).0, "total_steps");
    assert_eq!(
        invalid_name(
            LrSchedule::Step {
                step_size: 0,
                gamma: 0.5
            }
            .validate()
            .unwrap_err()
        )
        .0,
        "step_size"
    );
}

/// Store with grads [3, 4] and [0, 12] (norm √(9 + 16 + 144) = 13) and a frozen [100].
fn clip_store() -> ParamStore {
    let mut store = ParamStore::new();
    let a = store.add("a", Tensor::zeros(&[2])).unwrap();
    let b = store.add("b", Tensor::zeros(&[2])).unwrap();
    let c = store.add("frozen", Tensor::zeros(&[1])).unwrap();
    set_grad(&mut store, a, &[3.0, 4.0]);
    set_grad(&mut store, b, &[0.0, 12.0]);
    set_grad(&mut store, c, &[100.0]);
    store.get_mut(c).trainable = false;
    store
}

#[test]
fn clipping_scales_to_max_norm_and_returns_the_norm_before() {
    // total 13; coef = 6.5/(13 + 1e-6) = 0.49999996 -> [1.5, 2, 0, 6] (to 1e-6)
    let mut store = clip_store();
    let norm = clip_grad_norm(&mut store, 6.5).unwrap();
    assert_eq!(norm, 13.0);
    assert_close(store.get(ParamId(0)).grad.data(), &[1.5, 2.0], 1e-6);
    assert_close(store.get(ParamId(1)).grad.data(), &[0.0, 6.0], 1e-6);
    assert_eq!(store.get(ParamId(2)).grad.data(), &[100.0]);
}

#[test]
fn clipping_leaves_small_gradients_unchanged() {
    let mut store = clip_store();
    assert_eq!(clip_grad_norm(&mut store, 20.0).unwrap(), 13.0);
    assert_eq!(store.get(ParamId(0)).grad.data(), &[3.0, 4.0]);
    assert_eq!(store.get(ParamId(1)).grad.data(), &[0.0, 12.0]);
}

#[test]
fn clipping_a_non_finite_gradient_reports_it_and_changes_nothing() {
    let mut store = clip_store();
    set_grad(&mut store, ParamId(1), &[f32::INFINITY, 1.0]);
    assert!(clip_grad_norm(&mut store, 1.0).unwrap().is_infinite());
    assert_eq!(store.get(ParamId(0)).grad.data(), &[3.0, 4.0]);
    assert_eq!(
        invalid_name(clip_grad_norm(&mut store, 0.0).unwrap_err()).0,
        "max_norm"
    );
}

/// nanoGPT's two AdamW groups: with `decay_matrices_only`, a matrix decays by `1 − lr·λ` and a
/// bias (1-D) does not. With a zero gradient Adam's own step is 0 (m = v = 0), so the only
/// change is the decay: by hand, 2.0·(1 − 0.1·0.5) = 1.9; SGD's L2 term likewise skips the bias.
#[test]
fn decay_matrices_only_decays_weights_but_not_biases() {
    let mut store = ParamStore::new();
    let w = store
        .add("fc.weight", Tensor::new(vec![2.0; 4], &[2, 2]).unwrap())
        .unwrap();
    let b = store
        .add("fc.bias", Tensor::new(vec![2.0; 2], &[2]).unwrap())
        .unwrap();
    store.decay_matrices_only();
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..AdamWConfig::default()
    })
    .unwrap();
    opt.step(&mut store).unwrap();
    assert_close(store.get(w).value.data(), &[1.9; 4], 1e-7);
    assert_close(store.get(b).value.data(), &[2.0; 2], 0.0);

    // SGD: θ ← θ − lr·(g + λθ) = 2 − 0.1·(0 + 0.5·2) = 1.9 for the weight; the bias keeps 2.
    let mut sgd = Sgd::new(SgdConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut store2 = store.clone();
    for id in [w, b] {
        store2.get_mut(id).value.data_mut().fill(2.0);
    }
    sgd.step(&mut store2).unwrap();
    assert_close(store2.get(w).value.data(), &[1.9; 4], 1e-7);
    assert_close(store2.get(b).value.data(), &[2.0; 2], 0.0);
}
