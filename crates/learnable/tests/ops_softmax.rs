//! Tape `softmax` and `log_softmax`: PyTorch reference values (fixtures/reference/
//! softmax_and_sampling.json, README section 6), a slow f64 reference, finite-difference
//! gradient checks and thread-count determinism.

use learnable::gradcheck::{check_gradients, weighted_sum};
use learnable::{Rng, Tape, Tensor};
use serde_json::Value;

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::uniform(shape, -3.0, 3.0, &mut Rng::new(seed, "test"))
}

/// A JSON number, or one of the strings "-inf" / "inf" / "nan" (fixture convention).
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse::<f64>().unwrap(),
        _ => v.as_f64().unwrap(),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/reference/softmax_and_sampling.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn softmax_and_log_softmax_match_pytorch_float32_values_in_the_fixture() {
    // Fixture: torch.softmax / torch.log_softmax (torch 2.15.0) of [4.2, 2.1, -1.3],
    // [1000, 999, 998], [-1000, -1001], [0, -inf, 1]. Tolerances from its README section 6:
    // float32 softmax rtol 2e-6 / atol 1e-7, log_softmax atol 2e-6, -inf positions exact.
    let fx = fixture();
    let cases = fx["softmax"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    let (mut worst_p, mut worst_l) = (0.0f64, 0.0f64);
    for case in cases {
        let logits: Vec<f32> = nums(&case["logits"]).iter().map(|&v| v as f32).collect();
        let want_p = nums(&case["softmax_float32"]);
        let want_l = nums(&case["log_softmax_float32"]);
        let n = logits.len();
        let mut t = Tape::eval();
        let x = t.input(Tensor::new(logits.clone(), &[n]).unwrap());
        let p = t.softmax(x).unwrap();
        let l = t.log_softmax(x).unwrap();
        for i in 0..n {
            let (gp, gl) = (t.value(p).data()[i] as f64, t.value(l).data()[i] as f64);
            assert!(!gp.is_nan() && !gl.is_nan(), "NaN for {logits:?}");
            assert!(
                (gp - want_p[i]).abs() <= 1e-7 + 2e-6 * want_p[i].abs(),
                "softmax {logits:?}[{i}]: {gp} vs {}",
                want_p[i]
            );
            worst_p = worst_p.max((gp - want_p[i]).abs());
            if want_l[i] == f64::NEG_INFINITY {
                assert_eq!(gl, f64::NEG_INFINITY, "log_softmax {logits:?}[{i}]");
            } else {
                assert!(
                    (gl - want_l[i]).abs() <= 2e-6,
                    "log_softmax {logits:?}[{i}]: {gl} vs {}",
                    want_l[i]
                );
                worst_l = worst_l.max((gl - want_l[i]).abs());
            }
        }
    }
    eprintln!("max |ours - torch f32|: softmax {worst_p:e}, log_softmax {worst_l:e}");
}

/// Plain f64 loops: p_j = e^(x_j - m) / Σ e^(x_k - m), log p_j = x_j - m - log Σ e^(x_k - m).
fn ref_rows(x: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let c = x.last_dim();
    let (mut p, mut l) = (Vec::new(), Vec::new());
    for r in 0..x.rows() {
        let row: Vec<f64> = x.row(r).iter().map(|&v| v as f64).collect();
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for v in &row {
            s += (v - m).exp();
        }
        for v in &row {
            p.push((v - m).exp() / s);
            l.push(v - m - s.ln());
        }
    }
    assert_eq!(p.len(), x.rows() * c);
    (p, l)
}

#[test]
fn softmax_and_log_softmax_match_a_slow_f64_reference_on_a_3d_tensor() {
    let x = rand(&[2, 3, 7], 4);
    let (rp, rl) = ref_rows(&x);
    let mut t = Tape::eval();
    let v = t.input(x);
    let p = t.softmax(v).unwrap();
    let l = t.log_softmax(v).unwrap();
    assert_eq!(t.shape(p), &[2, 3, 7]);
    let ep = t
        .value(p)
        .data()
        .iter()
        .zip(&rp)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    let el = t
        .value(l)
        .data()
        .iter()
        .zip(&rl)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    eprintln!("max |kernel - f64 reference|: softmax {ep:e}, log_softmax {el:e}");
    assert!(ep < 1e-7 && el < 1e-6, "{ep} {el}");
}

#[test]
fn softmax_gradient_matches_central_differences() {
    let r = check_gradients(&[rand(&[3, 6], 1)], 1e-2, |t, v| {
        let y = t.softmax(v[0])?;
        weighted_sum(t, y, 2)
    })
    .unwrap();
    eprintln!("softmax: max rel error {:e}", r.max_rel_error);
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn log_softmax_gradient_matches_central_differences() {
    let r = check_gradients(&[rand(&[2, 2, 5], 3)], 1e-2, |t, v| {
        let y = t.log_softmax(v[0])?;
        weighted_sum(t, y, 4)
    })
    .unwrap();
    eprintln!("log_softmax: max rel error {:e}", r.max_rel_error);
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn softmax_gradient_with_a_minus_inf_logit_is_finite_and_zero_there() {
    // y = softmax([0, -inf, 1]) = [0.2689414, 0, 0.7310586] (fixture values above).
    // Loss y_0: dy0/dx = y0·(e_0 − y) = [y0(1 − y0), 0, −y0·y2] = [0.19661193, 0, −0.19661193].
    let mut t = Tape::train();
    let x = t.input_with_grad(Tensor::new(vec![0.0, f32::NEG_INFINITY, 1.0], &[3]).unwrap());
    let y = t.softmax(x).unwrap();
    let pick = t.input(Tensor::new(vec![1.0, 0.0, 0.0], &[3]).unwrap());
    let m = t.mul(y, pick).unwrap();
    let s = t.sum(m).unwrap();
    let g = t.backward(s).unwrap();
    let g = g.input(x).unwrap().data();
    assert!(
        (g[0] - 0.196_611_93).abs() < 1e-7 && g[1] == 0.0 && (g[2] + 0.196_611_93).abs() < 1e-7,
        "{g:?}"
    );
}

#[test]
fn softmax_of_a_zero_dimensional_tensor_is_a_shape_error() {
    let mut t = Tape::eval();
    let x = t.input(Tensor::scalar(1.0));
    let e = t.softmax(x).unwrap_err().to_string();
    assert!(e.contains("softmax"), "{e}");
}

#[test]
fn one_and_two_threads_give_bit_identical_softmax_and_gradients() {
    // 32 x 2048 = 65536 elements: above the size at which the row kernels go parallel.
    let x = rand(&[32, 2048], 6);
    let run = |threads: usize| -> Vec<u32> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut t = Tape::train();
            let v = t.input_with_grad(x.clone());
            let p = t.softmax(v).unwrap();
            let l = t.log_softmax(p).unwrap();
            let mut bits: Vec<u32> = t.value(l).data().iter().map(|f| f.to_bits()).collect();
            let s = weighted_sum(&mut t, l, 1).unwrap();
            let g = t.backward(s).unwrap();
            bits.extend(g.input(v).unwrap().data().iter().map(|f| f.to_bits()));
            bits
        })
    };
    assert!(run(1) == run(2));
}
