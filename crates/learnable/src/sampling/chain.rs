//! The processor chain: a validated [`SamplingConfig`] becomes a [`SamplingChain`] that turns a
//! row of logits into the [`Distribution`] a sampler draws from.
//!
//! # Order
//!
//! 1. repetition penalty (CTRL rule),
//! 2. temperature (`0` = greedy: stop here and take the argmax),
//! 3. top-k, 4. top-p, 5. min-p, 6. typical-p, 7. epsilon cutoff.
//!
//! This is Hugging Face transformers' order (`GenerationMixin._get_logits_processor`:
//! penalties, then `TemperatureLogitsWarper` first among the warpers, then TopK, TopP, MinP,
//! Typical, Epsilon), so a truncation sees the temperature-scaled distribution: with `T = 2`,
//! `top_p = 0.9` keeps more tokens than at `T = 1`. llama.cpp's default chain
//! (`common/sampling`: penalties, top-k, typical, top-p, min-p, ..., temperature, dist) applies
//! temperature last, so its truncations see the `T = 1` distribution and temperature only
//! reshapes the survivors. Top-k gives the same kept set in both orders (temperature does not
//! change the ranking); top-p, min-p, typical-p and epsilon generally do not.

use serde::{Deserialize, Serialize};

use super::distribution::Distribution;
use super::error::{SamplingError, validate_logits};
use super::processors::{
    EpsilonCutoff, LogitsProcessor, MinP, RepetitionPenalty, Temperature, TopK, TopP, TypicalP,
};

/// Sampling hyperparameters as a user writes them (CLI flags, JSON). Every field has a value
/// that switches its processor off; [`SamplingConfig::build`] validates all fields, active or
/// not, and names the first invalid one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// CTRL repetition penalty for tokens in the context; `> 0`, `1` = off (default).
    pub repetition_penalty: f64,
    /// Softmax temperature; `>= 0`. `0` = greedy (argmax, probability 1), `1` = off (default).
    pub temperature: f64,
    /// Keep the k highest scores (ties kept); `>= 0`, `0` = no limit (default). An `i64` so a
    /// negative value is reported as an error rather than wrapped.
    pub top_k: i64,
    /// Nucleus mass; `0 <= top_p <= 1`, `1` = off (default), `0` = keep one token.
    pub top_p: f64,
    /// Relative probability floor; `0 <= min_p <= 1`, `0` = off (default).
    pub min_p: f64,
    /// Typical-sampling mass; `0 < typical_p <= 1`, `1` = off (default).
    pub typical_p: f64,
    /// Absolute probability floor (epsilon cutoff); `0 <= epsilon < 1`, `0` = off (default).
    pub epsilon: f64,
    /// Every truncation keeps at least this many tokens; `>= 1`, default 1 (as HF).
    pub min_tokens_to_keep: i64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            repetition_penalty: 1.0,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            typical_p: 1.0,
            epsilon: 0.0,
            min_tokens_to_keep: 1,
        }
    }
}

impl SamplingConfig {
    /// Greedy decoding: temperature 0, nothing else.
    pub fn greedy() -> Self {
        SamplingConfig {
            temperature: 0.0,
            ..Self::default()
        }
    }

    /// Validates every field and builds the chain of active processors in the documented order.
    ///
    /// # Errors
    /// [`SamplingError::InvalidParameter`] naming the first invalid field: a NaN anywhere,
    /// `temperature < 0`, `top_k < 0`, `top_p` outside [0, 1], `min_p` outside [0, 1],
    /// `typical_p` outside (0, 1], `epsilon` outside [0, 1), `repetition_penalty <= 0`,
    /// `min_tokens_to_keep < 1`.
    pub fn build(&self) -> Result<SamplingChain, SamplingError> {
        let mtk = usize::try_from(self.min_tokens_to_keep)
            .ok()
            .filter(|&m| m >= 1)
            .ok_or_else(|| {
                SamplingError::invalid("min_tokens_to_keep", self.min_tokens_to_keep, ">= 1")
            })?;
        let mut processors: Vec<Box<dyn LogitsProcessor>> = Vec::new();

        let penalty = RepetitionPenalty::new(self.repetition_penalty)?;
        if self.repetition_penalty != 1.0 {
            processors.push(Box::new(penalty));
        }

        let t = self.temperature;
        if t.is_nan() || t < 0.0 || !t.is_finite() {
            return Err(SamplingError::invalid(
                "temperature",
                t,
                "a finite number >= 0 (0 = greedy)",
            ));
        }
        let greedy = t == 0.0;
        if !greedy && t != 1.0 {
            processors.push(Box::new(Temperature::new(t)?));
        }

        // Truncations are validated even when greedy makes them irrelevant.
        let top_k = TopK::new(self.top_k, mtk)?;
        let top_p = TopP::new(self.top_p, mtk)?;
        let min_p = MinP::new(self.min_p, mtk)?;
        let typical = if self.typical_p == 1.0 {
            None
        } else {
            Some(TypicalP::new(self.typical_p, mtk)?)
        };
        let epsilon = if self.epsilon == 0.0 {
            None
        } else {
            Some(EpsilonCutoff::new(self.epsilon, mtk)?)
        };
        if !greedy {
            if self.top_k != 0 {
                processors.push(Box::new(top_k));
            }
            if self.top_p != 1.0 {
                processors.push(Box::new(top_p));
            }
            if self.min_p != 0.0 {
                processors.push(Box::new(min_p));
            }
            if let Some(p) = typical {
                processors.push(Box::new(p));
            }
            if let Some(p) = epsilon {
                processors.push(Box::new(p));
            }
        }
        Ok(SamplingChain {
            config: self.clone(),
            processors,
            greedy,
        })
    }
}

/// One recorded step of [`SamplingChain::process`]: the scores after a processor.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The processor's label, e.g. `top_k(2)`, or `greedy` for temperature 0.
    pub label: String,
    /// The scores after the step (`[vocab]`, removed tokens are `-inf`).
    pub scores: Vec<f32>,
}

/// The full trace of one row through the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    /// The input logits.
    pub input: Vec<f32>,
    /// The scores after each processor, in chain order.
    pub steps: Vec<Step>,
    /// The final scores (the last step's, or the input if the chain is empty).
    pub scores: Vec<f32>,
    /// What a sampler draws from: the kept tokens and their renormalised probabilities.
    pub distribution: Distribution,
    /// True when temperature 0 chose greedy decoding.
    pub greedy: bool,
}

/// A validated, ordered list of processors (see the module docs for the order), plus the
/// greedy switch of temperature 0.
#[derive(Debug)]
pub struct SamplingChain {
    config: SamplingConfig,
    processors: Vec<Box<dyn LogitsProcessor>>,
    greedy: bool,
}

impl SamplingChain {
    /// The config it was built from.
    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// The active processors in application order (temperature 0 leaves only the penalty).
    pub fn processors(&self) -> &[Box<dyn LogitsProcessor>] {
        &self.processors
    }

    /// True when temperature 0 selects greedy decoding.
    pub fn is_greedy(&self) -> bool {
        self.greedy
    }

    /// The chain as text, e.g. `repetition_penalty(1.3) -> temperature(0.7) -> top_k(2)`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.processors.iter().map(|p| p.label()).collect();
        if self.greedy {
            parts.push("greedy (temperature 0)".to_string());
        }
        if parts.is_empty() {
            "(no processors: plain softmax)".to_string()
        } else {
            parts.join(" -> ")
        }
    }

    /// Runs one row (`[vocab]` logits) through the chain, recording every step.
    ///
    /// `context` holds the token ids seen so far (for the repetition penalty; ids index the row).
    ///
    /// # Errors
    /// Invalid logits ([`validate_logits`]), [`SamplingError::ContextOutOfRange`],
    /// [`SamplingError::Overflow`].
    pub fn process(&self, logits: &[f32], context: &[usize]) -> Result<Processed, SamplingError> {
        self.run(logits, context, true)
    }

    /// Like [`Self::process`] but records no steps (the fast path for sampling).
    ///
    /// # Errors
    /// As [`Self::process`].
    pub fn distribution(
        &self,
        logits: &[f32],
        context: &[usize],
    ) -> Result<Distribution, SamplingError> {
        Ok(self.run(logits, context, false)?.distribution)
    }

    fn run(
        &self,
        logits: &[f32],
        context: &[usize],
        record: bool,
    ) -> Result<Processed, SamplingError> {
        validate_logits(logits)?;
        let mut scores = logits.to_vec();
        let mut steps = Vec::new();
        for p in &self.processors {
            p.process(context, &mut scores)?;
            if record {
                steps.push(Step {
                    label: p.label(),
                    scores: scores.clone(),
                });
            }
        }
        let distribution = if self.greedy {
            let best = argmax(&scores)?;
            for (i, s) in scores.iter_mut().enumerate() {
                if i != best {
                    *s = f32::NEG_INFINITY;
                }
            }
            if record {
                steps.push(Step {
                    label: "greedy".to_string(),
                    scores: scores.clone(),
                });
            }
            Distribution::point(best, scores.len())
        } else {
            Distribution::from_scores(&scores)?
        };
        Ok(Processed {
            input: logits.to_vec(),
            steps,
            scores,
            distribution,
            greedy: self.greedy,
        })
    }
}

/// The index of the largest logit; ties go to the lowest index (like `torch.argmax`'s first
/// occurrence and NumPy's `argmax`).
///
/// # Errors
/// The row must pass [`validate_logits`].
pub fn argmax(logits: &[f32]) -> Result<usize, SamplingError> {
    validate_logits(logits)?;
    Ok(crate::metrics::argmax(logits))
}
