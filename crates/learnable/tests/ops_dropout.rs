//! Dropout: PyTorch semantics (zero with probability p, scale survivors by 1/(1 − p)), identity
//! in eval mode and at p = 0, typed errors for bad p, seeded masks, gradients.

use learnable::gradcheck::{check_gradients, weighted_sum};
use learnable::{Error, Rng, Tape, Tensor};

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::uniform(shape, -1.0, 1.0, &mut Rng::new(seed, "test"))
}

#[test]
fn training_dropout_zeroes_where_the_draw_is_below_p_and_scales_the_rest() {
    // The mask is one rng.uniform_f32() per element in index order: dropped iff u < p.
    // Survivors are x / (1 - p) = x / 0.75 (PyTorch's F.dropout(x, 0.25, training=True)).
    let x = rand(&[4, 25], 1);
    let mut t = Tape::train();
    let v = t.input(x.clone());
    let mut rng = Rng::new(42, "dropout");
    let y = t.dropout(v, 0.25, &mut rng).unwrap();
    let mut check = Rng::new(42, "dropout");
    let mut dropped = 0;
    for (&yi, &xi) in t.value(y).data().iter().zip(x.data()) {
        if check.uniform_f32() < 0.25 {
            assert_eq!(yi, 0.0);
            dropped += 1;
        } else {
            assert_eq!(yi, xi * (1.0 / 0.75));
        }
    }
    assert!(dropped > 0 && dropped < 100, "{dropped}");
    // The caller's rng advanced by exactly 100 draws.
    assert_eq!(rng.uniform_f32(), check.uniform_f32());
}

#[test]
fn the_dropped_fraction_is_p_within_five_standard_errors() {
    // n = 200000, p = 0.3: standard error sqrt(p(1 - p)/n) = 0.001025, so |frac - p| < 0.0052.
    let n = 200_000;
    let mut t = Tape::train();
    let v = t.input(Tensor::full(&[n], 1.0));
    let y = t.dropout(v, 0.3, &mut Rng::new(7, "dropout")).unwrap();
    let zeros = t.value(y).data().iter().filter(|&&v| v == 0.0).count();
    let frac = zeros as f64 / n as f64;
    assert!((frac - 0.3).abs() < 0.0052, "{frac}");
    // Survivors are 1/(1 - 0.3) = 1.4285714 (f32).
    assert!(
        t.value(y)
            .data()
            .iter()
            .all(|&v| v == 0.0 || v == 1.0 / 0.7f32)
    );
}

#[test]
fn eval_mode_and_p_zero_return_the_input_unchanged_without_drawing() {
    let x = rand(&[3, 3], 2);
    let mut rng = Rng::new(1, "dropout");
    let mut t = Tape::eval();
    let v = t.input(x.clone());
    let y = t.dropout(v, 0.5, &mut rng).unwrap();
    assert_eq!(y, v);
    let mut t = Tape::train();
    let v = t.input(x.clone());
    let y = t.dropout(v, 0.0, &mut rng).unwrap();
    assert_eq!(y, v);
    assert_eq!(t.value(y), &x);
    // No draws were taken from rng.
    assert_eq!(rng.next_u64(), Rng::new(1, "dropout").next_u64());
}

#[test]
fn dropout_rejects_p_outside_zero_to_one_naming_dropout() {
    for p in [-0.1f32, 1.0, 1.5, f32::NAN] {
        let mut t = Tape::eval();
        let v = t.input(Tensor::zeros(&[2]));
        let e = t.dropout(v, p, &mut Rng::new(0, "dropout")).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
        assert!(e.to_string().contains("dropout"), "{e}");
    }
}

#[test]
fn the_same_seed_gives_the_same_mask() {
    let x = rand(&[10, 10], 3);
    let run = |seed| {
        let mut t = Tape::train();
        let v = t.input(x.clone());
        let y = t.dropout(v, 0.5, &mut Rng::new(seed, "dropout")).unwrap();
        t.value(y).clone()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn dropout_gradient_matches_central_differences_for_a_fixed_mask() {
    let r = check_gradients(&[rand(&[3, 7], 4)], 1e-2, |t, v| {
        let y = t.dropout(v[0], 0.4, &mut Rng::new(9, "dropout"))?;
        weighted_sum(t, y, 1)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}
