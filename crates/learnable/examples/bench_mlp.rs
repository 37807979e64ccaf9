//! learnable side of the MLP benchmark in `bench/run.sh` (same workload as bench/torch_mlp.py):
//! MLP 784-256-256-10, ReLU, float32, batch 128, AdamW lr 1e-3, cross-entropy; then batch-1
//! latency and batch-1024 throughput in inference mode. Prints one JSON line.
//! Threads: RAYON_NUM_THREADS (the script sets 2). Kernel path: LEARNABLE_ISA (default: the best
//! the CPU has); the line names the path taken (`isa`).

use std::time::Instant;

use learnable::loss::CrossEntropyOptions;
use learnable::models::mlp::{Activation, Mlp, MlpConfig};
use learnable::optim::{AdamW, AdamWConfig, Optimizer};
use learnable::{ParamStore, Rng, Tape, Tensor};

fn timed(mut f: impl FnMut(), min_seconds: f64, warmup: usize) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let t0 = Instant::now();
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        let el = t0.elapsed().as_secs_f64();
        if el >= min_seconds {
            return n as f64 / el;
        }
    }
}

fn main() -> learnable::Result<()> {
    let cfg = MlpConfig {
        input_dim: 784,
        hidden: vec![256, 256],
        output_dim: 10,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut store = ParamStore::new();
    let mut rng = Rng::new(0, "init");
    let mlp = Mlp::new(cfg, &mut store, &mut rng)?;
    let mut opt = AdamW::new(AdamWConfig {
        learning_rate: 1e-3,
        ..AdamWConfig::default()
    })?;
    let mut data_rng = Rng::new(0, "data");
    let x = Tensor::uniform(&[128, 784], 0.0, 1.0, &mut data_rng);
    let y: Vec<usize> = (0..128).map(|_| data_rng.below(10) as usize).collect();
    let opts = CrossEntropyOptions::default();
    let mut drop_rng = Rng::new(0, "dropout");
    let mut step = || {
        store.zero_grad();
        let grads = {
            let mut tape = Tape::train();
            let xv = tape.input_ref(&x);
            let out = mlp.forward(&mut tape, &store, xv, &mut drop_rng).unwrap();
            let loss = tape.cross_entropy(out, &y, &opts).unwrap();
            tape.backward(loss).unwrap()
        };
        store.accumulate_owned(grads);
        opt.step(&mut store).unwrap();
    };
    let train_steps_per_s = timed(&mut step, 2.0, 20);
    let x1 = Tensor::uniform(&[1, 784], 0.0, 1.0, &mut data_rng);
    let x1024 = Tensor::uniform(&[1024, 784], 0.0, 1.0, &mut data_rng);
    // Inference as a served model runs it: weights packed once at load (`Mlp::prepare`), then
    // every call is forward only. `batch1024_unprepared_rows_per_s` packs on every call.
    let prepared = mlp.prepare(&store);
    let lat = timed(
        || {
            std::hint::black_box(prepared.predict(&x1).unwrap());
        },
        2.0,
        100,
    );
    let big = timed(
        || {
            std::hint::black_box(prepared.predict(&x1024).unwrap());
        },
        2.0,
        5,
    );
    let big_unprepared = timed(
        || {
            std::hint::black_box(mlp.predict(&store, &x1024).unwrap());
        },
        1.0,
        5,
    );
    println!(
        "{{\"tool\": \"learnable\", \"version\": \"{}\", \"isa\": \"{}\", \"threads\": {}, \"train_steps_per_s\": {}, \"batch1_latency_us\": {}, \"batch1024_rows_per_s\": {}, \"batch1024_unprepared_rows_per_s\": {}}}",
        env!("CARGO_PKG_VERSION"),
        learnable::kernels::isa::active(),
        rayon::current_num_threads(),
        train_steps_per_s,
        1e6 / lat,
        1024.0 * big,
        1024.0 * big_unprepared
    );
    Ok(())
}
