//! HIPAA Safe Harbor anonymisation: what a site knows becomes an anonymised profile.
//!
//! Ages are whole years with 90 and over as 90; dates become years; a ZIP code becomes its
//! first three digits, or `000` for the three-digit areas with 20,000 people or fewer. The
//! local id, full birth date and full ZIP never leave this module.

use chrono::{Datelike, NaiveDate};
use matcher::profile::{Lab, Profile, Sex};

use crate::error::{AppError, AppResult};

/// Three-digit ZIP areas with 20,000 or fewer people (Census 2000), reported as `000`.
pub const RESTRICTED_ZIP3: [&str; 17] = [
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878",
    "879", "884", "890", "893",
];

/// One lab result as a site records it.
#[derive(Clone, Debug)]
pub struct LabResult {
    /// `loinc:<code>`.
    pub code: String,
    pub value: f64,
    pub unit: String,
    /// When it was measured; only the year is kept.
    pub date: NaiveDate,
}

/// What a site knows about a patient. Only [`anonymise`]'s output is ever stored.
#[derive(Clone, Debug)]
pub struct PatientRecord {
    /// The site's own identifier (medical record number); pseudonymised, never stored.
    pub local_id: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// Full ZIP code; only its first three digits survive.
    pub zip: String,
    /// `system:code`, e.g. `icd10:E11.9`, `snomed:44054006`.
    pub conditions: Vec<String>,
    pub medications: Vec<String>,
    pub procedures: Vec<String>,
    pub labs: Vec<LabResult>,
    /// Display names of the conditions (for trial search).
    pub terms: Vec<String>,
}

/// Whole years between `birth` and `today`, 90 and over reported as 90.
pub fn age_in_years(birth: NaiveDate, today: NaiveDate) -> AppResult<u8> {
    if birth > today {
        return Err(AppError::bad_input(format!(
            "the birth date {birth} is in the future"
        )));
    }
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    Ok(u8::try_from(years.clamp(0, 90)).unwrap_or(90))
}

/// The Safe Harbor three-digit ZIP of a US ZIP or ZIP+4 code.
pub fn zip3(zip: &str) -> AppResult<String> {
    let zip = zip.trim();
    let (five, plus_four) = zip.split_once('-').unwrap_or((zip, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let valid_shape = digits(five, 5) && (!zip.contains('-') || digits(plus_four, 4));
    if !valid_shape {
        return Err(AppError::bad_input(format!(
            "{zip:?} is not a US ZIP code (12345 or 12345-6789)"
        )));
    }
    let prefix = &five[..3];
    Ok(if RESTRICTED_ZIP3.contains(&prefix) {
        "000".to_string()
    } else {
        prefix.to_string()
    })
}

/// The anonymised profile of `record` under `pseudonym`, as of `today`.
pub fn anonymise(
    record: &PatientRecord,
    pseudonym: &str,
    site_id: &str,
    today: NaiveDate,
) -> AppResult<Profile> {
    for code in record
        .conditions
        .iter()
        .chain(&record.medications)
        .chain(&record.procedures)
        .chain(record.labs.iter().map(|lab| &lab.code))
    {
        check_code(code)?;
    }
    let labs = record
        .labs
        .iter()
        .map(|lab| {
            if lab.value.is_finite() {
                Ok(Lab {
                    code: lab.code.clone(),
                    value: lab.value,
                    unit: lab.unit.clone(),
                    year: lab.date.year(),
                })
            } else {
                Err(AppError::bad_input(format!(
                    "the value of lab {} is not a number",
                    lab.code
                )))
            }
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Profile {
        pseudonym: pseudonym.to_string(),
        site_id: site_id.to_string(),
        age: age_in_years(record.birth_date, today)?,
        sex: record.sex,
        zip3: zip3(&record.zip)?,
        conditions: record.conditions.clone(),
        medications: record.medications.clone(),
        procedures: record.procedures.clone(),
        labs,
        terms: record.terms.clone(),
    }
    .normalised())
}

/// A code must be `system:code` with no spaces.
fn check_code(code: &str) -> AppResult<()> {
    match code.split_once(':') {
        Some((system, value))
            if !system.is_empty() && !value.is_empty() && !code.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(AppError::bad_input(format!(
            "{code:?} is not a code of the form system:code (e.g. icd10:E11.9, loinc:4548-4)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ages_count_whole_years_and_cap_at_90() {
        assert_eq!(
            age_in_years(date(1980, 6, 15), date(2026, 6, 14)).unwrap(),
            45
        );
        assert_eq!(
            age_in_years(date(1980, 6, 15), date(2026, 6, 15)).unwrap(),
            46
        );
        assert_eq!(
            age_in_years(date(1920, 1, 1), date(2026, 1, 1)).unwrap(),
            90
        );
        assert_eq!(
            age_in_years(date(2000, 2, 29), date(2001, 2, 28)).unwrap(),
            0
        );
        assert!(age_in_years(date(2030, 1, 1), date(2026, 1, 1)).is_err());
    }

    proptest! {
        /// Reference: count the birthdays that have passed, one year at a time.
        #[test]
        fn age_matches_counting_birthdays(birth in 0i64..40_000, offset in 0i64..40_000) {
            let birth = date(1920, 1, 1) + chrono::Duration::days(birth);
            let today = birth + chrono::Duration::days(offset);
            let mut birthdays = 0;
            while let Some(next) = birth.checked_add_months(chrono::Months::new(12 * (birthdays + 1))) {
                if next > today { break; }
                birthdays += 1;
            }
            let expected = birthdays.min(90) as u8;
            prop_assert_eq!(age_in_years(birth, today).unwrap(), expected);
        }
    }

    #[test]
    fn zip_codes_keep_three_digits_under_safe_harbor() {
        assert_eq!(zip3("02139").unwrap(), "021");
        assert_eq!(zip3("02139-4307").unwrap(), "021");
        for restricted in RESTRICTED_ZIP3 {
            assert_eq!(zip3(&format!("{restricted}45")).unwrap(), "000");
        }
        for bad in [
            "",
            "2139",
            "ABCDE",
            "02139-43x7",
            "021390",
            "02139-",
            "0213é",
        ] {
            assert!(zip3(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn profiles_keep_nothing_identifying() {
        let record = PatientRecord {
            local_id: "MRN-0042".into(),
            birth_date: date(1961, 3, 9),
            sex: Sex::Female,
            zip: "55602-1234".into(),
            conditions: vec!["icd10:e11.9".into()],
            medications: vec!["atc:A10BA02".into()],
            procedures: vec![],
            labs: vec![LabResult {
                code: "loinc:4548-4".into(),
                value: 7.9,
                unit: "%".into(),
                date: date(2025, 11, 2),
            }],
            terms: vec!["Type 2 diabetes mellitus".into()],
        };
        let profile = anonymise(&record, "p1", "site-1", date(2026, 11, 24)).unwrap();
        assert_eq!(profile.age, 65);
        assert_eq!(profile.zip3, "000");
        assert_eq!(profile.conditions, vec!["icd10:E11.9".to_string()]);
        assert_eq!(profile.labs[0].year, 2025);
        let json = serde_json::to_string(&profile).unwrap();
        for secret in ["MRN-0042", "1961", "55602", "2025-11-02"] {
            assert!(!json.contains(secret), "{secret} leaked into {json}");
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in ["E11.9", ":E11", "icd10:", "icd10:E11 9"] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
    }
}
