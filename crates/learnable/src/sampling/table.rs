//! The seed-style logits table: class, logit, and its probability at `T = 1` and at other
//! temperatures, sorted by logit (largest first). Shared by `learnable logits`, `predict` and the
//! server, so all show the same numbers.
//!
//! ```text
//! class  logit   p(T=1)  p(T=0.5)  p(T=2)
//! cat     4.200   0.888     0.985   0.707
//! dog     2.100   0.109     0.015   0.248
//! car    -1.300   0.004     0.000   0.045
//! ```

use serde::Serialize;

use super::error::{SamplingError, validate_logits};

/// One class of a [`TemperatureTable`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableRow {
    /// Position of the class in the logits row.
    pub index: usize,
    /// The class label (its index as text when no labels were given).
    pub label: String,
    /// The raw logit (`-inf` serialises as `null`).
    pub logit: f32,
    /// `softmax(logits / T)[index]` for each of the table's temperatures, in f64.
    pub probabilities: Vec<f64>,
}

/// Probabilities of every class at several temperatures, rows sorted by logit descending
/// (ties by index).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemperatureTable {
    /// The temperatures of the columns: 1 first, then the requested ones (without repeats).
    pub temperatures: Vec<f64>,
    /// One row per class.
    pub rows: Vec<TableRow>,
}

/// Builds the table for one row of `logits` (`[V]`) with `labels` (`[V]`, or empty for the
/// indices) at `T = 1` and each of `temperatures`. Probabilities are `softmax(logits / T)` in
/// f64, computed as `exp((l - max) / T)` so that no temperature overflows; `T = 0` gives the
/// greedy one-hot (1 for the first largest logit).
///
/// # Errors
/// Invalid logits ([`validate_logits`]); [`SamplingError::Shape`] if `labels` is neither empty
/// nor as long as `logits`; [`SamplingError::InvalidParameter`] for a negative, NaN or
/// infinite temperature.
pub fn temperature_table(
    labels: &[String],
    logits: &[f32],
    temperatures: &[f64],
) -> Result<TemperatureTable, SamplingError> {
    validate_logits(logits)?;
    if !labels.is_empty() && labels.len() != logits.len() {
        return Err(SamplingError::Shape {
            op: "temperature_table",
            expected: format!("{} labels (one per logit)", logits.len()),
            got: format!("{} labels", labels.len()),
        });
    }
    let mut temps = vec![1.0];
    for &t in temperatures {
        if !(t >= 0.0) || !t.is_finite() {
            return Err(SamplingError::invalid(
                "temperature",
                t,
                "a finite number >= 0 (0 = greedy)",
            ));
        }
        if !temps.contains(&t) {
            temps.push(t);
        }
    }
    let columns: Vec<Vec<f64>> = temps.iter().map(|&t| probabilities_at(logits, t)).collect();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let rows = order
        .into_iter()
        .map(|i| TableRow {
            index: i,
            label: labels.get(i).cloned().unwrap_or_else(|| i.to_string()),
            logit: logits[i],
            probabilities: columns.iter().map(|c| c[i]).collect(),
        })
        .collect();
    Ok(TemperatureTable {
        temperatures: temps,
        rows,
    })
}

/// `softmax(logits / t)` in f64 for a validated row; `t = 0` is the greedy one-hot.
fn probabilities_at(logits: &[f32], t: f64) -> Vec<f64> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    if t == 0.0 {
        let best = logits.iter().position(|&l| l as f64 == m).unwrap_or(0);
        return (0..logits.len())
            .map(|i| if i == best { 1.0 } else { 0.0 })
            .collect();
    }
    let e: Vec<f64> = logits.iter().map(|&l| ((l as f64 - m) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

fn fmt_temperature(t: f64) -> String {
    format!("p(T={t})")
}

impl TemperatureTable {
    /// The table as aligned text, probabilities to 3 decimals, logits to 3 decimals. A label
    /// longer than [`crate::text::MAX_CELL_CHARS`] is shortened with an ellipsis (see
    /// [`crate::text::cell`]); the rows themselves keep the full label.
    pub fn render(&self) -> String {
        let mut header = vec!["class".to_string(), "logit".to_string()];
        header.extend(self.temperatures.iter().map(|&t| fmt_temperature(t)));
        let mut cells: Vec<Vec<String>> = vec![header];
        for r in &self.rows {
            let logit = if r.logit == f32::NEG_INFINITY {
                "-inf".to_string()
            } else {
                format!("{:.3}", r.logit)
            };
            let mut line = vec![r.label.clone(), logit];
            line.extend(r.probabilities.iter().map(|p| format!("{p:.3}")));
            cells.push(line);
        }
        crate::text::render_table(&cells, &[crate::text::Align::Left], "  ")
    }
}

impl std::fmt::Display for TemperatureTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}
