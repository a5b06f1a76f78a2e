//! Counts that cannot be differenced: every number a recruiter or sponsor sees of a cohort is
//! perturbed with discrete Gaussian noise, the same noise for the same question about the same
//! data, and paid for from a per-user privacy budget (zero-concentrated differential privacy).
//!
//! The guarantee (README, docs/privacy.md): over any window of `window` hours, everything one
//! user is shown is `budget`-zCDP with respect to adding or removing one patient, so no
//! sequence of queries in that window tells whether one patient is in the data (or has a
//! condition) with accuracy better than `Φ(√(budget / 2))`, whatever the queries.

mod budget;
mod noise;

use std::time::Duration;

use matcher::index::CohortCounts;
use matcher::suppress::{SuppressedCount, Suppression};
use ring::hmac;

pub use budget::{Budget, Charge, Record, charge, record, spent};

/// The mechanism's settings: noise, budget and suppression.
#[derive(Clone)]
pub struct PrivacyPolicy {
    /// Standard deviation of the noise added to every released count (at least 1).
    pub sigma: u32,
    /// The zCDP budget `ρ` of one user over one window.
    pub budget: f64,
    /// The budget's rolling window.
    pub window: Duration,
    /// Released counts below the threshold read "fewer than N".
    pub suppression: Suppression,
    key: hmac::Key,
}

impl PrivacyPolicy {
    /// A policy whose noise is keyed by the secret `noise_key`.
    pub fn new(
        sigma: u32,
        budget: f64,
        window: Duration,
        suppression: Suppression,
        noise_key: &[u8],
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(sigma >= 1, "the cohort noise sigma must be at least 1");
        anyhow::ensure!(
            budget.is_finite() && budget > 0.0,
            "the cohort privacy budget must be a positive number"
        );
        anyhow::ensure!(
            noise_key.len() >= 32,
            "the cohort noise key must be at least 32 bytes"
        );
        Ok(Self {
            sigma,
            budget,
            window,
            suppression,
            key: hmac::Key::new(hmac::HMAC_SHA256, noise_key),
        })
    }

    /// The zCDP cost `ρ = Δ² / 2σ²` of releasing `counts` numbers, each of which one patient
    /// changes by at most one (a funnel of k steps: k; all per-site counts together: 1).
    pub fn cost(&self, counts: usize) -> f64 {
        counts as f64 / (2.0 * f64::from(self.sigma).powi(2))
    }

    /// Half-width of the 95 % interval of the noise, for display (`±`).
    pub fn margin95(&self) -> u64 {
        (1.96 * f64::from(self.sigma)).round() as u64
    }

    /// The key of one release: equal for the same question about the same data (the same
    /// database position), on every server.
    pub fn release_key(&self, parts: &[&str]) -> String {
        hex::encode(self.tag("release", parts))
    }

    /// `exact` plus deterministic noise for (`release_key`, `label`), clamped at zero.
    pub fn noisy(&self, exact: u64, release_key: &str, label: &str) -> u64 {
        let noise = noise::discrete_gaussian(self.sigma, self.tag("noise", &[release_key, label]));
        i64::try_from(exact)
            .unwrap_or(i64::MAX)
            .saturating_add(noise)
            .max(0)
            .unsigned_abs()
    }

    /// Releases a cohort's counts: a noisy funnel made non-increasing, the total as its last
    /// step, and a noisy count for every site in `sites` (listed whether or not it matched).
    pub fn release(&self, exact: &CohortCounts, release_key: &str, sites: &[String]) -> Released {
        let mut previous = u64::MAX;
        let funnel: Vec<u64> = exact
            .funnel
            .iter()
            .enumerate()
            .map(|(k, step)| {
                let value = self
                    .noisy(step.remaining, release_key, &format!("step:{k}"))
                    .min(previous);
                previous = value;
                value
            })
            .collect();
        let total = funnel.last().copied().unwrap_or(0);
        let sites = sites
            .iter()
            .map(|site| {
                let exact_count = exact.by_site.get(site).copied().unwrap_or(0);
                self.noisy(exact_count, release_key, &format!("site:{site}"))
            })
            .collect();
        Released {
            total,
            funnel,
            sites,
        }
    }

    fn tag(&self, purpose: &str, parts: &[&str]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(b"veritrial-cohort-v1\0");
        ctx.update(purpose.as_bytes());
        for part in parts {
            ctx.update(b"\0");
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Suppression of a released (already noisy) count.
    pub fn show(&self, released: u64) -> SuppressedCount {
        self.suppression.apply(released)
    }
}

/// Noisy numbers of one cohort release, in the order asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Released {
    /// The cohort size (the funnel's last step).
    pub total: u64,
    /// The funnel, step by step.
    pub funnel: Vec<u64>,
    /// One count per listed site.
    pub sites: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use matcher::index::FunnelStep;

    use super::*;

    fn policy(sigma: u32) -> PrivacyPolicy {
        PrivacyPolicy::new(
            sigma,
            0.1,
            Duration::from_secs(86_400),
            Suppression::default(),
            &[7; 32],
        )
        .unwrap()
    }

    fn counts(funnel: &[u64], by_site: &[(&str, u64)]) -> CohortCounts {
        CohortCounts {
            watermark: None,
            funnel: funnel
                .iter()
                .enumerate()
                .map(|(k, &remaining)| FunnelStep {
                    clause: format!("c{k}"),
                    remaining,
                })
                .collect(),
            total: funnel.last().copied().unwrap_or(0),
            by_site: by_site.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn releases_are_deterministic_per_question_and_snapshot() {
        let p = policy(20);
        let exact = counts(&[3001, 3000], &[("a", 1501)]);
        let sites = vec!["a".to_string(), "b".to_string()];
        let key = p.release_key(&["snap", "age >= 0"]);
        assert_eq!(
            p.release(&exact, &key, &sites),
            p.release(&exact, &key, &sites)
        );
        let other = p.release_key(&["snap2", "age >= 0"]);
        assert_ne!(key, other);
        let a = p.release(&exact, &key, &sites);
        assert_eq!(a.total, *a.funnel.last().unwrap());
        assert!(a.funnel.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(a.sites.len(), 2, "a site without matches is listed too");
    }

    #[test]
    fn another_key_gives_other_noise() {
        let exact = counts(&[5000], &[]);
        let key = policy(20).release_key(&["x"]);
        let other = PrivacyPolicy::new(
            20,
            0.1,
            Duration::from_secs(1),
            Suppression::default(),
            &[8; 32],
        )
        .unwrap();
        let draws: Vec<bool> = (0..20)
            .map(|i| {
                let label = format!("l{i}");
                policy(20).noisy(5000, &key, &label) != other.noisy(5000, &key, &label)
            })
            .collect();
        assert!(draws.iter().filter(|d| **d).count() >= 15, "{draws:?}");
        assert_eq!(exact.total, 5000);
    }

    #[test]
    fn costs_follow_zcdp() {
        let p = policy(20);
        assert!((p.cost(4) - 4.0 / 800.0).abs() < 1e-12);
        assert_eq!(p.margin95(), 39);
        assert!(
            PrivacyPolicy::new(0, 0.1, Duration::ZERO, Suppression::default(), &[1; 32]).is_err()
        );
        assert!(
            PrivacyPolicy::new(1, 0.0, Duration::ZERO, Suppression::default(), &[1; 32]).is_err()
        );
    }
}
