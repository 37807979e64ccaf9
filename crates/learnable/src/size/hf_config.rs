//! Reading a Hugging Face `config.json` (GPT-2, Llama, Mistral) into a [`TransformerConfig`].
//!
//! A key that is absent or `null` takes the default of the transformers config class
//! (`GPT2Config`, `LlamaConfig`, `MistralConfig` in transformers 5.x), exactly as
//! `AutoConfig.from_pretrained` would fill it in. The architecture is chosen by `model_type`,
//! or failing that by the first entry of `architectures`.

use serde_json::Value;

use super::SizeError;
use super::transformer::{FieldNames, Layout, TransformerConfig};

/// Architectures this reader understands (values of `model_type`).
pub const SUPPORTED_MODEL_TYPES: [&str; 3] = ["gpt2", "llama", "mistral"];

/// Whether `v` looks like a transformers config (has `model_type` or `architectures`).
pub fn looks_like_hf_config(v: &Value) -> bool {
    v.get("model_type").is_some() || v.get("architectures").is_some()
}

struct Fields<'a> {
    v: &'a Value,
    origin: &'a str,
}

impl Fields<'_> {
    fn err(&self, reason: String) -> SizeError {
        SizeError::Config {
            path: self.origin.to_string(),
            reason,
        }
    }

    /// A non-negative integer field; `default` if absent or null.
    fn uint(&self, key: &str, default: u64) -> Result<u64, SizeError> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(x) => x
                .as_u64()
                .ok_or_else(|| self.err(format!("{key} = {x} (allowed: a non-negative integer)"))),
        }
    }

    /// An optional non-negative integer field (`None` if absent or null).
    fn opt_uint(&self, key: &str) -> Result<Option<u64>, SizeError> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.uint(key, 0).map(Some),
        }
    }

    /// A boolean field; `default` if absent or null.
    fn boolean(&self, key: &str, default: bool) -> Result<bool, SizeError> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(x) => Err(self.err(format!("{key} = {x} (allowed: true or false)"))),
        }
    }
}

/// Reads a transformers `config.json` already parsed as JSON; `origin` names the file in
/// errors. Fails with [`SizeError::Config`] for an unsupported `model_type`, a field of the
/// wrong type, or dimensions that do not fit (see [`TransformerConfig::validate`]).
pub fn from_json(v: &Value, origin: &str) -> Result<TransformerConfig, SizeError> {
    let f = Fields { v, origin };
    if !v.is_object() {
        return Err(f.err("expected a JSON object".to_string()));
    }
    let architecture = v
        .get("architectures")
        .and_then(|a| a.as_array())
        .and_then(|a| a.first())
        .and_then(|a| a.as_str())
        .unwrap_or("");
    let model_type = match v.get("model_type").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None => {
            let a = architecture.to_ascii_lowercase();
            if a.starts_with("gpt2") {
                "gpt2".to_string()
            } else if a.starts_with("llama") {
                "llama".to_string()
            } else if a.starts_with("mistral") {
                "mistral".to_string()
            } else {
                return Err(f.err(format!(
                    "cannot tell the architecture: no model_type, architectures = {:?} (supported model_type: {})",
                    architecture,
                    SUPPORTED_MODEL_TYPES.join(", ")
                )));
            }
        }
    };
    // A base model (GPT2Model, LlamaModel) has no output head; everything else that we count
    // (GPT2LMHeadModel, LlamaForCausalLM, ...) does. No `architectures`: a causal LM.
    let lm_head = !matches!(architecture, "GPT2Model" | "LlamaModel" | "MistralModel");
    // How each field of the result is called in this file, for the errors of validate_as.
    let names: FieldNames;
    let mut cfg = match model_type.as_str() {
        "gpt2" => {
            // GPT2Config defaults: vocab_size 50257, n_positions 1024, n_embd 768, n_layer 12,
            // n_head 12, n_inner None (-> 4 * n_embd), tie_word_embeddings True,
            // add_cross_attention False. Old configs name n_positions `n_ctx`.
            let n_embd = f.uint("n_embd", 768)?;
            let positions_key =
                if f.opt_uint("n_positions")?.is_none() && f.opt_uint("n_ctx")?.is_some() {
                    "n_ctx"
                } else {
                    "n_positions"
                };
            let n_positions = match f.opt_uint("n_positions")? {
                Some(n) => n,
                None => f.uint("n_ctx", 1024)?,
            };
            let inner_given = f.opt_uint("n_inner")?.is_some();
            names = FieldNames {
                vocab_size: "vocab_size".into(),
                d_model: "n_embd".into(),
                n_layer: "n_layer".into(),
                n_head: "n_head".into(),
                // GPT-2 has no separate key/value heads: they are the query heads.
                n_kv_head: "n_head".into(),
                head_dim: "head_dim (n_embd / n_head)".into(),
                d_ff: if inner_given {
                    "n_inner".into()
                } else {
                    "n_inner (4 * n_embd)".into()
                },
                context_length: positions_key.into(),
            };
            let mut c = TransformerConfig::gpt2(
                f.uint("vocab_size", 50257)?,
                n_positions,
                n_embd,
                f.uint("n_layer", 12)?,
                f.uint("n_head", 12)?,
            );
            c.d_ff = match f.opt_uint("n_inner")? {
                Some(n) => n,
                None => n_embd.saturating_mul(4),
            };
            c.tied_embeddings = f.boolean("tie_word_embeddings", true)?;
            c.cross_attention = f.boolean("add_cross_attention", false)?;
            c
        }
        "llama" | "mistral" => {
            // LlamaConfig defaults: vocab 32000, hidden 4096, intermediate 11008, 32 layers,
            // 32 heads, kv heads None (-> heads), head_dim None (-> hidden / heads), 2048
            // positions, tie_word_embeddings False, attention_bias False, mlp_bias False.
            // MistralConfig defaults: intermediate 14336, 8 kv heads, 4096 * 32 positions, and
            // no bias options (its projections never have biases).
            let llama = model_type == "llama";
            let kv_given = f.opt_uint("num_key_value_heads")?.is_some();
            names = FieldNames {
                vocab_size: "vocab_size".into(),
                d_model: "hidden_size".into(),
                n_layer: "num_hidden_layers".into(),
                n_head: "num_attention_heads".into(),
                n_kv_head: match (kv_given, llama) {
                    (true, _) => "num_key_value_heads".into(),
                    (false, true) => "num_key_value_heads (= num_attention_heads)".into(),
                    (false, false) => "num_key_value_heads (default 8)".into(),
                },
                head_dim: if f.opt_uint("head_dim")?.is_some() {
                    "head_dim".into()
                } else {
                    "head_dim (hidden_size / num_attention_heads)".into()
                },
                d_ff: "intermediate_size".into(),
                context_length: "max_position_embeddings".into(),
            };
            let heads = f.uint("num_attention_heads", 32)?;
            let hidden = f.uint("hidden_size", 4096)?;
            let kv_default = if llama { heads } else { 8 };
            let mut c = TransformerConfig::llama(
                &model_type,
                f.uint("vocab_size", 32000)?,
                hidden,
                f.uint("intermediate_size", if llama { 11008 } else { 14336 })?,
                f.uint("num_hidden_layers", 32)?,
                heads,
                f.uint("num_key_value_heads", kv_default)?,
                f.uint(
                    "max_position_embeddings",
                    if llama { 2048 } else { 4096 * 32 },
                )?,
            );
            if let Some(h) = f.opt_uint("head_dim")? {
                c.head_dim = h;
            } else if heads > 0 && !hidden.is_multiple_of(heads) {
                return Err(f.err(format!(
                    "hidden_size = {hidden} is not a multiple of num_attention_heads = {heads} and no head_dim is given"
                )));
            }
            c.tied_embeddings = f.boolean("tie_word_embeddings", false)?;
            if llama {
                c.attention_bias = f.boolean("attention_bias", false)?;
                c.mlp_bias = f.boolean("mlp_bias", false)?;
            }
            c
        }
        other => {
            return Err(f.err(format!(
                "unsupported model_type {other:?} (supported: {})",
                SUPPORTED_MODEL_TYPES.join(", ")
            )));
        }
    };
    cfg.lm_head = lm_head;
    if cfg.layout == Layout::Gpt2 && cfg.n_head > 0 {
        cfg.head_dim = cfg.d_model / cfg.n_head;
    }
    cfg.validate_as(&names).map_err(|reason| f.err(reason))?;
    Ok(cfg)
}
