//! Conversion between our parameter store and a Hugging Face `GPT2LMHeadModel` checkpoint
//! (`model.safetensors` as `save_pretrained` writes it; `modeling_gpt2.py`).
//!
//! Names are the same (`transformer.h.0.attn.c_attn.weight`, ...). Layouts differ in four
//! weights per block: HF's `Conv1D` (`c_attn`, `attn.c_proj`, `c_fc`, `mlp.c_proj`) stores
//! `[in, out]` and computes `x·W + b`; we store PyTorch `nn.Linear`'s `[out, in]` for
//! [`crate::Tape::linear`], so these are transposed both ways. Buffers (`attn.bias`, the causal
//! mask, and `attn.masked_bias`) are not parameters and are skipped; `lm_head.weight` is the
//! token embedding (tied) and is not stored twice.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::param::ParamStore;
use crate::tensor::Tensor;

/// Whether `name` is one of GPT-2's `Conv1D` weights (stored `[in, out]` by HF).
pub fn is_conv1d_weight(name: &str) -> bool {
    [
        "attn.c_attn.weight",
        "attn.c_proj.weight",
        "mlp.c_fc.weight",
        "mlp.c_proj.weight",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

/// `t [r, c]` → `[c, r]`.
///
/// # Errors
/// [`Error::Shape`] if `t` is not 2-D.
pub fn transpose(t: &Tensor, name: &str) -> Result<Tensor> {
    if t.ndim() != 2 {
        return Err(Error::Shape {
            op: "gpt::hf transpose",
            expected: format!("{name} [in, out] (2-D)"),
            got: crate::error::fmt_shape(t.shape()),
        });
    }
    let (r, c) = (t.shape()[0], t.shape()[1]);
    let d = t.data();
    Tensor::new(
        (0..r * c).map(|i| d[(i % r) * c + i / r]).collect(),
        &[c, r],
    )
}

/// Rank of a parameter name in `GPT2LMHeadModel.named_parameters()` order: wte, wpe, blocks by
/// number (each in module order), ln_f; unknown names last, alphabetically.
fn order_key(name: &str) -> (usize, usize, usize, String) {
    const BLOCK: [&str; 12] = [
        "ln_1.weight",
        "ln_1.bias",
        "attn.c_attn.weight",
        "attn.c_attn.bias",
        "attn.c_proj.weight",
        "attn.c_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
    ];
    let rest = name.strip_prefix("transformer.").unwrap_or(name);
    match rest {
        "wte.weight" => (0, 0, 0, String::new()),
        "wpe.weight" => (1, 0, 0, String::new()),
        "ln_f.weight" => (3, 0, 0, String::new()),
        "ln_f.bias" => (3, 0, 1, String::new()),
        _ => {
            if let Some(b) = rest.strip_prefix("h.")
                && let Some((i, p)) = b.split_once('.')
                && let (Ok(i), Some(j)) = (i.parse(), BLOCK.iter().position(|s| *s == p))
            {
                return (2, i, j, String::new());
            }
            (4, 0, 0, name.to_string())
        }
    }
}

/// A [`ParamStore`] from the tensors of a Hugging Face GPT-2 checkpoint (e.g.
/// [`crate::io::load_safetensors`] of its `model.safetensors`), ready for
/// [`super::Gpt::from_store`]: keys with or without the `transformer.` prefix (`GPT2LMHeadModel`
/// or `GPT2Model`) are stored with it, `Conv1D` weights transposed to `[out, in]`, the
/// `attn.bias` / `attn.masked_bias` buffers skipped, `lm_head.weight` dropped (tied). Parameters
/// are registered in `named_parameters()` order.
///
/// # Errors
/// [`Error::Data`] if `lm_head.weight` differs from the token embedding (an untied head, which
/// this architecture does not have) or naming a tensor that is not a GPT-2 parameter;
/// [`Error::Shape`] if a `Conv1D` weight is not 2-D. Missing and misshapen parameters are
/// reported by [`super::Gpt::from_store`], which knows the config.
pub fn from_hf_tensors(tensors: BTreeMap<String, Tensor>) -> Result<ParamStore> {
    let mut named: Vec<(String, Tensor)> = Vec::new();
    let mut lm_head = None;
    for (name, t) in tensors {
        if name == "lm_head.weight" {
            lm_head = Some(t);
            continue;
        }
        if name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias") {
            continue;
        }
        let name = if name.starts_with("transformer.") {
            name
        } else {
            format!("transformer.{name}")
        };
        let t = if is_conv1d_weight(&name) {
            transpose(&t, &name)?
        } else {
            t
        };
        named.push((name, t));
    }
    if let Some(head) = lm_head {
        let wte = named.iter().find(|(n, _)| n == "transformer.wte.weight");
        if let Some((_, wte)) = wte
            && (head.shape() != wte.shape() || head.data() != wte.data())
        {
            return Err(Error::Data(
                "lm_head.weight differs from transformer.wte.weight: an untied output head, \
                 which the GPT-2 architecture here does not have"
                    .into(),
            ));
        }
    }
    if let Some((name, _)) = named.iter().find(|(n, _)| order_key(n).0 == 4) {
        return Err(Error::Data(format!(
            "unexpected tensor {name} in a GPT-2 checkpoint (not a GPT2LMHeadModel parameter)"
        )));
    }
    named.sort_by_key(|(n, _)| order_key(n));
    let mut store = ParamStore::new();
    for (name, t) in named {
        store.add(name, t)?;
    }
    Ok(store)
}

/// The inverse of [`from_hf_tensors`]: every parameter under its HF name, `Conv1D` weights
/// transposed back to `[in, out]`, for `safetensors` that `GPT2LMHeadModel.from_pretrained`
/// loads (with [`super::GptConfig::to_hf_config`] as its config.json). A model without biases
/// (`bias: false`) gets zero biases, which compute the same function, since HF's GPT-2 always
/// has them.
///
/// # Errors
/// [`Error::Shape`] if a `Conv1D` weight is not 2-D.
pub fn to_hf_tensors(store: &ParamStore) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::new();
    for (_, p) in store.iter() {
        let name = &p.name;
        let t = if is_conv1d_weight(name) {
            transpose(&p.value, name)?
        } else {
            p.value.clone()
        };
        out.push((name.clone(), t));
        // A weight whose bias is absent (bias: false): add zeros of the output width.
        let is_ln = name.contains("ln_") && name.ends_with(".weight");
        if is_ln || is_conv1d_weight(name) {
            let bias = format!("{}.bias", name.trim_end_matches(".weight"));
            if store.id(&bias).is_none() {
                let width = if is_ln {
                    p.value.numel()
                } else {
                    p.value.shape()[0]
                };
                out.push((bias, Tensor::zeros(&[width])));
            }
        }
    }
    Ok(out)
}
