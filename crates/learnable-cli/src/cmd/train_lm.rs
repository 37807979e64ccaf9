//! `learnable train --model gpt`: a GPT language model on a bundled corpus
//! (`--dataset tiny_shakespeare`, the default) or a UTF-8 file (`--text FILE`), trained through
//! the library's one loop (`learnable::lm::fit_lm`) and saved as a model directory that
//! `learnable generate` reads. Ends with a sample of generated text.

use anyhow::{Result, bail};
use learnable::data::split::SplitSize;
use learnable::fit::{FitConfig, FitOptions};
use learnable::lm::{TextData, TextSource, fit_lm};
use learnable::model_dir::ModelDir;
use learnable::sampling::SamplingConfig;

use super::train::{Args, ignored_options};
use crate::flags::{self, Given, print_warnings};
use crate::progress::Progress;

/// Runs `learnable train --model gpt`.
pub fn run(args: &Args, given: &Given, config: &FitConfig) -> Result<()> {
    if args.data.data.is_some() {
        bail!(
            "--model gpt trains on text, not on a table: give --text FILE or --dataset tiny_shakespeare"
        );
    }
    let source = match (&args.text, &args.data.dataset) {
        (Some(path), _) => TextSource::File(path.clone()),
        (None, Some(name)) => TextSource::Bundled(name.clone()),
        (None, None) => TextSource::Bundled("tiny_shakespeare".into()),
    };
    let val_fraction = match args.data.split_sizes()?.0 {
        SplitSize::Fraction(f) => f,
        SplitSize::Rows(_) => bail!(
            "--val-size for a text is a fraction of its characters (the end of the text), such as 0.1"
        ),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        std::path::PathBuf::from("runs").join(format!("{}-gpt", source.short_name()))
    });
    let md = ModelDir::new(&out);
    if !args.resume && !args.force && md.holds_a_model() {
        bail!(
            "{} already holds a model; choose another --out, add --force to replace it, or --resume to continue its training",
            out.display()
        );
    }
    let data = TextData::prepare(&source, config, val_fraction)?;
    print_warnings(&ignored_options(args, given, config, &data.shape()));
    let gpt = data.gpt_config(config);
    gpt.validate()?;
    let tokens = match data.tokenizer.as_char() {
        Some(_) => format!("{} distinct", gpt.vocab_size),
        None => format!("{} GPT-2 tokens", data.n_tokens),
    };
    println!(
        "data: {} — {} characters, {tokens}; {} training windows, {} validation windows",
        source.name(),
        data.n_chars,
        data.train.windows(),
        data.val
            .as_ref()
            .map_or(0, |v| learnable::train::BatchSource::len(v))
    );
    println!(
        "model: gpt {} layers, {} heads, {} wide, context {}, vocabulary {} ({} parameters); {} steps, batch {}, {} lr {}",
        gpt.n_layer,
        gpt.n_head,
        gpt.n_embd,
        gpt.block_size,
        gpt.vocab_size,
        gpt.num_params(),
        config.max_steps,
        config.batch_size,
        config.optimizer.display_name(),
        config.learning_rate
    );
    let ckpt = md.checkpoint();
    let rounds = config.max_steps.div_ceil(config.eval_interval);
    let mut progress = Progress::new(
        "accuracy",
        rounds,
        Some((
            config.eval_interval,
            config.max_steps,
            config.batch_size * config.gradient_accumulation_steps * config.block_size,
        )),
        ckpt.clone(),
        args.quiet,
    );
    let options = FitOptions {
        checkpoint_dir: Some(ckpt.clone()),
        resume: args.resume,
        observer: Some(&mut progress),
    };
    let result = fit_lm(config, &data, options);
    progress.finish();
    let model = result.map_err(|e| flags::training_error(e, &ckpt))?;
    model.save(&out)?;
    let Some(record) = &model.record else {
        bail!("internal: a trained model has no record")
    };
    if let Some(reason) = &record.training.stop_reason {
        println!("{reason}");
    }
    let m = &record.metrics;
    if let Some(loss) = m.get("val_loss") {
        let per = match m.get("val_bits_per_char") {
            Some(b) => format!("nats per character ({b:.3} bits per character, "),
            None => "nats per token (".into(),
        };
        println!(
            "validation loss {loss:.4} {per}perplexity {:.2}), {} parameters, {:.0} tokens/s, {:.1}s",
            m.get("val_perplexity").copied().unwrap_or(f64::NAN),
            model.store.num_params(),
            m.get("tokens_per_second").copied().unwrap_or(0.0),
            m.get("train_seconds").copied().unwrap_or(0.0)
        );
    }
    // A sample, as nanoGPT's sample.py draws one (temperature 0.8, top-k 200).
    let prompt = match model.tokenizer.as_char() {
        Some(t) if !t.chars().contains(&'\n') => t.chars()[0].to_string(),
        _ => "\n".to_string(),
    };
    let sampling = SamplingConfig {
        temperature: 0.8,
        top_k: 200,
        ..SamplingConfig::default()
    };
    let sample = model.generate_text(&prompt, 200, &sampling, config.seed, |_| true)?;
    println!("sample (temperature 0.8, top-k 200, seed {}):", config.seed);
    println!("{}", sample.trim_start_matches('\n'));
    println!("model saved to {}", out.display());
    println!(
        "generate more: learnable generate --model {} --prompt 'ROMEO:'",
        flags::shell_word(&out.display().to_string())
    );
    Ok(())
}
