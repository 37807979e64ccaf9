//! End-to-end tests of `learnable logits --values ...` and `learnable logits --model DIR --row N`,
//! running the real binary (the model form on a softmax regression trained on iris in a
//! temporary directory).

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
            "--temperature -1 is out of range",
        ),
        (
            &["--values", "1,2", "--temperature", "nan"],
            "--temperature NaN is out of range",
        ),
        (
            &["--values", "1,2", "--top-p", "1.5"],
            "--top-p 1.5 is out of range",
        ),
        (
            &["--values", "1,2", "--top-k", "-1"],
            "--top-k -1 is out of range",
        ),
        (
            &["--values", "1,2", "--min-p", "2"],
            "--min-p 2 is out of range",
        ),
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

/// A temporary directory with a softmax regression on iris in `m/` (L-BFGS, well under a second).
fn trained_iris() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    cargo_bin_cmd!("learnable")
        .current_dir(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--out",
            "m",
        ])
        .assert()
        .success();
    tmp
}

fn in_dir_json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = cargo_bin_cmd!("learnable")
        .current_dir(dir)
        .arg("logits")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// softmax(v / t) in f64, written out here as the reference.
fn softmax(v: &[f64], t: f64) -> Vec<f64> {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| ((x - m) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

/// The logit columns of `learnable predict --logits` for row `row`.
fn predicted_logits(dir: &std::path::Path, source: &[&str], row: usize) -> Vec<f64> {
    let o = cargo_bin_cmd!("learnable")
        .current_dir(dir)
        .args(["predict", "--model", "m", "--logits"])
        .args(source)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let line: Vec<&str> = text.lines().nth(row + 1).unwrap().split(',').collect();
    (0..header.len())
        .filter(|&c| header[c].starts_with("logit_"))
        .map(|c| line[c].parse().unwrap())
        .collect()
}

#[test]
fn the_model_form_prints_a_table_sorted_by_logit_with_softmax_probabilities() {
    let tmp = trained_iris();
    let out = cargo_bin_cmd!("learnable")
        .current_dir(tmp.path())
        .args(["logits", "--model", "m", "--dataset", "iris", "--row", "0"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("row 0 of 30"), "{text}");
    // The seed-style table: "class  logit  p(T=1)", one line per iris class.
    let lines: Vec<&str> = text.lines().collect();
    let h = lines
        .iter()
        .position(|l| l.split_whitespace().collect::<Vec<_>>() == ["class", "logit", "p(T=1)"])
        .expect(&text);
    let rows: Vec<(String, f64, f64)> = lines[h + 1..h + 4]
        .iter()
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (
                c[0].to_string(),
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
            )
        })
        .collect();
    let mut names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    names.sort();
    assert_eq!(names, ["setosa", "versicolor", "virginica"]);
    let logits: Vec<f64> = rows.iter().map(|r| r.1).collect();
    assert!(
        logits.windows(2).all(|w| w[0] >= w[1]),
        "sorted: {logits:?}"
    );
    // Probabilities at T = 1 are the softmax of the printed logits, recomputed here; logits
    // (3 decimals) and probabilities (3 decimals) are rounded, hence 2e-3.
    let want = softmax(&logits, 1.0);
    for (r, w) in rows.iter().zip(&want) {
        assert!((r.2 - w).abs() < 2e-3, "{r:?} vs {w}\n{text}");
    }
    // The logits are the model's: the same as `predict --logits` shows for row 0 (6 decimals).
    let from_predict = predicted_logits(tmp.path(), &["--dataset", "iris"], 0);
    for r in &rows {
        let k = ["setosa", "versicolor", "virginica"]
            .iter()
            .position(|c| *c == r.0)
            .unwrap();
        assert!(
            (r.1 - from_predict[k]).abs() < 1e-3,
            "{r:?} vs {from_predict:?}"
        );
    }
}

#[test]
fn the_model_form_gives_probabilities_at_each_temperature_in_json() {
    let tmp = trained_iris();
    let j = in_dir_json(
        tmp.path(),
        &[
            "--model",
            "m",
            "--dataset",
            "iris",
            "--row",
            "7",
            "--temperature",
            "0.5,2,0",
        ],
    );
    assert_eq!(j["model"]["row"], 7);
    assert_eq!(j["model"]["rows"], 30);
    assert_eq!(f64s(&j["temperatures"]), vec![1.0, 0.5, 2.0, 0.0]);
    let rows = j["rows"].as_array().unwrap();
    // JSON logits are the shortest round-trip decimals of the f32 logits: parsed back to f32
    // they are the model's exact logits, so the recomputed softmax agrees to f64 rounding.
    let logits: Vec<f64> = rows
        .iter()
        .map(|r| r["logit"].as_f64().unwrap() as f32 as f64)
        .collect();
    assert!(
        logits.windows(2).all(|w| w[0] >= w[1]),
        "sorted: {logits:?}"
    );
    for (c, &t) in [1.0, 0.5, 2.0].iter().enumerate() {
        let want = softmax(&logits, t);
        for (r, w) in rows.iter().zip(&want) {
            let p = r["probabilities"][c].as_f64().unwrap();
            assert!((p - w).abs() < 1e-12, "T={t}: {p} vs {w}");
        }
    }
    // T = 0: probability 1 on the largest logit (the first row after sorting).
    let greedy: Vec<f64> = rows
        .iter()
        .map(|r| r["probabilities"][3].as_f64().unwrap())
        .collect();
    assert_eq!(greedy, vec![1.0, 0.0, 0.0]);
    let from_predict = predicted_logits(tmp.path(), &["--dataset", "iris"], 7);
    for r in rows {
        let k = r["index"].as_u64().unwrap() as usize;
        assert!((r["logit"].as_f64().unwrap() - from_predict[k]).abs() < 1e-5);
    }
}

#[test]
fn the_model_form_runs_the_chain_and_seeded_draws_on_the_models_row() {
    let tmp = trained_iris();
    // T = 4 so that no class is negligible; top-k 2 removes the smallest logit.
    let args = [
        "--model",
        "m",
        "--dataset",
        "iris",
        "--row",
        "12",
        "--temperature",
        "4",
        "--top-k",
        "2",
        "--draw",
        "2000",
        "--seed",
        "3",
    ];
    let j = in_dir_json(tmp.path(), &args);
    assert_eq!(
        j,
        in_dir_json(tmp.path(), &args),
        "seeded: the same output twice"
    );
    assert_eq!(
        j["labels"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    let logits: Vec<f32> = f64s(&j["logits"]).iter().map(|&x| x as f32).collect();
    let smallest = (0..3)
        .min_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap();
    let mut kept: Vec<usize> = (0..3).filter(|&k| k != smallest).collect();
    kept.sort();
    assert_eq!(usizes(&j["kept"]), kept);
    // The library on the same scores and stream gives the same counts.
    let mut scores: Vec<f32> = logits.iter().map(|l| l / 4.0).collect();
    scores[smallest] = f32::NEG_INFINITY;
    let d = Distribution::from_scores(&scores).unwrap();
    let want: Vec<usize> = d
        .sample_counts(2000, &mut Rng::new(3, SAMPLE_STREAM))
        .iter()
        .map(|&c| c as usize)
        .collect();
    assert_eq!(usizes(&j["counts"]), want);
    let p = f64s(&j["probabilities"]);
    assert!(
        (p.iter().sum::<f64>() - 1.0).abs() < 1e-12 && p[smallest] == 0.0,
        "{p:?}"
    );
}

#[test]
fn the_model_form_reads_a_csv_row_like_predict() {
    let tmp = trained_iris();
    // Two flowers of iris.csv (sklearn's load_iris rows 0 and 100), without the target column.
    std::fs::write(
        tmp.path().join("new.csv"),
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n\
         5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n",
    )
    .unwrap();
    let j = in_dir_json(
        tmp.path(),
        &["--model", "m", "--data", "new.csv", "--row", "1"],
    );
    assert_eq!(j["model"]["rows"], 2);
    let from_predict = predicted_logits(tmp.path(), &["--data", "new.csv"], 1);
    for (g, w) in f64s(&j["logits"]).iter().zip(&from_predict) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
    // Row 100 of iris is a virginica: the model puts most probability on it.
    let p = f64s(&j["probabilities"]);
    assert!(p[2] > 0.5, "{p:?}");
}

#[test]
fn model_form_errors_name_the_problem() {
    let tmp = trained_iris();
    cargo_bin_cmd!("learnable")
        .current_dir(tmp.path())
        .args([
            "train",
            "--dataset",
            "diabetes",
            "--model",
            "linear",
            "--out",
            "r",
        ])
        .assert()
        .success();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--model", "m", "--dataset", "iris", "--row", "10000"],
            "--row 10000 is out of range",
        ),
        (
            &["--model", "m", "--dataset", "iris", "--row", "30"],
            "has 30 rows",
        ),
        (
            &["--model", "r", "--dataset", "diabetes", "--row", "0"],
            "logits are for classifiers",
        ),
        (
            &["--model", "missing", "--dataset", "iris", "--row", "0"],
            "does not exist",
        ),
    ];
    for (args, msg) in cases {
        cargo_bin_cmd!("learnable")
            .current_dir(tmp.path())
            .arg("logits")
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(msg).and(predicate::str::contains("panicked").not()));
    }
    // Chain parameters are validated on the model's row as on typed values.
    cargo_bin_cmd!("learnable")
        .current_dir(tmp.path())
        .args([
            "logits",
            "--model",
            "m",
            "--dataset",
            "iris",
            "--row",
            "0",
            "--top-p",
            "2",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--top-p 2 is out of range"));
    // --model without a row or a data source is a usage error from the argument parser.
    for args in [
        &["logits", "--model", "m"][..],
        &["logits", "--model", "m", "--row", "0"],
    ] {
        cargo_bin_cmd!("learnable")
            .current_dir(tmp.path())
            .args(args)
            .assert()
            .code(2);
    }
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

#[test]
fn draw_is_capped_at_ten_million_naming_the_flag_and_the_range() {
    // Before the fix --draw 18446744073709551615 was accepted and would have drawn for
    // millennia. The cap (learnable-cli cmd/logits.rs MAX_DRAWS) is 10,000,000.
    for n in ["18446744073709551615", "10000001", "-1"] {
        let o = cargo_bin_cmd!("learnable")
            .args(["logits", "--values", "1,2", "--draw", n])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{n}: {err}");
        assert_eq!(
            err.trim_end(),
            format!("error: --draw {n} is out of range: allowed 0 <= --draw <= 10000000")
        );
    }
    // The cap itself is accepted; logits [1, 2]: p = 1 / (1 + e) = 0.2689 for class 0, so
    // 10 million draws give a frequency within 0.001 of it.
    let v = run_json(&["--values", "1,2", "--draw", "10000000"]);
    let c0 = v["counts"][0].as_u64().unwrap() as f64;
    assert!((c0 / 1e7 - 0.268_941_42).abs() < 1e-3, "{c0}");
}
