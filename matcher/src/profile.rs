//! Anonymised patient profiles, as indexed and evaluated.

use serde::{Deserialize, Serialize};

use crate::codes::normalise_code;

/// Ages at or above this value are stored as this value (HIPAA Safe Harbor).
pub const MAX_AGE: u8 = 90;

/// Administrative sex of a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other.
    Other,
    /// Unknown or not recorded.
    Unknown,
}

impl Sex {
    /// All variants, in declaration order.
    pub const ALL: [Sex; 4] = [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown];

    /// The lower-case keyword used in criteria text and in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    /// Parses a keyword case-insensitively (`female`, `male`, `other`, `unknown`).
    pub fn from_keyword(word: &str) -> Option<Sex> {
        Sex::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(word))
    }
}

impl std::fmt::Display for Sex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One numeric lab result, reduced to its year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lab {
    /// LOINC code as `loinc:NNNN-N`.
    pub code: String,
    /// The measured value.
    pub value: f64,
    /// Unit of the value (informational; criteria compare raw values).
    pub unit: String,
    /// Year of the measurement.
    pub year: i32,
}

/// An anonymised patient profile: no direct identifiers, only a site-specific pseudonym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Site-specific pseudonym (HMAC of the site's local id); unique in the index.
    pub pseudonym: String,
    /// Organisation id of the site that holds the patient.
    pub site_id: String,
    /// Age in whole years; 90 and over is stored as 90.
    pub age: u8,
    /// Administrative sex.
    pub sex: Sex,
    /// First three digits of the ZIP code (`000` for small areas).
    pub zip3: String,
    /// Coded conditions, `system:code` (e.g. `icd10:E11.9`, `snomed:44054006`).
    pub conditions: Vec<String>,
    /// Coded medications, `system:code` (e.g. `atc:A10BA02`, `rxnorm:860975`).
    pub medications: Vec<String>,
    /// Coded procedures, `system:code`.
    pub procedures: Vec<String>,
    /// Numeric lab results.
    pub labs: Vec<Lab>,
    /// Display names of coded conditions; used only for trial search.
    #[serde(default)]
    pub terms: Vec<String>,
}

impl Profile {
    /// Returns the canonical form used by the index and the evaluator:
    ///
    /// - age capped at 90;
    /// - codes normalised (system lower case, code upper case), sorted and de-duplicated;
    /// - ZIP3, pseudonym and site id trimmed;
    /// - labs with a non-finite value or a code containing a NUL byte dropped, `-0.0` stored
    ///   as `0.0`, and one lab per code kept: the latest year, a later entry winning ties.
    pub fn normalised(&self) -> Profile {
        Profile {
            pseudonym: self.pseudonym.trim().to_string(),
            site_id: self.site_id.trim().to_string(),
            age: self.age.min(MAX_AGE),
            sex: self.sex,
            zip3: self.zip3.trim().to_string(),
            conditions: normalise_codes(&self.conditions),
            medications: normalise_codes(&self.medications),
            procedures: normalise_codes(&self.procedures),
            labs: normalise_labs(&self.labs),
            terms: self.terms.clone(),
        }
    }

    /// The lab result for a normalised code, if any (first match; unique after
    /// [`Profile::normalised`]).
    pub fn lab(&self, code: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.code == code)
    }
}

fn normalise_codes(codes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = codes
        .iter()
        .map(|c| normalise_code(c))
        .filter(|c| !c.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn normalise_labs(labs: &[Lab]) -> Vec<Lab> {
    let mut out: Vec<Lab> = Vec::new();
    for lab in labs {
        if !lab.value.is_finite() || lab.code.contains('\0') {
            continue;
        }
        let code = normalise_code(&lab.code);
        let value = if lab.value == 0.0 { 0.0 } else { lab.value };
        let lab = Lab {
            code,
            value,
            unit: lab.unit.clone(),
            year: lab.year,
        };
        match out.iter_mut().find(|l| l.code == lab.code) {
            Some(existing) if lab.year >= existing.year => *existing = lab,
            Some(_) => {}
            None => out.push(lab),
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(code: &str, value: f64, year: i32) -> Lab {
        Lab {
            code: code.into(),
            value,
            unit: "%".into(),
            year,
        }
    }

    #[test]
    fn normalises_profile() {
        let p = Profile {
            pseudonym: " p1 ".into(),
            site_id: "s".into(),
            age: 97,
            sex: Sex::Female,
            zip3: "021".into(),
            conditions: vec!["ICD10:e11.9".into(), "icd10:E11.9".into()],
            medications: vec![],
            procedures: vec![],
            labs: vec![
                lab("LOINC:4548-4", 7.0, 2020),
                lab("loinc:4548-4", 8.0, 2022),
                lab("loinc:4548-4", 9.0, 2021),
                lab("loinc:4548-4", 8.5, 2022),
                lab("loinc:2160-0", f64::NAN, 2022),
            ],
            terms: vec![],
        }
        .normalised();
        assert_eq!(p.age, 90);
        assert_eq!(p.pseudonym, "p1");
        assert_eq!(p.conditions, vec!["icd10:E11.9".to_string()]);
        assert_eq!(p.labs.len(), 1);
        assert_eq!(p.labs[0].value, 8.5);
        assert!(p.lab("loinc:4548-4").is_some());
    }

    #[test]
    fn serde_is_camel_case() {
        let json = serde_json::to_value(Profile {
            pseudonym: "p".into(),
            site_id: "s".into(),
            age: 40,
            sex: Sex::Male,
            zip3: "100".into(),
            conditions: vec![],
            medications: vec![],
            procedures: vec![],
            labs: vec![],
            terms: vec![],
        })
        .unwrap_or_default();
        assert_eq!(json["siteId"], "s");
        assert_eq!(json["sex"], "male");
    }
}
