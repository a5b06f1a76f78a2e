//! Exact discrete Gaussian noise (Canonne, Kamath and Steinke, "The Discrete Gaussian for
//! Differential Privacy", NeurIPS 2020, Algorithms 1–3), drawn from a seeded ChaCha20
//! stream so that the same release always gets the same noise.
//!
//! Only integer arithmetic is used: a floating-point Laplace or Gaussian sampler leaks
//! through the gaps in the values it can produce (Mironov, CCS 2012); this one cannot.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A draw of `N_Z(0, sigma²)` seeded by `seed`: the same seed always gives the same value.
/// `sigma == 0` gives 0.
pub fn discrete_gaussian(sigma: u32, seed: [u8; 32]) -> i64 {
    if sigma == 0 {
        return 0;
    }
    let mut rng = ChaCha20Rng::from_seed(seed);
    sample_discrete_gaussian(&mut rng, u128::from(sigma))
}

/// Algorithm 3: a discrete Laplace proposal accepted with the Gaussian-to-Laplace ratio.
fn sample_discrete_gaussian(rng: &mut impl Rng, sigma: u128) -> i64 {
    let sigma2 = sigma * sigma;
    let t = sigma + 1;
    loop {
        let y = sample_discrete_laplace(rng, t);
        let magnitude = u128::from(y.unsigned_abs());
        // Accept with probability exp(-(|y| - σ²/t)² / (2σ²)) = exp(-(|y|·t - σ²)² / (2σ²t²)).
        let diff = (magnitude * t).abs_diff(sigma2);
        if bernoulli_exp(rng, diff * diff, 2 * sigma2 * t * t) {
            return y;
        }
    }
}

/// Algorithm 2: `P(y) ∝ exp(-|y| / t)` over the integers, for an integer scale `t ≥ 1`.
fn sample_discrete_laplace(rng: &mut impl Rng, t: u128) -> i64 {
    loop {
        let u = rng.random_range(0..t);
        if !bernoulli_exp(rng, u, t) {
            continue;
        }
        let mut v: u128 = 0;
        while bernoulli_exp(rng, 1, 1) {
            v += 1;
        }
        let magnitude = i64::try_from(u + t * v).unwrap_or(i64::MAX);
        let negative = rng.random_bool(0.5);
        if negative && magnitude == 0 {
            continue;
        }
        return if negative { -magnitude } else { magnitude };
    }
}

/// Algorithm 1: a Bernoulli trial that succeeds with probability `exp(-num / den)`.
fn bernoulli_exp(rng: &mut impl Rng, num: u128, den: u128) -> bool {
    let mut num = num;
    while num > den {
        if !bernoulli_exp_at_most_one(rng, 1, 1) {
            return false;
        }
        num -= den;
    }
    bernoulli_exp_at_most_one(rng, num, den)
}

/// `exp(-num / den)` for `num ≤ den`: the parity of the first failing trial of
/// Bernoulli(γ/k), k = 1, 2, ….
fn bernoulli_exp_at_most_one(rng: &mut impl Rng, num: u128, den: u128) -> bool {
    let mut k: u128 = 1;
    loop {
        let (trial_den, overflowed) = den.overflowing_mul(k);
        if overflowed || rng.random_range(0..trial_den) >= num {
            return k % 2 == 1;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(i: u64) -> [u8; 32] {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&i.to_le_bytes());
        seed
    }

    #[test]
    fn same_seed_same_noise() {
        for i in 0..100 {
            assert_eq!(
                discrete_gaussian(20, seed(i)),
                discrete_gaussian(20, seed(i))
            );
        }
        assert_eq!(discrete_gaussian(0, seed(1)), 0);
    }

    /// Mean, variance and symmetry of 40,000 draws match N_Z(0, σ²) (for σ ≥ 1 the discrete
    /// Gaussian's variance is σ² to within 1e-15). The seeds are fixed, so this cannot flake.
    #[test]
    fn draws_follow_the_discrete_gaussian() {
        for sigma in [1u32, 5, 20] {
            let n = 40_000u64;
            let draws: Vec<i64> = (0..n).map(|i| discrete_gaussian(sigma, seed(i))).collect();
            let mean = draws.iter().sum::<i64>() as f64 / n as f64;
            let var = draws
                .iter()
                .map(|&x| (x as f64 - mean).powi(2))
                .sum::<f64>()
                / n as f64;
            let expected_var = f64::from(sigma * sigma);
            // Standard error of the mean is σ/200; of the variance about σ²·√2/200.
            assert!(
                mean.abs() < 4.0 * f64::from(sigma) / 200.0,
                "σ={sigma}: mean {mean}"
            );
            assert!(
                (var - expected_var).abs() < 0.05 * expected_var,
                "σ={sigma}: variance {var}, expected {expected_var}"
            );
            let positive = draws.iter().filter(|&&x| x > 0).count() as f64;
            let negative = draws.iter().filter(|&&x| x < 0).count() as f64;
            assert!((positive - negative).abs() < 4.0 * (positive + negative).sqrt());
            let beyond = draws
                .iter()
                .filter(|&&x| x.unsigned_abs() > 5 * u64::from(sigma))
                .count();
            assert!(beyond <= 2, "σ={sigma}: {beyond} draws beyond 5σ");
        }
    }
}
