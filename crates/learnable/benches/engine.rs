//! Criterion benchmarks of the engine: linear forward+backward, a full MLP training step
//! (784-256-256-10, batch 128, AdamW), and batch-1 inference. Run: `cargo bench -p learnable`.

use criterion::{Criterion, criterion_group, criterion_main};
use learnable::loss::CrossEntropyOptions;
use learnable::models::mlp::{Activation, Mlp, MlpConfig};
use learnable::optim::{AdamW, AdamWConfig, Optimizer};
use learnable::{ParamStore, Rng, Tape, Tensor};

fn linear_forward_backward(c: &mut Criterion) {
    let mut rng = Rng::new(0, "bench");
    let x = Tensor::uniform(&[128, 784], -1.0, 1.0, &mut rng);
    let w = Tensor::uniform(&[256, 784], -0.05, 0.05, &mut rng);
    let b = Tensor::zeros(&[256]);
    c.bench_function("linear 128x784 -> 256 forward+backward", |bench| {
        bench.iter(|| {
            let mut tape = Tape::train();
            let xv = tape.input_ref(&x);
            let wv = tape.input_with_grad(w.clone());
            let bv = tape.input_with_grad(b.clone());
            let y = tape.linear(xv, wv, Some(bv)).unwrap();
            let s = tape.sum(y).unwrap();
            tape.backward(s).unwrap()
        })
    });
}

fn mlp(store: &mut ParamStore) -> Mlp {
    let cfg = MlpConfig {
        input_dim: 784,
        hidden: vec![256, 256],
        output_dim: 10,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    Mlp::new(cfg, store, &mut Rng::new(0, "init")).unwrap()
}

fn mlp_train_step(c: &mut Criterion) {
    let mut store = ParamStore::new();
    let net = mlp(&mut store);
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 1e-3,
        ..AdamWConfig::default()
    })
    .unwrap();
    let mut rng = Rng::new(0, "data");
    let x = Tensor::uniform(&[128, 784], 0.0, 1.0, &mut rng);
    let y: Vec<usize> = (0..128).map(|_| rng.below(10) as usize).collect();
    let opts = CrossEntropyOptions::default();
    c.bench_function("mlp 784-256-256-10 train step, batch 128, adamw", |bench| {
        bench.iter(|| {
            store.zero_grad();
            let grads = {
                let mut tape = Tape::train();
                let xv = tape.input_ref(&x);
                let out = net.forward(&mut tape, &store, xv, &mut rng).unwrap();
                let loss = tape.cross_entropy(out, &y, &opts).unwrap();
                tape.backward(loss).unwrap()
            };
            store.accumulate_owned(grads);
            opt.step(&mut store).unwrap();
        })
    });
}

fn mlp_batch1_inference(c: &mut Criterion) {
    let mut store = ParamStore::new();
    let net = mlp(&mut store);
    let x = Tensor::uniform(&[1, 784], 0.0, 1.0, &mut Rng::new(1, "data"));
    c.bench_function("mlp 784-256-256-10 inference, batch 1", |bench| {
        bench.iter(|| net.predict(&store, &x).unwrap())
    });
}

criterion_group!(
    benches,
    linear_forward_backward,
    mlp_train_step,
    mlp_batch1_inference
);
criterion_main!(benches);
