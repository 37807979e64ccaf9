//! `learnable eval`: accuracy, per-class precision/recall/F1 and the confusion matrix of a
//! classifier; MSE, MAE and R² of a regressor.

use std::path::PathBuf;

use anyhow::{Result, bail};
use learnable::data::dataset::Target;
use learnable::inference::Predictor;
use learnable::metrics::{self, ClassReport};

use crate::prep;

/// Arguments of `learnable eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model directory written by `learnable train`.
    #[arg(long)]
    pub model: PathBuf,
    /// A bundled dataset: its test split as the model's training run drew it.
    #[arg(long, conflicts_with = "data")]
    pub dataset: Option<String>,
    /// A CSV file with the model's feature columns and its target column.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `learnable eval`.
pub fn run(args: Args) -> Result<()> {
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
