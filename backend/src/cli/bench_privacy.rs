//! `veritrial bench privacy`: the differencing attack of issue 10 against the real cohort
//! service, measured over many one-patient cells.
//!
//! Each cell is one patient with a unique (ZIP3, age) pair; half of them, at random, have
//! type 2 diabetes (`icd10:E11.9`). For each cell a fresh recruiter who knows the rule asks up
//! to `attempts` rewordings of `age <= R and not (zip3 in (Z) and age between 56 and 56 and
//! condition = icd10:E11*)`: the funnel's two steps differ by one exactly when the cell's
//! patient has the condition. The attacker averages the differences of every answer it gets
//! (refusals are data-independent, so it stops after three in a row) and guesses. The same
//! attacker against exact counts (a site counting its own patients) is the baseline that
//! shows the attack works when nothing defends against it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::auth::Principal;
use crate::domain::Role;
use crate::error::AppError;
use crate::server::{PrivacySettings, ServeConfig, StoreConfig, load_state};
use crate::services::{patients, recruitment};
use crate::state::AppState;
use matcher::profile::{Profile, Sex};

/// What one run of the attack measured.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttackReport {
    /// One-patient cells attacked.
    pub cells: u64,
    /// Queries each attacker was allowed to try.
    pub attempts_allowed: u64,
    /// Most answers any attacker got.
    pub max_answered: u64,
    /// Share of cells whose condition the attacker guessed right.
    pub accuracy: f64,
    /// Half-width of accuracy's 95 % confidence interval.
    pub accuracy_ci95: f64,
    /// The guarantee's bound on any attacker's accuracy: Φ(√(ρ/2)).
    pub bound: f64,
    /// The same attacker against exact counts.
    pub baseline_accuracy: f64,
    /// Noise standard deviation and budget used.
    pub sigma: u32,
    /// The per-user zCDP budget.
    pub budget: f64,
}

/// The attack's population and settings.
pub struct Attack {
    /// Where the service keeps its data (a fresh directory or database).
    pub store: StoreConfig,
    /// The mechanism's settings.
    pub privacy: PrivacySettings,
    /// One-patient cells.
    pub cells: u64,
    /// Queries each attacker may try.
    pub attempts: u64,
    /// Other patients, outside every cell.
    pub background: u64,
    /// Seed of the population and of who has the condition.
    pub seed: u64,
}

const SITE: &str = "bench-site";

impl Attack {
    /// Runs the attack and its exact-count baseline.
    pub async fn run(&self) -> anyhow::Result<AttackReport> {
        anyhow::ensure!(
            (1..=800).contains(&self.cells),
            "--cells must be between 1 and 800"
        );
        let mut config = ServeConfig::for_tools(self.store.clone());
        config.privacy = self.privacy;
        let state = load_state(&config).await?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let has_condition: Vec<bool> = (0..self.cells).map(|_| rng.random_bool(0.5)).collect();
        let mut population: Vec<Profile> = (0..self.background)
            .map(|i| {
                patient(
                    format!("background-{i}"),
                    format!("{:03}", 1 + i % 99),
                    18 + (i % 70) as u8,
                    rng.random_bool(0.3),
                )
            })
            .collect();
        population.extend(
            has_condition
                .iter()
                .enumerate()
                .map(|(i, &has)| patient(format!("cell-{i}"), cell_zip3(i), 56, has)),
        );
        let site = Principal {
            user_id: "bench-site-user".into(),
            org_id: SITE.into(),
            role: Role::Site,
        };
        patients::seed_consenting(&state, &site, population).await?;

        let (mut right, mut baseline_right, mut max_answered) = (0u64, 0u64, 0u64);
        for (i, &has) in has_condition.iter().enumerate() {
            let attacker = Principal {
                user_id: format!("bench-attacker-{}-{i}", self.seed),
                org_id: "bench-recruiter".into(),
                role: Role::Recruiter,
            };
            let differences = self.differences(&state, &attacker, i).await?;
            max_answered = max_answered.max(differences.len() as u64);
            right += u64::from(self.guess(&differences) == has);
            let exact = difference(&state, &site, &criteria(i, 0)).await?;
            baseline_right += u64::from((exact == Some(1)) == has);
        }
        let cells = self.cells as f64;
        let accuracy = right as f64 / cells;
        let rho = self.privacy.budget;
        Ok(AttackReport {
            cells: self.cells,
            attempts_allowed: self.attempts,
            max_answered,
            accuracy,
            accuracy_ci95: 1.96 * (accuracy * (1.0 - accuracy) / cells).sqrt(),
            bound: normal_cdf((rho / 2.0).sqrt()),
            baseline_accuracy: baseline_right as f64 / cells,
            sigma: self.privacy.noise_sigma,
            budget: rho,
        })
    }

    /// The funnel differences of every answer the attacker gets for cell `i`.
    async fn differences(
        &self,
        state: &AppState,
        attacker: &Principal,
        cell: usize,
    ) -> anyhow::Result<Vec<i64>> {
        let mut out = Vec::new();
        let mut refusals_in_a_row = 0;
        for attempt in 0..self.attempts {
            match difference(state, attacker, &criteria(cell, attempt)).await {
                Ok(Some(d)) => {
                    out.push(d);
                    refusals_in_a_row = 0;
                }
                Ok(None) => {}
                Err(AppError::BudgetExhausted(_)) => {
                    refusals_in_a_row += 1;
                    if refusals_in_a_row == 3 {
                        break;
                    }
                }
                Err(err) => return Err(anyhow::anyhow!("cohort query failed: {err}")),
            }
        }
        Ok(out)
    }

    /// The attacker's guess: the mean difference against the midpoint of what it would be
    /// without and with the condition. The released funnel never rises, so a difference is
    /// max(b + Z, 0) with Z ~ N(0, 2σ²); its mean is s/√(2π) for b = 0 and about 0.5 more
    /// for b = 1 (s = σ√2).
    fn guess(&self, differences: &[i64]) -> bool {
        if differences.is_empty() {
            return false;
        }
        let s = f64::from(self.privacy.noise_sigma) * std::f64::consts::SQRT_2;
        let without = s / (2.0 * std::f64::consts::PI).sqrt();
        let mean = differences.iter().sum::<i64>() as f64 / differences.len() as f64;
        mean > without + 0.25
    }
}

/// The `attempt`-th rewording of the attack on cell `i`: the same patients each time.
fn criteria(cell: usize, attempt: u64) -> String {
    format!(
        "age <= {} and not (zip3 in ({}) and age between 56 and 56 and condition = icd10:E11*)",
        91 + attempt,
        cell_zip3(cell)
    )
}

/// The two funnel steps' difference, when both were shown as numbers.
async fn difference(
    state: &AppState,
    who: &Principal,
    criteria: &str,
) -> Result<Option<i64>, AppError> {
    let cohort = recruitment::cohort(state, who, criteria, None).await?;
    let steps: Vec<Option<u64>> = cohort.funnel.iter().map(|s| s.remaining.count).collect();
    Ok(match steps.as_slice() {
        [Some(a), Some(b)] => Some(*a as i64 - *b as i64),
        _ => None,
    })
}

fn cell_zip3(i: usize) -> String {
    format!("{}", 100 + i)
}

fn patient(pseudonym: String, zip3: String, age: u8, diabetic: bool) -> Profile {
    Profile {
        pseudonym,
        site_id: SITE.into(),
        age,
        sex: Sex::Female,
        zip3,
        conditions: if diabetic {
            vec!["icd10:E11.9".into()]
        } else {
            vec!["icd10:I10".into()]
        },
        medications: vec![],
        procedures: vec![],
        labs: vec![],
        terms: vec![],
    }
}

/// Φ, the standard normal distribution function (Abramowitz and Stegun 7.1.26, error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use super::normal_cdf;

    #[test]
    fn normal_cdf_matches_tables() {
        for (x, phi) in [
            (0.0, 0.5),
            (1.0, 0.841_344_7),
            (-1.96, 0.024_997_9),
            (0.05_f64.sqrt(), 0.588_468_3),
        ] {
            assert!((normal_cdf(x) - phi).abs() < 1e-6, "Φ({x})");
        }
    }
}
