//! One logits report: a row of logits (`[V]`) with its labels, the scores after each processor
//! of a [`SamplingChain`], the distribution a sampler draws from and, optionally, the counts of
//! `n` seeded draws. `learnable logits` prints it as tables or as JSON ([`LogitsReport::to_json`]),
//! and an HTTP front end can return the same JSON object.

use serde_json::{Value, json};

use crate::rng::Rng;

use super::{Processed, SAMPLE_STREAM, SamplingConfig, SamplingError, TemperatureTable};

/// Counts of seeded draws from a processed distribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Draws {
    /// Number of draws.
    pub n: u64,
    /// The seed; the draws use its stream [`SAMPLE_STREAM`].
    pub seed: u64,
    /// Draws per token (`[V]`; 0 for removed tokens).
    pub counts: Vec<u64>,
}

/// A row of logits through a sampling chain, step by step.
#[derive(Clone, Debug)]
pub struct LogitsReport {
    /// Token (class) labels in logit order (`[V]`).
    pub labels: Vec<String>,
    /// The chain, as [`super::SamplingChain::describe`] writes it.
    pub chain: String,
    /// Input, per-step scores and final distribution.
    pub processed: Processed,
    /// Seeded draws, when asked for.
    pub draws: Option<Draws>,
}

impl LogitsReport {
    /// Runs `logits` (`[V]`) with `labels` (`[V]`) through the chain `config` builds, with
    /// `context` (token ids seen so far, for the repetition penalty), and draws `draw = (n,
    /// seed)` times if given (temperature 0: all `n` on the argmax).
    ///
    /// # Errors
    /// Invalid settings or logits ([`SamplingError`]); [`SamplingError::Shape`] when `labels`
    /// and `logits` differ in length.
    pub fn new(
        logits: &[f32],
        labels: Vec<String>,
        config: &SamplingConfig,
        context: &[usize],
        draw: Option<(u64, u64)>,
    ) -> Result<LogitsReport, SamplingError> {
        if labels.len() != logits.len() {
            return Err(SamplingError::Shape {
                op: "logits report",
                expected: format!("{} labels, one per logit", logits.len()),
                got: format!("{} labels", labels.len()),
            });
        }
        let chain = config.build()?;
        let processed = chain.process(logits, context)?;
        let draws = draw.map(|(n, seed)| Draws {
            n,
            seed,
            counts: draw_counts(&processed, n, seed),
        });
        Ok(LogitsReport {
            labels,
            chain: chain.describe(),
            processed,
            draws,
        })
    }

    /// The report as JSON: `logits`, `labels`, `chain`, `greedy`, `steps` (each `processor`,
    /// `scores`, `kept`), `kept`, `scores`, `probabilities`, and with draws `draws`, `seed`,
    /// `stream`, `counts`. Removed tokens' `-inf` scores are `null`; floats are written as their
    /// shortest round-trip decimal.
    pub fn to_json(&self) -> Value {
        let p = &self.processed;
        let mut out = json!({
            "logits": json_floats(&p.input),
            "labels": self.labels,
            "chain": self.chain,
            "greedy": p.greedy,
            "steps": p.steps.iter().map(|s| json!({
                "processor": s.label,
                "scores": json_floats(&s.scores),
                "kept": kept_of(&s.scores),
            })).collect::<Vec<_>>(),
            "kept": p.distribution.kept(),
            "scores": json_floats(&p.scores),
            "probabilities": p.distribution.probabilities(),
        });
        if let Some(d) = &self.draws {
            out["draws"] = json!(d.n);
            out["seed"] = json!(d.seed);
            out["stream"] = json!(SAMPLE_STREAM);
            out["counts"] = json!(d.counts);
        }
        out
    }
}

impl TemperatureTable {
    /// The table as JSON: `temperatures` and `rows` (each `index`, `label`, `logit`,
    /// `probabilities`).
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "index": r.index,
                    "label": r.label,
                    "logit": json_float(r.logit),
                    "probabilities": r.probabilities,
                })
            })
            .collect();
        json!({ "temperatures": self.temperatures, "rows": rows })
    }
}

/// Counts of `n` draws from the processed distribution, one stream per seed
/// ([`SAMPLE_STREAM`]); greedy decoding puts all `n` on the argmax.
pub fn draw_counts(p: &Processed, n: u64, seed: u64) -> Vec<u64> {
    let d = &p.distribution;
    if p.greedy {
        let mut c = vec![0; d.vocab()];
        c[d.argmax()] = n;
        return c;
    }
    d.sample_counts(n, &mut Rng::new(seed, SAMPLE_STREAM))
}

/// The indices of the tokens a step kept (score not `-inf`).
pub fn kept_of(scores: &[f32]) -> Vec<usize> {
    (0..scores.len())
        .filter(|&i| scores[i] != f32::NEG_INFINITY)
        .collect()
}

/// An f32 as JSON: its shortest round-trip decimal (4.2, not 4.199999809265137); non-finite
/// values (removed tokens, -inf) become null.
pub fn json_float(x: f32) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// [`json_float`] of each value.
pub fn json_floats(xs: &[f32]) -> Vec<Value> {
    xs.iter().map(|&x| json_float(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_draws_all_land_on_the_argmax_and_json_names_the_stream() {
        let config = SamplingConfig {
            temperature: 0.0,
            ..SamplingConfig::default()
        };
        let labels = vec!["a".into(), "b".into(), "c".into()];
        let r = LogitsReport::new(&[4.2, 2.1, -1.3], labels, &config, &[], Some((7, 1))).unwrap();
        assert_eq!(r.draws.as_ref().unwrap().counts, vec![7, 0, 0]);
        let j = r.to_json();
        assert_eq!(j["stream"], SAMPLE_STREAM);
        assert_eq!(j["logits"][0], serde_json::json!(4.2));
        assert_eq!(j["greedy"], true);
    }

    #[test]
    fn top_k_removes_tokens_that_json_shows_as_null_and_not_kept() {
        let config = SamplingConfig {
            top_k: 2,
            ..SamplingConfig::default()
        };
        let labels = vec!["a".into(), "b".into(), "c".into()];
        let r = LogitsReport::new(&[4.2, 2.1, -1.3], labels, &config, &[], None).unwrap();
        let j = r.to_json();
        assert_eq!(j["kept"], serde_json::json!([0, 1]));
        assert_eq!(j["scores"][2], Value::Null);
        assert!(j.get("draws").is_none());
        let bad = LogitsReport::new(&[1.0, 2.0], vec!["a".into()], &config, &[], None);
        assert!(bad.is_err());
    }
}
