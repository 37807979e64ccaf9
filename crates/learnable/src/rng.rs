//! Seeded random streams whose output is stable across versions, platforms and thread counts.
//!
//! Each random purpose (initialisation, shuffling, dropout, sampling) gets its own named stream:
//! a ChaCha8 generator (`rand_chacha`, whose stream is specified by the ChaCha algorithm and fixed
//! across crate versions) seeded with the user's `seed` and with its stream id set to a stable
//! FNV-1a hash of the stream name. Conversions to floats are written here, not taken from `rand`,
//! so that a `rand` upgrade can never change a result.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// A named, seeded random stream. Same seed and name give the same numbers, always.
#[derive(Clone, Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
}

/// FNV-1a 64-bit hash: a stable stream id for a name.
fn fnv1a(name: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl Rng {
    /// The stream `name` (e.g. `"init"`, `"shuffle"`, `"dropout"`, `"sample"`) of `seed`.
    pub fn new(seed: u64, name: &str) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(fnv1a(name));
        Rng { inner }
    }

    /// Next raw 32 bits.
    pub fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    /// Next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform f32 in [0, 1), 24 random mantissa bits.
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform f64 in [0, 1), 53 random mantissa bits.
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform f32 in [low, high).
    pub fn uniform_range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.uniform_f32()
    }

    /// Standard normal sample (Box-Muller in f64).
    pub fn normal(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the log is finite.
        let u1 = 1.0 - self.uniform_f64();
        let u2 = self.uniform_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Uniform integer in [0, n) without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        let mut x = self.next_u64();
        let mut m = (x as u128) * (n as u128);
        let mut l = m as u64;
        if l < n {
            let t = n.wrapping_neg() % n;
            while l < t {
                x = self.next_u64();
                m = (x as u128) * (n as u128);
                l = m as u64;
            }
        }
        (m >> 64) as u64
    }

    /// Fisher-Yates shuffle, stable for a given seed.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A random permutation of 0..n.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_name_give_the_same_stream() {
        let a: Vec<u32> = {
            let mut r = Rng::new(7, "init");
            (0..5).map(|_| r.next_u32()).collect()
        };
        let b: Vec<u32> = {
            let mut r = Rng::new(7, "init");
            (0..5).map(|_| r.next_u32()).collect()
        };
        let c: Vec<u32> = {
            let mut r = Rng::new(7, "shuffle");
            (0..5).map(|_| r.next_u32()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_init_stream_of_seed_zero_is_pinned() {
        // A regression pin: recorded from rand_chacha 0.9 on 2026-11-30. If it changes, every
        // seeded result (init, shuffles, dropout, sampling) changes: that must be a deliberate,
        // announced break, never an accident of a dependency upgrade.
        let mut r = Rng::new(0, "init");
        let got: Vec<u32> = (0..3).map(|_| r.next_u32()).collect();
        assert_eq!(got, vec![3110841794, 1989897330, 2830978028]);
    }

    #[test]
    fn uniform_is_in_the_unit_interval_and_has_mean_one_half() {
        let mut r = Rng::new(1, "t");
        let n = 100_000;
        let mut s = 0.0f64;
        for _ in 0..n {
            let u = r.uniform_f32();
            assert!((0.0..1.0).contains(&u));
            s += u as f64;
        }
        // Standard error of the mean is sqrt(1/12/n) ~ 9e-4.
        assert!((s / n as f64 - 0.5).abs() < 5e-3);
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Rng::new(2, "t");
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }
}
