//! Decoder-only transformer configurations and their exact parameter counts.
//!
//! Two parameter layouts cover the architectures we count:
//!
//! * [`Layout::Gpt2`] (Radford et al. 2019, "Language Models are Unsupervised Multitask
//!   Learners"; Hugging Face `modeling_gpt2.py`; GPT-3 uses the same layout, Brown et al. 2020):
//!   learned token and position embeddings, pre-LayerNorm blocks with weight and bias, fused
//!   q|k|v projection with bias, output projection with bias, a 2-matrix MLP with biases, a final
//!   LayerNorm, and an output head tied to the token embedding by default. Per block:
//!   `ln_1 (2d) + c_attn (3d² + 3d) + c_proj (d² + d) + ln_2 (2d) + c_fc (d·f + f) +
//!   mlp.c_proj (f·d + d)`, i.e. `12d² + 13d` when `f = 4d`.
//! * [`Layout::Llama`] (Touvron et al. 2023; Hugging Face `modeling_llama.py` and
//!   `modeling_mistral.py`): token embedding only (rotary positions have no parameters; their
//!   `inv_freq` is a buffer), RMSNorm with a weight and no bias, separate q, k, v, o projections
//!   with grouped-query attention (k and v have `n_kv_head · head_dim` outputs), a gated MLP
//!   (gate, up, down), optional biases (`attention_bias`, `mlp_bias`), a final RMSNorm and an
//!   untied output head by default. Per block:
//!   `d·H·h (q) + 2·d·K·h (k, v) + H·h·d (o) + 3·d·f (gate, up, down) + 2d (norms)`, plus
//!   `H·h + 2K·h + d` with attention biases and `2f + d` with MLP biases.
//!
//! Counts are those of `sum(p.numel() for p in model.parameters())` in PyTorch, which counts a
//! tied tensor once and does not count buffers.

use serde::Serialize;

/// Largest accepted dimension (vocabulary, width, heads, ...); keeps every product in `u128`.
pub const MAX_DIM: u64 = u32::MAX as u64;
/// Largest accepted number of layers (the largest published models have a few hundred).
pub const MAX_LAYERS: u64 = 100_000;

/// How the parameters of a block are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// GPT-2 / GPT-3: learned positions, LayerNorm with bias, fused qkv, biases everywhere.
    Gpt2,
    /// Llama / Mistral: rotary positions, RMSNorm, GQA, gated MLP, no biases by default.
    Llama,
}

/// A decoder-only transformer, as far as parameter counting and the KV cache need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransformerConfig {
    /// Hugging Face `model_type`, e.g. `gpt2`, `llama`, `mistral`.
    pub model_type: String,
    /// Parameter layout.
    pub layout: Layout,
    /// Vocabulary size V (rows of the token embedding).
    pub vocab_size: u64,
    /// Residual width d (`n_embd`, `hidden_size`).
    pub d_model: u64,
    /// Number of blocks L.
    pub n_layer: u64,
    /// Query heads H.
    pub n_head: u64,
    /// Key/value heads K (= H without grouped-query attention).
    pub n_kv_head: u64,
    /// Width of one head h (usually d / H).
    pub head_dim: u64,
    /// MLP inner width f (`n_inner`, `intermediate_size`).
    pub d_ff: u64,
    /// Maximum sequence length (`n_positions`, `max_position_embeddings`); for GPT-2 it is also
    /// the number of rows of the position embedding.
    pub context_length: u64,
    /// Whether the output head shares the token embedding (counted once).
    pub tied_embeddings: bool,
    /// Biases on the attention projections (true for GPT-2; a nanoGPT `bias=False` model has none).
    pub attention_bias: bool,
    /// Biases on the MLP projections (true for GPT-2; a nanoGPT `bias=False` model has none).
    pub mlp_bias: bool,
    /// GPT-2 layout: LayerNorms with a bias as well as a weight (true for GPT-2; false for a
    /// nanoGPT model trained with `bias=False`, which also sets `attention_bias` and `mlp_bias`
    /// false). RMSNorm (Llama layout) has no bias; ignored there. Not in the JSON report.
    #[serde(skip)]
    pub norm_bias: bool,
    /// GPT-2 only: a cross-attention sub-block per layer (`add_cross_attention`).
    pub cross_attention: bool,
    /// Whether the model has an output head (`...LMHeadModel`, `...ForCausalLM`); base models
    /// (`GPT2Model`, `LlamaModel`) do not. Their tensor names have no `transformer.`/`model.`
    /// prefix.
    pub lm_head: bool,
}

/// How the fields of a [`TransformerConfig`] are called where it came from, for errors that
/// use the user's words. [`FieldNames::default`] gives the struct's own field names;
/// `learnable::size::hf_config` fills in the config.json keys it read (`n_embd`, `n_layer`,
/// `hidden_size`, `num_key_value_heads`, ...) and, for a value it derived, how
/// (`head_dim (hidden_size / num_attention_heads)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldNames {
    /// Name of [`TransformerConfig::vocab_size`].
    pub vocab_size: String,
    /// Name of [`TransformerConfig::d_model`].
    pub d_model: String,
    /// Name of [`TransformerConfig::n_layer`].
    pub n_layer: String,
    /// Name of [`TransformerConfig::n_head`].
    pub n_head: String,
    /// Name of [`TransformerConfig::n_kv_head`].
    pub n_kv_head: String,
    /// Name of [`TransformerConfig::head_dim`].
    pub head_dim: String,
    /// Name of [`TransformerConfig::d_ff`].
    pub d_ff: String,
    /// Name of [`TransformerConfig::context_length`].
    pub context_length: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        let s = |x: &str| x.to_string();
        FieldNames {
            vocab_size: s("vocab_size"),
            d_model: s("d_model"),
            n_layer: s("n_layer"),
            n_head: s("n_head"),
            n_kv_head: s("n_kv_head"),
            head_dim: s("head_dim"),
            d_ff: s("d_ff"),
            context_length: s("context_length"),
        }
    }
}

/// Exact parameter counts of a [`TransformerConfig`], split by component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ParamCounts {
    /// Token embedding, V·d.
    pub token_embedding: u64,
    /// Learned position embedding (GPT-2 layout), context·d; 0 for rotary models.
    pub position_embedding: u64,
    /// Parameters of one block.
    pub per_layer: u64,
    /// All blocks, L·per_layer.
    pub layers: u64,
    /// Final norm (LayerNorm 2d, RMSNorm d).
    pub final_norm: u64,
    /// Output head V·d when untied; 0 when tied or absent.
    pub lm_head: u64,
    /// Sum of the above.
    pub total: u64,
}

impl ParamCounts {
    /// Embedding parameters as the reference fixture counts them: the input token embedding
    /// (`model.get_input_embeddings()`), see `fixtures/reference/param_counts.json`.
    pub fn embedding(&self) -> u64 {
        self.token_embedding
    }

    /// `total - embedding()`: position embeddings and an untied head count as non-embedding here.
    pub fn non_embedding(&self) -> u64 {
        self.total - self.token_embedding
    }
}

impl TransformerConfig {
    /// A GPT-2-layout model (`n_inner = 4·n_embd`, tied head, biases), as `GPT2Config` builds it.
    pub fn gpt2(vocab_size: u64, n_positions: u64, n_embd: u64, n_layer: u64, n_head: u64) -> Self {
        TransformerConfig {
            model_type: "gpt2".to_string(),
            layout: Layout::Gpt2,
            vocab_size,
            d_model: n_embd,
            n_layer,
            n_head,
            n_kv_head: n_head,
            head_dim: n_embd.checked_div(n_head).unwrap_or(0),
            d_ff: n_embd.saturating_mul(4),
            context_length: n_positions,
            tied_embeddings: true,
            attention_bias: true,
            mlp_bias: true,
            norm_bias: true,
            cross_attention: false,
            lm_head: true,
        }
    }

    /// A Llama-layout model (untied head, no biases, head_dim = hidden / heads).
    #[allow(clippy::too_many_arguments)]
    pub fn llama(
        model_type: &str,
        vocab_size: u64,
        hidden_size: u64,
        intermediate_size: u64,
        num_hidden_layers: u64,
        num_attention_heads: u64,
        num_key_value_heads: u64,
        max_position_embeddings: u64,
    ) -> Self {
        TransformerConfig {
            model_type: model_type.to_string(),
            layout: Layout::Llama,
            vocab_size,
            d_model: hidden_size,
            n_layer: num_hidden_layers,
            n_head: num_attention_heads,
            n_kv_head: num_key_value_heads,
            head_dim: hidden_size.checked_div(num_attention_heads).unwrap_or(0),
            d_ff: intermediate_size,
            context_length: max_position_embeddings,
            tied_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
            norm_bias: false,
            cross_attention: false,
            lm_head: true,
        }
    }

    /// Checks that every dimension is positive and within [`MAX_DIM`] / [`MAX_LAYERS`], and that
    /// the heads divide evenly. Returns the reason on failure (the caller names the file).
    /// Errors name the fields as this struct does (`d_model`, `n_kv_head`); see
    /// [`TransformerConfig::validate_as`] for a config read from a file.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_as(&FieldNames::default())
    }

    /// As [`TransformerConfig::validate`], naming each field as `names` says (the words of the
    /// config.json it was read from: `n_embd`, `hidden_size`, ...).
    pub fn validate_as(&self, names: &FieldNames) -> Result<(), String> {
        let n = names;
        let dims = [
            (&n.vocab_size, self.vocab_size),
            (&n.d_model, self.d_model),
            (&n.n_head, self.n_head),
            (&n.n_kv_head, self.n_kv_head),
            (&n.head_dim, self.head_dim),
            (&n.d_ff, self.d_ff),
            (&n.context_length, self.context_length),
        ];
        for (name, v) in dims {
            if v == 0 || v > MAX_DIM {
                return Err(format!("{name} = {v} (allowed: 1..={MAX_DIM})"));
            }
        }
        if self.n_layer == 0 || self.n_layer > MAX_LAYERS {
            return Err(format!(
                "{} = {} (allowed: 1..={MAX_LAYERS})",
                n.n_layer, self.n_layer
            ));
        }
        if !self.n_head.is_multiple_of(self.n_kv_head) {
            return Err(format!(
                "{} = {} is not a multiple of {} = {}",
                n.n_head, self.n_head, n.n_kv_head, self.n_kv_head
            ));
        }
        if self.layout == Layout::Gpt2 {
            if !self.d_model.is_multiple_of(self.n_head) {
                return Err(format!(
                    "{} = {} is not a multiple of {} = {}",
                    n.d_model, self.d_model, n.n_head, self.n_head
                ));
            }
            if self.n_kv_head != self.n_head || self.head_dim * self.n_head != self.d_model {
                return Err(format!(
                    "GPT-2 layout needs {} = {} and {} = {} / {}",
                    n.n_kv_head, n.n_head, n.head_dim, n.d_model, n.n_head
                ));
            }
        }
        if self.total_u128() > u64::MAX as u128 / 32 {
            return Err("parameter count too large to represent".to_string());
        }
        Ok(())
    }

    /// Parameters of one block (closed form; see the module docs).
    fn per_layer_u128(&self) -> u128 {
        let d = self.d_model as u128;
        let f = self.d_ff as u128;
        match self.layout {
            Layout::Gpt2 => {
                let ln = if self.norm_bias { 2 * d } else { d };
                let attn_bias = if self.attention_bias { 3 * d + d } else { 0 };
                let attn = d * 3 * d + d * d + attn_bias;
                let mlp_bias = if self.mlp_bias { f + d } else { 0 };
                let mlp = d * f + f * d + mlp_bias;
                let cross = if self.cross_attention {
                    // c_attn (k|v): d·2d + 2d, q_attn: d² + d, c_proj: d² + d, ln_cross_attn: 2d.
                    (d * 2 * d + 2 * d) + (d * d + d) + (d * d + d) + 2 * d
                } else {
                    0
                };
                2 * ln + attn + mlp + cross
            }
            Layout::Llama => {
                let q = (self.n_head * self.head_dim) as u128;
                let kv = (self.n_kv_head * self.head_dim) as u128;
                let attn = d * q + 2 * d * kv + q * d;
                let attn_bias = if self.attention_bias {
                    q + 2 * kv + d
                } else {
                    0
                };
                let mlp = 3 * d * f;
                let mlp_bias = if self.mlp_bias { 2 * f + d } else { 0 };
                attn + attn_bias + mlp + mlp_bias + 2 * d
            }
        }
    }

    fn parts_u128(&self) -> [u128; 5] {
        let d = self.d_model as u128;
        let token = self.vocab_size as u128 * d;
        let position = match self.layout {
            Layout::Gpt2 => self.context_length as u128 * d,
            Layout::Llama => 0,
        };
        let layers = self.n_layer as u128 * self.per_layer_u128();
        let final_norm = match self.layout {
            Layout::Gpt2 if self.norm_bias => 2 * d,
            Layout::Gpt2 => d,
            Layout::Llama => d,
        };
        let head = if self.lm_head && !self.tied_embeddings {
            token
        } else {
            0
        };
        [token, position, layers, final_norm, head]
    }

    fn total_u128(&self) -> u128 {
        self.parts_u128().iter().sum()
    }

    /// Exact parameter counts. Call [`TransformerConfig::validate`] first: on an unvalidated
    /// config with absurd dimensions the counts saturate at `u64::MAX`.
    pub fn counts(&self) -> ParamCounts {
        let sat = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        let [token, position, layers, final_norm, head] = self.parts_u128();
        ParamCounts {
            token_embedding: sat(token),
            position_embedding: sat(position),
            per_layer: sat(self.per_layer_u128()),
            layers: sat(layers),
            final_norm: sat(final_norm),
            lm_head: sat(head),
            total: sat(self.total_u128()),
        }
    }

    /// Elements of the KV cache per token: K and V, per layer, `n_kv_head · head_dim` each.
    pub fn kv_elements_per_token(&self) -> u64 {
        2 * self.n_layer * self.n_kv_head * self.head_dim
    }

    /// Every parameter tensor with its Hugging Face name and shape, in the order
    /// `model.named_parameters()` lists them (a tied head is omitted, as `save_pretrained` omits
    /// it). HF `Conv1D` weights in GPT-2 are stored `[in, out]`; `nn.Linear` weights `[out, in]`.
    /// The sum of the element counts equals `counts().total` (a test checks this for every
    /// preset). Call [`TransformerConfig::validate`] first (it bounds the number of layers).
    pub fn tensors(&self) -> Vec<(String, Vec<u64>)> {
        let (d, f, v) = (self.d_model, self.d_ff, self.vocab_size);
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        let mut push = |name: String, shape: Vec<u64>| out.push((name, shape));
        match self.layout {
            Layout::Gpt2 => {
                let p = if self.lm_head { "transformer." } else { "" };
                let (nb, ab, mb) = (self.norm_bias, self.attention_bias, self.mlp_bias);
                push(format!("{p}wte.weight"), vec![v, d]);
                push(format!("{p}wpe.weight"), vec![self.context_length, d]);
                for i in 0..self.n_layer {
                    let b = format!("{p}h.{i}.");
                    push(format!("{b}ln_1.weight"), vec![d]);
                    if nb {
                        push(format!("{b}ln_1.bias"), vec![d]);
                    }
                    push(format!("{b}attn.c_attn.weight"), vec![d, 3 * d]);
                    if ab {
                        push(format!("{b}attn.c_attn.bias"), vec![3 * d]);
                    }
                    push(format!("{b}attn.c_proj.weight"), vec![d, d]);
                    if ab {
                        push(format!("{b}attn.c_proj.bias"), vec![d]);
                    }
                    push(format!("{b}ln_2.weight"), vec![d]);
                    if nb {
                        push(format!("{b}ln_2.bias"), vec![d]);
                    }
                    if self.cross_attention {
                        push(format!("{b}crossattention.c_attn.weight"), vec![d, 2 * d]);
                        push(format!("{b}crossattention.c_attn.bias"), vec![2 * d]);
                        push(format!("{b}crossattention.q_attn.weight"), vec![d, d]);
                        push(format!("{b}crossattention.q_attn.bias"), vec![d]);
                        push(format!("{b}crossattention.c_proj.weight"), vec![d, d]);
                        push(format!("{b}crossattention.c_proj.bias"), vec![d]);
                        push(format!("{b}ln_cross_attn.weight"), vec![d]);
                        push(format!("{b}ln_cross_attn.bias"), vec![d]);
                    }
                    push(format!("{b}mlp.c_fc.weight"), vec![d, f]);
                    if mb {
                        push(format!("{b}mlp.c_fc.bias"), vec![f]);
                    }
                    push(format!("{b}mlp.c_proj.weight"), vec![f, d]);
                    if mb {
                        push(format!("{b}mlp.c_proj.bias"), vec![d]);
                    }
                }
                push(format!("{p}ln_f.weight"), vec![d]);
                if nb {
                    push(format!("{p}ln_f.bias"), vec![d]);
                }
            }
            Layout::Llama => {
                let p = if self.lm_head { "model." } else { "" };
                let q = self.n_head * self.head_dim;
                let kv = self.n_kv_head * self.head_dim;
                push(format!("{p}embed_tokens.weight"), vec![v, d]);
                for i in 0..self.n_layer {
                    let b = format!("{p}layers.{i}.");
                    let bias = self.attention_bias;
                    push(format!("{b}self_attn.q_proj.weight"), vec![q, d]);
                    if bias {
                        push(format!("{b}self_attn.q_proj.bias"), vec![q]);
                    }
                    push(format!("{b}self_attn.k_proj.weight"), vec![kv, d]);
                    if bias {
                        push(format!("{b}self_attn.k_proj.bias"), vec![kv]);
                    }
                    push(format!("{b}self_attn.v_proj.weight"), vec![kv, d]);
                    if bias {
                        push(format!("{b}self_attn.v_proj.bias"), vec![kv]);
                    }
                    push(format!("{b}self_attn.o_proj.weight"), vec![d, q]);
                    if bias {
                        push(format!("{b}self_attn.o_proj.bias"), vec![d]);
                    }
                    let mb = self.mlp_bias;
                    push(format!("{b}mlp.gate_proj.weight"), vec![f, d]);
                    if mb {
                        push(format!("{b}mlp.gate_proj.bias"), vec![f]);
                    }
                    push(format!("{b}mlp.up_proj.weight"), vec![f, d]);
                    if mb {
                        push(format!("{b}mlp.up_proj.bias"), vec![f]);
                    }
                    push(format!("{b}mlp.down_proj.weight"), vec![d, f]);
                    if mb {
                        push(format!("{b}mlp.down_proj.bias"), vec![d]);
                    }
                    push(format!("{b}input_layernorm.weight"), vec![d]);
                    push(format!("{b}post_attention_layernorm.weight"), vec![d]);
                }
                push(format!("{p}norm.weight"), vec![d]);
            }
        }
        if self.lm_head && !self.tied_embeddings {
            out.push(("lm_head.weight".to_string(), vec![v, d]));
        }
        out
    }
}
