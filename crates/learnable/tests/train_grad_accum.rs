//! Gradient accumulation in the one training loop (`TrainConfig::gradient_accumulation_steps`,
//! nanoGPT's `gradient_accumulation_steps`): N micro-batches of b windows per optimizer step
//! take the same steps as one batch of N·b windows (same seeded windows, loss of each
//! micro-batch weighted 1/N), up to f32 rounding. Plain SGD without clipping makes the update
//! proportional to the gradient, so a missing 1/N (or a step per micro-batch) would show. No
//! validation split: the validation sample depends on batch_size, and the best-by-validation
//! weights would be restored.

use learnable::fit::{FitConfig, FitOptions, ModelKind, OptimizerKind, ScheduleKind};
use learnable::lm::{LanguageModel, TextData, TextSource, fit_lm};

fn run(dir: &std::path::Path, batch_size: usize, accum: usize) -> LanguageModel {
    let path = dir.join("t.txt");
    std::fs::write(
        &path,
        "to be or not to be, that is the question. ".repeat(12),
    )
    .unwrap();
    let config = FitConfig {
        n_layer: 1,
        n_head: 2,
        n_embd: 16,
        block_size: 8,
        batch_size,
        gradient_accumulation_steps: accum,
        optimizer: OptimizerKind::Sgd,
        momentum: 0.0,
        weight_decay: 0.0,
        learning_rate: 0.5,
        schedule: ScheduleKind::Constant,
        max_grad_norm: None,
        max_steps: 6,
        eval_interval: 3,
        eval_iters: 1,
        ..FitConfig::defaults(ModelKind::Gpt)
    };
    let data = TextData::prepare(&TextSource::File(path), &config, 0.0).unwrap();
    fit_lm(&config, &data, FitOptions::default()).unwrap()
}

fn max_param_diff(a: &LanguageModel, b: &LanguageModel) -> f32 {
    a.store
        .iter()
        .map(|(id, p)| p.value.max_abs_diff(b.store.value(id)))
        .fold(0.0, f32::max)
}

#[test]
fn four_micro_batches_of_two_equal_one_batch_of_eight() {
    let tmp = tempfile::tempdir().unwrap();
    let one = run(tmp.path(), 8, 1);
    let four = run(tmp.path(), 2, 4);
    let diff = max_param_diff(&one, &four);
    assert!(diff < 1e-5, "max |param diff| {diff:e}");
    let (h1, h4) = (
        &one.history.as_ref().unwrap().history,
        &four.history.as_ref().unwrap().history,
    );
    for (a, b) in h1.iter().zip(h4) {
        assert!((a.train_loss - b.train_loss).abs() < 1e-5, "{a:?} vs {b:?}");
        assert!((a.grad_norm - b.grad_norm).abs() < 1e-5, "{a:?} vs {b:?}");
    }
    // The same 2-window micro-batches stepped one by one are another run entirely.
    let two = run(tmp.path(), 2, 1);
    let other = max_param_diff(&one, &two);
    assert!(other > 1e-3, "batch 2 without accumulation: {other:e}");
}

#[test]
fn zero_accumulation_steps_is_refused_by_name() {
    let config = FitConfig {
        gradient_accumulation_steps: 0,
        ..FitConfig::defaults(ModelKind::Gpt)
    };
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains("gradient_accumulation_steps"), "{e}");
}
