//! Numerically stable softmax, log-softmax and logsumexp on rows of f32 values.
//!
//! The maximum is subtracted before exponentiating (the standard trick; see e.g. Goodfellow et
//! al., *Deep Learning*, §4.1), so `[1000, 999, 998]` does not overflow. Entries of `-inf` get
//! probability exactly 0 and log-probability `-inf`. Sums are taken in f64 for accuracy, in
//! index order, so results do not depend on thread count. These kernels are shared by the tape
//! ops (`ops::softmax`), the losses and the sampling module.
//!
//! Behaviour on inputs that are not "finite or -inf" (NaN, +inf, a row of all -inf) is
//! documented per function; validating callers (sampling) reject such rows first.

/// log Σ exp(x). Returns `-inf` for an empty row or a row of all `-inf`.
/// NaN in, NaN out; a `+inf` entry gives `+inf`.
pub fn logsumexp(x: &[f32]) -> f32 {
    logsumexp_f64(x) as f32
}

/// [`logsumexp`] with an f64 result (no rounding to f32).
pub fn logsumexp_f64(x: &[f32]) -> f64 {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if x.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    if m == f32::NEG_INFINITY || m == f32::INFINITY {
        return m as f64;
    }
    let m64 = m as f64;
    let s: f64 = x.iter().map(|&v| ((v as f64) - m64).exp()).sum();
    m64 + s.ln()
}

/// `out[i] = exp(x[i]) / Σ exp(x)`. `x` and `out` have the same length.
/// A row of all `-inf` gives all zeros (no probability mass anywhere; callers decide).
pub fn softmax_into(x: &[f32], out: &mut [f32]) {
    debug_assert_eq!(x.len(), out.len());
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        out.fill(0.0);
        return;
    }
    let mut s = 0.0f64;
    for (o, &v) in out.iter_mut().zip(x) {
        let e = (v - m).exp();
        *o = e;
        s += e as f64;
    }
    let inv = (1.0 / s) as f32;
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// Softmax of a row, returned as a new vector.
pub fn softmax(x: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    softmax_into(x, &mut out);
    out
}

/// `out[i] = x[i] − logsumexp(x)`; `-inf` entries stay `-inf`.
pub fn log_softmax_into(x: &[f32], out: &mut [f32]) {
    debug_assert_eq!(x.len(), out.len());
    let lse = logsumexp_f64(x);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = ((v as f64) - lse) as f32;
    }
}

/// Log-softmax of a row, returned as a new vector.
pub fn log_softmax(x: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    log_softmax_into(x, &mut out);
    out
}

/// Softmax of a row in f64 (for reference checks and exact reporting).
pub fn softmax_f64(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return vec![0.0; x.len()];
    }
    let e: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Log-softmax of a row in f64.
pub fn log_softmax_f64(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return vec![f64::NEG_INFINITY; x.len()];
    }
    let lse = m + x.iter().map(|&v| (v - m).exp()).sum::<f64>().ln();
    x.iter().map(|&v| v - lse).collect()
}

/// Backward of softmax on one row: `dx[i] += y[i]·(g[i] − Σ_j g[j]·y[j])`, where `y` is the
/// softmax output and `g` is d loss / d y (the Jacobian-vector product of softmax; the sum is
/// taken in f64, in index order). Entries with `y = 0` (from `-inf` logits) get no gradient.
pub fn softmax_backward_acc(y: &[f32], g: &[f32], dx: &mut [f32]) {
    debug_assert!(y.len() == g.len() && g.len() == dx.len());
    let s: f64 = g.iter().zip(y).map(|(&g, &y)| g as f64 * y as f64).sum();
    for ((d, &g), &y) in dx.iter_mut().zip(g).zip(y) {
        *d += (y as f64 * (g as f64 - s)) as f32;
    }
}

/// Backward of log-softmax on one row: `dx[i] += g[i] − exp(y[i])·Σ_j g[j]`, where `y` is the
/// log-softmax output (so `exp(y)` is the softmax) and `g` is d loss / d y; sum in f64.
pub fn log_softmax_backward_acc(y: &[f32], g: &[f32], dx: &mut [f32]) {
    debug_assert!(y.len() == g.len() && g.len() == dx.len());
    let s: f64 = g.iter().map(|&g| g as f64).sum();
    for ((d, &g), &y) in dx.iter_mut().zip(g).zip(y) {
        *d += (g as f64 - (y as f64).exp() * s) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_example_gives_0_888_0_109_0_004() {
        // Seed text: logits cat 4.2, dog 2.1, car -1.3. By hand: e^0 = 1, e^-2.1 = 0.12246,
        // e^-5.5 = 0.0040868; sum 1.12655 -> 0.8877, 0.1087, 0.0036.
        let p = softmax(&[4.2, 2.1, -1.3]);
        let r: Vec<f32> = p.iter().map(|v| (v * 1000.0).round() / 1000.0).collect();
        assert_eq!(r, vec![0.888, 0.109, 0.004]);
    }

    #[test]
    fn large_logits_do_not_overflow_and_neg_inf_gets_zero() {
        let p = softmax(&[1000.0, 999.0, 998.0]);
        assert!(p.iter().all(|v| v.is_finite()));
        // softmax([0, -1, -2]) by hand: 1/(1+e^-1+e^-2) = 0.66524096
        assert!((p[0] - 0.665_240_96).abs() < 1e-6);
        let q = softmax(&[0.0, f32::NEG_INFINITY, 1.0]);
        assert_eq!(q[1], 0.0);
        let l = log_softmax(&[0.0, f32::NEG_INFINITY, 1.0]);
        assert_eq!(l[1], f32::NEG_INFINITY);
        assert!(l[0].is_finite() && l[2].is_finite());
    }
}
