//! End-to-end: `learnable train --model gpt --text FILE` then `learnable generate` on the
//! directory it wrote: a tiny GPT memorises a short text, greedy generation continues it
//! exactly, the same seed gives the same sample, and bad input is a clear error.

mod common;

use common::{learnable, out_str};

const TEXT: &str = "to be or not to be, that is the question. ";

fn train(dir: &std::path::Path) {
    std::fs::write(dir.join("short.txt"), TEXT.repeat(12)).unwrap();
    let o = learnable(dir)
        .args([
            "train",
            "--model",
            "gpt",
            "--text",
            "short.txt",
            "--n-layer",
            "1",
            "--n-head",
            "2",
            "--n-embd",
            "32",
            "--block-size",
            "16",
            "--batch-size",
            "8",
            "--learning-rate",
            "0.01",
            "--warmup-steps",
            "10",
            "--max-steps",
            "300",
            "--eval-interval",
            "100",
            "--eval-iters",
            "2",
            "--out",
            "m",
            "--quiet",
        ])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("step 300/300"), "{text}");
    assert!(text.contains("completed 300 steps"), "{text}");
    assert!(text.contains("bits per character"), "{text}");
    assert!(text.contains("model saved to m"), "{text}");
}

#[test]
fn a_trained_gpt_generates_its_text_greedily_and_the_same_seed_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    train(d);
    let gen_ = |extra: &[&str]| {
        let mut args = vec!["generate", "--model", "m", "--prompt", "to be or"];
        args.extend_from_slice(extra);
        let o = learnable(d).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", out_str(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let greedy = gen_(&["--temperature", "0", "--max-new-tokens", "34"]);
    assert_eq!(greedy, "to be or not to be, that is the question. \n");
    let a = gen_(&["--seed", "5", "--max-new-tokens", "50"]);
    let b = gen_(&["--seed", "5", "--max-new-tokens", "50"]);
    assert_eq!(a, b);
    let stop = gen_(&[
        "--temperature",
        "0",
        "--max-new-tokens",
        "100",
        "--stop",
        "be,",
    ]);
    assert_eq!(stop, "to be or not to be,\n");

    // Bad input: a character outside the vocabulary, a sampler out of range, a table model
    // command on a language model directory.
    for (args, needle) in [
        (
            vec!["generate", "--model", "m", "--prompt", "to bez"],
            "'z' at position 5",
        ),
        (
            vec!["generate", "--model", "m", "--prompt", "to", "--top-p", "2"],
            "--top-p 2",
        ),
        (
            vec!["eval", "--model", "m", "--dataset", "iris"],
            "language model (gpt)",
        ),
        (
            vec![
                "train",
                "--model",
                "gpt",
                "--text",
                "short.txt",
                "--n-embd",
                "30",
                "--n-head",
                "4",
                "--out",
                "x",
            ],
            "--n-embd 30",
        ),
    ] {
        let o = learnable(d).args(&args).output().unwrap();
        let text = out_str(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {text}");
        assert!(text.contains(needle), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
    // The next-token logits after a prompt: the memorised continuation of "to be or" is a
    // space, and the JSON lists every token of the vocabulary.
    let o = learnable(d)
        .args(["logits", "--model", "m", "--prompt", "to be or", "--json"])
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
    assert_eq!(logits.len(), 15);
    let best = (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap();
    assert_eq!(v["labels"][best], "' '", "{v}");
    assert_eq!(v["model"]["prompt"], "to be or");
    let o = learnable(d)
        .args([
            "logits", "--model", "m", "--prompt", "to be or", "--top", "3",
        ])
        .output()
        .unwrap();
    let text = out_str(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("the next token after the prompt \"to be or\""),
        "{text}"
    );

    // eval on the training text (504 characters): 503 predictions in windows of 16 inputs,
    // 31 full and one of 7; bits per character = loss / ln 2, perplexity = exp(loss); the
    // memorised text costs little.
    let o = learnable(d)
        .args(["eval", "--model", "m", "--text", "short.txt", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_str(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tokens"], 504);
    assert_eq!(v["predictions"], 503);
    assert_eq!(v["windows"], 32);
    assert_eq!(v["tokenizer"], "char");
    let loss = v["loss"].as_f64().unwrap();
    assert!(loss < 0.2, "{loss}");
    let bpc = v["bits_per_char"].as_f64().unwrap();
    assert!((bpc - loss / std::f64::consts::LN_2).abs() < 1e-12, "{v}");
    assert!(
        (v["perplexity"].as_f64().unwrap() - loss.exp()).abs() < 1e-12,
        "{v}"
    );
    assert!(v["bits_per_byte"].is_null());
    let o = learnable(d)
        .args(["eval", "--model", "m", "--text", "x.txt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(out_str(&o).contains("x.txt"), "{}", out_str(&o));

    // config.json reads as a transformers GPT2Config.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model_type"], "gpt2");
    assert_eq!(cfg["architectures"][0], "GPT2LMHeadModel");
}
