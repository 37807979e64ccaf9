//! `learnable generate`: text from a trained language model, streamed as it is produced. The
//! sampling is `learnable::sampling`'s chain (repetition penalty, temperature, top-k, top-p,
//! min-p, typical-p in Hugging Face's order); temperature 0 is greedy and ignores the seed; the
//! same seed gives the same text on every run and thread count.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use learnable::lm::LanguageModel;
use learnable::sampling::SamplingConfig;

use crate::flags;

/// Arguments of `learnable generate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  learnable generate --model runs/tiny_shakespeare-gpt --prompt 'ROMEO:'\n  \
learnable generate --model runs/tiny_shakespeare-gpt --prompt 'ROMEO:' --temperature 0\n  \
learnable generate --model runs/tiny_shakespeare-gpt --prompt 'First' --top-k 10 --seed 3 --num-samples 2"
)]
pub struct Args {
    /// Model directory written by `learnable train --model gpt` or by transformers'
    /// `save_pretrained` (GPT-2), or an llm.c `.bin` checkpoint.
    #[arg(long)]
    pub model: PathBuf,
    /// The text to continue (a prompt longer than the context is cropped from the left).
    #[arg(long)]
    pub prompt: String,
    /// Tokens (characters) to generate.
    #[arg(long, default_value_t = 200, allow_negative_numbers = true, value_parser = flags::count_in::<usize>(0, 1_000_000))]
    pub max_new_tokens: usize,
    /// Divide the logits by T (0: greedy, the most likely token every time).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f64,
    /// Keep only the K most likely tokens (0: off).
    #[arg(long, allow_negative_numbers = true)]
    pub top_k: Option<i64>,
    /// Keep the smallest set of tokens whose probability reaches P (1: off).
    #[arg(long, allow_negative_numbers = true)]
    pub top_p: Option<f64>,
    /// Drop tokens less likely than P times the most likely one (0: off).
    #[arg(long, allow_negative_numbers = true)]
    pub min_p: Option<f64>,
    /// Locally typical sampling mass (1: off).
    #[arg(long, allow_negative_numbers = true)]
    pub typical_p: Option<f64>,
    /// CTRL repetition penalty over the prompt and the generated tokens (1: off).
    #[arg(long, allow_negative_numbers = true)]
    pub repetition_penalty: Option<f64>,
    /// Seed of the draws (sample i uses seed + i).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = flags::count::<u64>(0))]
    pub seed: u64,
    /// Number of samples, each from its own seed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = flags::count_in::<usize>(1, 1000))]
    pub num_samples: usize,
    /// Stop a sample when it produces this text (it is kept in the output).
    #[arg(long)]
    pub stop: Option<String>,
    /// For each generated token, print a line: the token, its probability in the distribution
    /// it was drawn from (after temperature, top-k, ...), its probability under the model
    /// (softmax of the logits at temperature 1) and the 5 most likely tokens with theirs; then
    /// the text.
    #[arg(long)]
    pub show_probs: bool,
}

/// Alternatives listed per token by --show-probs.
const SHOW_TOP: usize = 5;

/// The `k` most likely tokens of `logits` with their softmax probabilities (temperature 1, f64),
/// most likely first (ties: lower id first).
fn top_probabilities(logits: &[f32], k: usize) -> Vec<(usize, f64)> {
    let lse = learnable::kernels::softmax::logsumexp_f64(logits);
    let mut best: Vec<usize> = Vec::with_capacity(k + 1);
    for (i, &x) in logits.iter().enumerate() {
        let pos = best.partition_point(|&j| logits[j] >= x);
        if pos < k {
            best.insert(pos, i);
            best.truncate(k);
        }
    }
    best.into_iter()
        .map(|i| (i, (logits[i] as f64 - lse).exp()))
        .collect()
}

/// Runs `learnable generate`.
pub fn run(args: Args) -> Result<()> {
    let d = SamplingConfig::default();
    let sampling = SamplingConfig {
        temperature: args.temperature,
        top_k: args.top_k.unwrap_or(d.top_k),
        top_p: args.top_p.unwrap_or(d.top_p),
        min_p: args.min_p.unwrap_or(d.min_p),
        typical_p: args.typical_p.unwrap_or(d.typical_p),
        repetition_penalty: args.repetition_penalty.unwrap_or(d.repetition_penalty),
        ..d
    };
    // Check the sampling settings before loading the model, so a typo costs no time.
    sampling.build()?;
    let model = LanguageModel::load(&args.model)?;
    // Refuse a prompt the vocabulary cannot encode before printing anything.
    let ids = learnable::tokenizer::Tokenizer::encode(&model.tokenizer, &args.prompt)?;
    let context = model.config.block_size;
    if ids.len() > context {
        eprintln!(
            "note: the prompt has {} tokens, more than the model's context of {context}: it sees only the last {context}",
            ids.len()
        );
    }
    if args.show_probs {
        return show_probs(&args, &model, &sampling);
    }
    let mut out = std::io::stdout().lock();
    for i in 0..args.num_samples {
        if args.num_samples > 1 {
            writeln!(out, "--- sample {} (seed {})", i + 1, args.seed + i as u64)?;
        }
        write!(out, "{}", args.prompt)?;
        out.flush()?;
        let mut produced = String::new();
        let mut write_error = None;
        model.generate_text(
            &args.prompt,
            args.max_new_tokens,
            &sampling,
            args.seed + i as u64,
            |piece| {
                produced.push_str(piece);
                if let Err(e) = write!(out, "{piece}").and_then(|_| out.flush()) {
                    write_error = Some(e);
                    return false;
                }
                args.stop
                    .as_ref()
                    .is_none_or(|s| !produced.ends_with(s.as_str()))
            },
        )?;
        if let Some(e) = write_error {
            return Err(e.into());
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `generate --show-probs`: one line per token, then each sample's text.
fn show_probs(args: &Args, model: &LanguageModel, sampling: &SamplingConfig) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let label = |id: usize| model.tokenizer.label(id);
    for i in 0..args.num_samples {
        let seed = args.seed + i as u64;
        if args.num_samples > 1 {
            writeln!(out, "--- sample {} (seed {seed})", i + 1)?;
        }
        writeln!(
            out,
            "step  token  id  p(sampled)  p(model, T=1)  top {SHOW_TOP} at T=1"
        )?;
        let mut produced = String::new();
        let mut n = 0usize;
        let mut write_error = None;
        let text = model.generate_text_steps(
            &args.prompt,
            args.max_new_tokens,
            sampling,
            seed,
            |piece, step| {
                produced.push_str(piece);
                n += 1;
                let lse = learnable::kernels::softmax::logsumexp_f64(step.logits);
                let p_model = (step.logits[step.token] as f64 - lse).exp();
                let alts: Vec<String> = top_probabilities(step.logits, SHOW_TOP)
                    .iter()
                    .map(|&(id, p)| format!("{} {p:.4}", label(id)))
                    .collect();
                if let Err(e) = writeln!(
                    out,
                    "{n:>4}  {}  {}  {:.4}  {p_model:.4}  {}",
                    label(step.token),
                    step.token,
                    step.probability,
                    alts.join(" | ")
                ) {
                    write_error = Some(e);
                    return false;
                }
                args.stop
                    .as_ref()
                    .is_none_or(|s| !produced.ends_with(s.as_str()))
            },
        )?;
        if let Some(e) = write_error {
            return Err(e.into());
        }
        writeln!(out, "text: {:?}", format!("{}{text}", args.prompt))?;
    }
    Ok(())
}
