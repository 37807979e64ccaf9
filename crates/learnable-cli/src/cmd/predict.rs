//! `learnable predict`: a CSV of predictions; classifiers add one probability column per class,
//! and with `--logits` the raw logits. `--temperature T` divides the logits before softmax
//! (T = 0: the argmax gets probability 1).
//!
//! With `--sample --seed N [--temperature T --top-k K --top-p P --min-p P]` the predicted class is
//! drawn from the processed distribution instead of taken as the argmax (an `argmax` column
//! stays next to it), and the probability columns show that processed distribution. The
//! processing and the draws are `learnable::sampling`'s: a [`SamplingChain`] in Hugging Face's
//! order and [`sample_rows`], where row `i` draws from its own stream `"sample.row.{i}"` of the
//! seed, so the output does not depend on the number of threads.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use learnable::sampling::{SAMPLE_STREAM, SamplingChain, SamplingConfig, sample_rows};

use learnable::inference::Predictor;

use crate::flags::{Given, print_warnings};
use crate::prep;

const PREDICT_HELP: &str = "\
Columns (classifiers): row, prediction, [argmax with --sample], one p_CLASS per
class, [one logit_CLASS per class with --logits].

Without --sample the prediction is the argmax of the logits (the lowest index on
ties) and p_CLASS = softmax(logits / T) (T = --temperature, default 1; T = 0 puts
probability 1 on the argmax).

With --sample the prediction is drawn from the processed distribution: the
logits go through the chain temperature -> top-k -> top-p -> min-p (Hugging
Face's order, as in `learnable logits`: temperature first, then truncation;
llama.cpp applies temperature last), and p_CLASS are the probabilities of that
processed distribution actually used for the draw: softmax over the kept
classes, renormalised so that they sum to 1, and 0 for the classes that a
truncation removed. --temperature 0 is greedy (the argmax with probability 1,
nothing drawn). Row i draws one number from the seeded ChaCha8 stream
\"sample.row.i\" of --seed, so the same seed gives the same predictions on every
run, machine and thread count, and each row's draw does not depend on the others.

Examples:
  learnable predict --model runs/iris --dataset iris --logits
  learnable predict --model runs/iris --dataset iris --temperature 0
  learnable predict --model runs/iris --dataset iris --sample --seed 1
  learnable predict --model runs/iris --dataset iris --sample --seed 1 \\
      --temperature 2 --top-p 0.9
";

/// Arguments of `learnable predict`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "With --sample the probability columns show the processed distribution the \
                  class was drawn from (kept classes renormalised, 0 elsewhere). --help says more.",
    after_long_help = PREDICT_HELP
)]
pub struct Args {
    /// Model directory written by `learnable train`.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV file with the model's input columns, in any order (the target column and other
    /// columns the model does not use are ignored, with a note on stderr).
    #[arg(long, conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Print the CSV header the model's --data file needs (its input columns, in the stored
    /// order) and nothing else; stderr names the categorical columns and their known values.
    #[arg(long, conflicts_with_all = ["data", "dataset"])]
    pub template: bool,
    /// A bundled dataset instead of a file (its test split for the model's own dataset).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Write the CSV here (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Add the raw logits (classifiers).
    #[arg(long)]
    pub logits: bool,
    /// Divide the logits by T before softmax (T >= 0; 0 means greedy: probability 1 on the argmax).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f64,
    /// Draw the predicted class from the processed distribution instead of taking the argmax;
    /// the probability columns then show that distribution (kept classes renormalised, 0
    /// elsewhere).
    #[arg(long)]
    pub sample: bool,
    /// Seed of the draws of --sample (row i uses the stream "sample.row.i").
    #[arg(long, default_value_t = 0, requires = "sample", allow_negative_numbers = true, value_parser = crate::flags::count::<u64>(0))]
    pub seed: u64,
    /// With --sample: keep the k most probable classes, ties at the k-th kept (0 = no limit).
    #[arg(long, requires = "sample", allow_negative_numbers = true)]
    pub top_k: Option<i64>,
    /// With --sample: keep the smallest most-probable set of classes with mass >= p, 0..=1.
    #[arg(long, requires = "sample", allow_negative_numbers = true)]
    pub top_p: Option<f64>,
    /// With --sample: keep classes with probability >= min_p x the largest one, 0..=1.
    #[arg(long, requires = "sample", allow_negative_numbers = true)]
    pub min_p: Option<f64>,
}

impl Args {
    /// The validated processor chain: only the temperature without `--sample`, the whole chain
    /// with it. Errors name the invalid parameter, its value and the allowed range.
    fn chain(&self) -> Result<SamplingChain> {
        let d = SamplingConfig::default();
        let config = SamplingConfig {
            temperature: self.temperature,
            top_k: self.top_k.unwrap_or(d.top_k),
            top_p: self.top_p.unwrap_or(d.top_p),
            min_p: self.min_p.unwrap_or(d.min_p),
            ..d
        };
        Ok(config.build()?)
    }
}

/// Runs `learnable predict`; `given` names the flags typed on the command line (a warning is
/// printed for each that does not apply to the model).
pub fn run(args: Args, given: &Given) -> Result<()> {
    if args.template {
        return template(&args);
    }
    // Validate the flags before loading anything, so a typo costs no time.
    let chain = args.chain()?;
    let predictor = Predictor::load(&args.model)?;
    let model = predictor.model();
    if args.sample && !model.is_classifier() {
        bail!(
            "--sample draws a class from a classifier's probabilities, but {} is a regression \
             model (kind {}); drop --sample",
            args.model.display(),
            model.config.kind
        );
    }
    if !model.is_classifier() {
        let ignored: Vec<String> = [("logits", "--logits"), ("temperature", "--temperature")]
            .into_iter()
            .filter(|(id, _)| given.has(id))
            .map(|(_, flag)| {
                format!(
                    "{flag} has no effect with a regression model ({} is kind {}; it predicts values, not class logits)",
                    args.model.display(),
                    model.config.kind
                )
            })
            .collect();
        print_warnings(&ignored);
    }
    let inputs = prep::model_inputs(model, args.dataset.as_deref(), args.data.as_deref(), false)?;
    let pred = predictor.predict(&inputs)?;
    let n = pred.len();
    let mut w = csv::Writer::from_writer(Vec::new());
    let classes = model.classes();
    if model.is_classifier() {
        let drawn = if args.sample {
            Some(sample_rows(&chain, &pred.outputs, &[], args.seed).context("--sample")?)
        } else {
            None
        };
        let mut header = vec!["row".to_string(), "prediction".to_string()];
        if args.sample {
            header.push("argmax".to_string());
        }
        header.extend(classes.iter().map(|c| format!("p_{c}")));
        if args.logits {
            header.extend(classes.iter().map(|c| format!("logit_{c}")));
        }
        w.write_record(&header)?;
        let best = pred.class_indices();
        for i in 0..n {
            let logits = pred.row(i);
            let probs = pred.probabilities(i, &chain)?;
            let mut rec = vec![i.to_string()];
            match &drawn {
                Some(s) => {
                    rec.push(classes[s[i].index].clone());
                    rec.push(classes[best[i]].clone());
                }
                None => rec.push(classes[best[i]].clone()),
            }
            rec.extend(probs.iter().map(|p| format!("{p:.6}")));
            if args.logits {
                rec.extend(logits.iter().map(|l| format!("{l:.6}")));
            }
            w.write_record(&rec)?;
        }
    } else {
        w.write_record(["row", "prediction"])?;
        for i in 0..n {
            w.write_record([i.to_string(), pred.label(i)])?;
        }
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    match &args.out {
        Some(path) => {
            learnable::io::write_atomic(path, &bytes)?;
            eprintln!("wrote {n} predictions to {}", path.display());
            if args.sample {
                eprintln!(
                    "predictions sampled with seed {} (stream \"{SAMPLE_STREAM}.row.<row>\"); chain: {}",
                    args.seed,
                    chain.describe()
                );
            }
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

/// `--template`: the header line of the model's input columns on stdout (or in --out), and a
/// note on stderr naming the categorical columns with their known categories. Reads only
/// config.json.
fn template(args: &Args) -> Result<()> {
    let config = learnable::model_dir::ModelDir::new(&args.model).read_config()?;
    let columns = config.input_columns();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| c.name.as_str()))?;
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    match &args.out {
        Some(path) => {
            learnable::io::write_atomic(path, &bytes)?;
            eprintln!(
                "wrote the header of {} to {}",
                args.model.display(),
                path.display()
            );
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    let categorical: Vec<String> = columns
        .iter()
        .filter_map(|c| {
            let cats = c.categories.as_ref()?;
            let shown: Vec<&str> = cats.iter().take(20).map(String::as_str).collect();
            let more = if cats.len() > 20 {
                format!(", and {} more", cats.len() - 20)
            } else {
                String::new()
            };
            Some(format!("{} ({}{more})", c.name, shown.join(", ")))
        })
        .collect();
    let numeric = columns.len() - categorical.len();
    if categorical.is_empty() {
        eprintln!(
            "note: {} input column{}, all numbers; add one row per input (columns in any order)",
            columns.len(),
            if columns.len() == 1 { "" } else { "s" }
        );
    } else {
        eprintln!(
            "note: {} input columns: {numeric} numeric, categorical: {}; add one row per input \
             (columns in any order)",
            columns.len(),
            categorical.join("; ")
        );
    }
    Ok(())
}
