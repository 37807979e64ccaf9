//! `learnable datasets`: lists the bundled datasets (name, rows, features, task, source) from
//! `learnable::data::bundled::list`, then the text corpora for language models
//! (`bundled::texts`: characters instead of rows, task `text`), as an aligned table or, with
//! `--json`, as a JSON array.

use std::io::Write;

use learnable::data::{Task, bundled};

/// Arguments of `learnable datasets`.
#[derive(clap::Args)]
pub struct Args {
    /// Print a JSON array (name, rows, test_rows, features, classes, task, description, source)
    /// instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `learnable datasets`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut all = serde_json::to_value(bundled::list())?;
        if let Some(list) = all.as_array_mut() {
            for t in bundled::texts() {
                let mut v = serde_json::to_value(t)?;
                v["task"] = "text".into();
                list.push(v);
            }
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(());
    }
    out.write_all(table().as_bytes())?;
    writeln!(out, "data folder: {}", bundled::data_dir().display())?;
    Ok(())
}

/// The table as text: a header line, then one line per dataset, columns separated by two spaces
/// and padded to the widest cell: counts right-aligned, text left-aligned, the last column not
/// padded. A dataset with a fixed test split shows its rows as `TRAIN+TEST`.
pub fn table() -> String {
    let header = ["name", "rows", "features", "task", "source"]
        .map(String::from)
        .to_vec();
    let mut rows = vec![header];
    for info in bundled::list() {
        let n_rows = if info.test_rows > 0 {
            format!("{}+{}", info.rows, info.test_rows)
        } else {
            info.rows.to_string()
        };
        let task = match info.task {
            Task::Classification => format!("classification ({} classes)", info.classes),
            Task::Regression => "regression".to_string(),
        };
        rows.push(vec![
            info.name.to_string(),
            n_rows,
            info.features.to_string(),
            task,
            info.source.to_string(),
        ]);
    }
    for t in bundled::texts() {
        rows.push(vec![
            t.name.to_string(),
            format!("{} chars", t.chars),
            "-".to_string(),
            "text (language model)".to_string(),
            t.source.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|j| rows.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(j, (cell, &w))| match j {
                1 | 2 => format!("{cell:>w$}"),
                4 => cell.clone(),
                _ => format!("{cell:<w$}"),
            })
            .collect();
        text += &cells.join("  ");
        text.push('\n');
    }
    text
}
