//! A GPT trained through the library's one loop on a short text: it memorises the text (the
//! loss falls towards 0, greedy generation reproduces the text), the model directory round
//! trips (same logits, same generated text), and resume after a checkpoint continues bit for bit.

use learnable::fit::{FitConfig, FitOptions, ModelKind};
use learnable::lm::{LanguageModel, TextData, TextSource, fit_lm};
use learnable::sampling::SamplingConfig;
use learnable::tokenizer::Tokenizer;

const TEXT: &str = "to be or not to be, that is the question. ";

fn text_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("short.txt");
    std::fs::write(&p, TEXT.repeat(12)).unwrap();
    p
}

fn config(max_steps: usize) -> FitConfig {
    FitConfig {
        n_layer: 1,
        n_head: 2,
        n_embd: 32,
        block_size: 16,
        batch_size: 8,
        learning_rate: 1e-2,
        warmup_steps: 10,
        max_steps,
        eval_interval: 50,
        eval_iters: 2,
        ..FitConfig::defaults(ModelKind::Gpt)
    }
}

fn greedy() -> SamplingConfig {
    SamplingConfig {
        temperature: 0.0,
        ..SamplingConfig::default()
    }
}

#[test]
fn a_tiny_gpt_memorises_a_short_text_and_its_directory_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let source = TextSource::File(text_file(tmp.path()));
    let config = config(300);
    let data = TextData::prepare(&source, &config, 0.1).unwrap();
    assert_eq!(
        data.tokenizer.vocab_size(),
        15,
        "distinct characters of the text"
    );
    let model = fit_lm(&config, &data, FitOptions::default()).unwrap();
    let history = &model.history.as_ref().unwrap().history;
    assert_eq!(history.len(), 6, "300 steps in rounds of 50");
    let first = history[0].train_loss;
    let last = history.last().unwrap().train_loss;
    // Uniform guessing over 15 characters costs ln 15 = 2.71 nats; memorised text costs ~0.
    assert!(first < 15f64.ln() + 0.5, "{first}");
    assert!(
        last < 0.1,
        "train loss after 300 steps: {last} (first round {first})"
    );
    let val = model.record.as_ref().unwrap().metrics["val_loss"];
    assert!(val < 0.2, "validation loss {val}");

    let out = model
        .generate_text("to be or", 34, &greedy(), 0, |_| true)
        .unwrap();
    assert_eq!(out, " not to be, that is the question. ");

    let dir = tmp.path().join("m");
    model.save(&dir).unwrap();
    let loaded = LanguageModel::load(&dir).unwrap();
    assert_eq!(loaded.config, model.config);
    let again = loaded
        .generate_text("to be or", 34, &greedy(), 0, |_| true)
        .unwrap();
    assert_eq!(again, out);
    // Seeded sampling: same seed, same text.
    let t = SamplingConfig::default();
    let a = loaded.generate_text("to", 40, &t, 7, |_| true).unwrap();
    let b = model.generate_text("to", 40, &t, 7, |_| true).unwrap();
    assert_eq!(a, b);
    // config.json is a transformers GPT2Config with learnable's record beside it.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model_type"], "gpt2");
    assert_eq!(cfg["n_positions"], 16);
    assert_eq!(cfg["vocab_size"], 15);
    assert_eq!(cfg["learnable"]["kind"], "gpt");
    // A character outside the vocabulary is named with its position.
    let e = loaded
        .generate_text("to bez", 5, &greedy(), 0, |_| true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("'z'") && e.contains('5'), "{e}");
}

#[test]
fn a_resumed_language_model_run_equals_the_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let source = TextSource::File(text_file(tmp.path()));
    let whole_cfg = config(100);
    let data = TextData::prepare(&source, &whole_cfg, 0.1).unwrap();
    let whole = fit_lm(&whole_cfg, &data, FitOptions::default()).unwrap();

    // A run killed after its first evaluation round: the observer fails after the
    // checkpoint of round 1 is committed (the checkpointer sees each round first).
    let ck = tmp.path().join("ck");
    let mut crash = CrashAfterFirstRound;
    let first = fit_lm(
        &whole_cfg,
        &data,
        FitOptions {
            checkpoint_dir: Some(ck.clone()),
            resume: false,
            observer: Some(&mut crash),
        },
    );
    assert!(first.is_err());
    assert_eq!(learnable::checkpoint::committed_epoch(&ck), Some(1));
    let resumed = fit_lm(
        &whole_cfg,
        &data,
        FitOptions {
            checkpoint_dir: Some(ck),
            resume: true,
            observer: None,
        },
    );
    let resumed = resumed.unwrap();
    assert_eq!(resumed.history.as_ref().unwrap().global_step, 100);
    for ((n, a), (_, b)) in whole.store.named_values().zip(resumed.store.named_values()) {
        assert_eq!(a.data(), b.data(), "{n} differs after resume");
    }
}

/// Fails at the end of the first round, as a kill right after its checkpoint would.
struct CrashAfterFirstRound;

impl learnable::train::Observer for CrashAfterFirstRound {
    fn on_epoch(
        &mut self,
        _store: &learnable::ParamStore,
        _opt: &dyn learnable::optim::Optimizer,
        _state: &learnable::train::TrainState,
        _is_best: bool,
    ) -> learnable::Result<()> {
        Err(learnable::Error::Other("simulated crash".into()))
    }
}
