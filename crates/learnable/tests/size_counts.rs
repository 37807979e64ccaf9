//! Parameter counts of presets and Hugging Face configs, memory formulas and the report.
//!
//! Expected values come from: `fixtures/reference/param_counts.json` (PyTorch
//! `sum(p.numel() for p in model.parameters())` on GPT2LMHeadModel), the parameter counts the
//! model authors publish (model cards, papers), and counts by hand written out below.

use learnable::size::report::{human_bytes, human_count, render_text};
use learnable::size::{
    self, Layout, Options, Target, TransformerConfig, WeightDtype, hf_config, memory, preset,
};
use serde_json::{Value, json};

fn fixture(rel: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn total(name: &str) -> u64 {
    preset(name).unwrap().config.counts().total
}

#[test]
fn gpt2_preset_counts_exactly_the_reference_124_439_808() {
    // fixtures/reference/param_counts.json: total_parameters, input_embedding_parameters,
    // non_embedding_parameters (total - input embedding), GPT2LMHeadModel in PyTorch.
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("param_counts.json")).unwrap())
            .unwrap();
    let m = &reference["models"]["gpt2-small"];
    let c = preset("gpt2").unwrap().config.counts();
    assert_eq!(c.total, 124_439_808);
    assert_eq!(c.total, m["total_parameters"].as_u64().unwrap());
    assert_eq!(
        c.embedding(),
        m["input_embedding_parameters"].as_u64().unwrap()
    );
    assert_eq!(
        c.non_embedding(),
        m["non_embedding_parameters (total - input embedding)"]
            .as_u64()
            .unwrap()
    );
    // Counting the tied head twice gives the fixture's total_counting_tied_twice.
    assert_eq!(
        c.total + c.token_embedding,
        m["total_counting_tied_twice"].as_u64().unwrap()
    );
}

#[test]
fn gpt2_config_json_from_the_fixture_counts_124_439_808() {
    let path = fixture("param_counts_configs/gpt2-small.config.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cfg = hf_config::from_json(&v, &path).unwrap();
    assert_eq!(cfg, preset("gpt2").unwrap().config);
    assert_eq!(cfg.counts().total, 124_439_808);
}

#[test]
fn presets_match_the_published_parameter_counts() {
    // GPT-2: PyTorch counts of the Hugging Face checkpoints (openai-community/gpt2-medium,
    // -large, -xl model cards report 355M, 774M, 1.5B; exact values as
    // `GPT2LMHeadModel.from_pretrained(...).num_parameters()`).
    assert_eq!(total("gpt2-medium"), 354_823_168);
    assert_eq!(total("gpt2-large"), 774_030_080);
    assert_eq!(total("gpt2-xl"), 1_557_611_200);
    // Llama 2 (Touvron et al. 2023; HF `LlamaForCausalLM.num_parameters()` of meta-llama/Llama-2-*-hf).
    assert_eq!(total("llama-2-7b"), 6_738_415_616);
    assert_eq!(total("llama-2-13b"), 13_015_864_320);
    assert_eq!(total("llama-2-70b"), 68_976_648_192);
    // Llama 3 (meta-llama/Meta-Llama-3-8B and -70B model cards: 8.03B and 70.6B).
    assert_eq!(total("llama-3-8b"), 8_030_261_248);
    assert_eq!(total("llama-3-70b"), 70_553_706_496);
    // Mistral 7B v0.1 (mistralai/Mistral-7B-v0.1, 7.24B).
    assert_eq!(total("mistral-7b"), 7_241_732_096);
}

#[test]
fn gpt3_175b_from_the_paper_config_counts_174_6_billion() {
    // Brown et al. 2020, Table 2.1: 96 layers, d_model 12288, 96 heads, context 2048; GPT-2
    // vocabulary 50257, tied head. By hand:
    //   token embedding 50257 * 12288 = 617,558,016; positions 2048 * 12288 = 25,165,824;
    //   per layer 12 * 12288^2 + 13 * 12288 = 1,811,939,328 + 159,744 = 1,812,099,072;
    //   96 layers = 173,961,510,912; final LayerNorm 2 * 12288 = 24,576.
    //   Total 174,604,259,328 (the paper rounds to 175.0B).
    let c = preset("gpt3-175b").unwrap().config.counts();
    assert_eq!(c.token_embedding, 617_558_016);
    assert_eq!(c.position_embedding, 25_165_824);
    assert_eq!(c.per_layer, 1_812_099_072);
    assert_eq!(c.total, 174_604_259_328);
    assert_eq!(human_count(c.total), "174.6B");
}

#[test]
fn one_gpt2_layer_matches_a_count_by_hand() {
    // d = 768, f = 3072, by hand:
    //   ln_1 768 + 768 = 1,536
    //   attn.c_attn 768 * 2304 + 2304 = 1,771,776
    //   attn.c_proj 768 * 768 + 768 = 590,592
    //   ln_2 1,536
    //   mlp.c_fc 768 * 3072 + 3072 = 2,362,368
    //   mlp.c_proj 3072 * 768 + 768 = 2,360,064
    //   sum 7,087,872
    let hand = 1_536 + 1_771_776 + 590_592 + 1_536 + 2_362_368 + 2_360_064;
    assert_eq!(hand, 7_087_872);
    assert_eq!(preset("gpt2").unwrap().config.counts().per_layer, hand);
}

#[test]
fn one_llama_layer_matches_a_count_by_hand() {
    // Llama 2 7B, d = 4096, f = 11008, 32 heads, 32 kv heads, head_dim 128, no biases:
    //   q, k, v, o: 4 * 4096 * 4096 = 67,108,864
    //   gate, up, down: 3 * 4096 * 11008 = 135,266,304
    //   input_layernorm + post_attention_layernorm: 2 * 4096 = 8,192
    //   sum 202,383,360
    let hand: u64 = 67_108_864 + 135_266_304 + 8_192;
    assert_eq!(
        preset("llama-2-7b").unwrap().config.counts().per_layer,
        hand
    );
}

#[test]
fn one_mistral_layer_with_grouped_query_attention_matches_a_count_by_hand() {
    // Mistral 7B, d = 4096, f = 14336, 32 heads, 8 kv heads, head_dim 128:
    //   q 4096 * 4096 = 16,777,216; k 4096 * 1024 = 4,194,304; v 4,194,304; o 16,777,216
    //   gate, up, down: 3 * 4096 * 14336 = 176,160,768; norms 8,192
    //   sum 218,112,000
    let hand: u64 = 16_777_216 + 4_194_304 + 4_194_304 + 16_777_216 + 176_160_768 + 8_192;
    assert_eq!(hand, 218_112_000);
    assert_eq!(
        preset("mistral-7b").unwrap().config.counts().per_layer,
        hand
    );
    // Llama 3 8B has the same block shape.
    assert_eq!(
        preset("llama-3-8b").unwrap().config.counts().per_layer,
        hand
    );
}

#[test]
fn a_llama_layer_with_attention_and_mlp_biases_matches_a_count_by_hand() {
    // d = 8, 2 heads of 4, 1 kv head, f = 16, attention_bias and mlp_bias:
    //   q 8*8 + 8 = 72; k 4*8 + 4 = 36; v 36; o 8*8 + 8 = 72
    //   gate 16*8 + 16 = 144; up 144; down 8*16 + 8 = 136; norms 2*8 = 16
    //   sum 656
    let v = json!({"model_type": "llama", "vocab_size": 10, "hidden_size": 8,
        "intermediate_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2,
        "num_key_value_heads": 1, "attention_bias": true, "mlp_bias": true,
        "max_position_embeddings": 32});
    let cfg = hf_config::from_json(&v, "inline").unwrap();
    let c = cfg.counts();
    assert_eq!(c.per_layer, 72 + 36 + 36 + 72 + 144 + 144 + 136 + 16);
    // embed 10*8 = 80, 3 layers, final norm 8, untied head 80.
    assert_eq!(c.total, 80 + 3 * 656 + 8 + 80);
    let listed: u64 = cfg
        .tensors()
        .iter()
        .map(|(_, s)| s.iter().product::<u64>())
        .sum();
    assert_eq!(listed, c.total);
}

#[test]
fn every_preset_tensor_list_sums_to_its_closed_form_count() {
    for p in size::presets::presets() {
        p.config.validate().unwrap();
        let listed: u64 = p
            .config
            .tensors()
            .iter()
            .map(|(_, s)| s.iter().product::<u64>())
            .sum();
        assert_eq!(listed, p.config.counts().total, "{}", p.name);
    }
}

#[test]
fn llama_2_7b_config_json_as_published_counts_6_738_415_616() {
    // meta-llama/Llama-2-7b-hf config.json (fields that matter, as published).
    let v = json!({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096,
        "intermediate_size": 11008, "max_position_embeddings": 4096, "model_type": "llama",
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
        "rms_norm_eps": 1e-05, "tie_word_embeddings": false, "torch_dtype": "float16",
        "vocab_size": 32000});
    let cfg = hf_config::from_json(&v, "llama-2-7b.json").unwrap();
    assert_eq!(cfg.counts().total, 6_738_415_616);
    assert_eq!(cfg, preset("llama-2-7b").unwrap().config);
}

#[test]
fn mistral_config_json_as_published_counts_7_241_732_096() {
    // mistralai/Mistral-7B-v0.1 config.json.
    let v = json!({"architectures": ["MistralForCausalLM"], "hidden_size": 4096,
        "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
        "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
        "sliding_window": 4096, "tie_word_embeddings": false, "vocab_size": 32000});
    let cfg = hf_config::from_json(&v, "mistral.json").unwrap();
    assert_eq!(cfg.counts().total, 7_241_732_096);
    assert_eq!(cfg.layout, Layout::Llama);
}

#[test]
fn a_llama_with_tied_embeddings_counts_its_head_once() {
    // meta-llama/Llama-3.2-1B config.json: tie_word_embeddings true, head_dim 64. Published:
    // 1,235,814,400 parameters (model.num_parameters()). By hand: embed 128256 * 2048 =
    // 262,668,288; per layer q 2048*2048 + k, v 2 * 512*2048 + o 2048*2048 + MLP 3 * 2048*8192
    // + norms 4096 = 60,821,504; 16 layers 973,144,064; final norm 2048.
    let v = json!({"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "head_dim": 64,
        "intermediate_size": 8192, "max_position_embeddings": 131072, "model_type": "llama",
        "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
        "tie_word_embeddings": true, "vocab_size": 128256});
    let c = hf_config::from_json(&v, "llama-3.2-1b.json")
        .unwrap()
        .counts();
    assert_eq!(c.per_layer, 60_821_504);
    assert_eq!(c.lm_head, 0);
    assert_eq!(c.total, 262_668_288 + 973_144_064 + 2048);
    assert_eq!(c.total, 1_235_814_400);
}

#[test]
fn an_untied_gpt2_adds_one_head_of_vocab_times_width() {
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("param_counts_configs/gpt2-small.config.json")).unwrap(),
    )
    .unwrap();
    v["tie_word_embeddings"] = json!(false);
    let c = hf_config::from_json(&v, "untied").unwrap().counts();
    // param_counts.json: total_counting_tied_twice = 163,037,184 = 124,439,808 + 50257 * 768.
    assert_eq!(c.total, 163_037_184);
}

#[test]
fn gpt2_cross_attention_adds_four_d_squared_plus_six_d_per_layer() {
    // GPT2Block with add_cross_attention: crossattention.c_attn [d, 2d] + 2d,
    // q_attn [d, d] + d, c_proj [d, d] + d, ln_cross_attn 2d -> 4d^2 + 6d. d = 768:
    // 4 * 589,824 + 4,608 = 2,363,904.
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("param_counts_configs/gpt2-small.config.json")).unwrap(),
    )
    .unwrap();
    v["add_cross_attention"] = json!(true);
    let cfg = hf_config::from_json(&v, "cross").unwrap();
    assert_eq!(cfg.counts().per_layer, 7_087_872 + 2_363_904);
    let listed: u64 = cfg
        .tensors()
        .iter()
        .map(|(_, s)| s.iter().product::<u64>())
        .sum();
    assert_eq!(listed, cfg.counts().total);
}

#[test]
fn the_gpt2_tiny_config_lists_exactly_the_tensors_its_checkpoint_stores() {
    // gpt2_tiny_model: save_pretrained output of GPT2LMHeadModel (README section 4), tied head
    // not stored, 1,637,792 unique parameters.
    let path = fixture("gpt2_tiny_model/config.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cfg = hf_config::from_json(&v, &path).unwrap();
    let mut expected = cfg.tensors();
    expected.sort();
    let header = size::read_header(fixture("gpt2_tiny_model/model.safetensors")).unwrap();
    let mut stored: Vec<(String, Vec<u64>)> = header
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone()))
        .collect();
    stored.sort();
    assert_eq!(expected, stored);
    assert_eq!(cfg.counts().total, 1_637_792);
}

#[test]
fn unsupported_or_malformed_configs_give_errors_naming_the_file_and_field() {
    let e = hf_config::from_json(&json!({"model_type": "bert"}), "bert.json").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("bert.json") && msg.contains("bert") && msg.contains("gpt2"),
        "{msg}"
    );

    let e = hf_config::from_json(&json!({"model_type": "gpt2", "n_embd": "768"}), "c.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.json") && e.contains("n_embd"), "{e}");

    let e = hf_config::from_json(
        &json!({"model_type": "gpt2", "n_embd": 770, "n_head": 12}),
        "c",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("n_embd = 770") && e.contains("n_head = 12"),
        "{e}"
    );

    let e = hf_config::from_json(
        &json!({"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5}),
        "c",
    )
    .unwrap_err()
    .to_string();
    // The fields as config.json writes them (before the fix: "n_head = 32 is not a multiple
    // of n_kv_head = 5", the internal names).
    assert!(
        e.contains("num_attention_heads = 32 is not a multiple of num_key_value_heads = 5"),
        "{e}"
    );

    // Hostile sizes are refused, not overflowed or allocated.
    let e = hf_config::from_json(&json!({"model_type": "gpt2", "n_layer": 1u64 << 40}), "c")
        .unwrap_err()
        .to_string();
    assert!(e.contains("n_layer"), "{e}");
    let e = hf_config::from_json(&json!({"model_type": "llama", "vocab_size": u64::MAX}), "c")
        .unwrap_err()
        .to_string();
    assert!(e.contains("vocab_size"), "{e}");
    assert!(hf_config::from_json(&json!({"model_type": "gpt2", "n_layer": 0}), "c").is_err());
    assert!(hf_config::from_json(&json!([1, 2]), "c").is_err());
}

#[test]
fn adamw_memory_follows_accelerates_estimate_memory() {
    // accelerate estimate_training_usage with S = 4 * P bytes:
    //   fp32: model S, gradients S, optimizer 2S, step 4S -> prints 4S = 16 P
    //   fp16/bf16: model S, gradients S + S // 2, optimizer 2S, step 2S -> prints 2S = 8 P
    let p = 124_439_808u64;
    let f = memory::adamw_fp32(p, p).unwrap();
    assert_eq!(
        (f.weights, f.gradients, f.optimizer_moments),
        (4 * p, 4 * p, 8 * p)
    );
    assert_eq!(f.total, 16 * p);
    assert_eq!(f.accelerate, 1_991_036_928);
    let m = memory::adamw_mixed(p, p).unwrap();
    assert_eq!(
        (m.weights, m.gradients, m.optimizer_moments),
        (4 * p, 6 * p, 8 * p)
    );
    assert_eq!(m.total, 18 * p);
    assert_eq!(m.accelerate, 995_518_464);
    // Frozen parameters need weights only.
    let half = memory::adamw_fp32(100, 40).unwrap();
    assert_eq!(half.total, 400 + 160 + 320);
    assert!(memory::adamw_fp32(u64::MAX / 2, 1).is_none());
}

#[test]
fn weight_bytes_per_dtype_round_int4_up_to_whole_bytes() {
    assert_eq!(WeightDtype::Fp32.bytes(3), Some(12));
    assert_eq!(WeightDtype::Bf16.bytes(3), Some(6));
    assert_eq!(WeightDtype::Int8.bytes(3), Some(3));
    assert_eq!(WeightDtype::Int4.bytes(3), Some(2));
    assert_eq!(WeightDtype::Int4.bytes(124_439_808), Some(62_219_904));
}

#[test]
fn kv_cache_per_token_matches_hand_counts() {
    let opts = Options {
        dtypes: vec![WeightDtype::Fp16],
        batch_size: Some(8),
        seq_len: Some(4096),
    };
    // Llama 2 7B in fp16: 2 (K, V) * 32 layers * 32 heads * 128 * 2 bytes = 524,288 bytes per
    // token (0.5 MiB, the figure usually quoted).
    let r = size::analyze(&Target::Preset(preset("llama-2-7b").unwrap()), &opts).unwrap();
    let kv = r.kv_cache.unwrap();
    assert_eq!(kv.per_token[0].bytes, 524_288);
    assert_eq!(kv.total[0].bytes, 524_288 * 8 * 4096);
    // Llama 2 70B, 8 kv heads (GQA): 2 * 80 * 8 * 128 * 2 = 327,680 bytes per token.
    let r = size::analyze(&Target::Preset(preset("llama-2-70b").unwrap()), &opts).unwrap();
    assert_eq!(r.kv_cache.unwrap().per_token[0].bytes, 327_680);
    // GPT-2 small: 2 * 12 * 768 * 2 = 36,864 bytes per token.
    let r = size::analyze(&Target::Preset(preset("gpt2").unwrap()), &opts).unwrap();
    assert_eq!(r.kv_cache.as_ref().unwrap().per_token[0].bytes, 36_864);
    // seq_len 4096 exceeds GPT-2's 1024 positions: said in a note.
    assert!(
        r.notes.iter().any(|n| n.contains("exceeds")),
        "{:?}",
        r.notes
    );
}

#[test]
fn the_gpt2_summary_line_reads_124_4m_parameters_498_mb_in_fp32() {
    let r = size::analyze(
        &Target::Preset(preset("gpt2").unwrap()),
        &Options::default(),
    )
    .unwrap();
    // 124,439,808 * 4 = 497,759,232 bytes = 498 MB (SI).
    assert_eq!(r.weights[0].bytes, 497_759_232);
    assert_eq!(r.summary, "124.4M parameters, 498 MB in fp32");
    let text = render_text(&r);
    assert!(text.contains("124,439,808") && text.ends_with("124.4M parameters, 498 MB in fp32\n"));
    // The summary uses the first requested dtype.
    let opts = Options {
        dtypes: vec![WeightDtype::Bf16],
        ..Options::default()
    };
    let r = size::analyze(&Target::Preset(preset("llama-2-7b").unwrap()), &opts).unwrap();
    // 6,738,415,616 * 2 = 13,476,831,232 bytes.
    assert_eq!(r.summary, "6.7B parameters, 13.5 GB in bf16");
}

#[test]
fn human_sizes_use_three_significant_digits_and_si_units() {
    assert_eq!(human_bytes(512), "512 B");
    assert_eq!(human_bytes(1_637_792), "1.64 MB");
    assert_eq!(human_bytes(13_476_831_232), "13.5 GB");
    assert_eq!(human_bytes(999_999_999), "1.00 GB");
    assert_eq!(human_count(3466), "3.5K");
    assert_eq!(human_count(999), "999");
    assert_eq!(human_count(999_960_000), "1.0B");
}

#[test]
fn a_config_built_in_code_equals_the_preset_it_describes() {
    // The GPT-2 constructor fills n_inner = 4 * n_embd and head_dim = n_embd / n_head.
    let c = TransformerConfig::gpt2(50257, 1024, 768, 12, 12);
    assert_eq!((c.d_ff, c.head_dim), (3072, 64));
    assert_eq!(c, preset("GPT2").unwrap().config);
}

#[test]
fn config_errors_name_the_config_json_keys_not_internal_names() {
    // (config.json, the error text). Before the fix the errors said d_model, d_ff,
    // context_length, n_layer, n_head and n_kv_head whatever the file called them. MAX_DIM is
    // u32::MAX = 4294967295.
    let cases = [
        (
            json!({"model_type": "gpt2", "n_embd": 0}),
            "n_embd = 0 (allowed: 1..=4294967295)",
        ),
        (json!({"model_type": "gpt2", "n_inner": 0}), "n_inner = 0"),
        (json!({"model_type": "gpt2", "n_ctx": 0}), "n_ctx = 0"),
        (
            json!({"model_type": "gpt2", "n_positions": 0}),
            "n_positions = 0",
        ),
        (
            json!({"model_type": "gpt2", "n_embd": 2_000_000_000u64, "n_head": 1}),
            "n_inner (4 * n_embd) = 8000000000",
        ),
        (
            json!({"model_type": "llama", "hidden_size": 0}),
            "hidden_size = 0",
        ),
        (
            json!({"model_type": "llama", "intermediate_size": 0}),
            "intermediate_size = 0",
        ),
        (
            json!({"model_type": "llama", "max_position_embeddings": 0}),
            "max_position_embeddings = 0",
        ),
        (
            json!({"model_type": "llama", "num_hidden_layers": 0}),
            "num_hidden_layers = 0",
        ),
        (
            json!({"model_type": "llama", "num_attention_heads": 0}),
            "num_attention_heads = 0",
        ),
        (
            json!({"model_type": "llama", "head_dim": 5_000_000_000u64}),
            "head_dim = 5000000000",
        ),
        (
            json!({"model_type": "mistral", "num_attention_heads": 12, "hidden_size": 768}),
            "num_attention_heads = 12 is not a multiple of num_key_value_heads (default 8) = 8",
        ),
    ];
    for (cfg, want) in cases {
        let e = hf_config::from_json(&cfg, "config.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.json") && e.contains(want), "{cfg}: {e}");
        for internal in ["d_model", "d_ff", "context_length", "n_kv_head"] {
            assert!(!e.contains(internal), "{cfg}: {e}");
        }
    }
    // n_embd near u64::MAX: n_inner defaults to 4 * n_embd, which saturates instead of
    // overflowing (a panic in a debug build before the fix).
    let e = hf_config::from_json(&json!({"model_type": "gpt2", "n_embd": u64::MAX}), "c")
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("n_embd = {}", u64::MAX)), "{e}");
}

#[cfg(unix)]
#[test]
fn a_config_that_is_not_a_regular_file_is_refused_without_reading_it() {
    // Before the fix /dev/zero was read up to the 100 MB cap, then refused as too large.
    let e = size::analyze(&Target::HfConfig("/dev/zero".into()), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file (a character device)"),
        "{e}"
    );
}
