//! Whole-model parity with PyTorch: the 64-32-32-10 ReLU MLP of fixtures/reference/README.md
//! section 3 (gen_mlp_adamw_trajectory.py, torch 2.15.0), built from tape ops (linear, relu,
//! cross_entropy) on batch 0 of the bundled digits data.
//!
//! Fixtures and tolerances (README section 3): mlp_logits_step1.safetensors logits atol 1e-5;
//! mlp_adamw_trajectory.json `adamw.losses_before_each_step[0]` rtol 1e-5;
//! mlp_grads_step1.safetensors every gradient atol 1e-6.

use learnable::io::load_safetensors;
use learnable::loss::CrossEntropyOptions;
use learnable::{ParamStore, Tape, Tensor};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const NAMES: [&str; 6] = [
    "layers.0.weight",
    "layers.0.bias",
    "layers.2.weight",
    "layers.2.bias",
    "layers.4.weight",
    "layers.4.bias",
];

/// Batch 0: the first 64 rows of data/digits/digits.csv (64 pixel columns 0..16, then the
/// label; no header), pixels / 16 as float32 (as the generator: `a[:, :64] / 16.0`).
fn batch0() -> (Tensor, Vec<usize>) {
    let text = std::fs::read_to_string(format!("{ROOT}/data/digits/digits.csv")).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in text.lines().take(64) {
        let vals: Vec<f64> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        assert_eq!(vals.len(), 65);
        x.extend(vals[..64].iter().map(|v| (v / 16.0) as f32));
        y.push(vals[64] as usize);
    }
    (Tensor::new(x, &[64, 64]).unwrap(), y)
}

fn json() -> serde_json::Value {
    let text = std::fs::read_to_string(format!(
        "{ROOT}/fixtures/reference/mlp_adamw_trajectory.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn mlp_logits_loss_and_gradients_match_pytorch_at_step_one() {
    let init = load_safetensors(format!("{ROOT}/fixtures/reference/mlp_init.safetensors")).unwrap();
    let mut store = ParamStore::new();
    let ids: Vec<_> = NAMES
        .iter()
        .map(|n| store.add(*n, init[*n].clone()).unwrap())
        .collect();
    let (x, labels) = batch0();
    let fx = json();
    let want_labels: Vec<usize> = fx["data"]["labels_batch0"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(labels, want_labels);

    // nn.Sequential(Linear(64, 32), ReLU, Linear(32, 32), ReLU, Linear(32, 10)); F.cross_entropy.
    let mut t = Tape::train();
    let xv = t.input(x);
    let p: Vec<_> = ids.iter().map(|&id| t.param(&store, id)).collect();
    let h = t.linear(xv, p[0], Some(p[1])).unwrap();
    let h = t.relu(h).unwrap();
    let h = t.linear(h, p[2], Some(p[3])).unwrap();
    let h = t.relu(h).unwrap();
    let logits = t.linear(h, p[4], Some(p[5])).unwrap();
    let loss = t
        .cross_entropy(logits, &labels, &CrossEntropyOptions::default())
        .unwrap();

    let want_logits = &load_safetensors(format!(
        "{ROOT}/fixtures/reference/mlp_logits_step1.safetensors"
    ))
    .unwrap()["logits"];
    let logit_err = t.value(logits).max_abs_diff(want_logits);
    let want_loss = fx["adamw"]["losses_before_each_step"][0].as_f64().unwrap();
    let got_loss = t.value(loss).item().unwrap() as f64;
    let loss_rel = (got_loss - want_loss).abs() / want_loss.abs();

    let grads = t.backward(loss).unwrap();
    let want_grads = load_safetensors(format!(
        "{ROOT}/fixtures/reference/mlp_grads_step1.safetensors"
    ))
    .unwrap();
    let mut grad_err = 0.0f32;
    for (name, &id) in NAMES.iter().zip(&ids) {
        let e = grads.param(id).unwrap().max_abs_diff(&want_grads[*name]);
        eprintln!("  grad {name}: max abs error {e:e}");
        grad_err = grad_err.max(e);
    }
    eprintln!(
        "MLP parity vs PyTorch: logits max abs {logit_err:e}, loss {got_loss} vs {want_loss} (rel {loss_rel:e}), grads max abs {grad_err:e}"
    );
    assert!(logit_err <= 1e-5, "logits {logit_err}");
    assert!(loss_rel <= 1e-5, "loss {got_loss} vs {want_loss}");
    assert!(grad_err <= 1e-6, "grads {grad_err}");
}

/// The inference path (`Mlp::prepare` → fused kernel with bias+ReLU epilogue, row-chunk
/// pipelined) against the same PyTorch logits: batch 0 repeated 5 times (320 rows, above
/// `FUSED_MIN_ROWS`, so the fused path runs where the CPU has AVX2), logits atol 1e-5 (README
/// section 3). `Mlp::predict` (packing per call) must give bit-identical values, and every row
/// the same bits whether predicted alone, in a batch of 5 or 64, or in the 320-row batch
/// (batch-invariant inference; by construction of the fused kernel, on every ISA path).
#[test]
fn prepared_mlp_inference_matches_pytorch_logits_on_a_large_batch() {
    use learnable::models::mlp::{Activation, Mlp, MlpConfig};
    use learnable::ops::linear::FUSED_MIN_ROWS;
    let init = load_safetensors(format!("{ROOT}/fixtures/reference/mlp_init.safetensors")).unwrap();
    let mut store = ParamStore::new();
    // Same names as nn.Sequential's (layers.0, layers.2, layers.4).
    for n in NAMES {
        store.add(n, init[n].clone()).unwrap();
    }
    let config = MlpConfig {
        input_dim: 64,
        hidden: vec![32, 32],
        output_dim: 10,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mlp = Mlp::from_store(config, &store).unwrap();
    let want = &load_safetensors(format!(
        "{ROOT}/fixtures/reference/mlp_logits_step1.safetensors"
    ))
    .unwrap()["logits"];
    let (x, _) = batch0();
    let reps = 5;
    assert!(64 * reps >= FUSED_MIN_ROWS);
    let big: Vec<f32> = (0..reps).flat_map(|_| x.data().to_vec()).collect();
    let big = Tensor::new(big, &[64 * reps, 64]).unwrap();
    let want_big: Vec<f32> = (0..reps).flat_map(|_| want.data().to_vec()).collect();
    let want_big = Tensor::new(want_big, &[64 * reps, 10]).unwrap();

    let prepared = mlp.prepare(&store);
    let got = prepared.predict(&big).unwrap();
    let err = got.max_abs_diff(&want_big);
    assert!(err <= 1e-5, "prepared logits max |err| {err:e} > 1e-5");
    let per_call = mlp.predict(&store, &big).unwrap();
    assert!(
        got.data()
            .iter()
            .zip(per_call.data())
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    let small = prepared.predict(&x).unwrap();
    let err = small.max_abs_diff(want);
    assert!(err <= 1e-5, "64-row logits max |err| {err:e} > 1e-5");
    {
        let bits = |t: &Tensor, row: usize| -> Vec<u32> {
            t.data()[row * 10..(row + 1) * 10]
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        for row in [0, 1, 5, 6, 7, 63] {
            let one = Tensor::new(x.data()[row * 64..(row + 1) * 64].to_vec(), &[1, 64]).unwrap();
            let alone = prepared.predict(&one).unwrap();
            assert_eq!(bits(&alone, 0), bits(&got, row), "row {row} alone vs 320");
            assert_eq!(bits(&small, row), bits(&got, row), "row {row} in 64 vs 320");
        }
        let five = Tensor::new(x.data()[..5 * 64].to_vec(), &[5, 64]).unwrap();
        let five = prepared.predict(&five).unwrap();
        for row in 0..5 {
            assert_eq!(bits(&five, row), bits(&got, row), "row {row} in 5 vs 320");
        }
    }
    // A wrong width is a shape error naming the expected shape, not a panic.
    let bad = Tensor::new(vec![0.0; 300 * 63], &[300, 63]).unwrap();
    let e = prepared.predict(&bad).unwrap_err().to_string();
    assert!(e.contains("64"), "{e}");
}
