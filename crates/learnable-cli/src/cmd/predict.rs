//! `learnable predict`: a CSV of predictions; classifiers add one probability column per class,
//! and with `--logits` the raw logits. `--temperature T` divides the logits before softmax
//! (T = 0: the argmax gets probability 1).

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::model_dir::ModelDir;
use crate::prep;

/// Arguments of `learnable predict`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directory written by `learnable train`.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV file with the model's feature columns (the target column may be absent).
    #[arg(long, conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
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
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
}

/// Runs `learnable predict`.
pub fn run(args: Args) -> Result<()> {
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        bail!(
            "--temperature must be >= 0 and finite, got {}",
            args.temperature
        );
    }
    let model = ModelDir::load(&args.model)?;
    let (x, ds) = prep::load_for_model(
        args.dataset.as_deref(),
        args.data.as_deref(),
        &model.config,
        false,
    )?;
    let out = model.outputs(&x)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let classes = &model.config.classes;
    if model.is_classifier() {
        let mut header = vec!["row".to_string(), "prediction".to_string()];
        header.extend(classes.iter().map(|c| format!("p_{c}")));
        if args.logits {
            header.extend(classes.iter().map(|c| format!("logit_{c}")));
        }
        w.write_record(&header)?;
        for i in 0..ds.n_rows() {
            let logits = out.row(i);
            let probs = probabilities(logits, args.temperature);
            let best = learnable::train::argmax(logits);
            let mut rec = vec![i.to_string(), classes[best].clone()];
            rec.extend(probs.iter().map(|p| format!("{p:.6}")));
            if args.logits {
                rec.extend(logits.iter().map(|l| format!("{l:.6}")));
            }
            w.write_record(&rec)?;
        }
    } else {
        w.write_record(["row", "prediction"])?;
        for i in 0..ds.n_rows() {
            w.write_record([i.to_string(), format!("{}", out.row(i)[0])])?;
        }
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    match &args.out {
        Some(path) => {
            learnable::io::write_atomic(path, &bytes)?;
            eprintln!("wrote {} predictions to {}", ds.n_rows(), path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

/// softmax(logits / T); T = 0 puts probability 1 on the (first) argmax.
pub fn probabilities(logits: &[f32], temperature: f32) -> Vec<f32> {
    if temperature == 0.0 {
        let best = learnable::train::argmax(logits);
        return (0..logits.len())
            .map(|i| if i == best { 1.0 } else { 0.0 })
            .collect();
    }
    let scaled: Vec<f32> = logits.iter().map(|l| l / temperature).collect();
    learnable::softmax::softmax(&scaled)
}
