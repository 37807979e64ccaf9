//! `learnable eval`: accuracy, per-class precision/recall/F1 and the confusion matrix of a
//! classifier; MSE, MAE and R² of a regressor; for a language model (a GPT directory, learnable's
//! or transformers'), the loss on a text in nats per token, bits per character (character
//! models) or per byte (GPT-2 BPE), and perplexity (`learnable::lm::LanguageModel::evaluate_text`:
//! consecutive non-overlapping windows of the context length, every token but the first
//! predicted once).

use std::path::PathBuf;

use anyhow::{Result, bail};
use learnable::data::dataset::Target;
use learnable::inference::Predictor;
use learnable::metrics::{self, ClassReport};

use crate::prep;

/// Arguments of `learnable eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directory written by `learnable train` (a GPT: also a transformers GPT-2
    /// directory or an llm.c `.bin` checkpoint).
    #[arg(long)]
    pub model: PathBuf,
    /// A bundled dataset: its test split as the model's training run drew it (a language model:
    /// a bundled text such as tiny_shakespeare, its validation part, the last --val-fraction).
    #[arg(long, conflicts_with = "data")]
    pub dataset: Option<String>,
    /// Language model: a UTF-8 text file, evaluated whole.
    #[arg(long, conflicts_with_all = ["data", "dataset"])]
    pub text: Option<PathBuf>,
    /// Language model with --dataset: the fraction at the end of the text evaluated (default:
    /// the model's training split, else 0.1).
    #[arg(long, allow_negative_numbers = true)]
    pub val_fraction: Option<f64>,
    /// A CSV file with the model's feature columns and its target column.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `learnable eval`.
pub fn run(args: Args) -> Result<()> {
    if args.text.is_some() || learnable::lm::is_language_model_dir(&args.model) {
        return run_lm(&args);
    }
    if args.val_fraction.is_some() {
        bail!("--val-fraction is for a language model evaluated on a bundled text");
    }
    let model = Predictor::load(&args.model)?;
    let inputs = prep::model_inputs(
        model.model(),
        args.dataset.as_deref(),
        args.data.as_deref(),
        true,
    )?;
    let out = model.outputs(&inputs.x)?;
    let ds = &inputs.dataset;
    let n = ds.n_rows();
    let config = &model.model().config;
    if config.is_classifier() {
        let Target::Classes(truth) = ds.target() else {
            bail!(
                "{} has no class labels in its target column {:?}",
                ds.name(),
                config.target
            )
        };
        let pred = metrics::argmax_rows(&out);
        let classes = &config.classes;
        let rep = ClassReport::new(truth, &pred, classes.len())?;
        if args.json {
            let per: Vec<_> = classes
                .iter()
                .zip(&rep.per_class)
                .map(|(c, s)| serde_json::json!({"class": c, "precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "rows": n, "accuracy": rep.accuracy, "per_class": per, "confusion_matrix": rep.confusion, "classes": classes
                }))?
            );
            return Ok(());
        }
        println!("{} rows of {}", n, ds.name());
        println!("accuracy: {:.4}\n", rep.accuracy);
        // Labels longer than learnable::text::MAX_CELL_CHARS are shortened with an ellipsis
        // (the JSON output keeps them whole); padding never goes through format!'s width,
        // which panics beyond 65,535.
        use learnable::text::{Align, render_table};
        let mut rows = vec![
            ["class", "precision", "recall", "f1", "support"]
                .map(String::from)
                .to_vec(),
        ];
        for (c, sc) in classes.iter().zip(&rep.per_class) {
            let (p, r, f, s) = (sc.precision, sc.recall, sc.f1, sc.support);
            rows.push(vec![
                c.clone(),
                format!("{p:.4}"),
                format!("{r:.4}"),
                format!("{f:.4}"),
                s.to_string(),
            ]);
        }
        print!("{}", render_table(&rows, &[Align::Right], "  "));
        println!("\nconfusion matrix (rows: true class, columns: predicted class)");
        let mut rows = vec![
            std::iter::once(String::new())
                .chain(classes.iter().cloned())
                .collect(),
        ];
        for (c, row) in classes.iter().zip(&rep.confusion) {
            rows.push(
                std::iter::once(c.clone())
                    .chain(row.iter().map(|v| v.to_string()))
                    .collect(),
            );
        }
        print!("{}", render_table(&rows, &[Align::Right], " "));
    } else {
        let Target::Values(truth) = ds.target() else {
            bail!(
                "{} has no numeric values in its target column {:?}",
                ds.name(),
                config.target
            )
        };
        let pred: Vec<f64> = (0..n).map(|i| out.row(i)[0] as f64).collect();
        let (mse, mae, r2) = (
            metrics::mse(&pred, truth),
            metrics::mae(&pred, truth),
            metrics::r2(&pred, truth),
        );
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"rows": n, "mse": mse, "mae": mae, "r2": r2})
                )?
            );
        } else {
            println!("{} rows of {}", n, ds.name());
            println!("mse: {mse:.6}\nmae: {mae:.6}\nr2:  {r2:.6}");
        }
    }
    Ok(())
}

/// `learnable eval` of a language model on `--text FILE` or a bundled text's validation part.
fn run_lm(args: &Args) -> Result<()> {
    use learnable::lm::{LanguageModel, TextSource};
    if args.data.is_some() {
        bail!(
            "{} holds a language model (gpt): evaluate it on a text with --text FILE or --dataset tiny_shakespeare, not on a table (--data)",
            args.model.display()
        );
    }
    if let Some(name) = &args.dataset
        && !learnable::data::bundled::is_text(name)
    {
        bail!(
            "--dataset {name} is a table; {} holds a language model (gpt): give --text FILE or --dataset tiny_shakespeare",
            args.model.display()
        );
    }
    let model = LanguageModel::load(&args.model)?;
    let (source, part, loss) = match (&args.text, &args.dataset) {
        (Some(path), _) => {
            if args.val_fraction.is_some() {
                bail!("--val-fraction applies to --dataset; --text FILE is evaluated whole");
            }
            let source = TextSource::File(path.clone());
            let text = source.read()?;
            (
                source,
                "whole text".to_string(),
                model.evaluate_text(&text)?,
            )
        }
        (None, Some(name)) => {
            let source = TextSource::Bundled(name.clone());
            let fraction = args
                .val_fraction
                .or(model.record.as_ref().map(|r| r.val_fraction))
                .filter(|f| *f > 0.0)
                .unwrap_or(0.1);
            let ids = learnable::tokenizer::Tokenizer::encode(&model.tokenizer, &source.read()?)?;
            let (_, val) = learnable::data::text::split_tokens(&ids, fraction)?;
            (
                source,
                format!("last {fraction} of the text"),
                model.evaluate_ids(&val)?,
            )
        }
        (None, None) => bail!(
            "{} holds a language model (gpt): give --text FILE or --dataset tiny_shakespeare",
            args.model.display()
        ),
    };
    if args.json {
        let mut v = serde_json::to_value(&loss)?;
        v["source"] = source.name().into();
        v["part"] = part.into();
        v["tokenizer"] = model.tokenizer.kind().to_string().into();
        v["block_size"] = model.config.block_size.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "{} ({part}): {} tokens ({}), {} predicted in {} window(s) of up to {} tokens",
        source.name(),
        loss.tokens,
        model.tokenizer.kind(),
        loss.predictions,
        loss.windows,
        model.config.block_size
    );
    println!("loss:       {:.4} nats per token", loss.loss);
    if let Some(b) = loss.bits_per_char {
        println!("bits/char:  {b:.4}");
    }
    if let Some(b) = loss.bits_per_byte {
        println!("bits/byte:  {b:.4}");
    }
    println!("perplexity: {:.4}", loss.perplexity);
    Ok(())
}
