//! Speed of `models::gpt` on this machine, for a nanoGPT `shakespeare_char`-sized model (6
//! layers, 6 heads, 384 wide, block 256, 65 characters; random weights): one training step
//! (forward + backward, batch 4 × 256), the inference forward of 256 tokens, and generation
//! with and without the KV cache (tokens per second, same tokens). Prints one JSON line.
//! Threads: RAYON_NUM_THREADS.

use std::time::Instant;

use learnable::models::gpt::{Gpt, GptConfig, Tokens, generate, generate_uncached};
use learnable::sampling::SamplingConfig;
use learnable::{ParamStore, Rng, Tape};

fn main() -> learnable::Result<()> {
    let config = GptConfig {
        n_layer: 6,
        n_head: 6,
        n_embd: 384,
        block_size: 256,
        vocab_size: 65,
        dropout: 0.2,
        bias: false,
    };
    let mut store = ParamStore::new();
    let model = Gpt::new(config, &mut store, &mut Rng::new(0, "init"))?;
    let mut rng = Rng::new(1, "data");
    let data: Vec<usize> = (0..10_000).map(|_| rng.below(65) as usize).collect();

    let (x, targets) = Tokens::windows(&data, &[0, 1000, 2000, 3000], 256)?;
    let t0 = Instant::now();
    let mut tape = Tape::train();
    let logits = model.forward(&mut tape, &store, &x, &mut Rng::new(0, "dropout"))?;
    let loss = tape.cross_entropy(logits, &targets, &Default::default())?;
    let loss_value = tape.value(loss).item()?;
    let _grads = tape.backward(loss)?;
    let train_step_s = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    model.forward_inference(&store, &data[..256])?;
    let prefill_256_s = t0.elapsed().as_secs_f64();

    let cfg = SamplingConfig {
        temperature: 0.8,
        top_k: 200,
        ..Default::default()
    };
    let prompt = &data[..8];
    let n = 300; // passes block_size: the last 52 steps recompute the cropped window
    let t0 = Instant::now();
    let a = generate(&model, &store, prompt, n, &cfg, 1337, |_| true)?;
    let cached_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let b = generate_uncached(&model, &store, prompt, n, &cfg, 1337, |_| true)?;
    let uncached_s = t0.elapsed().as_secs_f64();
    let n200 = 200;
    let t0 = Instant::now();
    generate(&model, &store, prompt, n200, &cfg, 1337, |_| true)?;
    let cached_200_s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"params\": {}, \"threads\": {}, \"loss_at_init\": {loss_value}, \"train_step_4x256_s\": {train_step_s:.3}, \"prefill_256_s\": {prefill_256_s:.3}, \"generate_cached_300_tok_per_s\": {:.1}, \"generate_uncached_300_tok_per_s\": {:.1}, \"generate_cached_200_tok_per_s\": {:.1}, \"same_tokens\": {}}}",
        model.config.num_params(),
        rayon::current_num_threads(),
        n as f64 / cached_s,
        n as f64 / uncached_s,
        n200 as f64 / cached_200_s,
        a == b
    );
    Ok(())
}
