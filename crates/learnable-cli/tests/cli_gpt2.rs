//! End-to-end on GPT-2 directories: the transformers `gpt2_tiny_model` fixture (README section
//! 4: `save_pretrained` output, no tokenizer files, so the GPT-2 BPE is used) through `eval`,
//! `logits`, `generate` and `params`, checked against the fixture's loss and top-5; and
//! `train --tokenizer gpt2`.

mod common;

use common::{learnable, out_str};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("gpt2_tiny.json")).unwrap()).unwrap()
}

#[test]
fn a_transformers_gpt2_directory_works_with_eval_logits_generate_and_params() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let r = reference();
    let text = r["text"].as_str().unwrap();
    std::fs::write(d.join("fc.txt"), text).unwrap();
    let model = fixture("gpt2_tiny_model");

    // eval: one window of 14 tokens, transformers' loss (README: rtol 1e-5).
    let o = learnable(d)
        .args(["eval", "--model", &model, "--text", "fc.txt", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = r["loss"].as_f64().unwrap();
    let loss = v["loss"].as_f64().unwrap();
    assert!((loss - want).abs() < 1e-5 * want, "{loss} vs {want}");
    assert_eq!(v["tokens"], 14);
    assert_eq!(v["predictions"], 13);
    assert_eq!(v["tokenizer"], "gpt2");
    let ppl = v["perplexity"].as_f64().unwrap();
    assert!((ppl - want.exp()).abs() < 1e-4 * want.exp());
    // 13 predicted tokens = the text without its first token "First" (5 bytes).
    let bytes = (text.len() - 5) as f64;
    let bpb = v["bits_per_byte"].as_f64().unwrap();
    assert!((bpb - want * 13.0 / (bytes * std::f64::consts::LN_2)).abs() < 1e-4);
    let o = learnable(d)
        .args(["eval", "--model", &model, "--text", "fc.txt"])
        .output()
        .unwrap();
    let t = out_str(&o);
    assert!(t.contains("loss:       10.8617 nats per token"), "{t}");

    // logits: the fixture's top-5 next tokens, in order.
    let o = learnable(d)
        .args(["logits", "--model", &model, "--prompt", text, "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let logits: Vec<f64> = v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(logits.len(), 50257);
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let top5: Vec<u64> = idx[..5].iter().map(|&i| i as u64).collect();
    let want5: Vec<u64> = r["last_position_top5_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(top5, want5);
    // 20889 is " sue" in GPT-2's vocabulary.
    assert_eq!(v["labels"][20889], "' sue'");

    // generate, greedy: the first token is the top-1, streamed as text.
    let o = learnable(d)
        .args([
            "generate",
            "--model",
            &model,
            "--prompt",
            text,
            "--temperature",
            "0",
            "--max-new-tokens",
            "1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{text} sue\n")
    );

    // --show-probs: greedy, so the sampled probability is 1; the model's probability of
    // " sue" is the softmax of transformers' last-position logits.
    let o = learnable(d)
        .args([
            "generate",
            "--model",
            &model,
            "--prompt",
            text,
            "--temperature",
            "0",
            "--max-new-tokens",
            "1",
            "--show-probs",
        ])
        .output()
        .unwrap();
    let t = out_str(&o);
    assert!(o.status.success(), "{t}");
    let ref_logits = learnable::io::load_safetensors(fixture("gpt2_tiny_logits.safetensors"))
        .unwrap()
        .remove("logits")
        .unwrap();
    let last: Vec<f64> = ref_logits.row(13).iter().map(|&x| x as f64).collect();
    let m = last.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = last.iter().map(|x| (x - m).exp()).sum();
    let p = (last[20889] - m).exp() / z;
    let line = format!("   1  ' sue'  20889  1.0000  {p:.4}  ' sue' {p:.4} | ' chickens' ");
    assert!(t.contains(&line), "{line}\n{t}");
    assert!(
        t.contains(&format!("text: {:?}", format!("{text} sue"))),
        "{t}"
    );
    // A prompt longer than the context (128 tokens) is cropped from the left, with a note:
    // "the", 199 × " the" and the trailing " " are 201 tokens.
    let long = "the ".repeat(200);
    let o = learnable(d)
        .args([
            "generate",
            "--model",
            &model,
            "--prompt",
            &long,
            "--max-new-tokens",
            "2",
        ])
        .output()
        .unwrap();
    let t = out_str(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("note: the prompt has 201 tokens, more than the model's context of 128"),
        "{t}"
    );

    // The same model as an llm.c checkpoint file: the same loss through eval.
    let lm = learnable::lm::LanguageModel::load(&model).unwrap();
    lm.save_llmc(d.join("tiny.bin")).unwrap();
    let o = learnable(d)
        .args(["eval", "--model", "tiny.bin", "--text", "fc.txt", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let loss = v["loss"].as_f64().unwrap();
    assert!((loss - want).abs() < 1e-5 * want, "{loss} vs {want}");
    // A truncated .bin is a clear error, exit 1, no panic.
    let bytes = std::fs::read(d.join("tiny.bin")).unwrap();
    std::fs::write(d.join("cut.bin"), &bytes[..bytes.len() / 2]).unwrap();
    let o = learnable(d)
        .args(["generate", "--model", "cut.bin", "--prompt", "Hi"])
        .output()
        .unwrap();
    let t = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("cut.bin") && t.contains("(truncated)"), "{t}");
    assert!(!t.contains("panicked"), "{t}");

    let o = learnable(d).args(["params", &model]).output().unwrap();
    let t = out_str(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("1,637,792"), "{t}");
}

#[test]
fn train_with_the_gpt2_tokenizer_stores_it_and_generates() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("s.txt"),
        "to be or not to be, that is the question. ".repeat(20),
    )
    .unwrap();
    let args = [
        "train",
        "--model",
        "gpt",
        "--text",
        "s.txt",
        "--tokenizer",
        "gpt2",
        "--n-layer",
        "1",
        "--n-head",
        "2",
        "--n-embd",
        "8",
        "--block-size",
        "8",
        "--batch-size",
        "2",
        "--max-steps",
        "2",
        "--eval-interval",
        "2",
        "--eval-iters",
        "1",
        "--warmup-steps",
        "1",
        "--out",
        "m",
        "--quiet",
    ];
    let o = learnable(d).args(args).output().unwrap();
    let t = out_str(&o);
    assert!(o.status.success(), "{t}");
    // Each repeat is 12 tokens ("to", " be", " or", " not", " to", " be", ",", " that", " is",
    // " the", " question", "."; a repeat's trailing space joins the next "to" as " to"), plus
    // the final " ": 20 · 12 + 1.
    assert!(t.contains("241 GPT-2 tokens"), "{t}");
    assert!(t.contains("nats per token"), "{t}");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    assert_eq!(cfg["vocab_size"], 50257);
    assert_eq!(cfg["learnable"]["tokenizer"]["name"], "gpt2");
    let o = learnable(d)
        .args([
            "generate",
            "--model",
            "m",
            "--prompt",
            "to be",
            "--max-new-tokens",
            "3",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    assert!(String::from_utf8(o.stdout).unwrap().starts_with("to be"));
    // An unknown tokenizer lists the choices.
    let mut bad = args.to_vec();
    bad[6] = "bpe";
    let o = learnable(d).args(bad).output().unwrap();
    let t = out_str(&o);
    assert_ne!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("bpe") && t.contains("char, gpt2"), "{t}");
}
