//! [`GptConfig`]: the hyperparameters of a GPT-2-architecture model, as nanoGPT's `GPTConfig`
//! (Karpathy, `model.py`) and the corresponding fields of Hugging Face's `GPT2Config`.
//!
//! The parameter count is not computed here: [`GptConfig::num_params`] asks the `size` module
//! ([`crate::size::transformer`]) for the count of the same architecture, and [`super::Gpt::new`]
//! registers exactly the tensors [`crate::size::transformer::TransformerConfig::tensors`] lists,
//! so the model and the size report cannot disagree.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::size::transformer::{Layout, TransformerConfig};

/// LayerNorm epsilon of every LayerNorm in the model (GPT-2's `layer_norm_epsilon`, PyTorch's
/// default).
pub const LN_EPS: f32 = 1e-5;

/// Largest parameter count [`GptConfig::validate`] accepts: 2^31 (8 GiB of f32 weights; GPT-2 XL
/// has 1.56·10^9).
pub const MAX_PARAMS: u64 = 1 << 31;

/// Architecture of a [`super::Gpt`]; saved as JSON next to the weights. Field names are
/// nanoGPT's; errors from [`GptConfig::validate`] use them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GptConfig {
    /// Number of transformer blocks `L` (GPT-2's `n_layer`; 12 for GPT-2 small).
    pub n_layer: usize,
    /// Attention heads per block `H` (GPT-2's `n_head`); must divide `n_embd`.
    pub n_head: usize,
    /// Residual-stream width `C` (GPT-2's `n_embd`; 768 for GPT-2 small). Head width is
    /// `n_embd / n_head`; the MLP is `4·n_embd` wide.
    pub n_embd: usize,
    /// Longest context in tokens (GPT-2's `n_positions`, 1024): rows of the position embedding
    /// `wpe`, and the window generation crops to.
    pub block_size: usize,
    /// Number of token ids `V` (GPT-2's 50257; the character count for a character-level
    /// model): rows of the token embedding `wte`, which is also the output head.
    pub vocab_size: usize,
    /// Dropout probability in `[0, 1)` after the embeddings, on the attention probabilities and
    /// after each residual branch (nanoGPT's single `dropout`; GPT-2's `embd_pdrop`, `attn_pdrop`,
    /// `resid_pdrop` all at this value). Used only when training.
    pub dropout: f32,
    /// Biases in every Linear and LayerNorm (true: GPT-2; false: nanoGPT's `bias=False`, which
    /// it reports as "a bit better and faster").
    pub bias: bool,
}

impl Default for GptConfig {
    /// GPT-2 small (124M): 12 layers, 12 heads, 768 wide, 1024 positions, 50257 tokens, no
    /// dropout, biases.
    fn default() -> Self {
        GptConfig::gpt2()
    }
}

impl GptConfig {
    /// GPT-2 small as released by OpenAI (124,439,808 parameters).
    pub fn gpt2() -> Self {
        GptConfig {
            n_layer: 12,
            n_head: 12,
            n_embd: 768,
            block_size: 1024,
            vocab_size: 50257,
            dropout: 0.0,
            bias: true,
        }
    }

    /// Checks every field; errors name the field as in config.json (`n_embd`, `n_head`, ...),
    /// its value and the allowed range.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`]: a zero dimension, `n_embd` not a multiple of `n_head`,
    /// `dropout` outside `[0, 1)`, or more than [`MAX_PARAMS`] parameters.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
            ("n_embd", self.n_embd),
            ("block_size", self.block_size),
            ("vocab_size", self.vocab_size),
        ] {
            if v == 0 {
                return Err(Error::invalid(name, 0, ">= 1"));
            }
            if v as u64 > crate::size::transformer::MAX_DIM {
                return Err(Error::invalid(
                    name,
                    v,
                    &format!("<= {}", crate::size::transformer::MAX_DIM),
                ));
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(Error::invalid(
                "n_embd",
                self.n_embd,
                &format!("a multiple of n_head = {}", self.n_head),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid("dropout", self.dropout, "[0, 1)"));
        }
        let max_layers = crate::size::transformer::MAX_LAYERS;
        if self.n_layer as u64 > max_layers {
            return Err(Error::invalid(
                "n_layer",
                self.n_layer,
                &format!("<= {max_layers}"),
            ));
        }
        let t = self.to_transformer();
        if let Err(reason) = t.validate() {
            // What is left is the MLP width 4·n_embd or the total count overflowing.
            return Err(Error::invalid("n_embd", self.n_embd, &reason));
        }
        let n = t.counts().total;
        if n > MAX_PARAMS {
            return Err(Error::invalid(
                "n_embd",
                format!("{} ({n} parameters)", self.n_embd),
                &format!("at most {MAX_PARAMS} parameters in all (2^31, 8 GiB of f32)"),
            ));
        }
        Ok(())
    }

    /// Width of one attention head, `n_embd / n_head`.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head.max(1)
    }

    /// The same architecture as the `size` module describes it: GPT-2 layout, tied head,
    /// `d_ff = 4·n_embd`, biases as [`GptConfig::bias`].
    pub fn to_transformer(&self) -> TransformerConfig {
        let mut t = TransformerConfig::gpt2(
            self.vocab_size as u64,
            self.block_size as u64,
            self.n_embd as u64,
            self.n_layer as u64,
            self.n_head as u64,
        );
        t.attention_bias = self.bias;
        t.mlp_bias = self.bias;
        t.norm_bias = self.bias;
        t
    }

    /// A config from a GPT-2-layout [`TransformerConfig`] (e.g. a Hugging Face `config.json`
    /// read by [`crate::size::hf_config::from_json`]), dropout 0.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the layout is not GPT-2's, the head is untied or absent,
    /// the MLP is not `4·n_embd` wide, or cross-attention is on; then as
    /// [`GptConfig::validate`].
    pub fn from_transformer(t: &TransformerConfig) -> Result<Self> {
        if t.layout != Layout::Gpt2 {
            return Err(Error::invalid("model_type", &t.model_type, "gpt2"));
        }
        if !t.tied_embeddings || !t.lm_head {
            return Err(Error::invalid(
                "tie_word_embeddings",
                t.tied_embeddings,
                "true, with an LM head",
            ));
        }
        if t.d_ff != 4 * t.d_model {
            return Err(Error::invalid(
                "n_inner",
                t.d_ff,
                &format!("4 * n_embd = {}", 4 * t.d_model),
            ));
        }
        if t.cross_attention {
            return Err(Error::invalid("add_cross_attention", true, "false"));
        }
        let c = GptConfig {
            n_layer: t.n_layer as usize,
            n_head: t.n_head as usize,
            n_embd: t.d_model as usize,
            block_size: t.context_length as usize,
            vocab_size: t.vocab_size as usize,
            dropout: 0.0,
            bias: t.attention_bias && t.mlp_bias && t.norm_bias,
        };
        c.validate()?;
        Ok(c)
    }

    /// Exact parameter count (the tied head counted once), from the `size` module's count of
    /// [`GptConfig::to_transformer`]: 124,439,808 for [`GptConfig::gpt2`]. Saturates at
    /// `u64::MAX` on a config [`GptConfig::validate`] refuses.
    pub fn num_params(&self) -> u64 {
        self.to_transformer().counts().total
    }

    /// The Hugging Face `config.json` of the same model (`GPT2LMHeadModel`, `gelu_new`, eps
    /// 1e-5, tied head), so `GPT2LMHeadModel.from_pretrained` loads the tensors written by
    /// [`super::hf::to_hf_tensors`].
    pub fn to_hf_config(&self) -> serde_json::Value {
        serde_json::json!({
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "activation_function": "gelu_new",
            // 1e-5 as GPT2Config writes it (LN_EPS widened from f32 would be 9.9999997e-6).
            "layer_norm_epsilon": 1e-5_f64,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_embd": self.n_embd,
            "n_positions": self.block_size,
            "n_inner": null,
            "vocab_size": self.vocab_size,
            "attn_pdrop": self.dropout,
            "embd_pdrop": self.dropout,
            "resid_pdrop": self.dropout,
            "initializer_range": 0.02,
            "tie_word_embeddings": true,
            "scale_attn_weights": true,
            // GPT2Config's default 50256 (`<|endoftext|>`) only exists in GPT-2's vocabulary;
            // a character vocabulary has no such token.
            "bos_token_id": self.endoftext_id(),
            "eos_token_id": self.endoftext_id(),
            "dtype": "float32",
        })
    }

    /// `<|endoftext|>` (50256) when the vocabulary is GPT-2's 50,257 tokens, else none.
    fn endoftext_id(&self) -> Option<usize> {
        (self.vocab_size == crate::tokenizer::gpt2::GPT2_VOCAB_SIZE)
            .then_some(crate::tokenizer::ENDOFTEXT_ID)
    }
}
