//! End-to-end tests of `learnable logits --values ...`, running the real binary.

use assert_cmd::cargo::cargo_bin_cmd;
use learnable::Rng;
use learnable::sampling::{Distribution, SAMPLE_STREAM};
use predicates::prelude::*;
use serde_json::Value;

fn run_json(args: &[&str]) -> Value {
    let out = cargo_bin_cmd!("learnable")
        .arg("logits")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn the_seeds_example_prints_0_888_0_109_0_004() {
    // Seed text: cat 4.2, dog 2.1, car -1.3 -> 0.888, 0.109, 0.004 (by hand, see the library test).
    cargo_bin_cmd!("learnable")
        .args([
            "logits",
            "--values",
            "4.2,2.1,-1.3",
            "--labels",
            "cat,dog,car",
        ])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^cat\s+4\.200\s+0\.888$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^dog\s+2\.100\s+0\.109$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^car\s+-1\.300\s+0\.004$").unwrap());
    let j = run_json(&["--values", "4.2,2.1,-1.3"]);
    let p: Vec<f64> = f64s(&j["probabilities"])
        .iter()
        .map(|p| (p * 1000.0).round() / 1000.0)
        .collect();
    assert_eq!(p, vec![0.888, 0.109, 0.004]);
    assert_eq!(usizes(&j["kept"]), vec![0, 1, 2]);
}

#[test]
fn json_reports_kept_indices_final_scores_with_null_and_renormalised_probabilities() {
    // T = 0.5 then top_k = 2: scores [8.4, 4.2, -inf]; p = 1 / (1 + e^-4.2) = 0.9852259
    // (by hand: e^-4.2 = 0.0149956).
    let j = run_json(&[
        "--values",
        "4.2,2.1,-1.3",
        "--temperature",
        "0.5",
        "--top-k",
        "2",
    ]);
    assert_eq!(usizes(&j["kept"]), vec![0, 1]);
    assert_eq!(j["scores"], serde_json::json!([8.4, 4.2, null]));
    let p = f64s(&j["probabilities"]);
    assert!((p[0] - 0.985_225_9).abs() < 1e-6 && p[2] == 0.0, "{p:?}");
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let steps: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["processor"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["temperature(0.5)", "top_k(2)"]);
    assert_eq!(usizes(&j["steps"][0]["kept"]), vec![0, 1, 2]);
}

#[test]
fn text_output_shows_each_processor_in_chain_order_then_the_kept_set() {
    let out = cargo_bin_cmd!("learnable")
        .args([
            "logits",
            "--values",
            "4.2,2.1,-1.3,0.5",
            "--temperature",
            "0.7",
            "--top-k",
            "3",
            "--top-p",
            "0.9",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let t = text.find("1. temperature(0.7)").expect(&text);
    let k = text.find("2. top_k(3)").expect(&text);
    let p = text.find("3. top_p(0.9)").expect(&text);
    assert!(t < k && k < p, "{text}");
    // logits/0.7 = [6, 3, -1.857, 0.714]; top_k 3 drops index 2; top_p 0.9: ascending probs of
    // the three kept (by hand) 0.0048, 0.0472, 0.948; cumsum 0.0048, 0.052 <= 0.1 drops 3 and 1.
    assert!(text.contains("kept 1 of 4"), "{text}");
}

#[test]
fn the_repetition_penalty_matches_the_transformers_fixture_case() {
    // fixtures/reference/softmax_and_sampling.json, RepetitionPenaltyLogitsProcessor(1.3),
    // context [0, 2]: scores_out [1.5384615659713745, -1.0, 0.38461539149284363, -0.5].
    let j = run_json(&[
        "--values",
        "2,-1,0.5,-0.5",
        "--repetition-penalty",
        "1.3",
        "--context",
        "0,2",
    ]);
    let want = [1.5384615659713745, -1.0, 0.38461539149284363, -0.5];
    for (g, w) in f64s(&j["scores"]).iter().zip(want) {
        assert_eq!(*g as f32, w as f32);
    }
}

#[test]
fn seeded_draws_repeat_exactly_and_equal_the_library_stream() {
    let args = [
        "--values",
        "1,0.5,0,-0.5,2",
        "--temperature",
        "1.5",
        "--top-k",
        "4",
        "--draw",
        "5000",
        "--seed",
        "7",
    ];
    let a = run_json(&args);
    let b = run_json(&args);
    assert_eq!(a, b);
    let counts = usizes(&a["counts"]);
    assert_eq!(counts.iter().sum::<usize>(), 5000);
    assert_eq!(counts[3], 0, "top_k 4 removes index 3");
    // The library's distribution and stream "sample" of seed 7 give the same counts.
    let scores: Vec<f32> = [1.0f32, 0.5, 0.0, -0.5, 2.0]
        .iter()
        .map(|x| x / 1.5)
        .collect();
    let mut masked = scores.clone();
    masked[3] = f32::NEG_INFINITY;
    let d = Distribution::from_scores(&masked).unwrap();
    let want: Vec<usize> = d
        .sample_counts(5000, &mut Rng::new(7, SAMPLE_STREAM))
        .iter()
        .map(|&c| c as usize)
        .collect();
    assert_eq!(counts, want);
    let c = run_json(&[
        "--values",
        "1,0.5,0,-0.5,2",
        "--temperature",
        "1.5",
        "--top-k",
        "4",
        "--draw",
        "5000",
        "--seed",
        "8",
    ]);
    assert_ne!(
        usizes(&c["counts"]),
        counts,
        "another seed gives other draws"
    );
}

#[test]
fn temperature_zero_is_greedy_in_the_cli() {
    let j = run_json(&["--values", "1,3,3,-2", "--temperature", "0", "--draw", "10"]);
    assert_eq!(j["greedy"], Value::Bool(true));
    assert_eq!(usizes(&j["kept"]), vec![1]);
    assert_eq!(f64s(&j["probabilities"]), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(usizes(&j["counts"]), vec![0, 10, 0, 0]);
}

#[test]
fn several_temperatures_print_the_seed_table() {
    // p(T=0.5) and p(T=2) of the seed example from the fixture (torch float64).
    cargo_bin_cmd!("learnable")
        .args([
            "logits",
            "--values",
            "2.1,-1.3,4.2",
            "--labels",
            "dog,car,cat",
            "--temperature",
            "0.5,2",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(r"(?m)^class\s+logit\s+p\(T=1\)\s+p\(T=0\.5\)\s+p\(T=2\)$")
                .unwrap(),
        )
        .stdout(
            predicate::str::is_match(r"(?m)^cat\s+4\.200\s+0\.888\s+0\.985\s+0\.707\n").unwrap(),
        );
    cargo_bin_cmd!("learnable")
        .args([
            "logits",
            "--values",
            "1,2",
            "--temperature",
            "0.5,2",
            "--top-k",
            "1",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("one --temperature"));
}

#[test]
fn invalid_inputs_fail_with_a_message_naming_the_problem() {
    let cases: [(&[&str], &str); 10] = [
        (&["--values", "1,nan"], "NaN"),
        (&["--values", "1,inf"], "+inf"),
        (&["--values", "-inf,-inf"], "every logit of the row is -inf"),
        (&["--values", "1,abc"], "not a number"),
        (
            &["--values", "1,2", "--temperature", "-1"],
            "invalid temperature: -1",
        ),
        (
            &["--values", "1,2", "--temperature", "nan"],
            "invalid temperature: NaN",
        ),
        (&["--values", "1,2", "--top-p", "1.5"], "invalid top_p: 1.5"),
        (&["--values", "1,2", "--top-k", "-1"], "invalid top_k: -1"),
        (&["--values", "1,2", "--min-p", "2"], "invalid min_p: 2"),
        (
            &[
                "--values",
                "1,2",
                "--repetition-penalty",
                "1.3",
                "--context",
                "5",
            ],
            "context token id 5",
        ),
    ];
    for (args, msg) in cases {
        cargo_bin_cmd!("learnable")
            .arg("logits")
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(msg).and(predicate::str::contains("panicked").not()));
    }
}

#[test]
fn the_model_form_is_declared_but_asks_for_values_for_now() {
    cargo_bin_cmd!("learnable")
        .args([
            "logits",
            "--model",
            "some_dir",
            "--row",
            "3",
            "--dataset",
            "iris",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs --values for now"));
    // --model without a row is a usage error from the argument parser.
    cargo_bin_cmd!("learnable")
        .args(["logits", "--model", "some_dir"])
        .assert()
        .code(2);
}

#[test]
fn help_explains_the_order_relative_to_hugging_face_and_llama_cpp() {
    cargo_bin_cmd!("learnable")
        .args(["logits", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Hugging Face transformers' order"))
        .stdout(predicate::str::contains(
            "llama.cpp applies temperature last",
        ));
}
