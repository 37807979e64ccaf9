//! A language model's life: text to tokens, training through the one loop
//! ([`crate::train::fit`], with step-based epochs), the model directory (the same
//! [`ModelDir`] files: config.json, model.safetensors, history.csv, checkpoint/) and generation.
//!
//! ```no_run
//! use learnable::fit::{FitConfig, FitOptions, ModelKind};
//! use learnable::lm::{TextData, TextSource, fit_lm};
//!
//! let config = FitConfig { max_steps: 200, ..FitConfig::defaults(ModelKind::Gpt) };
//! let data = TextData::prepare(&TextSource::Bundled("tiny_shakespeare".into()), &config, 0.1)?;
//! let model = fit_lm(&config, &data, FitOptions::default())?;
//! model.save("runs/shakespeare")?;
//! let text = model.generate_text("ROMEO:", 100, &Default::default(), 0, |_| true)?;
//! # Ok::<(), learnable::Error>(())
//! ```
//!
//! The directory is readable by Hugging Face transformers: config.json is a `GPT2Config`
//! (`model_type` `gpt2`) with learnable's own record under the key `learnable`, and
//! model.safetensors holds `GPT2LMHeadModel`'s tensors (Conv1D weights `[in, out]`), so
//! `GPT2LMHeadModel.from_pretrained(DIR)` loads it. The tokenizer is stored in config.json
//! (`learnable.tokenizer`: the character vocabulary `{"chars": [...]}`, or `{"name": "gpt2"}`
//! for GPT-2's BPE).
//!
//! [`LanguageModel::load`] also reads a transformers GPT-2 directory that has no `learnable`
//! record (config.json + model.safetensors as `save_pretrained` writes them): it then uses
//! GPT-2's byte-level BPE.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::text::TokenWindows;
use crate::error::{Error, Result};
use crate::fit::{DataShape, FitConfig, FitOptions};
use crate::model_dir::{FitRecord, ModelDir, sha256_hex};
use crate::models::gpt::{Gpt, GptConfig, Step, generate_steps, hf};
use crate::param::ParamStore;
use crate::rng::Rng;
use crate::sampling::SamplingConfig;
use crate::tokenizer::{StreamDecoder, TextTokenizer, Tokenizer, TokenizerKind};
use crate::train::{self, TrainState};

/// `format` of learnable's record in a language model's config.json.
pub const LM_FORMAT: &str = "learnable-lm";
/// Its version.
pub const LM_FORMAT_VERSION: u32 = 1;

/// Where a training text comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextSource {
    /// A bundled corpus by name ([`crate::data::bundled::texts`]).
    Bundled(String),
    /// A UTF-8 text file.
    File(PathBuf),
}

impl TextSource {
    /// The text.
    ///
    /// # Errors
    /// The bundled corpus' errors; [`Error::Io`] naming the file; [`Error::Data`] for a file
    /// that is not UTF-8 (naming the byte offset) or holds no text.
    pub fn read(&self) -> Result<String> {
        let text = match self {
            TextSource::Bundled(n) => crate::data::bundled::load_text(n)?,
            TextSource::File(p) => {
                let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
                String::from_utf8(bytes).map_err(|e| {
                    Error::Data(format!(
                        "{}: not UTF-8 text (invalid byte at offset {})",
                        p.display(),
                        e.utf8_error().valid_up_to()
                    ))
                })?
            }
        };
        if text.is_empty() {
            return Err(Error::Data(format!("{}: the text is empty", self.name())));
        }
        Ok(text)
    }

    /// The corpus name, or the file path.
    pub fn name(&self) -> String {
        match self {
            TextSource::Bundled(n) => n.clone(),
            TextSource::File(p) => p.display().to_string(),
        }
    }

    /// A short name for paths: the corpus name or the file's stem.
    pub fn short_name(&self) -> String {
        match self {
            TextSource::Bundled(n) => n.clone(),
            TextSource::File(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "text".into()),
        }
    }
}

/// A text ready for training: its tokenizer, the training windows (every start)
/// and a fixed seeded sample of `eval_iters · batch_size` validation windows from the last
/// `val_fraction` of the text.
#[derive(Clone, Debug)]
pub struct TextData {
    /// Where the text came from.
    pub source: TextSource,
    /// Fraction of the text (its end) held out for validation.
    pub val_fraction: f64,
    /// The tokenizer: the whole text's character vocabulary, or GPT-2's BPE.
    pub tokenizer: TextTokenizer,
    /// Training windows.
    pub train: TokenWindows,
    /// Validation windows, if the validation part holds one.
    pub val: Option<TokenWindows>,
    /// Tokens of the whole text.
    pub n_tokens: usize,
    /// Characters (Unicode scalar values) of the whole text.
    pub n_chars: usize,
}

impl TextData {
    /// Reads `source`, builds the tokenizer of `config.tokenizer` (a character vocabulary of
    /// the whole text, or GPT-2's BPE) and cuts the token stream: the first
    /// `1 − val_fraction` trains, the rest validates (nanoGPT's shakespeare_char `prepare.py`).
    ///
    /// # Errors
    /// The source's errors; [`Error::InvalidArgument`] naming `val_fraction` outside `[0, 1)`;
    /// [`Error::Data`] when the training part is shorter than `block_size + 1` tokens.
    pub fn prepare(source: &TextSource, config: &FitConfig, val_fraction: f64) -> Result<TextData> {
        let text = source.read()?;
        let tokenizer = TextTokenizer::for_text(config.tokenizer, &text)?;
        let ids = tokenizer.encode(&text)?;
        let n_tokens = ids.len();
        let (train_ids, val_ids) = crate::data::text::split_tokens(&ids, val_fraction)?;
        let train = TokenWindows::new(train_ids, config.block_size).map_err(|e| match e {
            Error::Data(m) => Error::Data(format!("{}: training part: {m}", source.name())),
            e => e,
        })?;
        let val = if val_ids.len() > config.block_size {
            Some(TokenWindows::sampled(
                val_ids,
                config.block_size,
                config.eval_iters * config.batch_size,
                config.seed,
            )?)
        } else {
            None
        };
        Ok(TextData {
            source: source.clone(),
            val_fraction,
            tokenizer,
            train,
            val,
            n_tokens,
            n_chars: text.chars().count(),
        })
    }

    /// What the fit configuration needs to know of the text.
    pub fn shape(&self) -> DataShape {
        DataShape {
            validation: self.val.is_some(),
            classification: true,
            val_size: crate::data::split::SplitSize::Fraction(self.val_fraction),
        }
    }

    /// The architecture `config` asks for on this text's vocabulary (biases on, as GPT-2).
    pub fn gpt_config(&self, config: &FitConfig) -> GptConfig {
        GptConfig {
            n_layer: config.n_layer,
            n_head: config.n_head,
            n_embd: config.n_embd,
            block_size: config.block_size,
            vocab_size: self.tokenizer.vocab_size(),
            dropout: config.dropout,
            bias: true,
        }
    }

    /// The settings a resumed run must repeat (see [`FitConfig::resume_settings`]).
    pub fn resume_settings(&self, config: &FitConfig) -> BTreeMap<String, String> {
        let mut out = config.own_resume_settings();
        out.insert("source".into(), self.source.name());
        out.insert("val_fraction".into(), self.val_fraction.to_string());
        out
    }
}

/// learnable's record in a language model's config.json (under the key `learnable`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LmRecord {
    /// Always [`LM_FORMAT`].
    pub format: String,
    /// [`LM_FORMAT_VERSION`].
    pub version: u32,
    /// `gpt`.
    pub kind: String,
    /// The tokenizer: `{"chars": [...]}` (characters in id order) or `{"name": "gpt2"}`
    /// ([`TextTokenizer::to_json_value`]).
    pub tokenizer: serde_json::Value,
    /// Where the training text came from.
    pub source: TextSource,
    /// Fraction of the text held out for validation.
    pub val_fraction: f64,
    /// Seed of initialisation, batches and dropout.
    pub seed: u64,
    /// How the fit ran.
    pub training: FitRecord,
    /// Metrics at the end of training: `val_loss` (nats per token), `val_bits_per_char`,
    /// `val_perplexity`, `train_seconds`, `tokens_per_second`.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// SHA-256 of model.safetensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

/// A language model's loss on a text ([`LanguageModel::evaluate_text`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TextLoss {
    /// Tokens of the text.
    pub tokens: usize,
    /// Tokens predicted (`tokens − 1`: all but the first).
    pub predictions: usize,
    /// Windows of at most `block_size` inputs the text was cut into.
    pub windows: usize,
    /// Mean cross-entropy, nats per predicted token.
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
    /// Character models: `loss / ln 2` (one token per character).
    pub bits_per_char: Option<f64>,
    /// GPT-2 BPE models: total nats / (ln 2 · UTF-8 bytes of the predicted tokens), comparable
    /// across tokenizers.
    pub bits_per_byte: Option<f64>,
    /// UTF-8 bytes of the predicted tokens (the text without its first token).
    pub predicted_bytes: usize,
}

/// A language model: architecture, parameters, tokenizer and, when learnable trained it, its
/// record.
#[derive(Clone, Debug)]
pub struct LanguageModel {
    /// The architecture.
    pub config: GptConfig,
    /// Parameters, under GPT-2's names in `[out, in]` layout.
    pub store: ParamStore,
    /// The network bound to `store`.
    pub net: Gpt,
    /// The tokenizer.
    pub tokenizer: TextTokenizer,
    /// learnable's record; `None` for a directory that transformers wrote.
    pub record: Option<LmRecord>,
    /// The loop's state and history, when trained in this process.
    pub history: Option<TrainState>,
}

/// Trains a GPT on `data` through the one training loop ([`crate::train::fit`]): random
/// windows, `eval_interval` steps per evaluation round, cross-entropy over the vocabulary,
/// AdamW with weight decay on matrices only, the configured schedule and clipping,
/// checkpoints and resume as for every model ([`Checkpointer`]).
///
/// # Errors
/// [`Error::InvalidArgument`] for a configuration that is not a `gpt` or has an invalid setting;
/// [`Error::Diverged`]; checkpoint and resume errors as [`crate::fit::fit_with`].
pub fn fit_lm(
    config: &FitConfig,
    data: &TextData,
    options: FitOptions<'_>,
) -> Result<LanguageModel> {
    let started = Instant::now();
    if !config.model.is_language_model() {
        return Err(Error::invalid(
            "model",
            config.model,
            "gpt (a language model) for a text",
        ));
    }
    config.validate()?;
    let gpt_config = data.gpt_config(config);
    gpt_config.validate()?;
    let mut store = ParamStore::new();
    let net = Gpt::new(
        gpt_config.clone(),
        &mut store,
        &mut Rng::new(config.seed, "init"),
    )?;
    store.decay_matrices_only();
    let mut opt = config.optimizer_config().build()?;
    let cfg = config.train_config(data.train.windows());
    cfg.validate()?;
    let state = crate::fit::run_loop(
        &net,
        &mut store,
        opt.as_mut(),
        &data.train,
        data.val.as_ref(),
        &cfg,
        data.resume_settings(config),
        options,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let mut record = FitRecord::of(config, &data.shape(), "gradient descent".into());
    record.stop_reason = state.stop_reason.clone();
    record.best_val_loss = state.best;
    let mut metrics = BTreeMap::new();
    if let Some(val) = &data.val {
        let (loss, accuracy) = train::evaluate(&net, &store, val, &cfg)?;
        metrics.insert("val_loss".into(), loss);
        metrics.insert("val_accuracy".into(), accuracy);
        if config.tokenizer == TokenizerKind::Char {
            // One token per character: nats per token / ln 2 = bits per character.
            metrics.insert("val_bits_per_char".into(), loss / std::f64::consts::LN_2);
        }
        metrics.insert("val_perplexity".into(), loss.exp());
    }
    metrics.insert("train_seconds".into(), seconds);
    let tokens = state.global_step as f64 * (cfg.step_rows() * config.block_size) as f64;
    metrics.insert("tokens_per_second".into(), tokens / seconds.max(1e-9));
    let record = LmRecord {
        format: LM_FORMAT.into(),
        version: LM_FORMAT_VERSION,
        kind: config.model.to_string(),
        tokenizer: data.tokenizer.to_json_value(),
        source: data.source.clone(),
        val_fraction: data.val_fraction,
        seed: config.seed,
        training: record,
        metrics,
        weights_sha256: None,
    };
    Ok(LanguageModel {
        config: gpt_config,
        store,
        net,
        tokenizer: data.tokenizer.clone(),
        record: Some(record),
        history: Some(state),
    })
}

impl LanguageModel {
    /// Generates up to `max_new_tokens` tokens after `prompt` (see
    /// [`crate::models::gpt::generate`]); each new token's text goes to `on_text` as it is
    /// drawn (return `false` to stop); a BPE token that ends inside a character waits for the
    /// rest of it ([`StreamDecoder`]). A prompt longer than `block_size` tokens is cropped from
    /// the left by the generator.
    ///
    /// # Errors
    /// [`Error::Data`] naming a prompt character outside the vocabulary and its position;
    /// [`Error::InvalidArgument`] for an empty prompt; sampling errors.
    pub fn generate_text(
        &self,
        prompt: &str,
        max_new_tokens: usize,
        sampling: &SamplingConfig,
        seed: u64,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<String> {
        self.generate_text_steps(prompt, max_new_tokens, sampling, seed, |piece, _| {
            piece.is_empty() || on_text(piece)
        })
    }

    /// [`LanguageModel::generate_text`] that calls `on_step` exactly once per generated token
    /// with the text it completes (empty while a BPE token ends inside a character; the last
    /// token's text includes a character left unfinished, as U+FFFD) and the [`Step`] (token,
    /// its sampling probability, the raw logits); return `false` to stop (bytes of an
    /// unfinished character are then dropped). Same tokens as
    /// [`LanguageModel::generate_text`].
    ///
    /// # Errors
    /// As [`LanguageModel::generate_text`].
    pub fn generate_text_steps(
        &self,
        prompt: &str,
        max_new_tokens: usize,
        sampling: &SamplingConfig,
        seed: u64,
        mut on_step: impl FnMut(&str, &Step<'_>) -> bool,
    ) -> Result<String> {
        let ids = self.tokenizer.encode(prompt)?;
        let mut out = String::new();
        let mut decode_error = None;
        let mut stream = StreamDecoder::new();
        let mut remaining = max_new_tokens;
        generate_steps(
            &self.net,
            &self.store,
            &ids,
            max_new_tokens,
            sampling,
            seed,
            |step| match self.tokenizer.token_bytes(step.token) {
                Ok(b) => {
                    let mut s = stream.push(&b);
                    remaining -= 1;
                    if remaining == 0 {
                        // The last token: a character left unfinished comes out as U+FFFD.
                        s.push_str(&stream.finish());
                    }
                    out.push_str(&s);
                    on_step(&s, step)
                }
                Err(e) => {
                    decode_error = Some(e);
                    false
                }
            },
        )?;
        match decode_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Loads an llm.c GPT-2 checkpoint (`.bin`, [`crate::models::gpt::llmc`]) with GPT-2's
    /// byte-level BPE (llm.c trains on GPT-2 tokens).
    ///
    /// # Errors
    /// [`crate::models::gpt::llmc::read_llmc`]'s; [`Error::Format`] naming the file if its
    /// vocabulary is not GPT-2's 50,257 tokens (no other tokenizer can be known).
    pub fn load_llmc(path: impl AsRef<Path>) -> Result<LanguageModel> {
        let path = path.as_ref();
        let (config, store) = crate::models::gpt::llmc::read_llmc(path)?;
        let tokenizer = TextTokenizer::Gpt2(crate::tokenizer::Gpt2Tokenizer::new());
        if config.vocab_size != tokenizer.vocab_size() {
            return Err(Error::Format {
                path: path.display().to_string(),
                reason: format!(
                    "vocabulary of {} tokens: an llm.c checkpoint is read with GPT-2's BPE \
                     ({} tokens), the only tokenizer it can have",
                    config.vocab_size,
                    tokenizer.vocab_size()
                ),
            });
        }
        let net = Gpt::from_store(config.clone(), &store)?;
        Ok(LanguageModel {
            config,
            store,
            net,
            tokenizer,
            record: None,
            history: None,
        })
    }

    /// Writes the model as an llm.c version-3 checkpoint (`.bin`; see
    /// [`crate::models::gpt::llmc::write_llmc`]), atomically.
    ///
    /// # Errors
    /// As [`crate::models::gpt::llmc::write_llmc`].
    pub fn save_llmc(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::models::gpt::llmc::write_llmc(path, &self.config, &self.store)
    }

    /// The model's loss on `text`, nanoGPT / transformers style: the text's tokens are cut
    /// into consecutive, non-overlapping windows of `block_size + 1` tokens that share their
    /// edge token (inputs `ids[s..s + block_size]`, targets `ids[s + 1..s + block_size + 1]`,
    /// `s = 0, block_size, 2·block_size, ...`; the last window may be shorter), so every token
    /// but the first is predicted exactly once, from the tokens before it in its window (0 to
    /// `block_size − 1` of context; transformers' perplexity recipe with stride = context).
    /// Cross-entropy in nats per predicted token, accumulated in f64 (log-sum-exp of each row
    /// minus the target's logit), on the inference forward (no dropout).
    ///
    /// A text of exactly `T <= block_size` tokens gives transformers'
    /// `GPT2LMHeadModel(input_ids, labels=input_ids).loss`.
    ///
    /// # Errors
    /// The tokenizer's (a character outside the vocabulary, named with its position);
    /// [`Error::Data`] for a text of fewer than 2 tokens (nothing to predict).
    pub fn evaluate_text(&self, text: &str) -> Result<TextLoss> {
        self.evaluate_ids(&self.tokenizer.encode(text)?)
    }

    /// [`LanguageModel::evaluate_text`] on token ids (e.g. the validation part of a corpus,
    /// [`crate::data::text::split_tokens`]).
    ///
    /// # Errors
    /// [`Error::Data`] for fewer than 2 ids; [`Error::InvalidArgument`] naming an id
    /// `>= vocab_size` and its position.
    pub fn evaluate_ids(&self, ids: &[usize]) -> Result<TextLoss> {
        if ids.len() < 2 {
            return Err(Error::Data(format!(
                "the text has {} token{}: at least 2 are needed to predict one",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            )));
        }
        let bs = self.config.block_size;
        let v = self.config.vocab_size;
        if let Some(i) = ids.iter().position(|&id| id >= v) {
            return Err(Error::invalid(
                &format!("ids[{i}]"),
                ids[i],
                &format!("a token id < vocab_size = {v}"),
            ));
        }
        let prepared = self.net.prepare(&self.store);
        let mut cache = self.net.new_cache();
        let (mut nats, mut windows, mut predictions) = (0.0f64, 0usize, 0usize);
        let mut start = 0;
        while start + 1 < ids.len() {
            let end = (start + bs).min(ids.len() - 1);
            cache.clear();
            let logits = prepared.forward_cached(&ids[start..end], &mut cache)?;
            for (row, &target) in logits.data().chunks_exact(v).zip(&ids[start + 1..=end]) {
                nats += crate::kernels::softmax::logsumexp_f64(row) - row[target] as f64;
            }
            predictions += end - start;
            windows += 1;
            start = end;
        }
        let loss = nats / predictions as f64;
        let predicted_bytes = ids[1..]
            .iter()
            .map(|&id| self.tokenizer.token_bytes(id).map(|b| b.len()))
            .sum::<Result<usize>>()?;
        let ln2 = std::f64::consts::LN_2;
        Ok(TextLoss {
            tokens: ids.len(),
            predictions,
            windows,
            loss,
            perplexity: loss.exp(),
            bits_per_char: match self.tokenizer {
                TextTokenizer::Char(_) => Some(loss / ln2),
                TextTokenizer::Gpt2(_) => None,
            },
            bits_per_byte: match self.tokenizer {
                TextTokenizer::Char(_) => None,
                TextTokenizer::Gpt2(_) => Some(nats / (ln2 * predicted_bytes as f64)),
            },
            predicted_bytes,
        })
    }

    /// Writes the model directory as one unit: history.csv, model.safetensors (transformers'
    /// `GPT2LMHeadModel` tensors), then config.json (a `GPT2Config` plus `learnable`, with the
    /// weights' SHA-256) last, each atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that could not be written.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let md = ModelDir::new(dir.as_ref());
        std::fs::create_dir_all(&md.dir).map_err(|e| Error::io(&md.dir, e))?;
        md.clean_temporary_files();
        let tensors = hf::to_hf_tensors(&self.store)?;
        let weights =
            crate::io::safetensors_bytes(tensors.iter().map(|(n, t)| (n.as_str(), t)), None)?;
        let mut config = self.config.to_hf_config();
        if let Some(record) = &self.record {
            let mut record = record.clone();
            record.weights_sha256 = Some(sha256_hex(&weights));
            config["learnable"] =
                serde_json::to_value(&record).map_err(|e| Error::Other(e.to_string()))?;
        }
        let text =
            serde_json::to_string_pretty(&config).map_err(|e| Error::Other(e.to_string()))?;
        if let Some(h) = &self.history {
            crate::io::write_atomic(md.history(), h.history_csv().as_bytes())?;
        }
        crate::io::write_atomic(md.weights(), &weights)?;
        crate::io::write_atomic(md.config(), text.as_bytes())?;
        Ok(())
    }

    /// Loads a language model directory: one written by [`LanguageModel::save`] (config.json
    /// with learnable's record, model.safetensors with its SHA-256 checked), or one written by
    /// transformers' `GPT2LMHeadModel.save_pretrained` (config.json without a `learnable`
    /// record: the weights' keys with or without the `transformer.` prefix, Conv1D weights
    /// transposed, the `attn.bias` / `attn.masked_bias` buffers skipped, `lm_head.weight`
    /// tied; see [`hf::from_hf_tensors`]), which gets GPT-2's byte-level BPE; or, given a file
    /// rather than a directory, an llm.c checkpoint ([`LanguageModel::load_llmc`]). Tensors go
    /// through the hardened safetensors reader; names and shapes are checked by
    /// [`Gpt::from_store`].
    ///
    /// # Errors
    /// [`Error::Missing`] for a directory that does not exist; [`Error::Format`] naming
    /// config.json and the field for a config that is neither (a `model_type` other than
    /// `gpt2`, an activation other than `gelu_new`, a layer-norm epsilon other than 1e-5, a
    /// transformers model whose `vocab_size` is not GPT-2's 50257 since no other tokenizer can
    /// be read); the weights' errors as for every model directory.
    pub fn load(dir: impl AsRef<Path>) -> Result<LanguageModel> {
        if dir.as_ref().is_file() {
            return Self::load_llmc(dir);
        }
        let md = ModelDir::new(dir.as_ref());
        if !md.dir.is_dir() {
            return Err(Error::Missing(format!(
                "model directory {} does not exist",
                md.dir.display()
            )));
        }
        let path = md.config();
        let text = crate::io::read_to_string_capped(
            &path,
            crate::model_dir::MAX_CONFIG_BYTES,
            "model config",
        )?;
        let value: serde_json::Value = crate::io::parse_json(&text, &path.display().to_string())?;
        let bad = |reason: String| Error::Format {
            path: path.display().to_string(),
            reason,
        };
        let record: Option<LmRecord> = match value.get("learnable") {
            Some(r) => Some(
                serde_json::from_value(r.clone()).map_err(|e| bad(format!("learnable: {e}")))?,
            ),
            None => None,
        };
        let config = if record.is_some() {
            let field = |k: &str| -> Result<usize> {
                value
                    .get(k)
                    .and_then(|v| v.as_u64())
                    .map(|v| v as usize)
                    .ok_or_else(|| bad(format!("`{k}` is missing or not a whole number >= 0")))
            };
            GptConfig {
                n_layer: field("n_layer")?,
                n_head: field("n_head")?,
                n_embd: field("n_embd")?,
                block_size: field("n_positions")?,
                vocab_size: field("vocab_size")?,
                dropout: 0.0,
                bias: true,
            }
        } else {
            hf_gpt2_config(&value).map_err(|e| match e {
                Error::Format { .. } => e,
                e => bad(e.to_string()),
            })?
        };
        config.validate()?;
        let tokenizer = match &record {
            Some(r) => TextTokenizer::from_json_value(&r.tokenizer)
                .map_err(|e| bad(format!("learnable.tokenizer: {e}")))?,
            None => TextTokenizer::Gpt2(crate::tokenizer::Gpt2Tokenizer::new()),
        };
        if config.vocab_size != tokenizer.vocab_size() {
            let (what, hint) = match (&record, &tokenizer) {
                (_, TextTokenizer::Char(_)) => ("characters", ""),
                (Some(_), _) => ("tokens", ""),
                (None, _) => (
                    "tokens",
                    " (a transformers directory without learnable's record is read with \
                     GPT-2's BPE, the only tokenizer learnable can read from it)",
                ),
            };
            return Err(bad(format!(
                "vocab_size {} but the tokenizer has {} {what}{hint}",
                config.vocab_size,
                tokenizer.vocab_size(),
            )));
        }
        let weights = md.weights();
        if !weights.exists() {
            return Err(Error::Missing(format!(
                "{} does not exist (a language model directory holds config.json and \
                 model.safetensors; pytorch_model.bin is not read)",
                weights.display()
            )));
        }
        crate::size::safetensors_header::open_header(&weights)?;
        let bytes = std::fs::read(&weights).map_err(|e| Error::io(&weights, e))?;
        if let Some(want) = record.as_ref().and_then(|r| r.weights_sha256.as_ref()) {
            if &sha256_hex(&bytes) != want {
                return Err(Error::Format {
                    path: weights.display().to_string(),
                    reason: format!(
                        "its SHA-256 differs from the one in {}: the weights and the config come from different saves",
                        path.display()
                    ),
                });
            }
        }
        let tensors = crate::io::parse_safetensors(&bytes, &weights.display().to_string())?;
        let store = hf::from_hf_tensors(tensors)?;
        let net = Gpt::from_store(config.clone(), &store)?;
        Ok(LanguageModel {
            config,
            store,
            net,
            tokenizer,
            record,
            history: None,
        })
    }
}

/// The [`GptConfig`] of a transformers `GPT2Config` (config.json as JSON), refusing what this
/// architecture does not compute: another `model_type`, `activation_function` other than
/// `gelu_new` (or its alias `gelu_pytorch_tanh`), `layer_norm_epsilon` other than 1e-5,
/// `scale_attn_weights` false, `scale_attn_by_inverse_layer_idx` or `reorder_and_upcast_attn`
/// true (the last computes the same function in f32, so it is accepted).
///
/// # Errors
/// [`Error::Format`]-worthy messages as [`Error::Data`] naming the field and its value.
fn hf_gpt2_config(v: &serde_json::Value) -> Result<GptConfig> {
    let t = crate::size::hf_config::from_json(v, "config.json")
        .map_err(|e| Error::Data(e.to_string()))?;
    let get = |k: &str| v.get(k).filter(|x| !x.is_null());
    if let Some(a) = get("activation_function") {
        if !matches!(a.as_str(), Some("gelu_new" | "gelu_pytorch_tanh")) {
            return Err(Error::Data(format!(
                "activation_function {a} (learnable's GPT computes gelu_new, GELU with the tanh approximation)"
            )));
        }
    }
    if let Some(e) = get("layer_norm_epsilon") {
        let ok = e
            .as_f64()
            .is_some_and(|e| (e - crate::models::gpt::LN_EPS as f64).abs() <= 1e-12);
        if !ok {
            return Err(Error::Data(format!(
                "layer_norm_epsilon {e} (learnable's GPT uses {})",
                crate::models::gpt::LN_EPS
            )));
        }
    }
    for (k, want) in [
        ("scale_attn_weights", true),
        ("scale_attn_by_inverse_layer_idx", false),
    ] {
        if let Some(x) = get(k)
            && x.as_bool() != Some(want)
        {
            return Err(Error::Data(format!(
                "{k} {x} (learnable's GPT computes {k} = {want})"
            )));
        }
    }
    GptConfig::from_transformer(&t)
}

/// Whether `dir` holds a language model: its config.json is a transformers config
/// (`model_type`, as learnable's GPT directories and `save_pretrained` write), rather than a
/// tabular model's, or `dir` is an llm.c checkpoint file. False when config.json is missing or
/// not JSON.
pub fn is_language_model_dir(dir: impl AsRef<Path>) -> bool {
    if dir.as_ref().is_file() {
        return crate::models::gpt::llmc::is_llmc_file(dir);
    }
    let path = ModelDir::new(dir.as_ref()).config();
    crate::io::read_to_string_capped(&path, crate::model_dir::MAX_CONFIG_BYTES, "model config")
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("model_type").is_some())
}
