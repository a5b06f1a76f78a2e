//! ClinicalTrials.gov studies in the API v2 JSON shape.
//!
//! [`parse_studies`] reads `{"studies": [...]}` (a page of the v2 `studies` endpoint, extra
//! keys such as `nextPageToken` ignored), one study object (`{"protocolSection": ...}`, as
//! `GET /studies/{nctId}` returns), or a bare array of studies. Each study becomes a
//! [`CtgovStudy`] or a [`StudyProblem`] naming its position (0-based index in the array) and
//! every reason it was refused; the other studies are unaffected.
//!
//! # Fields read
//! | field | from |
//! | --- | --- |
//! | `nct_id` | `identificationModule.nctId` (required, `NCT` + 8 digits, upper-cased) |
//! | `title` | `identificationModule.briefTitle`, else `officialTitle` (one is required) |
//! | `status`, `recruiting` | `statusModule.overallStatus` |
//! | `phase`, `study_type` | `designModule.phases` joined by `/` (`NA` when empty), `designModule.studyType` |
//! | `conditions`, `keywords` | `conditionsModule` |
//! | `primary_endpoint`, `secondary_endpoints` | `outcomesModule.*Outcomes[].measure` |
//! | `target_enrollment` | `designModule.enrollmentInfo.count` |
//! | `sex`, ages, `healthy_volunteers`, `eligibility_text` | `eligibilityModule` |
//! | `locations` | `contactsLocationsModule.locations[]` |
//!
//! # Ages
//! `minimumAge` / `maximumAge` are `"<whole number> <unit>"` with unit Year(s), Month(s),
//! Week(s), Day(s), Hour(s) or Minute(s), case-insensitive; absent, empty or `N/A` means no
//! limit. Both limits are converted to the whole-year age (the age a patient profile stores)
//! of a person who is exactly that old, i.e. rounded **down**: months / 12, days / 365.2425,
//! weeks as 7 days. So a minimum of `6 Months` becomes `age >= 0` (no limit) and a maximum of
//! `6 Months` becomes `age <= 0`; `18 Months` is 1 for either limit. At the year boundary the
//! rule is permissive (it may admit someone a few months outside a sub-year limit, never
//! exclude someone inside it), which is right for pre-screening. Anything else (`eighteen`,
//! `18 Parsecs`, `1.5 Years`, over 255 years) is a [`StudyProblem`], as is a minimum above the
//! maximum.

use serde::Deserialize;
use serde_json::Value;

use super::{InputError, decode_input, is_blank, non_empty, null_default, path_error};
use matcher::profile::{MAX_AGE, Sex};

/// A whole-file failure: nothing in the file could be read as studies.
#[derive(Debug, thiserror::Error)]
pub enum CtgovError {
    /// The bytes could not be decoded (bad gzip, too large).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The file is empty or holds only whitespace.
    #[error("the file is empty")]
    Empty,
    /// The file is not JSON.
    #[error("the file is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is neither `{"studies": [...]}`, a study object, nor an array of studies.
    #[error(
        "expected ClinicalTrials.gov API v2 JSON ({{\"studies\": [...]}} or one study object \
         with \"protocolSection\"), found {0}"
    )]
    Shape(String),
}

/// Why one study of a file could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("study at position {position}{}: {}", nct_label(.nct_id), .reasons.join("; "))]
pub struct StudyProblem {
    /// 0-based index of the study in the file's `studies` array (0 for a single study).
    pub position: usize,
    /// The study's NCT id when it has a usable one.
    pub nct_id: Option<String>,
    /// Every reason found, in field order.
    pub reasons: Vec<String>,
}

fn nct_label(nct_id: &Option<String>) -> String {
    nct_id
        .as_deref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default()
}

/// One study, reduced to what a Veritrial protocol needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtgovStudy {
    /// `NCTnnnnnnnn`, upper case.
    pub nct_id: String,
    /// Brief title (the official title when there is no brief title).
    pub title: String,
    /// Official title, when given.
    pub official_title: Option<String>,
    /// Brief summary.
    pub summary: Option<String>,
    /// Overall status as ClinicalTrials.gov writes it (`RECRUITING`, `COMPLETED`, ...).
    pub status: Option<String>,
    /// True for `RECRUITING`, `NOT_YET_RECRUITING` and `ENROLLING_BY_INVITATION`.
    pub recruiting: bool,
    /// Phases joined by `/` as written (`PHASE2`, `PHASE1/PHASE2`), `NA` when none is given.
    pub phase: String,
    /// `INTERVENTIONAL`, `OBSERVATIONAL`, ... when given.
    pub study_type: Option<String>,
    /// Conditions studied, in file order, duplicates removed.
    pub conditions: Vec<String>,
    /// Keywords, in file order, duplicates removed.
    pub keywords: Vec<String>,
    /// The primary outcome measure; several primaries are joined with `"; "` in file order.
    pub primary_endpoint: Option<String>,
    /// Secondary outcome measures, in file order.
    pub secondary_endpoints: Vec<String>,
    /// Enrollment count (anticipated or actual, as the record gives it).
    pub target_enrollment: Option<u32>,
    /// `Some(Female)` / `Some(Male)` for single-sex studies; `None` for `ALL` or absent.
    pub sex: Option<Sex>,
    /// Minimum age in whole years (see the module docs for the rounding rule).
    pub min_age_years: Option<u8>,
    /// Maximum age in whole years (see the module docs for the rounding rule).
    pub max_age_years: Option<u8>,
    /// Whether healthy volunteers are accepted, when stated.
    pub healthy_volunteers: Option<bool>,
    /// Free-text inclusion/exclusion criteria, kept for search.
    pub eligibility_text: Option<String>,
    /// Locations as `"facility, city, state zip, country"` (absent parts left out).
    pub locations: Vec<String>,
}

impl CtgovStudy {
    /// The structured part of the eligibility in Veritrial's criteria language, e.g.
    /// `age >= 18 and age <= 65 and sex = female`; `None` when there is no age or sex limit.
    ///
    /// A minimum of 0 is no limit. Profiles store ages of 90 and over as 90, so a maximum of
    /// 90 or more is no limit and a minimum above 90 is written as `age >= 90` (never
    /// excluding someone the record admits).
    pub fn structured_criteria(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(min) = self.min_age_years.filter(|&m| m > 0) {
            parts.push(format!("age >= {}", min.min(MAX_AGE)));
        }
        if let Some(max) = self.max_age_years.filter(|&m| m < MAX_AGE) {
            parts.push(format!("age <= {max}"));
        }
        if let Some(sex) = self.sex {
            parts.push(format!("sex = {sex}"));
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// Statuses under which a study takes (or will take) participants.
const RECRUITING_STATUSES: [&str; 3] = [
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ENROLLING_BY_INVITATION",
];

/// One study of a file: its 0-based position and what it parsed to.
pub type ParsedStudy = (usize, Result<CtgovStudy, StudyProblem>);

/// Parses ClinicalTrials.gov API v2 JSON (plain or gzip) into one result per study, with its
/// 0-based position in the file.
///
/// # Errors
/// [`CtgovError`] only when the file as a whole is unusable (not JSON, empty, wrong shape);
/// problems with single studies are returned in the list.
pub fn parse_studies(bytes: &[u8]) -> Result<Vec<ParsedStudy>, CtgovError> {
    let text = decode_input(bytes)?;
    if is_blank(&text) {
        return Err(CtgovError::Empty);
    }
    let json: Value = serde_json::from_slice(&text).map_err(CtgovError::NotJson)?;
    let studies: Vec<Value> = match json {
        Value::Object(mut map) => {
            if let Some(list) = map.remove("studies") {
                match list {
                    Value::Array(items) => items,
                    other => {
                        return Err(CtgovError::Shape(format!(
                            "\"studies\" holding {}",
                            kind(&other)
                        )));
                    }
                }
            } else if map.contains_key("protocolSection") {
                vec![Value::Object(map)]
            } else {
                return Err(CtgovError::Shape(
                    "an object with neither \"studies\" nor \"protocolSection\"".into(),
                ));
            }
        }
        Value::Array(items) => items,
        other => return Err(CtgovError::Shape(kind(&other).into())),
    };
    Ok(studies
        .iter()
        .enumerate()
        .map(|(position, value)| (position, parse_study(position, value)))
        .collect())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_study(position: usize, value: &Value) -> Result<CtgovStudy, StudyProblem> {
    let problem = |nct_id: Option<String>, reasons: Vec<String>| StudyProblem {
        position,
        nct_id,
        reasons,
    };
    if !value.is_object() {
        return Err(problem(
            None,
            vec![format!("expected a study object, found {}", kind(value))],
        ));
    }
    let raw: RawStudy = serde_path_to_error::deserialize(value).map_err(|e| {
        let nct = value
            .pointer("/protocolSection/identificationModule/nctId")
            .and_then(Value::as_str)
            .and_then(|s| valid_nct_id(s).ok());
        problem(nct, vec![path_error(&e)])
    })?;
    let p = raw.protocol_section.unwrap_or_default();
    let ident = p.identification_module.unwrap_or_default();
    let status = p.status_module.unwrap_or_default();
    let description = p.description_module.unwrap_or_default();
    let conds = p.conditions_module.unwrap_or_default();
    let design = p.design_module.unwrap_or_default();
    let outcomes = p.outcomes_module.unwrap_or_default();
    let elig = p.eligibility_module.unwrap_or_default();
    let contacts = p.contacts_locations_module.unwrap_or_default();

    let mut reasons = Vec::new();
    let nct_id = match non_empty(ident.nct_id.as_deref()) {
        None => {
            reasons.push("no NCT id (protocolSection.identificationModule.nctId)".to_owned());
            None
        }
        Some(raw) => match valid_nct_id(&raw) {
            Ok(id) => Some(id),
            Err(reason) => {
                reasons.push(reason);
                None
            }
        },
    };
    let official_title = non_empty(ident.official_title.as_deref());
    let title = non_empty(ident.brief_title.as_deref()).or_else(|| official_title.clone());
    if title.is_none() {
        reasons.push("no title (briefTitle or officialTitle)".to_owned());
    }
    let target_enrollment = match design.enrollment_info.unwrap_or_default().count {
        None => None,
        Some(n) => match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                reasons.push(format!("enrollment count {n} is out of range"));
                None
            }
        },
    };
    let sex = match non_empty(elig.sex.as_deref()) {
        None => None,
        Some(s) => match s.to_ascii_uppercase().as_str() {
            "ALL" => None,
            "FEMALE" => Some(Sex::Female),
            "MALE" => Some(Sex::Male),
            _ => {
                reasons.push(format!(
                    "sex {s:?} is not one of ALL, FEMALE, MALE (eligibilityModule.sex)"
                ));
                None
            }
        },
    };
    let mut age = |field: &str, value: Option<&str>| match parse_age(value) {
        Ok(years) => years,
        Err(reason) => {
            reasons.push(format!("eligibilityModule.{field}: {reason}"));
            None
        }
    };
    let min_age_years = age("minimumAge", elig.minimum_age.as_deref());
    let max_age_years = age("maximumAge", elig.maximum_age.as_deref());
    if let (Some(min), Some(max)) = (min_age_years, max_age_years)
        && min > max
    {
        reasons.push(format!(
            "minimum age ({min} years) is above maximum age ({max} years)"
        ));
    }

    let (Some(nct_id), Some(title), true) = (nct_id.clone(), title, reasons.is_empty()) else {
        return Err(problem(nct_id, reasons));
    };

    let status_text = non_empty(status.overall_status.as_deref());
    let recruiting = status_text
        .as_deref()
        .is_some_and(|s| RECRUITING_STATUSES.contains(&s.to_ascii_uppercase().as_str()));
    let phases: Vec<String> = design
        .phases
        .iter()
        .filter_map(|s| non_empty(Some(s)))
        .collect();
    let phase = if phases.is_empty() {
        "NA".to_owned()
    } else {
        phases.join("/")
    };
    let measures = |list: &[RawOutcome]| -> Vec<String> {
        list.iter()
            .filter_map(|o| non_empty(o.measure.as_deref()))
            .collect()
    };
    let primaries = measures(&outcomes.primary_outcomes);
    Ok(CtgovStudy {
        nct_id,
        title,
        official_title,
        summary: non_empty(description.brief_summary.as_deref()),
        status: status_text,
        recruiting,
        phase,
        study_type: non_empty(design.study_type.as_deref()),
        conditions: dedup_texts(&conds.conditions),
        keywords: dedup_texts(&conds.keywords),
        primary_endpoint: (!primaries.is_empty()).then(|| primaries.join("; ")),
        secondary_endpoints: measures(&outcomes.secondary_outcomes),
        target_enrollment,
        sex,
        min_age_years,
        max_age_years,
        healthy_volunteers: elig.healthy_volunteers,
        eligibility_text: non_empty(elig.eligibility_criteria.as_deref()),
        locations: contacts
            .locations
            .iter()
            .filter_map(format_location)
            .collect(),
    })
}

/// Checks and normalises an NCT id: `NCT` followed by exactly 8 digits.
fn valid_nct_id(raw: &str) -> Result<String, String> {
    let id = raw.trim().to_ascii_uppercase();
    let ok =
        id.len() == 11 && id.starts_with("NCT") && id.bytes().skip(3).all(|b| b.is_ascii_digit());
    if ok {
        Ok(id)
    } else {
        Err(format!("NCT id {raw:?} is not NCT followed by 8 digits"))
    }
}

/// Parses a ClinicalTrials.gov age (`"18 Years"`, `"6 Months"`) to whole years, rounded
/// down; `Ok(None)` when absent, empty or `N/A`.
fn parse_age(value: Option<&str>) -> Result<Option<u8>, String> {
    let Some(text) = value.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if text.eq_ignore_ascii_case("N/A") || text.eq_ignore_ascii_case("NA") {
        return Ok(None);
    }
    let bad = || format!("age {text:?} is not \"<whole number> Years|Months|Weeks|Days\"");
    let mut words = text.split_whitespace();
    let (Some(number), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit = unit.to_ascii_lowercase();
    let unit = unit.strip_suffix('s').unwrap_or(&unit);
    // Days per year as 365.2425, in integer arithmetic (x 10,000).
    const YEAR_DAYS_E4: u64 = 3_652_425;
    let years = match unit {
        "year" => n,
        "month" => n / 12,
        "week" => n.saturating_mul(7 * 10_000) / YEAR_DAYS_E4,
        "day" => n.saturating_mul(10_000) / YEAR_DAYS_E4,
        "hour" => n.saturating_mul(10_000) / (YEAR_DAYS_E4 * 24),
        "minute" => n.saturating_mul(10_000) / (YEAR_DAYS_E4 * 24 * 60),
        _ => return Err(bad()),
    };
    u8::try_from(years)
        .map(Some)
        .map_err(|_| format!("age {text:?} is out of range (over 255 years)"))
}

fn dedup_texts(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items.iter().filter_map(|s| non_empty(Some(s))) {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn format_location(loc: &RawLocation) -> Option<String> {
    let state_zip = [loc.state.as_deref(), loc.zip.as_deref()]
        .into_iter()
        .filter_map(non_empty)
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<String> = [
        non_empty(loc.facility.as_deref()),
        non_empty(loc.city.as_deref()),
        non_empty(Some(&state_zip)),
        non_empty(loc.country.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

// Serde models of just the fields read. Every module is optional and every list tolerates
// `null`.

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawStudy {
    protocol_section: Option<ProtocolSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ProtocolSection {
    identification_module: Option<IdentificationModule>,
    status_module: Option<StatusModule>,
    description_module: Option<DescriptionModule>,
    conditions_module: Option<ConditionsModule>,
    design_module: Option<DesignModule>,
    outcomes_module: Option<OutcomesModule>,
    eligibility_module: Option<EligibilityModule>,
    contacts_locations_module: Option<ContactsLocationsModule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct IdentificationModule {
    nct_id: Option<String>,
    brief_title: Option<String>,
    official_title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatusModule {
    overall_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DescriptionModule {
    brief_summary: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ConditionsModule {
    #[serde(deserialize_with = "null_default")]
    conditions: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    keywords: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DesignModule {
    study_type: Option<String>,
    #[serde(deserialize_with = "null_default")]
    phases: Vec<String>,
    enrollment_info: Option<EnrollmentInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EnrollmentInfo {
    count: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OutcomesModule {
    #[serde(deserialize_with = "null_default")]
    primary_outcomes: Vec<RawOutcome>,
    #[serde(deserialize_with = "null_default")]
    secondary_outcomes: Vec<RawOutcome>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawOutcome {
    measure: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EligibilityModule {
    eligibility_criteria: Option<String>,
    healthy_volunteers: Option<bool>,
    sex: Option<String>,
    minimum_age: Option<String>,
    maximum_age: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ContactsLocationsModule {
    #[serde(deserialize_with = "null_default")]
    locations: Vec<RawLocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawLocation {
    facility: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    country: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testutil::{gzip, testdata};

    fn real_studies() -> Vec<(usize, Result<CtgovStudy, StudyProblem>)> {
        let bytes = std::fs::read(testdata().join("ctgov/studies.json.gz")).expect("testdata");
        parse_studies(&bytes).expect("the shared file parses")
    }

    fn by_id<'a>(
        studies: &'a [(usize, Result<CtgovStudy, StudyProblem>)],
        id: &str,
    ) -> &'a CtgovStudy {
        studies
            .iter()
            .find_map(|(_, r)| r.as_ref().ok().filter(|s| s.nct_id == id))
            .expect("study present")
    }

    #[test]
    fn all_shared_studies_parse() {
        let studies = real_studies();
        assert_eq!(studies.len(), 1000);
        let problems: Vec<_> = studies
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .collect();
        // Checked by hand: every record of the shared file has an NCT id, a title and
        // well-formed ages, sex and enrollment.
        assert!(problems.is_empty(), "{problems:?}");
        assert!(studies.iter().enumerate().all(|(i, (p, _))| i == *p));
        let ok: Vec<&CtgovStudy> = studies
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect();
        assert_eq!(ok.iter().filter(|s| s.recruiting).count(), 8); // 7 RECRUITING + 1 by invitation
        assert_eq!(ok.iter().filter(|s| s.sex == Some(Sex::Female)).count(), 89);
        assert_eq!(ok.iter().filter(|s| s.sex == Some(Sex::Male)).count(), 100);
        assert_eq!(
            ok.iter()
                .filter(|s| s.structured_criteria().is_some())
                .count(),
            842
        );
        for s in &ok {
            if let Some(c) = s.structured_criteria() {
                matcher::criteria::parse(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
            }
        }
    }

    #[test]
    fn sex_restricted_study_with_month_ages() {
        let studies = real_studies();
        let s = by_id(&studies, "NCT00004418");
        let expected = CtgovStudy {
            nct_id: "NCT00004418".into(),
            title: "Effect of Glycerol Trierucate on Clinical Course of Adrenoleukodystrophy"
                .into(),
            official_title: Some(
                "Study of Glyceryl Trierucate and Glyceryl Trioleate (Lorenzo's Oil) Therapy in \
                 Male Children With Adrenoleukodystrophy"
                    .into(),
            ),
            summary: Some(
                "OBJECTIVES: I. Evaluate the clinical efficacy of combination glyceryl trierucate \
                 and glyceryl\ntrioleate (Lorenzo's Oil) therapy in boys with X-linked \
                 adrenoleukodystrophy.\n\nII. Compare the frequency and severity of neurological \
                 disability of study patients with\nuntreated historical controls."
                    .into(),
            ),
            status: Some("TERMINATED".into()),
            recruiting: false,
            phase: "PHASE".into(),
            study_type: Some("INTERVENTIONAL".into()),
            conditions: vec!["Adrenoleukodystrophy".into()],
            keywords: vec![
                "adrenoleukodystrophy".into(),
                "inborn errors of metabolism".into(),
                "rare disease".into(),
                "sphingolipidoses".into(),
            ],
            primary_endpoint: Some(
                "Change From Baseline in Very Long Chain Fatty Acids (VLCFA) Blood Levels".into(),
            ),
            secondary_endpoints: vec!["Number of Participants With T2 MRI Abnormality".into()],
            target_enrollment: Some(126),
            sex: Some(Sex::Male),
            min_age_years: Some(1),
            max_age_years: Some(8),
            healthy_volunteers: Some(false),
            eligibility_text: s.eligibility_text.clone(),
            locations: vec![
                "Kennedy Krieger Institute, Baltimore, Maryland 21205, United States".into(),
                "Johns Hopkins Hospital, Baltimore, Maryland 21287-6681, United States".into(),
            ],
        };
        assert_eq!(*s, expected);
        let text = s.eligibility_text.as_deref().unwrap_or("");
        assert!(text.starts_with("Inclusion criteria.\n\n1. Boys between the age of 18 months"));
        assert!(text.ends_with("prevents evaluation\nor treatment"));
        assert_eq!(
            s.structured_criteria().as_deref(),
            Some("age >= 1 and age <= 8 and sex = male")
        );
    }

    #[test]
    fn week_ages_and_several_primary_outcomes() {
        let studies = real_studies();
        let s = by_id(&studies, "NCT00494429");
        assert_eq!(
            s.title,
            "Optimizing the Use of Morphine in Pre-Term Neonates"
        );
        assert_eq!(
            s.official_title.as_deref(),
            Some("Optimizing Pain Treatment in Pre-Term Neonates")
        );
        assert_eq!(
            s.summary.as_deref(),
            Some(
                "The purpose of this study is to improve the dosing of morphine in critically \
                 ill premature\nneonates."
            )
        );
        assert_eq!(s.status.as_deref(), Some("COMPLETED"));
        assert!(!s.recruiting);
        assert_eq!(s.conditions, ["Premature Neonates"]);
        assert_eq!(
            s.keywords,
            ["Preterm Neonates", "Morphine", "Critically ill"]
        );
        let primary = s.primary_endpoint.as_deref().unwrap_or("");
        assert_eq!(primary.split("; ").count(), 4);
        assert!(primary.starts_with("Safety: Infants will have continuous monitoring"));
        assert!(primary.contains("; Pharmacodynamics: The Neonatal Infant Pain (NIP)"));
        assert!(primary.ends_with("β-arrestin 2 genes on the PD of morphine use"));
        assert!(s.secondary_endpoints.is_empty());
        assert_eq!(s.target_enrollment, Some(33));
        assert_eq!(s.sex, None);
        // 22 and 32 weeks are both under a year: age 0 in whole years.
        assert_eq!((s.min_age_years, s.max_age_years), (Some(0), Some(0)));
        assert_eq!(s.healthy_volunteers, Some(false));
        assert_eq!(
            s.locations,
            [
                "Children's National Medical Center, Washington, District of Columbia 20010, United States"
            ]
        );
        assert_eq!(s.structured_criteria().as_deref(), Some("age <= 0"));
    }

    #[test]
    fn female_observational_study() {
        let studies = real_studies();
        let s = by_id(&studies, "NCT00462306");
        assert_eq!(s.title, "Incidence of Obstructive Sleep Apnea in Pregnancy");
        assert_eq!(s.phase, "NA");
        assert_eq!(s.study_type.as_deref(), Some("OBSERVATIONAL"));
        assert_eq!(s.conditions, ["Obstructive Sleep Apnea", "Pregnancy"]);
        assert_eq!(
            s.keywords,
            [
                "Obstructive Sleep Apnea",
                "Pregnancy",
                "Berlin Questionnaire"
            ]
        );
        assert_eq!(
            s.primary_endpoint.as_deref(),
            Some("Positive Berlin Questionnaire Indicative of Sleep Disordered Breathing")
        );
        assert_eq!(
            s.secondary_endpoints,
            ["Diagnosis of Pre-eclampsia Among Subjects With Positive Berlin Questionnaires"]
        );
        assert_eq!(s.target_enrollment, Some(4577));
        assert_eq!(s.sex, Some(Sex::Female));
        assert_eq!((s.min_age_years, s.max_age_years), (Some(18), Some(45)));
        assert_eq!(s.healthy_volunteers, Some(true));
        assert_eq!(
            s.locations,
            ["Northwestern University, Chicago, Illinois 60611, United States"]
        );
        assert!(
            s.summary
                .as_deref()
                .unwrap_or("")
                .starts_with("Obstructive sleep apnea is")
        );
        assert!(
            s.eligibility_text
                .as_deref()
                .unwrap_or("")
                .contains("-  patient age > 45 years old")
        );
        assert_eq!(
            s.structured_criteria().as_deref(),
            Some("age >= 18 and age <= 45 and sex = female")
        );
    }

    #[test]
    fn recruiting_by_invitation() {
        let studies = real_studies();
        let s = by_id(&studies, "NCT00001215");
        assert_eq!(s.status.as_deref(), Some("ENROLLING_BY_INVITATION"));
        assert!(s.recruiting);
        assert_eq!((s.min_age_years, s.max_age_years), (Some(0), None));
        assert_eq!(s.structured_criteria(), None);
    }

    #[test]
    fn age_rule() {
        let age = |s: &str| parse_age(Some(s));
        assert_eq!(age("18 Years"), Ok(Some(18)));
        assert_eq!(age("1 Year"), Ok(Some(1)));
        assert_eq!(age("6 Months"), Ok(Some(0)));
        assert_eq!(age("12 Months"), Ok(Some(1)));
        assert_eq!(age("18 months"), Ok(Some(1)));
        assert_eq!(age("12 Weeks"), Ok(Some(0)));
        assert_eq!(age("104 Weeks"), Ok(Some(1)));
        assert_eq!(age("30 Days"), Ok(Some(0)));
        assert_eq!(age("731 Days"), Ok(Some(2)));
        assert_eq!(age("48 Hours"), Ok(Some(0)));
        assert_eq!(age("N/A"), Ok(None));
        assert_eq!(age("  "), Ok(None));
        assert_eq!(parse_age(None), Ok(None));
        for bad in [
            "eighteen",
            "18 Parsecs",
            "18",
            "1.5 Years",
            "-3 Years",
            "18 Years old",
        ] {
            assert!(age(bad).is_err(), "{bad}");
        }
        assert!(age("300 Years").unwrap_err().contains("out of range"));
    }

    #[test]
    fn criteria_clamp_at_ninety() {
        let studies = real_studies();
        let mut s = by_id(&studies, "NCT00462306").clone();
        s.min_age_years = Some(95);
        s.max_age_years = Some(120);
        s.sex = None;
        assert_eq!(s.structured_criteria().as_deref(), Some("age >= 90"));
        s.min_age_years = Some(0);
        assert_eq!(s.structured_criteria(), None);
    }

    const GOOD: &str = r#"{"protocolSection": {
        "identificationModule": {"nctId": "nct01234567", "briefTitle": " A trial "},
        "statusModule": {"overallStatus": "RECRUITING"},
        "designModule": {"phases": ["PHASE1", "PHASE2"], "enrollmentInfo": {"count": 40}},
        "conditionsModule": {"conditions": ["Asthma", "Asthma"], "keywords": null},
        "eligibilityModule": {"sex": "ALL", "minimumAge": "18 Years", "maximumAge": "65 Years"},
        "contactsLocationsModule": {"locations": [{"city": "Oslo", "country": "Norway"}]}
    }}"#;

    #[test]
    fn single_object_form_and_gzip() {
        for bytes in [GOOD.as_bytes().to_vec(), gzip(GOOD.as_bytes())] {
            let studies = parse_studies(&bytes).unwrap();
            assert_eq!(studies.len(), 1);
            let s = studies[0].1.as_ref().unwrap();
            assert_eq!(s.nct_id, "NCT01234567");
            assert_eq!(s.title, "A trial");
            assert!(s.recruiting);
            assert_eq!(s.phase, "PHASE1/PHASE2");
            assert_eq!(s.conditions, ["Asthma"]);
            assert!(s.keywords.is_empty());
            assert_eq!(s.target_enrollment, Some(40));
            assert_eq!(s.locations, ["Oslo, Norway"]);
            assert_eq!(
                s.structured_criteria().as_deref(),
                Some("age >= 18 and age <= 65")
            );
        }
    }

    #[test]
    fn bad_studies_are_reported_and_the_rest_parse() {
        let missing_id = GOOD.replace(r#""nctId": "nct01234567", "#, "");
        let bad_age = GOOD.replace("18 Years", "eighteen");
        let bad_id = GOOD.replace("nct01234567", "NCT123");
        let wrong_type = GOOD.replace(r#""count": 40"#, r#""count": "forty""#);
        let reversed = GOOD
            .replace("18 Years", "70 Years")
            .replace("\"sex\": \"ALL\"", "\"sex\": \"BOTH\"");
        let file = format!(
            r#"{{"studies": [{GOOD}, {missing_id}, {bad_age}, 7, {bad_id}, {wrong_type}, {reversed}], "nextPageToken": "x"}}"#
        );
        let studies = parse_studies(file.as_bytes()).unwrap();
        assert_eq!(studies.len(), 7);
        assert!(studies[0].1.is_ok());
        let err = |i: usize| studies[i].1.as_ref().unwrap_err().clone();
        let e = err(1);
        assert_eq!((e.position, e.nct_id.as_deref()), (1, None));
        assert!(e.reasons[0].starts_with("no NCT id"), "{e}");
        let e = err(2);
        assert_eq!(e.nct_id.as_deref(), Some("NCT01234567"));
        assert_eq!(
            e.to_string(),
            "study at position 2 (NCT01234567): eligibilityModule.minimumAge: age \"eighteen\" \
             is not \"<whole number> Years|Months|Weeks|Days\""
        );
        assert!(err(3).reasons[0].contains("found a number"));
        assert!(err(4).reasons[0].contains("not NCT followed by 8 digits"));
        let e = err(5);
        assert!(
            e.reasons[0].starts_with("at protocolSection.designModule.enrollmentInfo.count:"),
            "{e}"
        );
        let e = err(6);
        assert_eq!(e.reasons.len(), 2, "{e}");
        assert!(e.reasons[0].contains("\"BOTH\""));
        assert!(e.reasons[1].contains("above maximum age"));
    }

    #[test]
    fn bad_files() {
        assert!(matches!(parse_studies(b""), Err(CtgovError::Empty)));
        assert!(matches!(parse_studies(b"  \n"), Err(CtgovError::Empty)));
        assert!(matches!(
            parse_studies(b"NCT,title\n1,2"),
            Err(CtgovError::NotJson(_))
        ));
        assert!(matches!(
            parse_studies(b"{\"studies\": 3}"),
            Err(CtgovError::Shape(_))
        ));
        assert!(matches!(
            parse_studies(b"{\"a\": 1}"),
            Err(CtgovError::Shape(_))
        ));
        assert!(matches!(parse_studies(b"\"x\""), Err(CtgovError::Shape(_))));
        assert!(matches!(
            parse_studies(b"\x1f\x8b\x08garbage"),
            Err(CtgovError::Input(_))
        ));
        assert!(parse_studies(b"{\"studies\": []}").unwrap().is_empty());
    }
}
