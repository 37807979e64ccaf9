//! `models::gpt`: the GPT-2-architecture model against Hugging Face transformers (logits, loss
//! and every parameter gradient of `fixtures/reference/gpt2_tiny*`, README section 4, loaded
//! through `gpt::hf::from_hf_tensors` and `Gpt::from_store`), its KV cache (bit-identical to the
//! full inference forward, at any thread count), generation (seeded, cache = no cache), the
//! parameter count (one with the `size` module), initialisation and the HF round trip.

use std::collections::BTreeMap;

use learnable::io::load_safetensors;
use learnable::loss::CrossEntropyOptions;
use learnable::models::Model;
use learnable::models::gpt::{Gpt, GptConfig, KvCache, Tokens, generate, generate_uncached, hf};
use learnable::sampling::SamplingConfig;
use learnable::{Error, ParamStore, Rng, Tape, Tensor};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The fixture's config.json, read by the `size` module's HF reader.
fn tiny_config() -> GptConfig {
    let text = std::fs::read_to_string(fixture("gpt2_tiny_model/config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = learnable::size::hf_config::from_json(&v, "config.json").unwrap();
    GptConfig::from_transformer(&t).unwrap()
}

fn tiny_model() -> (Gpt, ParamStore) {
    let tensors = load_safetensors(fixture("gpt2_tiny_model/model.safetensors")).unwrap();
    let store = hf::from_hf_tensors(tensors).unwrap();
    let model = Gpt::from_store(tiny_config(), &store).unwrap();
    (model, store)
}

struct Reference {
    ids: Vec<usize>,
    loss: f64,
    top5: Vec<usize>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture("gpt2_tiny.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
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
    Reference {
        ids: ints("token_ids"),
        loss: j["loss"].as_f64().unwrap(),
        top5: ints("last_position_top5_ids"),
    }
}

fn ref_logits() -> Tensor {
    load_safetensors(fixture("gpt2_tiny_logits.safetensors"))
        .unwrap()
        .remove("logits")
        .unwrap()
}

fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.data().iter().map(|x| x.to_bits()).collect()
}

fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn tiny_gpt2_matches_transformers_logits_loss_and_every_gradient() {
    let r = reference();
    let (model, store) = tiny_model();
    let t = r.ids.len();
    let x = Tokens::new(r.ids.clone(), 1, t).unwrap();
    let mut tape = Tape::train();
    let mut rng = Rng::new(0, "dropout");
    // Through the Model trait, as the training loop calls it.
    let logits = Model::forward(&model, &mut tape, &store, x, &mut rng).unwrap();
    assert_eq!(tape.shape(logits), &[t, 50257]);
    const IGNORE: usize = usize::MAX;
    let targets: Vec<usize> = r.ids[1..].iter().copied().chain([IGNORE]).collect();
    let opts = CrossEntropyOptions {
        ignore_index: Some(IGNORE),
        ..Default::default()
    };
    let loss = tape.cross_entropy(logits, &targets, &opts).unwrap();
    let logits_val = tape.value(logits).clone();
    let loss_val = tape.value(loss).item().unwrap() as f64;
    let grads = tape.backward(loss).unwrap();

    let logits_err = logits_val.max_abs_diff(&ref_logits());
    let loss_rel = (loss_val - r.loss).abs() / r.loss.abs();
    let ref_grads = load_safetensors(fixture("gpt2_tiny_grads.safetensors")).unwrap();
    assert_eq!(ref_grads.len(), store.len());
    let mut worst = (0.0f32, String::new());
    for (name, g_ref) in &ref_grads {
        let id = store
            .id(name)
            .unwrap_or_else(|| panic!("no parameter {name}"));
        let g = grads
            .param(id)
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let g = if hf::is_conv1d_weight(name) {
            hf::transpose(g, name).unwrap()
        } else {
            g.clone()
        };
        let e = g.max_abs_diff(g_ref);
        if e > worst.0 || e.is_nan() {
            worst = (e, name.clone());
        }
    }
    eprintln!(
        "Gpt vs transformers: max |logits err| {logits_err:.3e}, loss rel err {loss_rel:.3e}, max |grad err| {:.3e} ({})",
        worst.0, worst.1
    );
    assert!(logits_err < 1e-5, "logits max abs error {logits_err}");
    assert!(loss_rel < 1e-5, "loss {loss_val} vs {}", r.loss);
    assert!(worst.0 < 1e-6, "gradient of {} off by {}", worst.1, worst.0);
    assert_eq!(top_k(&logits_val.data()[(t - 1) * 50257..], 5), r.top5);
}

#[test]
fn inference_forward_matches_transformers_and_the_tape() {
    let r = reference();
    let (model, store) = tiny_model();
    let inf = model.forward_inference(&store, &r.ids).unwrap();
    let err = inf.max_abs_diff(&ref_logits());
    let mut tape = Tape::eval();
    let x = Tokens::new(r.ids.clone(), 1, r.ids.len()).unwrap();
    let y = model
        .forward(&mut tape, &store, &x, &mut Rng::new(0, "unused"))
        .unwrap();
    let tape_err = inf.max_abs_diff(tape.value(y));
    eprintln!("inference forward: max |err| vs transformers {err:.3e}, vs the tape {tape_err:.3e}");
    assert!(err < 1e-5 && tape_err < 1e-5, "{err} {tape_err}");
}

#[test]
fn kv_cache_token_by_token_equals_the_full_forward_bit_for_bit_at_1_and_2_threads() {
    let r = reference();
    let (model, store) = tiny_model();
    let ids = &r.ids;
    let run = || {
        let full = model.forward_inference(&store, ids).unwrap();
        let mut cache = model.new_cache();
        let mut rows = Vec::new();
        for &id in ids {
            rows.push(model.forward_cached(&store, &[id], &mut cache).unwrap());
        }
        // A split feed: 5 tokens, then the rest.
        let mut cache2 = KvCache::new(&model.config);
        let a = model
            .forward_cached(&store, &ids[..5], &mut cache2)
            .unwrap();
        let b = model
            .forward_cached(&store, &ids[5..], &mut cache2)
            .unwrap();
        assert_eq!(cache.len(), ids.len());
        (full, rows, a, b)
    };
    let (full1, rows1, a1, b1) = with_threads(1, run);
    let (full2, rows2, a2, b2) = with_threads(2, run);
    let v = model.config.vocab_size;
    for (i, row) in rows1.iter().enumerate() {
        assert_eq!(row.shape(), &[1, v]);
        assert_eq!(
            bits(row),
            full1.data()[i * v..(i + 1) * v]
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
            "position {i}"
        );
    }
    let mut split = bits(&a1);
    split.extend(bits(&b1));
    assert_eq!(split, bits(&full1));
    assert_eq!(bits(&full1), bits(&full2));
    assert_eq!(
        rows1.iter().flat_map(bits).collect::<Vec<_>>(),
        rows2.iter().flat_map(bits).collect::<Vec<_>>()
    );
    assert_eq!((bits(&a1), bits(&b1)), (bits(&a2), bits(&b2)));
}

#[test]
fn the_unpacked_path_is_bit_identical_token_by_token_too() {
    // What CPUs without AVX2+FMA run (one-row gemm): the same guarantee.
    let r = reference();
    let (model, store) = tiny_model();
    let run = || {
        let p = model.prepare_unpacked(&store);
        let full = p.forward_cached(&r.ids, &mut model.new_cache()).unwrap();
        let mut cache = model.new_cache();
        let rows: Vec<u32> = r
            .ids
            .iter()
            .flat_map(|&id| bits(&p.forward_cached(&[id], &mut cache).unwrap()))
            .collect();
        (bits(&full), rows)
    };
    let (full1, rows1) = with_threads(1, run);
    let (full2, rows2) = with_threads(2, run);
    assert_eq!(full1, rows1);
    assert_eq!(full1, full2);
    assert_eq!(rows1, rows2);
    let packed = model.forward_inference(&store, &r.ids).unwrap();
    let unpacked = Tensor::new(
        full1.iter().map(|&b| f32::from_bits(b)).collect(),
        packed.shape(),
    )
    .unwrap();
    let d = packed.max_abs_diff(&unpacked);
    eprintln!("packed vs unpacked inference: max |diff| {d:.3e}");
    assert!(d < 1e-5);
}

#[test]
fn kv_cache_refuses_to_overflow_block_size_and_a_foreign_cache() {
    let (model, store) = tiny_model();
    let mut cache = model.new_cache();
    let ids = vec![1usize; model.config.block_size];
    model.forward_cached(&store, &ids, &mut cache).unwrap();
    let e = model.forward_cached(&store, &[1], &mut cache).unwrap_err();
    assert!(e.to_string().contains("block_size"), "{e}");
    let mut other = KvCache::new(&GptConfig {
        n_layer: 3,
        ..model.config.clone()
    });
    let e = model.forward_cached(&store, &[1], &mut other).unwrap_err();
    assert!(e.to_string().contains("cache"), "{e}");
    let e = model.forward_inference(&store, &[1, 50257]).unwrap_err();
    assert!(e.to_string().contains("ids[1]"), "{e}");
}

/// A small random model: vocab 11, block 8, 2 layers.
fn small_model(bias: bool, dropout: f32) -> (Gpt, ParamStore) {
    let config = GptConfig {
        n_layer: 2,
        n_head: 2,
        n_embd: 16,
        block_size: 8,
        vocab_size: 11,
        dropout,
        bias,
    };
    let mut store = ParamStore::new();
    let model = Gpt::new(config, &mut store, &mut Rng::new(3, "init")).unwrap();
    (model, store)
}

#[test]
fn generation_is_seeded_thread_independent_and_the_cache_changes_no_token() {
    let (model, store) = tiny_model();
    let prompt = &reference().ids[..4];
    let cfg = SamplingConfig {
        temperature: 1.5,
        top_k: 50,
        ..Default::default()
    };
    // 130 new tokens from 4: the context passes block_size = 128 and is cropped.
    let n = 130;
    let gen_cached = |seed| {
        let mut seen = Vec::new();
        let out = generate(&model, &store, prompt, n, &cfg, seed, |t| {
            seen.push(t);
            true
        })
        .unwrap();
        assert_eq!(seen, out);
        out
    };
    let a = with_threads(1, || gen_cached(7));
    let b = with_threads(2, || gen_cached(7));
    let c = with_threads(2, || gen_uncached_of(&model, &store, prompt, n, &cfg, 7));
    assert_eq!(a.len(), n);
    assert_eq!(a, b, "1 vs 2 threads");
    assert_eq!(a, c, "cache vs no cache");
    assert_ne!(a, gen_cached(8), "another seed, other tokens");
    // Greedy ignores the seed; cache and no cache agree there too.
    let g = SamplingConfig::greedy();
    let g1 = generate(&model, &store, prompt, 20, &g, 1, |_| true).unwrap();
    let g2 = generate(&model, &store, prompt, 20, &g, 2, |_| true).unwrap();
    assert_eq!(g1, g2);
    assert_eq!(g1, gen_uncached_of(&model, &store, prompt, 20, &g, 3));
    // The callback stops generation.
    let short = generate(&model, &store, prompt, 20, &cfg, 7, |_| false).unwrap();
    assert_eq!(short, a[..1]);
}

fn gen_uncached_of(
    model: &Gpt,
    store: &ParamStore,
    prompt: &[usize],
    n: usize,
    cfg: &SamplingConfig,
    seed: u64,
) -> Vec<usize> {
    generate_uncached(model, store, prompt, n, cfg, seed, |_| true).unwrap()
}

#[test]
fn generation_crops_a_long_prompt_and_refuses_bad_prompts() {
    let (model, store) = small_model(false, 0.0);
    let prompt: Vec<usize> = (0..20).map(|i| i % 11).collect();
    let cfg = SamplingConfig::default();
    let a = generate(&model, &store, &prompt, 30, &cfg, 1, |_| true).unwrap();
    let b = generate_uncached(&model, &store, &prompt, 30, &cfg, 1, |_| true).unwrap();
    assert_eq!(a, b);
    assert!(a.iter().all(|&t| t < 11));
    let e = generate(&model, &store, &[], 3, &cfg, 1, |_| true).unwrap_err();
    assert!(e.to_string().contains("prompt"), "{e}");
    let e = generate(&model, &store, &[1, 11], 3, &cfg, 1, |_| true).unwrap_err();
    assert!(e.to_string().contains("prompt[1]"), "{e}");
    let bad = SamplingConfig {
        temperature: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        generate(&model, &store, &[1], 3, &bad, 1, |_| true),
        Err(Error::Sampling(_))
    ));
}

#[test]
fn num_params_is_the_size_modules_count_for_gpt2_small_and_small_configs() {
    let gpt2 = GptConfig::gpt2();
    assert_eq!(gpt2.num_params(), 124_439_808);
    let preset = learnable::size::presets::preset("gpt2").unwrap();
    assert_eq!(gpt2.num_params(), preset.config.counts().total);
    assert_eq!(tiny_config().num_params(), 1_637_792); // fixture README
    for bias in [true, false] {
        let (model, store) = small_model(bias, 0.1);
        assert_eq!(
            store.num_params() as u64,
            model.config.num_params(),
            "bias {bias}"
        );
        // The store is the size module's tensor list: same names, same order, Conv1D shapes
        // transposed.
        let expected = model.config.to_transformer().tensors();
        assert_eq!(store.len(), expected.len());
        for ((_, p), (name, shape)) in store.iter().zip(&expected) {
            assert_eq!(&p.name, name);
            let mut s: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            if hf::is_conv1d_weight(name) {
                s.reverse();
            }
            assert_eq!(p.value.shape(), &s[..], "{name}");
        }
    }
    // 2 layers, C = 16, V = 11, block 8, no biases: wte 176 + wpe 128 + 2·(12·256 + 2·16) + 16.
    let (m, _) = small_model(false, 0.0);
    assert_eq!(m.config.num_params(), 176 + 128 + 2 * (12 * 256 + 32) + 16);
}

#[test]
fn init_is_gpt2s() {
    let config = GptConfig {
        n_layer: 4,
        n_head: 4,
        n_embd: 64,
        block_size: 32,
        vocab_size: 500,
        dropout: 0.0,
        bias: true,
    };
    let mut store = ParamStore::new();
    Gpt::new(config, &mut store, &mut Rng::new(0, "init")).unwrap();
    let std = |name: &str| {
        let d = store.value(store.id(name).unwrap()).data();
        let m = d.iter().map(|&x| x as f64).sum::<f64>() / d.len() as f64;
        (d.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / d.len() as f64).sqrt()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 0.05 * b;
    assert!(close(std("transformer.wte.weight"), 0.02));
    assert!(close(std("transformer.h.0.attn.c_attn.weight"), 0.02));
    assert!(close(std("transformer.h.3.mlp.c_fc.weight"), 0.02));
    let proj = 0.02 / 8f64.sqrt();
    assert!(close(std("transformer.h.0.attn.c_proj.weight"), proj));
    assert!(close(std("transformer.h.2.mlp.c_proj.weight"), proj));
    let all = |name: &str, v: f32| {
        store
            .value(store.id(name).unwrap())
            .data()
            .iter()
            .all(|&x| x == v)
    };
    assert!(all("transformer.h.1.ln_1.weight", 1.0));
    assert!(all("transformer.ln_f.bias", 0.0));
    assert!(all("transformer.h.1.attn.c_attn.bias", 0.0));
}

#[test]
fn config_errors_name_the_field() {
    let base = GptConfig::gpt2();
    let cases = [
        (
            GptConfig {
                n_head: 5,
                ..base.clone()
            },
            "n_embd",
        ),
        (
            GptConfig {
                n_head: 0,
                ..base.clone()
            },
            "n_head",
        ),
        (
            GptConfig {
                n_layer: 0,
                ..base.clone()
            },
            "n_layer",
        ),
        (
            GptConfig {
                block_size: 0,
                ..base.clone()
            },
            "block_size",
        ),
        (
            GptConfig {
                vocab_size: 0,
                ..base.clone()
            },
            "vocab_size",
        ),
        (
            GptConfig {
                dropout: 1.0,
                ..base.clone()
            },
            "dropout",
        ),
        (
            GptConfig {
                n_embd: 1 << 20,
                n_head: 1,
                ..base.clone()
            },
            "n_embd",
        ),
    ];
    for (c, field) in cases {
        match c.validate() {
            Err(Error::InvalidArgument { name, .. }) => assert_eq!(name, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let j = serde_json::to_string(&base).unwrap();
    assert_eq!(serde_json::from_str::<GptConfig>(&j).unwrap(), base);
    assert!(serde_json::from_str::<GptConfig>(&j.replace("\"bias\"", "\"biass\"")).is_err());
}

#[test]
fn hf_round_trip_is_exact_and_bias_free_models_export_zero_biases() {
    let original: BTreeMap<String, Tensor> =
        load_safetensors(fixture("gpt2_tiny_model/model.safetensors")).unwrap();
    let store = hf::from_hf_tensors(original.clone()).unwrap();
    let back: BTreeMap<String, Tensor> = hf::to_hf_tensors(&store).unwrap().into_iter().collect();
    assert_eq!(back.len(), original.len());
    for (name, t) in &original {
        assert_eq!(back[name].shape(), t.shape(), "{name}");
        assert_eq!(bits(&back[name]), bits(t), "{name}");
    }
    // Without the prefix (GPT2Model), with buffers and a tied lm_head: the same store.
    let mut base: BTreeMap<String, Tensor> = original
        .iter()
        .map(|(k, v)| (k.trim_start_matches("transformer.").to_string(), v.clone()))
        .collect();
    base.insert("h.0.attn.bias".into(), Tensor::zeros(&[1, 1, 4, 4]));
    base.insert(
        "lm_head.weight".into(),
        original["transformer.wte.weight"].clone(),
    );
    let s2 = hf::from_hf_tensors(base.clone()).unwrap();
    assert_eq!(
        s2.iter().map(|(_, p)| p.name.clone()).collect::<Vec<_>>(),
        store
            .iter()
            .map(|(_, p)| p.name.clone())
            .collect::<Vec<_>>()
    );
    base.insert(
        "lm_head.weight".into(),
        Tensor::zeros(original["transformer.wte.weight"].shape()),
    );
    assert!(hf::from_hf_tensors(base.clone()).is_err());
    base.remove("lm_head.weight");
    base.insert("h.0.attn.extra".into(), Tensor::zeros(&[1]));
    let e = hf::from_hf_tensors(base).unwrap_err();
    assert!(e.to_string().contains("h.0.attn.extra"), "{e}");

    let (model, store) = small_model(false, 0.0);
    let t: BTreeMap<String, Tensor> = hf::to_hf_tensors(&store).unwrap().into_iter().collect();
    let mut full = model.config.clone();
    full.bias = true;
    assert_eq!(t.len(), full.to_transformer().tensors().len());
    assert!(
        t["transformer.h.1.mlp.c_fc.bias"]
            .data()
            .iter()
            .all(|&x| x == 0.0)
    );
    // Loaded back as a bias model, it computes the same logits.
    let s3 = hf::from_hf_tensors(t).unwrap();
    let m3 = Gpt::from_store(full, &s3).unwrap();
    let ids = [1, 2, 3, 4, 5];
    let a = model.forward_inference(&store, &ids).unwrap();
    let b = m3.forward_inference(&s3, &ids).unwrap();
    assert!(a.max_abs_diff(&b) < 1e-6);
}

#[test]
fn dropout_trains_with_the_rng_and_is_off_in_eval() {
    let (model, store) = small_model(true, 0.2);
    let (x, targets) = Tokens::windows(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1], &[0, 3], 6).unwrap();
    assert_eq!(x.ids, vec![1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9]);
    assert_eq!(targets, vec![2, 3, 4, 5, 6, 7, 5, 6, 7, 8, 9, 10]);
    let train = |seed| {
        let mut tape = Tape::train();
        let y = model
            .forward(&mut tape, &store, &x, &mut Rng::new(seed, "dropout"))
            .unwrap();
        assert_eq!(tape.shape(y), &[12, 11]);
        let loss = tape
            .cross_entropy(y, &targets, &Default::default())
            .unwrap();
        let l = tape.value(loss).item().unwrap();
        let g = tape.backward(loss).unwrap();
        (l, g.grads.len())
    };
    let (l1, n1) = train(1);
    assert_eq!(train(1).0.to_bits(), l1.to_bits());
    assert_ne!(train(2).0.to_bits(), l1.to_bits());
    assert_eq!(n1, store.len(), "every parameter gets a gradient");
    let eval = |seed| {
        let mut tape = Tape::eval();
        let y = model
            .forward(&mut tape, &store, &x, &mut Rng::new(seed, "dropout"))
            .unwrap();
        tape.into_value(y)
    };
    assert_eq!(bits(&eval(1)), bits(&eval(2)));
    assert!(Tokens::windows(&[1, 2, 3], &[1], 2).is_err());
    let long = Tokens::new(vec![0; 9], 1, 9).unwrap();
    let e = model
        .forward(&mut Tape::eval(), &store, &long, &mut Rng::new(0, "x"))
        .unwrap_err();
    assert!(e.to_string().contains("time"), "{e}");
}
