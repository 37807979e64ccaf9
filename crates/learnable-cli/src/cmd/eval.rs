//! `learnable eval`: accuracy, per-class precision/recall/F1 and the confusion matrix of a
//! classifier; MSE, MAE and R² of a regressor.

use std::path::PathBuf;

use anyhow::{Result, bail};
use learnable::data::dataset::Target;

use crate::model_dir::ModelDir;
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

/// Per-class precision, recall, F1 and support, and the confusion matrix
/// (`confusion[true][predicted]`), as scikit-learn's `classification_report`/`confusion_matrix`.
pub struct ClassReport {
    /// Fraction of rows predicted correctly.
    pub accuracy: f64,
    /// (precision, recall, f1, support) per class; 0 where undefined (sklearn's zero_division=0).
    pub per_class: Vec<(f64, f64, f64, usize)>,
    /// Counts: row = true class, column = predicted class.
    pub confusion: Vec<Vec<usize>>,
}

/// Computes a [`ClassReport`] from true and predicted class indices.
pub fn class_report(truth: &[usize], pred: &[usize], k: usize) -> ClassReport {
    let mut confusion = vec![vec![0usize; k]; k];
    for (&t, &p) in truth.iter().zip(pred) {
        confusion[t][p] += 1;
    }
    let correct: usize = (0..k).map(|i| confusion[i][i]).sum();
    let per_class = (0..k)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let predicted: usize = (0..k).map(|t| confusion[t][c]).sum();
            let support: usize = confusion[c].iter().sum();
            let precision = if predicted == 0 {
                0.0
            } else {
                tp / predicted as f64
            };
            let recall = if support == 0 {
                0.0
            } else {
                tp / support as f64
            };
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            (precision, recall, f1, support)
        })
        .collect();
    ClassReport {
        accuracy: correct as f64 / truth.len().max(1) as f64,
        per_class,
        confusion,
    }
}

/// Runs `learnable eval`.
pub fn run(args: Args) -> Result<()> {
    let model = ModelDir::load(&args.model)?;
    let (x, ds) = prep::load_for_model_in(
        Some(&args.model),
        args.dataset.as_deref(),
        args.data.as_deref(),
        &model.config,
        true,
    )?;
    let out = model.outputs(&x)?;
    let n = ds.n_rows();
    if model.is_classifier() {
        let Target::Classes(truth) = ds.target() else {
            bail!(
                "{} has no class labels in its target column {:?}",
                ds.name(),
                model.config.target
            )
        };
        let pred: Vec<usize> = (0..n)
            .map(|i| learnable::train::argmax(out.row(i)))
            .collect();
        let classes = &model.config.classes;
        let rep = class_report(truth, &pred, classes.len());
        if args.json {
            let per: Vec<_> = classes
                .iter()
                .zip(&rep.per_class)
                .map(|(c, (p, r, f, s))| serde_json::json!({"class": c, "precision": p, "recall": r, "f1": f, "support": s}))
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
        for (c, (p, r, f, s)) in classes.iter().zip(&rep.per_class) {
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
                model.config.target
            )
        };
        let pred: Vec<f64> = (0..n).map(|i| out.row(i)[0] as f64).collect();
        let mse = pred
            .iter()
            .zip(truth)
            .map(|(p, t)| (p - t).powi(2))
            .sum::<f64>()
            / n as f64;
        let mae = pred
            .iter()
            .zip(truth)
            .map(|(p, t)| (p - t).abs())
            .sum::<f64>()
            / n as f64;
        let mean = truth.iter().sum::<f64>() / n as f64;
        let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
        let r2 = if ss_tot == 0.0 {
            0.0
        } else {
            1.0 - mse * n as f64 / ss_tot
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_report_matches_a_hand_count() {
        // truth 0 0 1 1 2, pred 0 1 1 1 0: class 0 precision 1/2 recall 1/2; class 1 precision
        // 2/3 recall 1; class 2 precision 0 (no predictions) recall 0. accuracy 3/5.
        let r = class_report(&[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], 3);
        assert_eq!(r.accuracy, 0.6);
        assert_eq!(
            r.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert_eq!(r.per_class[0].0, 0.5);
        assert!((r.per_class[1].0 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.per_class[1].1, 1.0);
        assert!((r.per_class[1].2 - 0.8).abs() < 1e-12);
        assert_eq!(r.per_class[2], (0.0, 0.0, 0.0, 1));
    }
}
