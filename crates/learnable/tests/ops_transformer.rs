//! Checks of the transformer ops: layer norm, embedding, causal self-attention.
//!
//! Each op is checked three ways: a hand-computed example, central differences through the
//! f32 tape (`learnable::gradcheck`), and a slow, obvious f64 implementation written here whose
//! gradients come from f64 central differences (independent of the hand-written backward).

use learnable::gradcheck::{check_gradients, weighted_sum};
use learnable::{Error, Rng, Tape, Tensor, Var};

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::uniform(shape, -1.0, 1.0, &mut Rng::new(seed, "test"))
}

/// Runs `f` on a training tape with every input requiring a gradient, takes the loss
/// `Σ y·r` for a fixed random `r`, and returns `(y, r, d loss / d inputs)`.
fn forward_backward(
    inputs: &[Tensor],
    f: impl Fn(&mut Tape<'_>, &[Var]) -> learnable::Result<Var>,
) -> (Tensor, Tensor, Vec<Tensor>) {
    let mut t = Tape::train();
    let vars: Vec<Var> = inputs
        .iter()
        .map(|x| t.input_with_grad(x.clone()))
        .collect();
    let y = f(&mut t, &vars).unwrap();
    let y_val = t.value(y).clone();
    let r = rand(y_val.shape(), 777);
    let rv = t.input(r.clone());
    let p = t.mul(y, rv).unwrap();
    let loss = t.sum(p).unwrap();
    let g = t.backward(loss).unwrap();
    let grads = vars
        .iter()
        .zip(inputs)
        .map(|(v, x)| g.input(*v).cloned().unwrap_or(Tensor::zeros(x.shape())))
        .collect();
    (y_val, r, grads)
}

/// f64 central differences of `loss(x)` over every element of `x` (h = 1e-6: truncation error
/// ~h², rounding ~1e-16/h, both far below the f32 errors being measured).
fn fd_f64(x: &[f64], loss: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let o = x[i];
            x[i] = o + h;
            let fp = loss(&x);
            x[i] = o - h;
            let fm = loss(&x);
            x[i] = o;
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

fn to64(t: &Tensor) -> Vec<f64> {
    t.data().iter().map(|&v| v as f64).collect()
}

fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y).abs())
        .fold(0.0, f64::max)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

// ---------------------------------------------------------------- layer norm

/// Slow f64 layer norm over rows of `c`.
fn layer_norm_ref(x: &[f64], w: &[f64], b: &[f64], c: usize, eps: f64) -> Vec<f64> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(c) {
        let mean = row.iter().sum::<f64>() / c as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / c as f64;
        for j in 0..c {
            y.push((row[j] - mean) / (var + eps).sqrt() * w[j] + b[j]);
        }
    }
    y
}

#[test]
fn layer_norm_matches_a_hand_computed_row() {
    // x = [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5, so with eps = 0
    // x̂ = [-2, -1, 0, 3] / sqrt(3.5) = [-1.0690450, -0.5345225, 0, 1.6035675] (by hand),
    // and with w = [1, 2, 1, 0.5], b = [0, 0, 1, -1]: y = [-1.0690450, -1.0690450, 1, -0.1982163].
    let mut t = Tape::eval();
    let x = t.input(Tensor::new(vec![1.0, 2.0, 3.0, 6.0], &[1, 4]).unwrap());
    let w = t.input(Tensor::new(vec![1.0, 2.0, 1.0, 0.5], &[4]).unwrap());
    let b = t.input(Tensor::new(vec![0.0, 0.0, 1.0, -1.0], &[4]).unwrap());
    let y = t.layer_norm(x, Some(w), Some(b), 0.0).unwrap();
    let expected = [-1.069_045_0, -1.069_045_0, 1.0, -0.198_216_27];
    for (a, e) in t.value(y).data().iter().zip(expected) {
        assert!((a - e).abs() < 1e-6, "{:?}", t.value(y).data());
    }
    let plain = t.layer_norm(x, None, None, 0.0).unwrap();
    let expected = [-1.069_045_0, -0.534_522_5, 0.0, 1.603_567_5];
    for (a, e) in t.value(plain).data().iter().zip(expected) {
        assert!((a - e).abs() < 1e-6, "{:?}", t.value(plain).data());
    }
}

#[test]
fn layer_norm_gradients_of_invariant_sums_vanish_and_affine_gradients_are_row_sums() {
    // Σ x̂ = 0 and Σ x̂² = C for every x (eps = 0), so their gradients w.r.t. x are exactly 0;
    // d Σ y / d b = number of rows, d Σ y / d w = Σ_rows x̂ (by hand from y = x̂·w + b).
    let x0 = Tensor::new(vec![1.0, 2.0, 3.0, 6.0, -1.0, 0.5, 0.0, 2.0], &[2, 4]).unwrap();
    let mut t = Tape::train();
    let x = t.input_with_grad(x0.clone());
    let w = t.input_with_grad(Tensor::full(&[4], 1.0));
    let b = t.input_with_grad(Tensor::zeros(&[4]));
    let y = t.layer_norm(x, Some(w), Some(b), 0.0).unwrap();
    let y2 = t.mul(y, y).unwrap();
    let s1 = t.sum(y).unwrap();
    let s2 = t.sum(y2).unwrap();
    let loss = t.add(s1, s2).unwrap();
    let xhat = t.value(y).clone();
    let g = t.backward(loss).unwrap();
    assert!(
        g.input(x).unwrap().data().iter().all(|v| v.abs() < 1e-5),
        "{:?}",
        g.input(x)
    );
    // d/db (Σ y + Σ y²) = Σ_rows (1 + 2y); d/dw = Σ_rows (1 + 2y)·x̂, with y = x̂ here (w=1, b=0).
    for j in 0..4 {
        let (a, c) = (xhat.data()[j], xhat.data()[4 + j]);
        let gb = (1.0 + 2.0 * a) + (1.0 + 2.0 * c);
        let gw = (1.0 + 2.0 * a) * a + (1.0 + 2.0 * c) * c;
        assert!((g.input(b).unwrap().data()[j] - gb).abs() < 1e-5);
        assert!((g.input(w).unwrap().data()[j] - gw).abs() < 1e-5);
    }
}

#[test]
fn layer_norm_gradients_match_central_differences() {
    let inputs = [rand(&[2, 5, 8], 11), rand(&[8], 12), rand(&[8], 13)];
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let y = t.layer_norm(v[0], Some(v[1]), Some(v[2]), 1e-5)?;
        weighted_sum(t, y, 5)
    })
    .unwrap();
    eprintln!("layer_norm gradcheck: {r:?}");
    assert!(r.max_rel_error < 1e-2, "{r:?}");
    let r = check_gradients(&inputs[..1], 1e-2, |t, v| {
        let y = t.layer_norm(v[0], None, None, 1e-5)?;
        weighted_sum(t, y, 6)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn layer_norm_matches_the_f64_reference_forward_and_backward() {
    let (c, eps) = (8, 1e-5);
    let inputs = [rand(&[2, 5, c], 21), rand(&[c], 22), rand(&[c], 23)];
    let (y, r, grads) = forward_backward(&inputs, |t, v| {
        t.layer_norm(v[0], Some(v[1]), Some(v[2]), eps as f32)
    });
    let (x, w, b, r) = (
        to64(&inputs[0]),
        to64(&inputs[1]),
        to64(&inputs[2]),
        to64(&r),
    );
    let y_ref = layer_norm_ref(&x, &w, &b, c, eps);
    let gx = fd_f64(&x, |x| dot(&layer_norm_ref(x, &w, &b, c, eps), &r));
    let gw = fd_f64(&w, |w| dot(&layer_norm_ref(&x, w, &b, c, eps), &r));
    let gb = fd_f64(&b, |b| dot(&layer_norm_ref(&x, &w, b, c, eps), &r));
    let errs = [
        max_abs_diff(y.data(), &y_ref),
        max_abs_diff(grads[0].data(), &gx),
        max_abs_diff(grads[1].data(), &gw),
        max_abs_diff(grads[2].data(), &gb),
    ];
    eprintln!(
        "layer_norm vs f64 reference: max |err| y {:.2e}, dx {:.2e}, dw {:.2e}, db {:.2e}",
        errs[0], errs[1], errs[2], errs[3]
    );
    assert!(errs.iter().all(|&e| e < 2e-5), "{errs:?}");
}

#[test]
fn layer_norm_rejects_a_weight_of_the_wrong_width() {
    let mut t = Tape::eval();
    let x = t.input(Tensor::zeros(&[3, 8]));
    let w = t.input(Tensor::zeros(&[7]));
    let e = t.layer_norm(x, Some(w), None, 1e-5).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "layer_norm",
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.contains("[8]") && msg.contains("[7]"), "{msg}");
}

// ---------------------------------------------------------------- embedding

#[test]
fn embedding_copies_rows_and_scatter_adds_repeated_ids() {
    // table rows r0 = [0, 1], r1 = [10, 11], r2 = [20, 21]; ids [[2, 0], [2, 2]].
    let table = Tensor::new(vec![0.0, 1.0, 10.0, 11.0, 20.0, 21.0], &[3, 2]).unwrap();
    let mut t = Tape::train();
    let tv = t.input_with_grad(table);
    let y = t.embedding(&[2, 0, 2, 2], &[2, 2], tv).unwrap();
    assert_eq!(t.shape(y), &[2, 2, 2]);
    assert_eq!(
        t.value(y).data(),
        &[20.0, 21.0, 0.0, 1.0, 20.0, 21.0, 20.0, 21.0]
    );
    // loss = Σ y·w with w = 1, 2, ..., 8: row 0 gets w[2..4] = [3, 4]; row 2 gets
    // [1, 2] + [5, 6] + [7, 8] = [13, 16]; row 1 gets nothing (by hand).
    let w = t.input(Tensor::from_fn(&[2, 2, 2], |i| (i + 1) as f32));
    let p = t.mul(y, w).unwrap();
    let loss = t.sum(p).unwrap();
    let g = t.backward(loss).unwrap();
    assert_eq!(
        g.input(tv).unwrap().data(),
        &[3.0, 4.0, 0.0, 0.0, 13.0, 16.0]
    );
}

#[test]
fn embedding_gradients_match_central_differences() {
    let ids = [3usize, 1, 4, 1, 5, 0, 2, 6, 5, 3];
    let inputs = [rand(&[7, 8], 31)];
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let y = t.embedding(&ids, &[2, 5], v[0])?;
        weighted_sum(t, y, 7)
    })
    .unwrap();
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn embedding_names_the_position_and_id_out_of_range() {
    let mut t = Tape::eval();
    let table = t.input(Tensor::zeros(&[5, 4]));
    let e = t
        .embedding(&[0, 1, 2, 3, 4, 9], &[2, 3], table)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    let msg = e.to_string();
    // flat position 5 of shape [2, 3] is [1, 2]
    assert!(
        msg.contains("[1, 2]") && msg.contains('9') && msg.contains("< 5"),
        "{msg}"
    );
    let e = t.embedding(&[0, 1, 2], &[2, 2], table).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "embedding",
                ..
            }
        ),
        "{e}"
    );
}

// ---------------------------------------------------------------- attention

/// Slow f64 causal self-attention, straight from the definition.
fn attention_ref(qkv: &[f64], b: usize, t: usize, c: usize, nh: usize) -> Vec<f64> {
    let d = c / nh;
    let at = |bb: usize, i: usize, part: usize, h: usize, e: usize| {
        qkv[(bb * t + i) * 3 * c + part * c + h * d + e]
    };
    let mut out = vec![0.0; b * t * c];
    for bb in 0..b {
        for h in 0..nh {
            for i in 0..t {
                let s: Vec<f64> = (0..=i)
                    .map(|j| {
                        (0..d)
                            .map(|e| at(bb, i, 0, h, e) * at(bb, j, 1, h, e))
                            .sum::<f64>()
                            / (d as f64).sqrt()
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
                for e in 0..d {
                    out[(bb * t + i) * c + h * d + e] = (0..=i)
                        .map(|j| (s[j] - m).exp() / z * at(bb, j, 2, h, e))
                        .sum::<f64>();
                }
            }
        }
    }
    out
}

#[test]
fn attention_first_position_returns_its_own_value_and_second_mixes_by_hand() {
    // One head, D = 1, T = 2: q = [1, 2], k = [0, 1], v = [5, 7]. Position 0 sees only key 0:
    // out0 = v0 = 5. Position 1: scores q1·k = [0, 2], softmax = [1/(1+e²), e²/(1+e²)]
    // = [0.11920292, 0.88079708]; out1 = 5·0.1192029 + 7·0.8807971 = 6.7615942 (by hand).
    let qkv = Tensor::new(vec![1.0, 0.0, 5.0, 2.0, 1.0, 7.0], &[1, 2, 3]).unwrap();
    let mut t = Tape::eval();
    let x = t.input(qkv);
    let y = t.causal_self_attention(x, 1).unwrap();
    let out = t.value(y).data();
    assert_eq!(out[0], 5.0);
    assert!((out[1] - 6.761_594_2).abs() < 1e-6, "{out:?}");
}

#[test]
fn attention_gradients_match_central_differences() {
    let inputs = [rand(&[2, 5, 24], 41)];
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let y = t.causal_self_attention(v[0], 2)?;
        weighted_sum(t, y, 8)
    })
    .unwrap();
    eprintln!("attention gradcheck: {r:?}");
    assert!(r.max_rel_error < 1e-2, "{r:?}");
}

#[test]
fn attention_matches_the_f64_reference_forward_and_backward() {
    for &(b, t, c, nh) in &[(2, 5, 8, 2), (1, 7, 12, 3), (2, 3, 8, 1)] {
        let inputs = [Tensor::uniform(
            &[b, t, 3 * c],
            -2.0,
            2.0,
            &mut Rng::new(b as u64 * 100 + t as u64, "test"),
        )];
        let (y, r, grads) = forward_backward(&inputs, |tp, v| tp.causal_self_attention(v[0], nh));
        let (x, r) = (to64(&inputs[0]), to64(&r));
        let y_ref = attention_ref(&x, b, t, c, nh);
        let g_ref = fd_f64(&x, |x| dot(&attention_ref(x, b, t, c, nh), &r));
        let (ey, eg) = (
            max_abs_diff(y.data(), &y_ref),
            max_abs_diff(grads[0].data(), &g_ref),
        );
        eprintln!(
            "attention B={b} T={t} C={c} H={nh} vs f64 reference: max |err| y {ey:.2e}, dqkv {eg:.2e}"
        );
        assert!(ey < 1e-5 && eg < 2e-5, "y {ey}, dqkv {eg}");
    }
}

#[test]
fn attention_rejects_heads_that_do_not_divide_the_width() {
    let mut t = Tape::eval();
    let x = t.input(Tensor::zeros(&[1, 4, 24]));
    // qkv width 24 -> C = 8: 4 heads of 2 are fine, 3 heads are not.
    let ok = t.causal_self_attention(x, 4).unwrap();
    assert_eq!(t.shape(ok), &[1, 4, 8]);
    let e = t.causal_self_attention(x, 3).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument { name, .. } if name.contains("n_head")),
        "{e}"
    );
    assert!(e.to_string().contains("C = 8"), "{e}");
    let y = t.input(Tensor::zeros(&[4, 24]));
    let e = t.causal_self_attention(y, 2).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "causal_self_attention",
                ..
            }
        ),
        "{e}"
    );
}

/// Forward output and d qkv for a fixed input, computed inside a rayon pool of `threads`.
fn attention_run(threads: usize) -> (Vec<u32>, Vec<u32>) {
    // T·T·D = 64·64·32 is above matmul's threshold, so gemm itself also splits work.
    let qkv = rand(&[2, 64, 3 * 64], 51);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (y, _, g) = forward_backward(&[qkv], |t, v| {
            let h = t.causal_self_attention(v[0], 2)?;
            t.layer_norm(h, None, None, 1e-5)
        });
        let bits = |x: &Tensor| x.data().iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        (bits(&y), bits(&g[0]))
    })
}

#[test]
fn attention_is_bit_identical_with_one_and_two_threads() {
    let (y1, g1) = attention_run(1);
    let (y2, g2) = attention_run(2);
    assert!(y1 == y2, "forward differs between 1 and 2 threads");
    assert!(g1 == g2, "backward differs between 1 and 2 threads");
}

#[test]
fn attention_dropout_gradients_match_central_differences_and_eval_ignores_it() {
    let inputs = [rand(&[2, 5, 24], 43)];
    // A fresh stream per evaluation: the same mask at every finite-difference point.
    let r = check_gradients(&inputs, 1e-2, |t, v| {
        let y = t.causal_self_attention_dropout(v[0], 2, 0.3, &mut Rng::new(5, "dropout"))?;
        weighted_sum(t, y, 8)
    })
    .unwrap();
    eprintln!("attention dropout gradcheck: {r:?}");
    assert!(r.max_rel_error < 1e-2, "{r:?}");
    // Training with p > 0 changes the output; eval (or p = 0) is plain attention, bit for bit.
    let run = |train: bool, p: f32| {
        let mut t = if train { Tape::train() } else { Tape::eval() };
        let x = t.input(inputs[0].clone());
        let y = t
            .causal_self_attention_dropout(x, 2, p, &mut Rng::new(5, "dropout"))
            .unwrap();
        t.into_value(y).into_data()
    };
    let plain = {
        let mut t = Tape::eval();
        let x = t.input(inputs[0].clone());
        let y = t.causal_self_attention(x, 2).unwrap();
        t.into_value(y).into_data()
    };
    assert_eq!(run(false, 0.3), plain);
    assert_eq!(run(true, 0.0), plain);
    assert_ne!(run(true, 0.3), plain);
    let mut t = Tape::train();
    let x = t.input(inputs[0].clone());
    assert!(
        t.causal_self_attention_dropout(x, 2, 1.0, &mut Rng::new(0, "d"))
            .is_err()
    );
}

#[test]
fn attend_cached_agrees_with_the_tape_attention() {
    // One head of one sequence: attend_cached for every query vs the fused op.
    let (t, d) = (6, 4);
    let qkv = rand(&[1, t, 3 * d], 44);
    let mut tape = Tape::eval();
    let x = tape.input(qkv.clone());
    let y = tape.causal_self_attention(x, 1).unwrap();
    let full = tape.value(y).data().to_vec();
    let q = |i: usize| &qkv.data()[i * 3 * d..i * 3 * d + d];
    let k: Vec<f32> = (0..t)
        .flat_map(|i| qkv.data()[i * 3 * d + d..i * 3 * d + 2 * d].to_vec())
        .collect();
    let v: Vec<f32> = (0..t)
        .flat_map(|i| qkv.data()[i * 3 * d + 2 * d..i * 3 * d + 3 * d].to_vec())
        .collect();
    let mut scratch = vec![0.0f32; 3 * t];
    for i in 0..t {
        let mut out = vec![0.0f32; d];
        learnable::ops::attention::attend_cached(q(i), &k, &v, i + 1, &mut out, &mut scratch);
        for j in 0..d {
            assert!((out[j] - full[i * d + j]).abs() < 1e-6, "query {i}");
        }
    }
}
