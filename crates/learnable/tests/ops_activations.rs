//! Activations (ReLU, GELU exact and tanh, tanh, sigmoid): finite-difference gradient checks,
//! slow f64 references written out here, documented values, and thread-count determinism.

use learnable::gradcheck::{check_gradients, weighted_sum};
use learnable::ops::activation::Gelu;
use learnable::{Rng, Tape, Tensor, Var};

fn rand(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    Tensor::uniform(shape, lo, hi, &mut Rng::new(seed, "test"))
}

/// Values in [-3, 3] kept at least 0.05 from 0 (ReLU's kink), so a step h = 1e-2 never crosses it.
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor {
    let mut t = rand(shape, -3.0, 3.0, seed);
    for v in t.data_mut() {
        if v.abs() < 0.05 {
            *v += 0.1f32.copysign(*v);
        }
    }
    t
}

fn apply(x: &Tensor, f: impl Fn(&mut Tape<'_>, Var) -> learnable::Result<Var>) -> Tensor {
    let mut t = Tape::eval();
    let v = t.input(x.clone());
    let y = f(&mut t, v).unwrap();
    t.value(y).clone()
}

// ---- slow references (f64, plain loops) ----

/// erf by its Maclaurin series 2/√π Σ (−1)^n x^(2n+1) / (n!(2n+1)); accurate to ~1e-12 for
/// |x| ≤ 3 in f64 (largest term ~e^9 ≈ 8e3, so ~4 digits lost to cancellation).
fn erf_series(x: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = x; // x^(2n+1) (−1)^n / n!
    for n in 0..200 {
        sum += term / (2 * n + 1) as f64;
        term *= -x * x / (n + 1) as f64;
    }
    2.0 / std::f64::consts::PI.sqrt() * sum
}

fn ref_gelu_exact(x: f64) -> f64 {
    0.5 * x * (1.0 + erf_series(x / 2f64.sqrt()))
}

fn ref_gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
}

fn ref_sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn max_err(got: &Tensor, want: impl Fn(f64) -> f64, x: &Tensor) -> f64 {
    let mut worst = 0.0f64;
    for (g, &v) in got.data().iter().zip(x.data()) {
        worst = worst.max((*g as f64 - want(v as f64)).abs());
    }
    worst
}

#[test]
fn every_activation_matches_its_slow_f64_reference() {
    // Inputs in [-4, 4]: x/√2 ≤ 2.83 keeps the erf series accurate.
    let x = rand(&[7, 13], -4.0, 4.0, 11);
    let relu = max_err(&apply(&x, |t, v| t.relu(v)), |v| v.max(0.0), &x);
    let ge = max_err(
        &apply(&x, |t, v| t.gelu(v, Gelu::Exact)),
        ref_gelu_exact,
        &x,
    );
    let gt = max_err(&apply(&x, |t, v| t.gelu(v, Gelu::Tanh)), ref_gelu_tanh, &x);
    let th = max_err(&apply(&x, |t, v| t.tanh(v)), f64::tanh, &x);
    let sg = max_err(&apply(&x, |t, v| t.sigmoid(v)), ref_sigmoid, &x);
    eprintln!(
        "max |kernel - f64 reference|: relu {relu:e} gelu {ge:e} gelu_tanh {gt:e} tanh {th:e} sigmoid {sg:e}"
    );
    assert_eq!(relu, 0.0);
    // f32 rounding of outputs up to 4 in size: half an ulp is 2.4e-7; allow a few ulps.
    for e in [ge, gt, th, sg] {
        assert!(e < 1e-6, "{e}");
    }
}

#[test]
fn gelu_matches_the_documented_values_at_one_and_minus_one() {
    // Exact: 1·Φ(1) = 0.8413447460685429 (standard normal CDF at 1; PyTorch F.gelu(1.0) gives
    // 0.8413447 in f32). Tanh form: 0.5·(1 + tanh(√(2/π)·1.044715)) = 0.8411919906082768.
    // Exact at −1: −Φ(−1) = −0.15865525393145707.
    let x = Tensor::new(vec![1.0, -1.0], &[2]).unwrap();
    let e = apply(&x, |t, v| t.gelu(v, Gelu::Exact));
    let h = apply(&x, |t, v| t.gelu(v, Gelu::Tanh));
    assert_eq!(e.data()[0], 0.8413447460685429_f64 as f32);
    assert_eq!(e.data()[1], -0.15865525393145707_f64 as f32);
    assert_eq!(h.data()[0], 0.8411919906082768_f64 as f32);
}

#[test]
fn gelu_exact_is_accurate_far_in_the_negative_tail() {
    // gelu(-10) = -10·Φ(-10) = -10 · 7.619853024160527e-24 = -7.619853024160527e-23
    // (Φ(-10) from the complementary error function; a 1 + erf form in f32 would give 0).
    let x = Tensor::new(vec![-10.0], &[1]).unwrap();
    let y = apply(&x, |t, v| t.gelu(v, Gelu::Exact)).data()[0] as f64;
    assert!((y - -7.619853024160527e-23).abs() < 1e-29, "{y:e}");
}

#[test]
fn sigmoid_and_tanh_stay_finite_and_exact_at_large_inputs() {
    // sigmoid(-100) = e^-100/(1 + e^-100) = 3.720075976020836e-44 (subnormal in f32);
    // sigmoid(100) rounds to 1; tanh(±100) = ±1; sigmoid(0) = 0.5; tanh(0.5) = 0.46211715726000974.
    let x = Tensor::new(vec![-100.0, 100.0, 0.0, 0.5, -100.0], &[5]).unwrap();
    let s = apply(&x, |t, v| t.sigmoid(v));
    let th = apply(&x, |t, v| t.tanh(v));
    assert!(s.all_finite() && th.all_finite());
    assert!(
        (s.data()[0] as f64 - 3.720075976020836e-44).abs() < 2e-45,
        "{}",
        s.data()[0]
    );
    assert_eq!(s.data()[1], 1.0);
    assert_eq!(s.data()[2], 0.5);
    assert_eq!(th.data()[1], 1.0);
    assert_eq!(th.data()[4], -1.0);
    assert!((th.data()[3] - 0.462_117_16).abs() < 1e-7);
}

#[test]
fn relu_passes_positive_values_and_zeroes_the_rest() {
    // By hand: relu([-2, -0, 0, 0.5, 3]) = [0, 0, 0, 0.5, 3]; gradient 1 only where x > 0.
    let mut t = Tape::train();
    let x = t.input_with_grad(Tensor::new(vec![-2.0, -0.0, 0.0, 0.5, 3.0], &[5]).unwrap());
    let y = t.relu(x).unwrap();
    assert_eq!(t.value(y).data(), &[0.0, 0.0, 0.0, 0.5, 3.0]);
    let s = t.sum(y).unwrap();
    let g = t.backward(s).unwrap();
    assert_eq!(g.input(x).unwrap().data(), &[0.0, 0.0, 0.0, 1.0, 1.0]);
}

fn gradcheck_unary(f: impl Fn(&mut Tape<'_>, Var) -> learnable::Result<Var>, name: &str) {
    let inputs = [away_from_zero(&[2, 3, 5], 21)];
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let y = f(t, v[0])?;
        weighted_sum(t, y, 5)
    })
    .unwrap();
    eprintln!(
        "{name}: max rel error vs central differences {:e}",
        r.max_rel_error
    );
    assert!(r.max_rel_error < 1e-2, "{name}: {r:?}");
}

#[test]
fn relu_gradient_matches_central_differences() {
    gradcheck_unary(|t, v| t.relu(v), "relu");
}

#[test]
fn gelu_exact_gradient_matches_central_differences() {
    gradcheck_unary(|t, v| t.gelu(v, Gelu::Exact), "gelu exact");
}

#[test]
fn gelu_tanh_gradient_matches_central_differences() {
    gradcheck_unary(|t, v| t.gelu(v, Gelu::Tanh), "gelu tanh");
}

#[test]
fn tanh_gradient_matches_central_differences() {
    gradcheck_unary(|t, v| t.tanh(v), "tanh");
}

#[test]
fn sigmoid_gradient_matches_central_differences() {
    gradcheck_unary(|t, v| t.sigmoid(v), "sigmoid");
}

#[test]
fn gelu_gradients_match_a_derivative_of_the_reference_in_f64() {
    // d/dx of the slow references by central differences in f64 (h = 1e-5, error ~1e-10),
    // against the analytic backward kernels.
    let x = rand(&[40], -4.0, 4.0, 3);
    for (kind, f) in [
        (Gelu::Exact, ref_gelu_exact as fn(f64) -> f64),
        (Gelu::Tanh, ref_gelu_tanh),
    ] {
        let mut t = Tape::train();
        let v = t.input_with_grad(x.clone());
        let y = t.gelu(v, kind).unwrap();
        let s = t.sum(y).unwrap();
        let g = t.backward(s).unwrap();
        for (&gi, &xi) in g.input(v).unwrap().data().iter().zip(x.data()) {
            let xi = xi as f64;
            let d = (f(xi + 1e-5) - f(xi - 1e-5)) / 2e-5;
            assert!(
                (gi as f64 - d).abs() < 1e-6,
                "{kind:?} at {xi}: {gi} vs {d}"
            );
        }
    }
}

#[test]
fn one_and_two_threads_give_bit_identical_activations_and_gradients() {
    // 64 x 1024 = 65536 elements: above the size at which kernels go parallel.
    let x = rand(&[64, 1024], -3.0, 3.0, 8);
    let run = |threads: usize| -> Vec<u32> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut t = Tape::train();
            let v = t.input_with_grad(x.clone());
            let a = t.gelu(v, Gelu::Exact).unwrap();
            let b = t.tanh(a).unwrap();
            let c = t.sigmoid(b).unwrap();
            let d = t.relu(c).unwrap();
            let e = t.gelu(d, Gelu::Tanh).unwrap();
            let mut bits: Vec<u32> = t.value(e).data().iter().map(|f| f.to_bits()).collect();
            let s = weighted_sum(&mut t, e, 1).unwrap();
            let g = t.backward(s).unwrap();
            bits.extend(g.input(v).unwrap().data().iter().map(|f| f.to_bits()));
            bits
        })
    };
    assert!(run(1) == run(2));
}
