//! End-to-end: `learnable params` run as a real binary on every kind of target.
//!
//! Expected counts: `fixtures/reference/param_counts.json` (GPT-2 small, PyTorch), README section
//! 3 (mlp_init: 3,466) and section 4 (gpt2_tiny: 1,637,792), published model counts (Llama 2 7B
//! 6,738,415,616), and hand counts written next to each assertion.

use std::path::Path;

use assert_cmd::Command;
use learnable::{ParamStore, Rng, Tensor};
use serde_json::Value;

fn fixture(rel: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn params(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("learnable")
        .unwrap()
        .arg("params")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = params(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a target that must fail; returns stderr after checking exit code 1 and no panic.
fn failure(args: &[&str]) -> String {
    let out = params(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

const GPT2_TEXT: &str = "\
gpt2: GPT-2 small
  config from https://huggingface.co/openai-community/gpt2/blob/main/config.json
architecture: gpt2 (GPT-2 layout), 12 layers, d_model 768, 12 heads x 64, d_ff 3072, vocab 50257, context 1024, tied embeddings, biases

parameters
  token embedding             38,597,376
  position embedding             786,432
  layers                      85,054,464  (12 x 7,087,872)
  final norm                       1,536
  lm_head                           tied
  total                      124,439,808  (124.4M)
  trainable                  124,439,808
  embedding                   38,597,376  (input token embedding)
  non-embedding               85,842,432

weights
  fp32             497,759,232 bytes     498 MB
  fp16             248,879,616 bytes     249 MB

training with AdamW (weights, gradients, 2 moments; as accelerate estimate-memory; no activations)
  precision         weights  gradients    moments      total  accelerate
  fp32               498 MB     498 MB     996 MB    1.99 GB     1.99 GB
  mixed 16-bit       498 MB     747 MB     996 MB    2.24 GB      996 MB

KV cache: 2 (K, V) x 12 layers x 12 kv heads x 64 = 18,432 elements per token
  dtype      per token  batch 1 x seq 1024
  fp32         73.7 kB             75.5 MB
  fp16         36.9 kB             37.7 MB

124.4M parameters, 498 MB in fp32
";

#[test]
fn the_gpt2_preset_prints_the_exact_report() {
    // 124,439,808 parameters (param_counts.json); x4 = 497,759,232 bytes; AdamW fp32 16 bytes
    // per parameter = 1.99 GB; mixed: gradients 6 bytes (747 MB), accelerate prints 8 (996 MB);
    // KV cache 2 * 12 * 768 = 18,432 elements per token, x4 bytes = 73,728 B, x1024 tokens =
    // 75,497,472 B.
    let out = params(&["gpt2", "--dtype", "fp32,fp16"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), GPT2_TEXT);
}

#[test]
fn the_gpt2_preset_as_json_carries_the_reference_counts() {
    let v = json_of(&["gpt2"]);
    assert_eq!(v["kind"], "preset");
    assert_eq!(v["parameters"]["total"], 124_439_808u64);
    assert_eq!(v["parameters"]["embedding"], 38_597_376u64);
    assert_eq!(v["parameters"]["non_embedding"], 85_842_432u64);
    assert_eq!(v["weights"][0]["dtype"], "fp32");
    assert_eq!(v["weights"][0]["bytes"], 497_759_232u64);
    assert_eq!(v["weights"].as_array().unwrap().len(), 5);
    assert_eq!(v["training_adamw"]["fp32"]["total"], 16 * 124_439_808u64);
    assert_eq!(v["kv_cache"]["elements_per_token"], 18_432u64);
    assert_eq!(v["summary"], "124.4M parameters, 498 MB in fp32");
}

#[test]
fn a_hugging_face_config_json_counts_like_the_preset() {
    let v = json_of(&[&fixture("param_counts_configs/gpt2-small.config.json")]);
    assert_eq!(v["kind"], "hf_config");
    assert_eq!(v["parameters"]["total"], 124_439_808u64);
    assert_eq!(v["architecture"]["tied_embeddings"], true);
}

#[test]
fn a_llama_preset_with_batch_and_sequence_gives_the_kv_cache_total() {
    // Llama 2 7B, bf16: 2 * 32 * 4096 * 2 = 524,288 bytes per token; 4 x 2048 tokens:
    // 4,294,967,296 bytes. Weights 6,738,415,616 * 2 = 13,476,831,232 bytes.
    let v = json_of(&[
        "llama-2-7b",
        "--dtype",
        "bf16",
        "--batch-size",
        "4",
        "--seq-len",
        "2048",
    ]);
    assert_eq!(v["parameters"]["total"], 6_738_415_616u64);
    assert_eq!(v["kv_cache"]["per_token"][0]["bytes"], 524_288u64);
    assert_eq!(v["kv_cache"]["tokens"], 8192u64);
    assert_eq!(v["kv_cache"]["total"][0]["bytes"], 4_294_967_296u64);
    assert_eq!(v["weights"][0]["bytes"], 13_476_831_232u64);
    assert_eq!(v["summary"], "6.7B parameters, 13.5 GB in bf16");
}

#[test]
fn a_safetensors_file_lists_each_tensor_and_the_sum_of_their_sizes() {
    let path = fixture("mlp_init.safetensors");
    let out = params(&[&path]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("layers.0.weight  [32, 64]  F32    2,048"),
        "{text}"
    );
    // 64*32 + 32 + 32*32 + 32 + 32*10 + 10 = 3,466; x4 bytes = 13,864 B = 13.9 kB.
    assert!(
        text.ends_with("3.5K parameters, 13.9 kB in fp32\n"),
        "{text}"
    );
    let v = json_of(&[&path]);
    assert_eq!(v["kind"], "safetensors");
    assert_eq!(v["parameters"]["total"], 3466u64);
    let sum: u64 = v["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 3466);
    assert_eq!(v["stored"]["bytes"], 3466u64 * 4);
    assert!(v["kv_cache"].is_null());
}

#[test]
fn a_hugging_face_model_directory_counts_its_weights_and_checks_its_config() {
    // gpt2_tiny_model: 1,637,792 unique parameters (README section 4); KV cache
    // 2 * 2 layers * 32 = 128 elements per token.
    let v = json_of(&[&fixture("gpt2_tiny_model")]);
    assert_eq!(v["kind"], "model_dir");
    assert_eq!(v["parameters"]["total"], 1_637_792u64);
    assert_eq!(v["parameters"]["trainable"], 1_637_792u64);
    // wte 50257 * 32 = 1,608,224.
    assert_eq!(v["parameters"]["embedding"], 1_608_224u64);
    assert_eq!(v["tensors"].as_array().unwrap().len(), 28);
    assert_eq!(v["kv_cache"]["elements_per_token"], 128u64);
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("matches the weights"),
        "{}",
        v["notes"]
    );
}

#[test]
fn a_learnable_checkpoint_reports_the_same_total_as_the_model_in_memory() {
    let mut rng = Rng::new(3, "params-cli");
    let mut store = ParamStore::new();
    store
        .add(
            "layers.0.weight",
            Tensor::uniform(&[32, 64], -0.1, 0.1, &mut rng),
        )
        .unwrap();
    store.add("layers.0.bias", Tensor::zeros(&[32])).unwrap();
    store
        .add(
            "layers.2.weight",
            Tensor::uniform(&[10, 32], -0.1, 0.1, &mut rng),
        )
        .unwrap();
    store.add("layers.2.bias", Tensor::zeros(&[10])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    store.save(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"model": "mlp", "sizes": [64, 32, 10]}"#,
    )
    .unwrap();
    let v = json_of(&[dir.path().to_str().unwrap()]);
    // By hand: 64*32 + 32 + 32*10 + 10 = 2,410.
    assert_eq!(store.num_params(), 2410);
    assert_eq!(v["parameters"]["total"], store.num_params() as u64);
    assert_eq!(v["parameters"]["trainable"], store.num_trainable() as u64);
    let out = params(&[dir.path().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("layers.0.weight  [32, 64]  F32    2,048"),
        "{text}"
    );
    assert!(
        text.contains("  trainable                        2,410\n"),
        "{text}"
    );
}

fn write_shards(dir: &Path) -> String {
    let a = Tensor::zeros(&[3, 4]);
    let b = Tensor::zeros(&[5]);
    let c = Tensor::zeros(&[2, 2, 2]);
    learnable::io::save_safetensors(
        dir.join("model-00001-of-00002.safetensors"),
        [("a", &a), ("b", &b)],
    )
    .unwrap();
    learnable::io::save_safetensors(dir.join("model-00002-of-00002.safetensors"), [("c", &c)])
        .unwrap();
    let index = serde_json::json!({"metadata": {"total_size": 100},
        "weight_map": {"a": "model-00001-of-00002.safetensors",
                       "b": "model-00001-of-00002.safetensors",
                       "c": "model-00002-of-00002.safetensors"}});
    let path = dir.join("model.safetensors.index.json");
    std::fs::write(&path, index.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn a_sharded_index_reads_every_shard_header() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_shards(dir.path());
    // 3*4 + 5 + 2*2*2 = 25 elements, 100 bytes of F32.
    let v = json_of(&[&index]);
    assert_eq!(v["kind"], "sharded_safetensors");
    assert_eq!(v["parameters"]["total"], 25u64);
    assert_eq!(v["tensors"][2]["file"], "model-00002-of-00002.safetensors");
    let out = params(&[&index]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("c     [2, 2, 2]  F32        8  model-00002-of-00002.safetensors"),
        "{text}"
    );
}

#[test]
fn hostile_safetensors_files_fail_cleanly_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, header: &[u8], len: u64, data: usize| {
        let p = dir.path().join(name);
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend(std::iter::repeat_n(0u8, data));
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let huge = write("huge.safetensors", b"{}", u64::MAX, 0);
    assert!(failure(&[&huge]).contains("exceeds the cap"));
    let past = write("past.safetensors", b"{}", 4096, 0);
    assert!(failure(&[&past]).contains("runs past the end of the file"));
    let bad = write("bad.safetensors", b"{oops", 5, 0);
    let e = failure(&[&bad]);
    assert!(
        e.contains("bad.safetensors") && e.contains("not valid safetensors JSON"),
        "{e}"
    );
    let h = br#"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#;
    let mismatch = write("mismatch.safetensors", h, h.len() as u64, 8);
    let e = failure(&[&mismatch]);
    assert!(
        e.contains("mismatch.safetensors")
            && e.contains("tensor w")
            && e.contains("needs 12 bytes"),
        "{e}"
    );
    let h = br#"{"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}"#;
    let dtype = write("dtype.safetensors", h, h.len() as u64, 8);
    assert!(failure(&[&dtype]).contains("unknown dtype \"Q7\""));
    let h = br#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#;
    let overlap = write("overlap.safetensors", h, h.len() as u64, 12);
    assert!(failure(&[&overlap]).contains("overlap tensor w"));
}

#[test]
fn unknown_targets_and_bad_options_are_refused() {
    let e = failure(&["gpt-5"]);
    assert!(e.contains("\"gpt-5\"") && e.contains("llama-3-70b"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, r#"{"model_type": "bert", "hidden_size": 768}"#).unwrap();
    let e = failure(&[cfg.to_str().unwrap()]);
    assert!(
        e.contains("config.json") && e.contains("unsupported model_type \"bert\""),
        "{e}"
    );
    // clap usage errors exit with 2.
    let out = params(&["gpt2", "--dtype", "fp8"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown dtype \"fp8\""));
    // A whole-number flag out of range is a range error like the library's: exit 1, flag and
    // range named (flags::Count).
    let out = params(&["gpt2", "--seq-len", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --seq-len 0 is out of range: allowed >= 1"
    );
}

#[test]
fn every_preset_runs_and_reports_its_published_size() {
    // Published counts (see crates/learnable/tests/size_counts.rs for sources).
    for (name, total) in [
        ("gpt2-medium", 354_823_168u64),
        ("gpt2-large", 774_030_080),
        ("gpt2-xl", 1_557_611_200),
        ("gpt3-175b", 174_604_259_328),
        ("llama-2-13b", 13_015_864_320),
        ("llama-2-70b", 68_976_648_192),
        ("llama-3-8b", 8_030_261_248),
        ("llama-3-70b", 70_553_706_496),
        ("mistral-7b", 7_241_732_096),
    ] {
        let v = json_of(&[name]);
        assert_eq!(v["parameters"]["total"], total, "{name}");
    }
}

#[test]
fn a_missing_path_is_reported_as_missing() {
    let e = failure(&["/nonexistent/model.safetensors"]);
    assert!(
        e.contains("/nonexistent/model.safetensors") && e.contains("not found"),
        "{e}"
    );
}
