//! Gradient checks and reference comparisons for the core ops (linear, add, mul, sum, mean).

use learnable::gradcheck::{check_gradients, weighted_sum};
use learnable::{Rng, Tape, Tensor};

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::uniform(shape, -1.0, 1.0, &mut Rng::new(seed, "test"))
}

#[test]
fn linear_gradients_match_central_differences() {
    let inputs = [rand(&[2, 3, 5], 1), rand(&[4, 5], 2), rand(&[4], 3)];
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let y = t.linear(v[0], v[1], Some(v[2]))?;
        weighted_sum(t, y, 9)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn linear_matches_a_hand_computed_value() {
    // x = [1, 2], W = [[1, 0], [3, -1]], b = [0.5, -0.5]  ->  y = [1.5, 0.5] (by hand)
    let mut t = Tape::eval();
    let x = t.input(Tensor::new(vec![1.0, 2.0], &[1, 2]).unwrap());
    let w = t.input(Tensor::new(vec![1.0, 0.0, 3.0, -1.0], &[2, 2]).unwrap());
    let b = t.input(Tensor::new(vec![0.5, -0.5], &[2]).unwrap());
    let y = t.linear(x, w, Some(b)).unwrap();
    assert_eq!(t.value(y).data(), &[1.5, 0.5]);
}

#[test]
fn linear_names_both_shapes_on_mismatch() {
    let mut t = Tape::eval();
    let x = t.input(Tensor::zeros(&[3, 7]));
    let w = t.input(Tensor::zeros(&[4, 5]));
    let e = t.linear(x, w, None).unwrap_err().to_string();
    assert!(
        e.contains("linear") && e.contains("[3, 7]") && e.contains("[4, 5]"),
        "{e}"
    );
}

#[test]
fn add_with_broadcast_and_mul_gradients_match_central_differences() {
    let inputs = [rand(&[2, 3, 4], 4), rand(&[3, 4], 5), rand(&[2, 3, 4], 6)];
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let s = t.add(v[0], v[1])?;
        let p = t.mul(s, v[2])?;
        let m = t.mean(p)?;
        let w = weighted_sum(t, p, 3)?;
        t.add(w, m)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn gradients_of_a_reused_input_add_up() {
    // d/dx sum(x * x) = 2x
    let mut t = Tape::train();
    let x = t.input_with_grad(Tensor::new(vec![1.0, -2.0, 3.0], &[3]).unwrap());
    let y = t.mul(x, x).unwrap();
    let s = t.sum(y).unwrap();
    let g = t.backward(s).unwrap();
    assert_eq!(g.input(x).unwrap().data(), &[2.0, -4.0, 6.0]);
}

#[test]
fn matmul_gradients_match_central_differences_for_plain_and_batched_shapes() {
    let plain = [rand(&[2, 3, 4], 11), rand(&[4, 5], 12)];
    let r = check_gradients(&plain, 1e-2, |t, v| {
        let y = t.matmul(v[0], v[1])?;
        weighted_sum(t, y, 5)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
    let batched = [rand(&[3, 2, 4], 13), rand(&[3, 4, 2], 14)];
    let r = check_gradients(&batched, 1e-2, |t, v| {
        let y = t.matmul(v[0], v[1])?;
        weighted_sum(t, y, 6)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn matmul_matches_a_hand_computed_product_and_rejects_bad_shapes() {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]] (by hand)
    let mut t = Tape::eval();
    let a = t.input(Tensor::new(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    let b = t.input(Tensor::new(vec![5.0, 6.0, 7.0, 8.0], &[2, 2]).unwrap());
    let c = t.matmul(a, b).unwrap();
    assert_eq!(t.value(c).data(), &[19.0, 22.0, 43.0, 50.0]);
    let bad = t.input(Tensor::zeros(&[3, 2]));
    let e = t.matmul(a, bad).unwrap_err().to_string();
    assert!(
        e.contains("matmul") && e.contains("[2, 2]") && e.contains("[3, 2]"),
        "{e}"
    );
}
