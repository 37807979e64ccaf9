//! `learnable logits`: logits, softmax, temperature and sampling, step by step.
//!
//! `--values 4.2,2.1,-1.3 [...]` works on logits a user types: the seed-style temperature table,
//! then each processor of the chain in order, the kept set with its renormalised probabilities
//! and, with `--draw N`, the counts of N seeded draws. `--json` prints the same for scripts.
//! `--model DIR --row N (--data FILE | --dataset NAME)` does the same for one input of a trained
//! classifier: its row of logits and its class labels take the place of `--values` and
//! `--labels` (the model's own bundled dataset gives its test split, as in `eval` and `predict`).
//! All the work is in `learnable::sampling`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use learnable::data::prepare::Source;
use learnable::sampling::report::kept_of;
use learnable::sampling::{
    Draws, LogitsReport, Processed, SAMPLE_STREAM, SamplingConfig, temperature_table,
};
use serde_json::{Value, json};

use crate::flags;
use crate::prep;
use learnable::trained::TrainedModel;

/// Most draws `--draw` accepts: 10 million take about 0.2 s (one binary search each); more
/// would only refine frequencies already within 0.0005 of the probabilities (standard error
/// <= 0.5 / sqrt(N)).
pub const MAX_DRAWS: u64 = 10_000_000;

const ORDER_HELP: &str = "\
Processor order (fixed): repetition penalty -> temperature -> top-k -> top-p
-> min-p -> typical-p -> epsilon, then the sampler.

This is Hugging Face transformers' order: temperature first, then truncation,
so top-p, min-p, typical-p and epsilon see the temperature-scaled
distribution. llama.cpp applies temperature last (after its truncations), so
its top-p and min-p see the T = 1 distribution; top-k keeps the same tokens in
both orders. Temperature 0 is greedy decoding: the argmax (lowest index on
ties) after the repetition penalty, with probability 1; truncation is skipped,
as with HF's do_sample=False. Each processor follows transformers 5.24 exactly
(top-k keeps ties at the threshold; top-p removes the tokens whose ascending
cumulative probability is <= 1 - p and keeps at least one).

Draws use the seeded ChaCha8 stream \"sample\" of --seed: one u64 per draw,
inverse CDF in f64 over the kept tokens in index order. The same seed and
inputs give the same draws on every run and machine.

With --model DIR --row N (--dataset NAME | --data FILE) the logits are the
model's outputs for row N of the data (the model's own bundled dataset gives
its test split, the rows that `eval` and `predict` use) and the labels are its
classes; everything else works as with --values.

Examples:
  learnable logits --values 4.2,2.1,-1.3 --labels cat,dog,car
  learnable logits --model runs/iris --dataset iris --row 0 --temperature 0.5,2
  learnable logits --model runs/iris --dataset iris --row 0 --top-p 0.9 \
      --draw 1000 --seed 1
  learnable logits --values 4.2,2.1,-1.3 --temperature 0.5,2
  learnable logits --values 4.2,2.1,-1.3,0.5 --temperature 0.7 --top-k 3 \\
      --top-p 0.9 --draw 1000 --seed 7
  learnable logits --values 2,-1,0.5,-0.5 --repetition-penalty 1.3 \\
      --context 0,2 --json
";

/// Arguments of `learnable logits`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Processors run in Hugging Face's order (penalty, temperature, then truncation); \
                  llama.cpp applies temperature last. --help says more.",
    after_long_help = ORDER_HELP
)]
pub struct Args {
    /// Raw logits, comma-separated (e.g. 4.2,2.1,-1.3); -inf masks a token out.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    values: Vec<String>,

    /// Class labels for the values, comma-separated (default: the indices 0, 1, ...).
    #[arg(long, value_delimiter = ',', conflicts_with = "model")]
    labels: Vec<String>,

    /// Temperature, >= 0 (0 = greedy, 1 = unchanged). Several comma-separated values print only
    /// the table of probabilities at each temperature.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    temperature: Vec<f64>,

    /// Keep the k highest scores, ties at the k-th kept (0 = no limit; k > vocabulary = all).
    #[arg(long, allow_negative_numbers = true)]
    top_k: Option<i64>,

    /// Keep the smallest most-probable set with probability mass >= p, 0..=1 (1 = off).
    #[arg(long, allow_negative_numbers = true)]
    top_p: Option<f64>,

    /// Keep tokens with probability >= min_p x the largest probability, 0..=1 (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    min_p: Option<f64>,

    /// Locally typical sampling mass, 0 < p <= 1 (1 = off).
    #[arg(long, allow_negative_numbers = true)]
    typical_p: Option<f64>,

    /// Epsilon cutoff: drop tokens with probability < epsilon, 0 <= epsilon < 1 (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    epsilon: Option<f64>,

    /// CTRL repetition penalty for the --context tokens, > 0 (1 = off): a positive logit is
    /// divided by it, a negative one multiplied.
    #[arg(long, allow_negative_numbers = true)]
    repetition_penalty: Option<f64>,

    /// Token ids already generated (comma-separated), for --repetition-penalty.
    #[arg(long, value_delimiter = ',', requires = "repetition_penalty",
          allow_negative_numbers = true, value_parser = flags::count::<usize>(0))]
    context: Vec<usize>,

    /// Every truncation keeps at least this many tokens (>= 1).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    min_tokens_to_keep: i64,

    /// Draw N tokens from the processed distribution and print their counts (at most
    /// 10,000,000).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = flags::count_in::<u64>(0, MAX_DRAWS))]
    draw: Option<u64>,

    /// Seed of the sampling stream used by --draw.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true,
          value_parser = flags::count::<u64>(0))]
    seed: u64,

    /// Print JSON (kept indices, final scores with -inf as null, probabilities, counts).
    #[arg(long)]
    json: bool,

    /// A trained model (directory written by `learnable train`): a classifier's logits for one
    /// row of --dataset or --data, or a language model's next-token logits after --prompt,
    /// instead of --values.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,

    /// Language model form: the text whose next token's logits to show.
    #[arg(long, requires = "model", conflicts_with_all = ["row", "data", "dataset"])]
    prompt: Option<String>,

    /// Show only the N most likely tokens in the tables (default: every token; 20 for a
    /// language model).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = flags::count::<usize>(1))]
    top: Option<usize>,

    /// Row of the data whose logits to show, from 0 (model form; for the model's own dataset,
    /// a row of its test split).
    #[arg(long, value_name = "N", requires = "model", requires = "source",
          required_unless_present_any = ["values", "prompt"], allow_negative_numbers = true,
          value_parser = flags::count::<usize>(0))]
    row: Option<usize>,

    /// CSV file to take the row from (model form).
    #[arg(long, value_name = "FILE", group = "source")]
    data: Option<PathBuf>,

    /// Bundled dataset to take the row from (model form).
    #[arg(long, value_name = "NAME", group = "source")]
    dataset: Option<String>,
}

/// Runs `learnable logits`.
pub fn run(args: Args) -> Result<()> {
    let (logits, labels, about) = match (&args.model, args.row, &args.prompt) {
        (Some(dir), _, Some(prompt)) => {
            let m = next_token_row(dir, prompt)?;
            (m.logits.clone(), m.labels.clone(), Some(m))
        }
        (Some(dir), Some(row), None) => {
            if args.data.is_none() && args.dataset.is_none() {
                bail!(
                    "--model DIR --row N needs --dataset NAME or --data FILE to take the row from"
                );
            }
            let m = model_row(dir, row, args.dataset.as_deref(), args.data.as_deref())?;
            (m.logits.clone(), m.labels.clone(), Some(m))
        }
        (Some(_), None, None) => bail!(
            "--model DIR needs --row N with --dataset/--data (a classifier) or --prompt TEXT (a language model)"
        ),
        _ => {
            let logits = parse_values(&args.values)?;
            let labels = labels_for(&args.labels, logits.len())?;
            (logits, labels, None)
        }
    };
    let about = about.as_ref();
    // The rows shown: every token, or the `top` most likely (by logit, ties by index).
    let top = args
        .top
        .or(about.and_then(|m| m.prompt.as_ref()).map(|_| 20));
    let shown: Vec<usize> = {
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        order.truncate(top.unwrap_or(usize::MAX));
        order
    };
    if args.temperature.len() > 1 {
        if chain_flags_given(&args) {
            bail!(
                "the processor chain takes one --temperature; several values ({}) only print the \
                 temperature table, so drop --top-k/--top-p/--min-p/--typical-p/--epsilon/\
                 --repetition-penalty/--draw or give one temperature",
                args.temperature
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        return print_table_only(&args, &labels, &logits, about, shown.len());
    }

    let defaults = SamplingConfig::default();
    let config = SamplingConfig {
        repetition_penalty: args
            .repetition_penalty
            .unwrap_or(defaults.repetition_penalty),
        temperature: args
            .temperature
            .first()
            .copied()
            .unwrap_or(defaults.temperature),
        top_k: args.top_k.unwrap_or(defaults.top_k),
        top_p: args.top_p.unwrap_or(defaults.top_p),
        min_p: args.min_p.unwrap_or(defaults.min_p),
        typical_p: args.typical_p.unwrap_or(defaults.typical_p),
        epsilon: args.epsilon.unwrap_or(defaults.epsilon),
        min_tokens_to_keep: args.min_tokens_to_keep,
    };
    let draw = args.draw.map(|n| (n, args.seed));
    let report = LogitsReport::new(&logits, labels.clone(), &config, &args.context, draw)?;
    let mut table = temperature_table(&labels, &logits, &args.temperature)?;
    table.rows.truncate(shown.len());

    if args.json {
        let mut out = report.to_json();
        if let Some(m) = about {
            out["model"] = m.json();
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }

    if let Some(m) = about {
        println!("{}", m.describe());
        println!();
    }
    print!("{}", table.render());
    println!();
    let processed = &report.processed;
    println!("chain: {}", report.chain);
    println!("  (order: repetition penalty, temperature, top-k, top-p, min-p, typical-p, epsilon;");
    println!("   Hugging Face's order. llama.cpp applies temperature last. See --help.)");
    let v = logits.len();
    for (i, s) in processed.steps.iter().enumerate() {
        println!(
            "  {}. {:<24} {} of {} kept",
            i + 1,
            s.label,
            kept_of(&s.scores).len(),
            v
        );
    }
    println!();
    print_steps(&labels, processed, &shown);
    println!();
    let d = &processed.distribution;
    if processed.greedy {
        println!(
            "temperature 0: greedy decoding; the argmax {} is chosen with probability 1",
            labels[d.argmax()]
        );
    } else {
        println!(
            "kept {} of {} (probabilities renormalised over the kept set; they sum to 1):",
            d.kept().len(),
            v
        );
    }
    let mut rows = vec![vec![
        "class".to_string(),
        "score".to_string(),
        "probability".to_string(),
    ]];
    for (&i, &p) in d
        .kept()
        .iter()
        .zip(d.kept_probabilities())
        .take(shown.len())
    {
        rows.push(vec![
            labels[i].clone(),
            fmt_score(processed.scores[i]),
            format!("{p:.6}"),
        ]);
    }
    print_aligned(&rows);
    if let Some(Draws { n, counts: c, .. }) = &report.draws {
        let n = *n;
        println!();
        println!(
            "{n} draws, seed {} (stream \"{SAMPLE_STREAM}\"):",
            args.seed
        );
        let mut rows = vec![vec![
            "class".to_string(),
            "count".to_string(),
            "frequency".to_string(),
            "probability".to_string(),
        ]];
        for (&i, &p) in d.kept().iter().zip(d.kept_probabilities()) {
            let f = if n == 0 { 0.0 } else { c[i] as f64 / n as f64 };
            rows.push(vec![
                labels[i].clone(),
                c[i].to_string(),
                format!("{f:.4}"),
                format!("{p:.4}"),
            ]);
        }
        print_aligned(&rows);
    }
    Ok(())
}

/// True if any flag of the processor chain or of drawing was given.
fn chain_flags_given(a: &Args) -> bool {
    a.top_k.is_some()
        || a.top_p.is_some()
        || a.min_p.is_some()
        || a.typical_p.is_some()
        || a.epsilon.is_some()
        || a.repetition_penalty.is_some()
        || a.draw.is_some()
}

fn print_table_only(
    args: &Args,
    labels: &[String],
    logits: &[f32],
    about: Option<&ModelRow>,
    top: usize,
) -> Result<()> {
    let mut table = temperature_table(labels, logits, &args.temperature)?;
    table.rows.truncate(top);
    if args.json {
        let mut out = table.to_json();
        if let Some(m) = about {
            out["model"] = m.json();
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if let Some(m) = about {
            println!("{}", m.describe());
            println!();
        }
        print!("{}", table.render());
    }
    Ok(())
}

/// One input of a trained classifier: its logits, its class labels and where it came from.
struct ModelRow {
    /// The model directory.
    dir: PathBuf,
    /// The model kind (softmax, mlp, ...).
    kind: String,
    /// Where the rows came from, e.g. `iris (test split)` or a CSV path.
    source: String,
    /// The row shown, from 0.
    row: usize,
    /// The number of rows of the source.
    rows: usize,
    /// The row's true class, when the data have a target.
    target: Option<String>,
    /// The model's logits for the row (`[classes]`).
    logits: Vec<f32>,
    /// The model's class labels (a language model's tokens), in logit order.
    labels: Vec<String>,
    /// A language model's prompt.
    prompt: Option<String>,
}

impl ModelRow {
    fn describe(&self) -> String {
        if let Some(p) = &self.prompt {
            return format!(
                "model {} ({}): the next token after the prompt {p:?} ({} tokens)",
                self.dir.display(),
                self.kind,
                self.rows
            );
        }
        let target = self
            .target
            .as_ref()
            .map(|t| format!("; true class {t}"))
            .unwrap_or_default();
        format!(
            "model {} ({}): row {} of {} from {}{target}",
            self.dir.display(),
            self.kind,
            self.row,
            self.rows,
            self.source
        )
    }

    fn json(&self) -> Value {
        json!({
            "dir": self.dir.display().to_string(),
            "kind": self.kind,
            "source": self.source,
            "row": self.row,
            "rows": self.rows,
            "target": self.target,
            "prompt": self.prompt,
        })
    }
}

/// Loads a classifier, prepares `--dataset`/`--data` with its stored preprocessing (as
/// `predict` does) and returns the logits of row `row`.
fn model_row(
    dir: &std::path::Path,
    row: usize,
    dataset: Option<&str>,
    data: Option<&std::path::Path>,
) -> Result<ModelRow> {
    let model = TrainedModel::load(dir)?;
    if !model.is_classifier() {
        bail!(
            "logits are for classifiers: {} is a regression model (kind {}), whose output is the \
             predicted value itself",
            dir.display(),
            model.config.kind
        );
    }
    let inputs = prep::model_inputs(&model, dataset, data, false)?;
    let (x, ds) = (&inputs.x, &inputs.dataset);
    let source = match (dataset, data) {
        (Some(name), _) => {
            if matches!(&model.config.source, Source::Bundled(n) if n == name) {
                format!("{name} (the model's test split)")
            } else {
                name.to_string()
            }
        }
        (None, Some(path)) => path.display().to_string(),
        (None, None) => String::new(),
    };
    let rows = ds.n_rows();
    if row >= rows {
        if rows == 0 {
            bail!("--row {row} is out of range: {source} has no rows");
        }
        bail!(
            "--row {row} is out of range: {source} has {rows} rows (valid rows: 0 to {})",
            rows - 1
        );
    }
    // The whole batch, as `predict` computes it, so both show the same logits to the last bit.
    let out = model.outputs(x)?;
    let logits = out.row(row).to_vec();
    let labels = model.config.classes.clone();
    if labels.len() != logits.len() {
        bail!(
            "{}: the model has {} outputs but {} class labels",
            dir.display(),
            logits.len(),
            labels.len()
        );
    }
    let target = ds
        .labels()
        .and_then(|l| l.get(row))
        .and_then(|&k| ds.class_names().get(k).cloned());
    Ok(ModelRow {
        dir: dir.to_path_buf(),
        kind: model.config.kind.to_string(),
        source,
        row,
        rows,
        target,
        logits,
        labels,
        prompt: None,
    })
}

/// Loads a language model and returns its next-token logits after `prompt` (the last position
/// of the prompt, cropped from the left to the context), one label per token (characters with
/// whitespace and control characters escaped: `\n`, `' '`).
fn next_token_row(dir: &std::path::Path, prompt: &str) -> Result<ModelRow> {
    use learnable::tokenizer::Tokenizer;
    let model = learnable::lm::LanguageModel::load(dir)?;
    let ids = model.tokenizer.encode(prompt)?;
    let window = &ids[ids.len().saturating_sub(model.config.block_size)..];
    let out = model.net.forward_inference(&model.store, window)?;
    let logits = out.row(out.shape()[0] - 1).to_vec();
    let labels = (0..model.config.vocab_size)
        .map(|id| model.tokenizer.label(id))
        .collect();
    Ok(ModelRow {
        dir: dir.to_path_buf(),
        kind: "gpt".into(),
        source: "prompt".into(),
        row: ids.len(),
        rows: ids.len(),
        target: None,
        logits,
        labels,
        prompt: Some(prompt.to_string()),
    })
}

/// Parses `--values`; each entry is an f32 (`-inf`, `inf` and `nan` parse, and the library
/// then rejects `inf`/`nan` with a typed error).
fn parse_values(values: &[String]) -> Result<Vec<f32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.trim()
                .parse::<f32>()
                .with_context(|| format!("--values entry {i} ({s:?}) is not a number"))
        })
        .collect()
}

fn labels_for(labels: &[String], n: usize) -> Result<Vec<String>> {
    if labels.is_empty() {
        return Ok((0..n).map(|i| i.to_string()).collect());
    }
    if labels.len() != n {
        bail!("--labels has {} entries but --values has {n}", labels.len());
    }
    Ok(labels.to_vec())
}

fn fmt_score(x: f32) -> String {
    if x == f32::NEG_INFINITY {
        "-inf".to_string()
    } else {
        format!("{x:.4}")
    }
}

/// The score and probability of the `shown` tokens after each stage (input, then each step).
fn print_steps(labels: &[String], p: &Processed, shown: &[usize]) {
    let mut stages: Vec<(&str, &[f32])> = vec![("input", &p.input)];
    stages.extend(
        p.steps
            .iter()
            .map(|s| (s.label.as_str(), s.scores.as_slice())),
    );
    let probs: Vec<Vec<f64>> = stages
        .iter()
        .map(|(_, s)| {
            learnable::sampling::Distribution::from_scores(s)
                .map(|d| d.probabilities())
                .unwrap_or_else(|_| vec![0.0; s.len()])
        })
        .collect();
    let mut header = vec!["class".to_string()];
    for (name, _) in &stages {
        header.push(name.to_string());
        header.push("p".to_string());
    }
    let mut rows = vec![header];
    for &i in shown {
        let mut line = vec![labels[i].clone()];
        for (k, (_, s)) in stages.iter().enumerate() {
            line.push(fmt_score(s[i]));
            line.push(format!("{:.4}", probs[k][i]));
        }
        rows.push(line);
    }
    print_aligned(&rows);
}

/// Prints rows of cells, first column left-aligned, the others right-aligned (labels longer than
/// `learnable::text::MAX_CELL_CHARS` shortened with an ellipsis).
fn print_aligned(rows: &[Vec<String>]) {
    use learnable::text::{Align, render_table};
    print!("{}", render_table(rows, &[Align::Left], "  "));
}
