//! The processor chain's documented behaviour, the samplers (greedy and seeded multinomial),
//! determinism across runs and thread counts, typed errors, and proptest properties.

use learnable::sampling::processors::{LogitsProcessor, TopK, TopP};
use learnable::sampling::{
    Distribution, SAMPLE_STREAM, Sampler, SamplingConfig, SamplingError, argmax_rows,
    logsumexp_rows, sample_rows, softmax_rows, softmax_rows_at_temperature, temperature_table,
};
use learnable::{Rng, Tensor};
use proptest::prelude::*;

const SEED_EXAMPLE: [f32; 3] = [4.2, 2.1, -1.3];

fn round3(v: &[f64]) -> Vec<f64> {
    v.iter().map(|p| (p * 1000.0).round() / 1000.0).collect()
}

#[test]
fn the_seeds_example_gives_0_888_0_109_0_004() {
    // Seed text: cat 4.2, dog 2.1, car -1.3. By hand: e^0 = 1, e^-2.1 = 0.122456,
    // e^-5.5 = 0.0040868, sum 1.126543 -> 0.8877, 0.1087, 0.0036.
    let chain = SamplingConfig::default().build().unwrap();
    let d = chain.process(&SEED_EXAMPLE, &[]).unwrap().distribution;
    assert_eq!(d.kept(), &[0, 1, 2]);
    assert_eq!(round3(&d.probabilities()), vec![0.888, 0.109, 0.004]);
}

#[test]
fn the_seed_table_lists_classes_by_logit_with_probabilities_at_each_temperature() {
    // Labels in a shuffled order so that sorting by logit matters. p(T=0.5) and p(T=2) from
    // the fixture's torch float64 values (0.98521, 0.01477, 0.00002; 0.70728, 0.24750, 0.04521).
    let labels: Vec<String> = ["dog", "car", "cat"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let t = temperature_table(&labels, &[2.1, -1.3, 4.2], &[0.5, 1.0, 2.0, 0.0]).unwrap();
    assert_eq!(t.temperatures, vec![1.0, 0.5, 2.0, 0.0]);
    let order: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(order, vec!["cat", "dog", "car"]);
    assert_eq!(
        round3(&t.rows[0].probabilities),
        vec![0.888, 0.985, 0.707, 1.0]
    );
    assert_eq!(
        round3(&t.rows[1].probabilities),
        vec![0.109, 0.015, 0.248, 0.0]
    );
    assert_eq!(
        round3(&t.rows[2].probabilities),
        vec![0.004, 0.0, 0.045, 0.0]
    );
    let text = t.render();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("class")
            && lines[0].contains("p(T=1)")
            && lines[0].contains("p(T=0.5)"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("cat") && lines[1].contains("4.200") && lines[1].contains("0.888"),
        "{text}"
    );
}

#[test]
fn large_logits_do_not_overflow_and_neg_inf_tokens_are_never_kept_or_drawn() {
    let chain = SamplingConfig::default().build().unwrap();
    // softmax([1000, 999, 998]) = softmax([0, -1, -2]) = 0.66524, 0.24473, 0.09003 (fixture).
    let d = chain.distribution(&[1000.0, 999.0, 998.0], &[]).unwrap();
    assert!((d.probability(0) - 0.665_240_955_774_821_8).abs() < 1e-7);
    let d = chain
        .distribution(&[0.0, f32::NEG_INFINITY, 1.0], &[])
        .unwrap();
    assert_eq!(d.kept(), &[0, 2]);
    assert_eq!(d.probability(1), 0.0);
    let counts = d.sample_counts(10_000, &mut Rng::new(3, SAMPLE_STREAM));
    assert_eq!(counts[1], 0);
    assert_eq!(counts.iter().sum::<u64>(), 10_000);
}

#[test]
fn temperature_zero_is_greedy_with_probability_one_and_ties_go_to_the_lowest_index() {
    let chain = SamplingConfig::greedy().build().unwrap();
    assert!(chain.is_greedy());
    let p = chain.process(&[1.0, 3.0, 3.0, -2.0], &[]).unwrap();
    assert_eq!(p.distribution.kept(), &[1]);
    assert_eq!(p.distribution.probabilities(), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(
        p.scores,
        vec![f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY, f32::NEG_INFINITY]
    );
    // Every "draw" is the argmax, whatever the seed.
    for seed in 0..5 {
        let mut s = Sampler::new(SamplingConfig::greedy().build().unwrap(), seed);
        let got = s.sample(&[1.0, 3.0, 3.0, -2.0], &[]).unwrap();
        assert_eq!((got.index, got.probability), (1, 1.0));
    }
    // argmax over rows: [[0, 5, 5], [7, -1, 7]] -> [1, 0].
    let x = Tensor::new(vec![0.0, 5.0, 5.0, 7.0, -1.0, 7.0], &[2, 3]).unwrap();
    assert_eq!(argmax_rows(&x).unwrap(), vec![1, 0]);
    let g = softmax_rows_at_temperature(&x, 0.0).unwrap();
    assert_eq!(g.data(), &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn greedy_takes_the_argmax_after_the_repetition_penalty() {
    // [2.0, 1.9], token 0 already in the context, penalty 1.3: 2.0 / 1.3 = 1.538 < 1.9.
    let cfg = SamplingConfig {
        temperature: 0.0,
        repetition_penalty: 1.3,
        ..Default::default()
    };
    let p = cfg.build().unwrap().process(&[2.0, 1.9], &[0]).unwrap();
    assert_eq!(p.distribution.kept(), &[1]);
    assert_eq!(p.steps.len(), 2, "penalty, then greedy");
}

#[test]
fn temperature_comes_before_truncation_as_in_hugging_face() {
    // T = 3 then top_p = 0.97 (our and HF's order): logits/3 = [1.4, 0.7, -0.4333];
    // probs 0.6037, 0.2998, 0.0965 (by hand); ascending cumsum 0.0965 > 0.03 keeps all three.
    // llama.cpp's order (top-p on T = 1 first): 0.0036 <= 0.03 would drop token 2.
    let cfg = SamplingConfig {
        temperature: 3.0,
        top_p: 0.97,
        ..Default::default()
    };
    let chain = cfg.build().unwrap();
    let labels: Vec<&str> = chain.processors().iter().map(|p| p.name()).collect();
    assert_eq!(labels, vec!["temperature", "top_p"]);
    assert_eq!(
        chain
            .process(&SEED_EXAMPLE, &[])
            .unwrap()
            .distribution
            .kept(),
        &[0, 1, 2]
    );
    let mut t1 = SEED_EXAMPLE.to_vec();
    TopP::new(0.97, 1).unwrap().process(&[], &mut t1).unwrap();
    assert_eq!(
        t1[2],
        f32::NEG_INFINITY,
        "top-p before temperature drops token 2"
    );
}

#[test]
fn the_chain_applies_processors_in_the_documented_order() {
    let cfg = SamplingConfig {
        repetition_penalty: 1.2,
        temperature: 0.7,
        top_k: 5,
        top_p: 0.9,
        min_p: 0.05,
        typical_p: 0.95,
        epsilon: 0.001,
        min_tokens_to_keep: 1,
    };
    let chain = cfg.build().unwrap();
    let names: Vec<&str> = chain.processors().iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        vec![
            "repetition_penalty",
            "temperature",
            "top_k",
            "top_p",
            "min_p",
            "typical_p",
            "epsilon"
        ]
    );
    assert_eq!(
        chain.describe(),
        "repetition_penalty(1.2) -> temperature(0.7) -> top_k(5) -> top_p(0.9) -> min_p(0.05) -> typical_p(0.95) -> epsilon(0.001)"
    );
    // Off values add no processor.
    assert!(
        SamplingConfig::default()
            .build()
            .unwrap()
            .processors()
            .is_empty()
    );
}

#[test]
fn top_k_of_zero_is_no_limit_and_k_beyond_the_vocabulary_is_clamped() {
    for k in [0, 3, 10, i64::MAX] {
        let mut s = SEED_EXAMPLE.to_vec();
        TopK::new(k, 1).unwrap().process(&[], &mut s).unwrap();
        assert_eq!(s, SEED_EXAMPLE.to_vec(), "k = {k}");
    }
    // min_tokens_to_keep raises the effective k: k = 1, keep 2 -> the two largest.
    let mut s = SEED_EXAMPLE.to_vec();
    TopK::new(1, 2).unwrap().process(&[], &mut s).unwrap();
    assert_eq!(s, vec![4.2, 2.1, f32::NEG_INFINITY]);
}

#[test]
fn min_tokens_to_keep_protects_the_most_probable_tokens_from_every_truncation() {
    // top_p = 0 alone keeps one token; with min_tokens_to_keep = 2 it keeps the two largest.
    let cfg = SamplingConfig {
        top_p: 0.0,
        min_tokens_to_keep: 2,
        ..Default::default()
    };
    assert_eq!(
        cfg.build()
            .unwrap()
            .distribution(&SEED_EXAMPLE, &[])
            .unwrap()
            .kept(),
        &[0, 1]
    );
    // min_p = 1 keeps only the maximum, unless min_tokens_to_keep says more.
    let cfg = SamplingConfig {
        min_p: 1.0,
        min_tokens_to_keep: 2,
        ..Default::default()
    };
    assert_eq!(
        cfg.build()
            .unwrap()
            .distribution(&SEED_EXAMPLE, &[])
            .unwrap()
            .kept(),
        &[0, 1]
    );
    // epsilon 0.5 removes everything below 0.5 (tokens 1, 2) but keeps the top 3 requested.
    let cfg = SamplingConfig {
        epsilon: 0.5,
        min_tokens_to_keep: 3,
        ..Default::default()
    };
    assert_eq!(
        cfg.build()
            .unwrap()
            .distribution(&SEED_EXAMPLE, &[])
            .unwrap()
            .kept(),
        &[0, 1, 2]
    );
}

/// Chi-square statistic of observed counts against expected probabilities (kept tokens).
fn chi_square(counts: &[u64], probs: &[f64], n: u64) -> f64 {
    counts
        .iter()
        .zip(probs)
        .filter(|(_, p)| **p > 0.0)
        .map(|(&c, &p)| {
            let e = n as f64 * p;
            (c as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn seeded_draws_match_the_processed_probabilities_by_a_chi_square_test() {
    // logits [1.0, 0.5, 0.0, -0.5, 2.0], T = 1.5, top_k = 4 keeps {4, 0, 1, 2}. Expected
    // probabilities by hand: exp(l / 1.5) over the kept logits, normalised.
    let logits = [1.0f32, 0.5, 0.0, -0.5, 2.0];
    let cfg = SamplingConfig {
        temperature: 1.5,
        top_k: 4,
        ..Default::default()
    };
    let d = cfg.build().unwrap().distribution(&logits, &[]).unwrap();
    assert_eq!(d.kept(), &[0, 1, 2, 4]);
    let w: Vec<f64> = [1.0f64, 0.5, 0.0, f64::NEG_INFINITY, 2.0]
        .iter()
        .map(|l| (l / 1.5).exp())
        .collect();
    let z: f64 = w.iter().sum();
    let expected: Vec<f64> = w.iter().map(|v| v / z).collect();
    for i in 0..5 {
        assert!((d.probability(i) - expected[i]).abs() < 1e-7, "p[{i}]");
    }
    let n = 200_000u64;
    let counts = d.sample_counts(n, &mut Rng::new(2024, SAMPLE_STREAM));
    assert_eq!(counts[3], 0, "the removed token is never drawn");
    // 4 kept categories -> 3 degrees of freedom; the 0.999 quantile of chi2(3) is 16.266
    // (standard tables; scipy.stats.chi2.ppf(0.999, 3) = 16.2662).
    let stat = chi_square(&counts, &expected, n);
    assert!(stat < 16.266, "chi-square {stat} with counts {counts:?}");
    // Power check: the same counts against the unprocessed T = 1 softmax fail badly.
    let w1: Vec<f64> = logits.iter().map(|&l| (l as f64).exp()).collect();
    let z1: f64 = w1.iter().sum();
    let wrong: Vec<f64> = w1.iter().map(|v| v / z1).collect();
    assert!(chi_square(&counts, &wrong, n) > 1000.0);
}

#[test]
fn seeded_draws_are_the_inverse_cdf_of_the_named_stream_and_repeat_exactly() {
    // Independent recomputation: u from Rng(42, "sample"), then the first index whose
    // cumulative probability (seed example, index order) exceeds u.
    let chain = SamplingConfig::default().build().unwrap();
    let mut a = Sampler::new(SamplingConfig::default().build().unwrap(), 42);
    let mut b = Sampler::new(SamplingConfig::default().build().unwrap(), 42);
    let probs = chain
        .distribution(&SEED_EXAMPLE, &[])
        .unwrap()
        .probabilities();
    let mut rng = Rng::new(42, "sample");
    for _ in 0..200 {
        let u = rng.uniform_f64();
        let want = if u < probs[0] {
            0
        } else if u < probs[0] + probs[1] {
            1
        } else {
            2
        };
        let x = a.sample(&SEED_EXAMPLE, &[]).unwrap();
        let y = b.sample(&SEED_EXAMPLE, &[]).unwrap();
        assert_eq!(x.index, want);
        assert_eq!(
            (x.index, x.probability.to_bits()),
            (y.index, y.probability.to_bits())
        );
    }
}

#[test]
fn batched_draws_are_bit_identical_with_one_or_two_threads() {
    let x = Tensor::uniform(&[64, 23], -4.0, 4.0, &mut Rng::new(9, "test"));
    let chain = SamplingConfig {
        temperature: 0.8,
        top_p: 0.9,
        ..Default::default()
    }
    .build()
    .unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| sample_rows(&chain, &x, &[], 5).unwrap())
    };
    let one = run(1);
    let two = run(2);
    let again = run(2);
    let bits = |v: &[learnable::sampling::Sample]| {
        v.iter()
            .map(|s| (s.index, s.probability.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&one), bits(&two));
    assert_eq!(bits(&two), bits(&again));
    // Row i draws from the stream "sample.row.{i}", computed here row by row.
    for (i, s) in one.iter().enumerate() {
        let d = chain.distribution(x.row(i), &[]).unwrap();
        assert_eq!(
            s.index,
            d.sample(&mut Rng::new(5, &format!("sample.row.{i}"))),
            "row {i}"
        );
    }
    // The draws are not all the same token (the test could not see a broken stream otherwise).
    assert!(one.iter().any(|s| s.index != one[0].index));
}

#[test]
fn row_helpers_on_tensors_agree_with_the_slice_kernels() {
    let x = Tensor::new(vec![4.2, 2.1, -1.3, 1000.0, 999.0, 998.0], &[2, 3]).unwrap();
    let p = softmax_rows(&x).unwrap();
    // Row sums are 1 and row 1 equals softmax([0, -1, -2]) = 0.66524, 0.24473, 0.09003.
    for r in 0..2 {
        assert!((p.row(r).iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-6);
    }
    assert!((p.row(1)[2] - 0.090_030_57).abs() < 1e-7);
    // logsumexp([4.2, 2.1, -1.3]) = 4.2 + ln(1.126543) = 4.319154 (by hand, matches the
    // fixture's log_softmax: 4.2 - (-0.1191538) ), logsumexp([1000, 999, 998]) = 1000.407606.
    let l = logsumexp_rows(&x).unwrap();
    assert!(
        (l[0] - 4.319_154).abs() < 1e-5 && (l[1] - 1000.407_6).abs() < 1e-3,
        "{l:?}"
    );
}

#[test]
fn invalid_logits_give_typed_errors() {
    let chain = SamplingConfig::default().build().unwrap();
    assert_eq!(
        chain.process(&[1.0, f32::NAN], &[]).unwrap_err(),
        SamplingError::NanLogit { index: 1 }
    );
    assert_eq!(
        chain.process(&[f32::INFINITY, 0.0], &[]).unwrap_err(),
        SamplingError::PositiveInfinity { index: 0 }
    );
    assert_eq!(
        chain
            .process(&[f32::NEG_INFINITY, f32::NEG_INFINITY], &[])
            .unwrap_err(),
        SamplingError::AllNegativeInfinity
    );
    assert_eq!(
        chain.process(&[], &[]).unwrap_err(),
        SamplingError::EmptyRow
    );
    assert_eq!(
        Distribution::from_scores(&[f32::NAN]).unwrap_err(),
        SamplingError::NanLogit { index: 0 }
    );
    // Greedy validates too: temperature 0 is not a way around a NaN.
    let g = SamplingConfig::greedy().build().unwrap();
    assert_eq!(
        g.process(&[f32::NAN, 1.0], &[]).unwrap_err(),
        SamplingError::NanLogit { index: 0 }
    );
}

#[test]
fn tensor_helpers_name_the_bad_row_and_reject_scalars() {
    let x = Tensor::new(vec![0.0, 1.0, f32::NAN, 2.0], &[2, 2]).unwrap();
    let want = SamplingError::InRow {
        row: 1,
        source: Box::new(SamplingError::NanLogit { index: 0 }),
    };
    assert_eq!(softmax_rows(&x).unwrap_err(), want);
    let chain = SamplingConfig::default().build().unwrap();
    assert_eq!(sample_rows(&chain, &x, &[], 0).unwrap_err(), want);
    assert!(matches!(
        softmax_rows(&Tensor::scalar(1.0)).unwrap_err(),
        SamplingError::Shape { .. }
    ));
    let ok = Tensor::zeros(&[2, 2]);
    assert!(matches!(
        sample_rows(&chain, &ok, &[vec![0]], 0).unwrap_err(),
        SamplingError::Shape { .. }
    ));
    // It converts into the library's error type with `?`.
    let e: learnable::Error = softmax_rows(&x).unwrap_err().into();
    assert!(
        e.to_string().contains("row 1") && e.to_string().contains("NaN"),
        "{e}"
    );
}

fn invalid_name(cfg: SamplingConfig) -> &'static str {
    match cfg.build().unwrap_err() {
        SamplingError::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn out_of_range_hyperparameters_give_typed_errors_naming_the_parameter() {
    let d = SamplingConfig::default;
    for t in [-0.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            invalid_name(SamplingConfig {
                temperature: t,
                ..d()
            }),
            "temperature",
            "T = {t}"
        );
    }
    for p in [-0.1, 1.5, f64::NAN] {
        assert_eq!(
            invalid_name(SamplingConfig { top_p: p, ..d() }),
            "top_p",
            "top_p = {p}"
        );
    }
    assert_eq!(invalid_name(SamplingConfig { top_k: -1, ..d() }), "top_k");
    for p in [-0.1, 1.5, f64::NAN] {
        assert_eq!(
            invalid_name(SamplingConfig { min_p: p, ..d() }),
            "min_p",
            "min_p = {p}"
        );
    }
    for p in [0.0, -0.2, 1.5, f64::NAN] {
        assert_eq!(
            invalid_name(SamplingConfig {
                typical_p: p,
                ..d()
            }),
            "typical_p",
            "typical_p = {p}"
        );
    }
    for e in [-0.1, 1.0, f64::NAN] {
        assert_eq!(
            invalid_name(SamplingConfig { epsilon: e, ..d() }),
            "epsilon",
            "epsilon = {e}"
        );
    }
    for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            invalid_name(SamplingConfig {
                repetition_penalty: r,
                ..d()
            }),
            "repetition_penalty",
            "penalty = {r}"
        );
    }
    assert_eq!(
        invalid_name(SamplingConfig {
            min_tokens_to_keep: 0,
            ..d()
        }),
        "min_tokens_to_keep"
    );
    // Truncation parameters are validated even when temperature 0 makes them unused.
    assert_eq!(
        invalid_name(SamplingConfig {
            temperature: 0.0,
            top_p: 2.0,
            ..d()
        }),
        "top_p"
    );
    // The message names the value and the allowed range.
    let msg = SamplingConfig { top_p: 1.5, ..d() }
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "invalid top_p: 1.5 (allowed: 0 <= top_p <= 1)");
    // A JSON config takes top_k as a signed integer, so a negative value reaches validation.
    let cfg: SamplingConfig = serde_json::from_str(r#"{"top_k": -3, "temperature": 0.7}"#).unwrap();
    assert_eq!(invalid_name(cfg), "top_k");
    assert!(
        serde_json::from_str::<SamplingConfig>(r#"{"topk": 3}"#).is_err(),
        "unknown fields are rejected"
    );
}

#[test]
fn bad_context_ids_and_overflowing_temperatures_are_errors_not_infinities() {
    let cfg = SamplingConfig {
        repetition_penalty: 1.3,
        ..Default::default()
    };
    assert_eq!(
        cfg.build()
            .unwrap()
            .process(&SEED_EXAMPLE, &[0, 3])
            .unwrap_err(),
        SamplingError::ContextOutOfRange { id: 3, vocab: 3 }
    );
    // 1e30 / 1e-20 = 1e50 is beyond f32.
    let cfg = SamplingConfig {
        temperature: 1e-20,
        ..Default::default()
    };
    let e = cfg.build().unwrap().process(&[1e30, 0.0], &[]).unwrap_err();
    assert!(
        matches!(
            e,
            SamplingError::Overflow {
                processor: "temperature",
                index: 0,
                ..
            }
        ),
        "{e:?}"
    );
    // A temperature that rounds to 0 in f32 is rejected up front (no division by zero).
    assert_eq!(
        invalid_name(SamplingConfig {
            temperature: 1e-50,
            ..Default::default()
        }),
        "temperature"
    );
}

fn config_strategy() -> impl Strategy<Value = SamplingConfig> {
    (
        prop_oneof![Just(0.0), 0.05f64..5.0],
        0i64..8,
        0.0f64..=1.0,
        prop_oneof![Just(0.0), 0.0f64..=1.0],
        prop_oneof![Just(1.0), 0.01f64..0.999],
        prop_oneof![Just(0.0), 0.0001f64..0.5],
        prop_oneof![Just(1.0), 0.5f64..2.0],
        1i64..4,
    )
        .prop_map(
            |(temperature, top_k, top_p, min_p, typical_p, epsilon, repetition_penalty, mtk)| {
                SamplingConfig {
                    temperature,
                    top_k,
                    top_p,
                    min_p,
                    typical_p,
                    epsilon,
                    repetition_penalty,
                    min_tokens_to_keep: mtk,
                }
            },
        )
}

fn logits_strategy() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec((-40.0f32..40.0, prop::bool::weighted(0.15)), 1..48).prop_map(|v| {
        let mut row: Vec<f32> = v
            .iter()
            .map(|&(x, masked)| if masked { f32::NEG_INFINITY } else { x })
            .collect();
        if row.iter().all(|x| *x == f32::NEG_INFINITY) {
            row[0] = 0.0;
        }
        row
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn kept_probabilities_sum_to_one_and_are_never_nan(
        logits in logits_strategy(),
        cfg in config_strategy(),
        ctx_seed in any::<u64>(),
        seed in any::<u64>(),
    ) {
        let v = logits.len();
        let mut r = Rng::new(ctx_seed, "ctx");
        let context: Vec<usize> = (0..3).map(|_| r.below(v as u64) as usize).collect();
        let chain = cfg.build().unwrap();
        let p = chain.process(&logits, &context).unwrap();
        let d = &p.distribution;
        prop_assert!(!d.kept().is_empty());
        let probs = d.kept_probabilities();
        prop_assert!(probs.iter().all(|q| q.is_finite() && (0.0..=1.0).contains(q)), "{probs:?}");
        let sum: f64 = probs.iter().sum();
        prop_assert!((sum - 1.0).abs() < 1e-6, "sum {sum}");
        prop_assert!(p.scores.iter().all(|s| !s.is_nan() && *s != f32::INFINITY));
        prop_assert!(d.kept().iter().all(|&i| p.scores[i].is_finite()));
        let finite = logits.iter().filter(|x| x.is_finite()).count();
        let want_min = if chain.is_greedy() { 1 } else { (cfg.min_tokens_to_keep as usize).min(finite) };
        prop_assert!(d.kept().len() >= want_min, "kept {:?} < {want_min}", d.kept());
        let token = d.sample(&mut Rng::new(seed, SAMPLE_STREAM));
        prop_assert!(d.kept().contains(&token));
        prop_assert!(d.probability(token) > 0.0);
    }
}

#[test]
fn a_70000_character_label_is_shortened_in_the_table_instead_of_panicking() {
    // Before the fix render() padded with format!("{s:<w$}") and w = 70,000 > 65,535 panicked
    // ("Formatting argument out of range"). The cell keeps 200 characters around an ellipsis
    // (learnable::text::MAX_CELL_CHARS); the row keeps the whole label.
    let long = "x".repeat(70_000);
    let labels = vec![long.clone(), "dog".to_string()];
    let t = temperature_table(&labels, &[1.0, 0.0], &[]).unwrap();
    assert_eq!(t.rows[0].label, long);
    let text = t.render();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().all(|l| l.chars().count() < 300), "{text}");
    assert!(
        lines[1].contains('…') && lines[1].starts_with("xxx"),
        "{text}"
    );
    // The dog row is padded to the shortened label's width: 200, two spaces, then the logit.
    assert!(lines[2].starts_with(&format!("{:<200}  ", "dog")), "{text}");
}
