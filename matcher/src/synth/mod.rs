//! Deterministic generator of realistic synthetic profiles, for benchmarks, demos and tests.
//!
//! Distributions: ages skewed to adults (about 12 % children, 90+ stored as 90), sexes,
//! ZIP3s and about 300 ICD-10 / SNOMED CT condition codes with Zipf-like frequencies, the
//! number of conditions growing with age, and realistic comorbidity and treatment: type 2
//! diabetes brings metformin (ATC `A10BA02`, RxNorm `860975`), raised HbA1c and more
//! hypertension and hyperlipidaemia; hyperlipidaemia brings statins and raised LDL; chronic
//! kidney disease brings raised creatinine, low eGFR and sometimes dialysis. Labs: HbA1c
//! (`loinc:4548-4`), creatinine (`loinc:2160-0`), eGFR (`loinc:33914-3`), LDL
//! (`loinc:13457-7`), haemoglobin (`loinc:718-7`).

mod tables;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use self::tables::{CONDITIONS, Condition, Medication, OTHER_MEDICATIONS, PROCEDURES, ZIP3S};
use crate::profile::{Lab, MAX_AGE, Profile, Sex};

/// `n` synthetic profiles, the same for the same `seed`, spread uniformly over `site_ids`
/// (`site-1` when empty). Pseudonyms are unique 32-hex-digit strings;
/// profiles come out already [`Profile::normalised`].
pub fn profiles<S: AsRef<str>>(
    seed: u64,
    n: usize,
    site_ids: &[S],
) -> impl Iterator<Item = Profile> + use<S> {
    let mut sites: Vec<String> = site_ids.iter().map(|s| s.as_ref().to_string()).collect();
    if sites.is_empty() {
        sites.push("site-1".to_string());
    }
    let mut generator = Generator {
        rng: StdRng::seed_from_u64(seed),
        seed_tag: splitmix64(seed),
        sites,
        conditions: Zipf::new(CONDITIONS.len(), 1.0),
        other_meds: Zipf::new(OTHER_MEDICATIONS.len(), 1.1),
        procedures: Zipf::new(PROCEDURES.len(), 1.2),
        zips: Zipf::new(ZIP3S.len(), 0.8),
    };
    (0..n).map(move |i| generator.profile(i as u64))
}

/// SplitMix64 finaliser: a bijection on `u64`, so distinct inputs give distinct outputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Rank sampler with weights `1 / (rank + 1)^s`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / ((r + 1) as f64).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

struct Generator {
    rng: StdRng,
    seed_tag: u64,
    sites: Vec<String>,
    conditions: Zipf,
    other_meds: Zipf,
    procedures: Zipf,
    zips: Zipf,
}

/// A profile under construction.
#[derive(Default)]
struct Draft {
    conditions: Vec<String>,
    medications: Vec<String>,
    procedures: Vec<String>,
    labs: Vec<Lab>,
    terms: Vec<String>,
    bases: Vec<&'static str>,
}

impl Draft {
    fn has(&self, icd10: &str) -> bool {
        self.bases.contains(&icd10)
    }

    fn add_condition(&mut self, c: &Condition, rng: &mut StdRng) {
        if self.has(c.icd10) {
            return;
        }
        self.bases.push(c.icd10);
        let code = if c.subcodes.is_empty() {
            c.icd10
        } else {
            c.subcodes[rng.random_range(0..c.subcodes.len())]
        };
        self.conditions.push(format!("icd10:{code}"));
        if rng.random_bool(0.6) {
            self.conditions.push(format!("snomed:{}", c.snomed));
        }
        self.terms.push(c.name.to_string());
    }

    fn add_medication(&mut self, m: &Medication, rng: &mut StdRng) {
        let atc = format!("atc:{}", m.atc);
        if self.medications.contains(&atc) {
            return;
        }
        self.medications.push(atc);
        if rng.random_bool(0.5) {
            self.medications.push(format!("rxnorm:{}", m.rxnorm));
        }
    }

    fn add_lab(&mut self, code: &str, value: f64, unit: &str, rng: &mut StdRng) {
        self.labs.push(Lab {
            code: code.to_string(),
            value,
            unit: unit.to_string(),
            year: rng.random_range(2019..=2025),
        });
    }
}

fn condition(icd10: &str) -> Option<&'static Condition> {
    CONDITIONS.iter().find(|c| c.icd10 == icd10)
}

impl Generator {
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = self.rng.random();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn rounded(&mut self, mean: f64, sd: f64, min: f64, decimals: i32) -> f64 {
        let scale = 10f64.powi(decimals);
        (self.normal(mean, sd).max(min) * scale).round() / scale
    }

    fn age(&mut self) -> u8 {
        let r: f64 = self.rng.random();
        if r < 0.12 {
            self.rng.random_range(0..18)
        } else if r < 0.14 {
            MAX_AGE
        } else {
            let x: f64 = (0..3).map(|_| self.rng.random::<f64>()).sum::<f64>() / 3.0;
            (18.0 + x * 74.0).min(f64::from(MAX_AGE)) as u8
        }
    }

    fn sex(&mut self) -> Sex {
        let r: f64 = self.rng.random();
        match r {
            r if r < 0.51 => Sex::Female,
            r if r < 0.99 => Sex::Male,
            r if r < 0.995 => Sex::Other,
            _ => Sex::Unknown,
        }
    }

    fn profile(&mut self, i: u64) -> Profile {
        let pseudonym = format!(
            "{:016x}{:016x}",
            self.seed_tag,
            splitmix64(i ^ self.seed_tag)
        );
        let site_id = self.sites[self.rng.random_range(0..self.sites.len())].clone();
        let age = self.age();
        let sex = self.sex();
        let zip3 = ZIP3S[self.zips.sample(&mut self.rng)].to_string();
        let mut d = Draft::default();

        // Background conditions, more with age.
        let expected = 0.3 + f64::from(age) / 18.0;
        let k = (0..12)
            .filter(|_| self.rng.random_bool((expected / 12.0).min(1.0)))
            .count();
        for _ in 0..k {
            let c = &CONDITIONS[self.conditions.sample(&mut self.rng)];
            let sex_specific = matches!(c.icd10, "C61" | "N40") && sex == Sex::Female
                || matches!(c.icd10, "E28" | "N80") && sex == Sex::Male;
            if !sex_specific {
                d.add_condition(c, &mut self.rng);
            }
        }
        self.comorbidity(&mut d, age);
        self.treatments(&mut d);
        self.labs(&mut d, age);

        Profile {
            pseudonym,
            site_id,
            age,
            sex,
            zip3,
            conditions: d.conditions,
            medications: d.medications,
            procedures: d.procedures,
            labs: d.labs,
            terms: d.terms,
        }
        .normalised()
    }

    fn comorbidity(&mut self, d: &mut Draft, age: u8) {
        let rng = &mut self.rng;
        if d.has("E11") {
            for (icd, p) in [("I10", 0.6), ("E78", 0.5), ("N18", 0.2), ("E66", 0.4)] {
                if rng.random_bool(p)
                    && let Some(c) = condition(icd)
                {
                    d.add_condition(c, rng);
                }
            }
        }
        if d.has("E66")
            && age >= 30
            && rng.random_bool(0.15)
            && let Some(c) = condition("E11")
        {
            d.add_condition(c, rng);
        }
        if d.has("I10")
            && age >= 50
            && rng.random_bool(0.1)
            && let Some(c) = condition("N18")
        {
            d.add_condition(c, rng);
        }
    }

    fn treatments(&mut self, d: &mut Draft) {
        use tables::*;
        let rng = &mut self.rng;
        let rules: [(&str, &Medication, f64); 11] = [
            ("E11", &METFORMIN, 0.8),
            ("E11", &INSULIN_GLARGINE, 0.2),
            ("E11", &EMPAGLIFLOZIN, 0.15),
            ("E10", &INSULIN_GLARGINE, 0.95),
            ("E78", &ATORVASTATIN, 0.7),
            ("I10", &LISINOPRIL, 0.5),
            ("I10", &AMLODIPINE, 0.4),
            ("J45", &SALBUTAMOL, 0.85),
            ("F32", &SERTRALINE, 0.5),
            ("E03", &LEVOTHYROXINE, 0.9),
            ("I48", &APIXABAN, 0.7),
        ];
        for (icd, med, p) in rules {
            if d.has(icd) && rng.random_bool(p) {
                d.add_medication(med, rng);
            }
        }
        if d.has("I50") && rng.random_bool(0.8) {
            d.add_medication(&FUROSEMIDE, rng);
        }
        let extra = (0..4).filter(|_| rng.random_bool(0.2)).count();
        for _ in 0..extra {
            d.add_medication(&OTHER_MEDICATIONS[self.other_meds.sample(rng)], rng);
        }
        if d.has("N18")
            && d.conditions
                .iter()
                .any(|c| c == "icd10:N18.6" || c == "icd10:N18.5")
        {
            d.procedures.push(DIALYSIS.to_string());
        }
        let extra = (0..3).filter(|_| rng.random_bool(0.15)).count();
        for _ in 0..extra {
            let p = PROCEDURES[self.procedures.sample(rng)].to_string();
            if !d.procedures.contains(&p) {
                d.procedures.push(p);
            }
        }
    }

    fn labs(&mut self, d: &mut Draft, age: u8) {
        use tables::labs::*;
        let adult = age >= 18;
        if d.has("E11") || d.has("E10") {
            let v = self.rounded(7.8, 1.3, 5.0, 1);
            d.add_lab(HBA1C, v, "%", &mut self.rng);
        } else if adult && self.rng.random_bool(0.4) {
            let v = self.rounded(5.4, 0.4, 4.0, 1);
            d.add_lab(HBA1C, v, "%", &mut self.rng);
        }
        if d.has("N18") {
            let cr = self.rounded(2.2, 0.8, 1.2, 2);
            let egfr = self.rounded(40.0, 12.0, 5.0, 0);
            d.add_lab(CREATININE, cr, "mg/dL", &mut self.rng);
            d.add_lab(EGFR, egfr, "mL/min/{1.73_m2}", &mut self.rng);
        } else if adult && self.rng.random_bool(0.7) {
            let cr = self.rounded(0.95, 0.2, 0.4, 2);
            let egfr = self.rounded(92.0, 15.0, 60.0, 0);
            d.add_lab(CREATININE, cr, "mg/dL", &mut self.rng);
            d.add_lab(EGFR, egfr, "mL/min/{1.73_m2}", &mut self.rng);
        }
        if d.has("E78") {
            let v = self.rounded(155.0, 30.0, 60.0, 0);
            d.add_lab(LDL, v, "mg/dL", &mut self.rng);
        } else if adult && self.rng.random_bool(0.5) {
            let v = self.rounded(110.0, 28.0, 40.0, 0);
            d.add_lab(LDL, v, "mg/dL", &mut self.rng);
        }
        if self.rng.random_bool(0.6) {
            let mean = if d.has("D64") || d.has("D50") {
                10.0
            } else {
                13.8
            };
            let v = self.rounded(mean, 1.3, 6.0, 1);
            d.add_lab(HAEMOGLOBIN, v, "g/dL", &mut self.rng);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::criteria::parse;
    use crate::eval::matches;

    #[test]
    fn deterministic_and_unique() {
        let a: Vec<Profile> = profiles(7, 500, &["s1", "s2"]).collect();
        let b: Vec<Profile> = profiles(7, 500, &["s1", "s2"]).collect();
        assert_eq!(a, b);
        let names: HashSet<&str> = a.iter().map(|p| p.pseudonym.as_str()).collect();
        assert_eq!(names.len(), 500);
        assert!(a.iter().all(|p| p.age <= MAX_AGE && p == &p.normalised()));
        let c: Vec<Profile> = profiles(8, 5, &["s1"]).collect();
        assert_ne!(a[0].pseudonym, c[0].pseudonym);
    }

    #[test]
    fn realistic_distributions() {
        let all: Vec<Profile> = profiles(1, 20_000, &["s1"]).collect();
        let share = |text: &str| {
            let e = parse(text).expect("criteria");
            all.iter().filter(|p| matches(&e, p)).count() as f64 / all.len() as f64
        };
        let adults = share("age >= 18");
        assert!((0.8..0.95).contains(&adults), "adults {adults}");
        let diabetic = share("condition = icd10:E11*");
        assert!((0.03..0.3).contains(&diabetic), "diabetic {diabetic}");
        let on_metformin = share("condition = icd10:E11* and medication = atc:A10BA02");
        assert!(on_metformin > diabetic * 0.6, "metformin {on_metformin}");
        let controlled = share("condition = icd10:E11* and lab loinc:4548-4 between 7.0 and 10.0");
        assert!(controlled > diabetic * 0.3);
        assert!(share("lab loinc:2160-0 < 1.5") > 0.3);
        let distinct: HashSet<&String> = all.iter().flat_map(|p| &p.conditions).collect();
        assert!(distinct.len() > 150, "{} distinct codes", distinct.len());
    }
}
