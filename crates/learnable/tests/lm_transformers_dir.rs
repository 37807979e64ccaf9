//! `LanguageModel::load` on a directory written by transformers' `save_pretrained`
//! (`fixtures/reference/gpt2_tiny_model/`, README section 4, made by `gen_gpt2_tiny.py`): the
//! GPT-2 BPE tokenizes the fixture text to its ids, and the logits, the loss and the top-5 next
//! tokens match transformers through the loaded model (tolerances of the fixture README:
//! logits atol 1e-5, loss rtol 1e-5, top-5 exact). Also: checkpoint keys without the
//! `transformer.` prefix, with the mask buffers and the tied `lm_head.weight`, load to the same
//! model; configs this architecture does not compute are refused by name.

use std::collections::BTreeMap;

use learnable::Tensor;
use learnable::io::load_safetensors;
use learnable::lm::LanguageModel;
use learnable::tokenizer::{Tokenizer, TokenizerKind};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

struct Reference {
    text: String,
    ids: Vec<usize>,
    loss: f64,
    top5: Vec<usize>,
    logits: Tensor,
}

fn reference() -> Reference {
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gpt2_tiny.json")).unwrap()).unwrap();
    let ints = |k: &str| -> Vec<usize> {
        j[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect()
    };
    Reference {
        text: j["text"].as_str().unwrap().to_string(),
        ids: ints("token_ids"),
        loss: j["loss"].as_f64().unwrap(),
        top5: ints("last_position_top5_ids"),
        logits: load_safetensors(fixture("gpt2_tiny_logits.safetensors"))
            .unwrap()
            .remove("logits")
            .unwrap(),
    }
}

fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Logits, loss and top-5 of `model` on the fixture text, checked against transformers.
fn check_against_transformers(model: &LanguageModel, r: &Reference) {
    let ids = model.tokenizer.encode(&r.text).unwrap();
    assert_eq!(ids, r.ids);
    let logits = model.net.forward_inference(&model.store, &ids).unwrap();
    assert_eq!(logits.shape(), &[14, 50257]);
    let err = logits.max_abs_diff(&r.logits);
    assert!(err < 1e-5, "max |logits - transformers| = {err:e}");
    let last = logits.row(13);
    assert_eq!(top_k(last, 5), r.top5);
    // The loss of the whole text (14 tokens < block 128: one window, 13 predictions) is
    // transformers' `GPT2LMHeadModel(input_ids, labels=input_ids).loss`.
    let l = model.evaluate_text(&r.text).unwrap();
    assert_eq!((l.tokens, l.predictions, l.windows), (14, 13, 1));
    let rel = (l.loss - r.loss).abs() / r.loss;
    assert!(rel < 1e-5, "loss {} vs {} (rel {rel:e})", l.loss, r.loss);
    assert!((l.perplexity - r.loss.exp()).abs() / r.loss.exp() < 1e-4);
    assert_eq!(l.bits_per_char, None);
    // Bits per byte: the 13 predicted tokens are the text without "First" (5 bytes).
    assert_eq!(l.predicted_bytes, r.text.len() - 5);
    let bpb = r.loss * 13.0 / (std::f64::consts::LN_2 * (r.text.len() - 5) as f64);
    assert!((l.bits_per_byte.unwrap() - bpb).abs() < 1e-4 * bpb);
}

#[test]
fn a_transformers_gpt2_directory_loads_with_the_gpt2_bpe_and_matches_its_logits() {
    let r = reference();
    let model = LanguageModel::load(fixture("gpt2_tiny_model")).unwrap();
    assert!(model.record.is_none());
    assert_eq!(model.tokenizer.kind(), TokenizerKind::Gpt2);
    assert_eq!(
        (
            model.config.n_layer,
            model.config.n_head,
            model.config.n_embd
        ),
        (2, 4, 32)
    );
    assert_eq!(model.config.block_size, 128);
    check_against_transformers(&model, &r);
}

#[test]
fn keys_without_the_prefix_with_buffers_and_tied_head_load_to_the_same_model() {
    let r = reference();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gpt2_model");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(
        fixture("gpt2_tiny_model/config.json"),
        dir.join("config.json"),
    )
    .unwrap();
    // A GPT2Model-style checkpoint (older transformers): no `transformer.` prefix, the causal
    // mask `h.N.attn.bias` [1, 1, 128, 128] and `attn.masked_bias` stored, plus the tied head.
    let src = load_safetensors(fixture("gpt2_tiny_model/model.safetensors")).unwrap();
    let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
    for (name, t) in &src {
        out.insert(
            name.trim_start_matches("transformer.").to_string(),
            t.clone(),
        );
    }
    out.insert(
        "lm_head.weight".into(),
        src["transformer.wte.weight"].clone(),
    );
    for i in 0..2 {
        out.insert(
            format!("h.{i}.attn.bias"),
            Tensor::full(&[1, 1, 128, 128], 1.0),
        );
        out.insert(format!("h.{i}.attn.masked_bias"), Tensor::full(&[], -1e4));
    }
    learnable::io::save_safetensors(
        dir.join("model.safetensors"),
        out.iter().map(|(n, t)| (n.as_str(), t)),
    )
    .unwrap();
    let model = LanguageModel::load(&dir).unwrap();
    check_against_transformers(&model, &r);

    // An untied head is refused, naming it.
    let mut untied = out.clone();
    let mut w = src["transformer.wte.weight"].data().to_vec();
    w[0] += 1.0;
    untied.insert(
        "lm_head.weight".into(),
        Tensor::new(w, &[50257, 32]).unwrap(),
    );
    learnable::io::save_safetensors(
        dir.join("model.safetensors"),
        untied.iter().map(|(n, t)| (n.as_str(), t)),
    )
    .unwrap();
    let e = LanguageModel::load(&dir).unwrap_err().to_string();
    assert!(e.contains("lm_head.weight"), "{e}");
}

#[test]
fn configs_this_gpt_does_not_compute_are_refused_by_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        fixture("gpt2_tiny_model/model.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    let base: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("gpt2_tiny_model/config.json")).unwrap(),
    )
    .unwrap();
    for (key, value, needle) in [
        (
            "activation_function",
            serde_json::json!("relu"),
            "activation_function \"relu\"",
        ),
        (
            "layer_norm_epsilon",
            serde_json::json!(1e-6),
            "layer_norm_epsilon",
        ),
        ("model_type", serde_json::json!("llama"), "gpt2"),
        ("vocab_size", serde_json::json!(1000), "GPT-2's BPE"),
        ("n_head", serde_json::json!(5), "n_head"),
        (
            "scale_attn_by_inverse_layer_idx",
            serde_json::json!(true),
            "scale_attn_by_inverse_layer_idx",
        ),
    ] {
        let mut cfg = base.clone();
        cfg[key] = value;
        std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
        let e = LanguageModel::load(dir).unwrap_err().to_string();
        assert!(e.contains(needle), "{key}: {e}");
    }
    std::fs::write(dir.join("config.json"), base.to_string()).unwrap();
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let e = LanguageModel::load(dir).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
}

#[test]
fn a_saved_gpt_has_the_layout_from_pretrained_loads() {
    // The fixture's architecture (2 layers, 4 heads, 32 wide, context 128, GPT-2 BPE), trained
    // one step by learnable and saved: model.safetensors must list exactly the tensors, shapes
    // and dtypes that transformers' save_pretrained wrote for it, and config.json must carry
    // the GPT2Config fields that decide the computation. (The load itself, by transformers, is
    // fixtures/gpt2_from_pretrained/check_from_pretrained.py.)
    use learnable::fit::{FitConfig, FitOptions, ModelKind};
    use learnable::lm::{TextData, TextSource, fit_lm};
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("t.txt");
    std::fs::write(&text, reference().text.repeat(40)).unwrap();
    let config = FitConfig {
        n_layer: 2,
        n_head: 4,
        n_embd: 32,
        block_size: 128,
        batch_size: 1,
        max_steps: 1,
        eval_interval: 1,
        eval_iters: 1,
        warmup_steps: 0,
        tokenizer: TokenizerKind::Gpt2,
        ..FitConfig::defaults(ModelKind::Gpt)
    };
    let data = TextData::prepare(&TextSource::File(text), &config, 0.1).unwrap();
    let model = fit_lm(&config, &data, FitOptions::default()).unwrap();
    let dir = tmp.path().join("m");
    model.save(&dir).unwrap();

    let header = |p: String| {
        let mut v: Vec<(String, String, Vec<u64>)> = learnable::size::read_header(p)
            .unwrap()
            .tensors
            .into_iter()
            .map(|t| (t.name, format!("{:?}", t.dtype), t.shape))
            .collect();
        v.sort();
        v
    };
    let ours = header(dir.join("model.safetensors").display().to_string());
    let theirs = header(fixture("gpt2_tiny_model/model.safetensors"));
    assert_eq!(ours.len(), 28);
    assert_eq!(ours, theirs);
    assert!(ours.iter().all(|(_, dtype, _)| dtype == "F32"), "{ours:?}");

    let read = |p: String| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let ours = read(dir.join("config.json").display().to_string());
    let theirs = read(fixture("gpt2_tiny_model/config.json"));
    for key in [
        "architectures",
        "model_type",
        "activation_function",
        "layer_norm_epsilon",
        "n_embd",
        "n_head",
        "n_layer",
        "n_positions",
        "n_inner",
        "vocab_size",
        "tie_word_embeddings",
        "scale_attn_weights",
        "bos_token_id",
        "eos_token_id",
        "dtype",
    ] {
        assert_eq!(ours[key], theirs[key], "config.json field {key}");
    }
    // The directory loads back through learnable with the same tokenizer.
    let back = LanguageModel::load(&dir).unwrap();
    assert_eq!(back.tokenizer.kind(), TokenizerKind::Gpt2);
    assert!(back.record.is_some());
}
