//! GPT-2 parity: a minimal GPT-2 forward pass written on the tape from the fixture weights must
//! reproduce Hugging Face transformers' logits, loss and every parameter gradient.
//!
//! Reference: `fixtures/reference/gpt2_tiny*` (README section 4), made by `gen_gpt2_tiny.py` with
//! transformers 5.24.0 / torch 2.15.0: `GPT2LMHeadModel` (n_embd 32, 2 layers, 4 heads, vocab
//! 50257, random init with seed 0), eval mode, eager attention, 14 token ids,
//! `model(input_ids=x, labels=x).loss.backward()`.
//!
//! Model as HF builds it: pre-LN blocks `x += attn(ln_1(x)); x += mlp(ln_2(x))`, final `ln_f`,
//! tied head `logits = h·wteᵀ`, LayerNorm eps 1e-5, `gelu_new` (tanh approximation). HF's
//! `Conv1D` layers store weights `[in, out]` and compute `x·W + b`; here they are transposed
//! once at load into PyTorch `nn.Linear` layout `[out, in]` for [`Tape::linear`], and their
//! gradients are transposed back before comparison.

use std::collections::BTreeMap;

use learnable::io::load_safetensors;
use learnable::loss::CrossEntropyOptions;
use learnable::ops::activation::Gelu;
use learnable::{ParamStore, Tape, Tensor, Var};

const N_LAYER: usize = 2;
const N_HEAD: usize = 4;
const LN_EPS: f32 = 1e-5;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// HF `Conv1D` weights (stored `[in, out]`, applied as `x·W + b`).
fn is_conv1d_weight(name: &str) -> bool {
    [
        "attn.c_attn.weight",
        "attn.c_proj.weight",
        "mlp.c_fc.weight",
        "mlp.c_proj.weight",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

fn transpose(t: &Tensor) -> Tensor {
    let (r, c) = (t.shape()[0], t.shape()[1]);
    Tensor::from_fn(&[c, r], |i| t.data()[(i % r) * c + i / r])
}

/// The fixture weights under their HF names, Conv1D weights transposed to `[out, in]`.
fn load_model() -> ParamStore {
    let tensors = load_safetensors(fixture("gpt2_tiny_model/model.safetensors")).unwrap();
    let mut store = ParamStore::new();
    for (name, t) in tensors {
        let t = if is_conv1d_weight(&name) {
            transpose(&t)
        } else {
            t
        };
        store.add(name, t).unwrap();
    }
    store
}

/// GPT-2 forward on `tape` → logits `[1, T, V]`.
fn gpt2_forward<'a>(tape: &mut Tape<'a>, store: &'a ParamStore, ids: &[usize]) -> Var {
    let mut p = |name: &str| {
        let id = store
            .id(name)
            .unwrap_or_else(|| panic!("missing parameter {name}"));
        tape.param(store, id)
    };
    // Parameters are fetched up front (the closure borrows the tape mutably).
    let wte = p("transformer.wte.weight");
    let wpe = p("transformer.wpe.weight");
    let blocks: Vec<[Var; 12]> = (0..N_LAYER)
        .map(|l| {
            let names = [
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
            names.map(|n| p(&format!("transformer.h.{l}.{n}")))
        })
        .collect();
    let (lnf_w, lnf_b) = (p("transformer.ln_f.weight"), p("transformer.ln_f.bias"));

    let t = ids.len();
    let positions: Vec<usize> = (0..t).collect();
    let tok = tape.embedding(ids, &[1, t], wte).unwrap();
    let pos = tape.embedding(&positions, &[t], wpe).unwrap();
    let mut x = tape.add(tok, pos).unwrap();
    for [
        ln1_w,
        ln1_b,
        attn_w,
        attn_b,
        proj_w,
        proj_b,
        ln2_w,
        ln2_b,
        fc_w,
        fc_b,
        mproj_w,
        mproj_b,
    ] in blocks
    {
        let h = tape
            .layer_norm(x, Some(ln1_w), Some(ln1_b), LN_EPS)
            .unwrap();
        let qkv = tape.linear(h, attn_w, Some(attn_b)).unwrap();
        let a = tape.causal_self_attention(qkv, N_HEAD).unwrap();
        let a = tape.linear(a, proj_w, Some(proj_b)).unwrap();
        x = tape.add(x, a).unwrap();
        let h = tape
            .layer_norm(x, Some(ln2_w), Some(ln2_b), LN_EPS)
            .unwrap();
        let h = tape.linear(h, fc_w, Some(fc_b)).unwrap();
        let h = tape.gelu(h, Gelu::Tanh).unwrap();
        let h = tape.linear(h, mproj_w, Some(mproj_b)).unwrap();
        x = tape.add(x, h).unwrap();
    }
    let h = tape
        .layer_norm(x, Some(lnf_w), Some(lnf_b), LN_EPS)
        .unwrap();
    // Tied head: logits = h·wteᵀ, wte is [V, C] = nn.Linear's [out, in]; same Var as the lookup.
    tape.linear(h, wte, None).unwrap()
}

struct Reference {
    ids: Vec<usize>,
    loss: f64,
    top5: Vec<usize>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture("gpt2_tiny.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The loss this test reproduces; fail loudly if the fixture's definition ever changes.
    let def = j["loss_definition"].as_str().unwrap();
    assert!(
        def.contains("mean over positions t=0..T-2 of cross_entropy(logits[t], ids[t+1])"),
        "{def}"
    );
    let ints = |k: &str| {
        j[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect::<Vec<_>>()
    };
    let ids = ints("token_ids");
    assert_eq!(ids.len(), j["seq_len"].as_u64().unwrap() as usize);
    Reference {
        ids,
        loss: j["loss"].as_f64().unwrap(),
        top5: ints("last_position_top5_ids"),
    }
}

/// Next-token targets: position t predicts ids[t + 1]; the last position is ignored, so the mean
/// is over T − 1 positions, as HF's shifted `labels=input_ids` loss.
fn next_token_loss(tape: &mut Tape<'_>, logits: Var, ids: &[usize]) -> Var {
    const IGNORE: usize = usize::MAX;
    let targets: Vec<usize> = ids[1..].iter().copied().chain([IGNORE]).collect();
    let opts = CrossEntropyOptions {
        ignore_index: Some(IGNORE),
        ..Default::default()
    };
    tape.cross_entropy(logits, &targets, &opts).unwrap()
}

fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

#[test]
fn gpt2_tiny_matches_transformers_logits_loss_and_every_gradient() {
    let r = reference();
    let store = load_model();
    let mut tape = Tape::train();
    let logits = gpt2_forward(&mut tape, &store, &r.ids);
    let loss = next_token_loss(&mut tape, logits, &r.ids);
    let logits_val = tape.value(logits).clone();
    let loss_val = tape.value(loss).item().unwrap() as f64;
    let grads = tape.backward(loss).unwrap();

    // Logits: atol 1e-5 (README; f32 vs f64 in PyTorch differ by 1.6e-7).
    let ref_logits = &load_safetensors(fixture("gpt2_tiny_logits.safetensors")).unwrap()["logits"];
    let (t, v) = (r.ids.len(), 50257);
    assert_eq!(ref_logits.shape(), &[t, v]);
    assert_eq!(logits_val.shape(), &[1, t, v]);
    let logits_err = logits_val
        .data()
        .iter()
        .zip(ref_logits.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);

    // Loss: rtol 1e-5 against the fixture's 10.861663818359375.
    let loss_rel = (loss_val - r.loss).abs() / r.loss.abs();

    // Gradients of every parameter (named as model.named_parameters()): atol 1e-6.
    let ref_grads: BTreeMap<String, Tensor> =
        load_safetensors(fixture("gpt2_tiny_grads.safetensors")).unwrap();
    assert_eq!(
        ref_grads.len(),
        store.len(),
        "one reference gradient per stored parameter"
    );
    let mut worst = (0.0f32, String::new());
    let mut per_param = Vec::new();
    for (name, g_ref) in &ref_grads {
        let id = store
            .id(name)
            .unwrap_or_else(|| panic!("reference gradient for unknown parameter {name}"));
        let g = grads
            .param(id)
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let g = if is_conv1d_weight(name) {
            transpose(g)
        } else {
            g.clone()
        };
        let e = g.max_abs_diff(g_ref);
        per_param.push(format!("{name} {e:.2e}"));
        if e > worst.0 || e.is_nan() {
            worst = (e, name.clone());
        }
    }

    let top5 = top_k(&logits_val.data()[(t - 1) * v..], 5);
    eprintln!(
        "gpt2_tiny parity: max |logits err| {logits_err:.3e}; loss {loss_val} vs {} (rel err {loss_rel:.3e}); max |grad err| {:.3e} ({}); top-5 {top5:?}",
        r.loss, worst.0, worst.1
    );
    eprintln!("per-parameter max |grad err|: {}", per_param.join(", "));
    assert!(logits_err < 1e-5, "logits max abs error {logits_err}");
    assert!(loss_rel < 1e-5, "loss {loss_val} vs {}", r.loss);
    assert!(worst.0 < 1e-6, "gradient of {} off by {}", worst.1, worst.0);
    assert_eq!(top5, r.top5, "last-position top-5 ids");
}

#[test]
fn gpt2_tiny_inference_tape_gives_the_training_logits_bit_for_bit() {
    // The eval tape records no closures; the forward kernels must not depend on that.
    let r = reference();
    let store = load_model();
    let mut train = Tape::train();
    let a = gpt2_forward(&mut train, &store, &r.ids);
    let mut eval = Tape::eval();
    let b = gpt2_forward(&mut eval, &store, &r.ids);
    assert!(
        train
            .value(a)
            .data()
            .iter()
            .zip(eval.value(b).data())
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
}
