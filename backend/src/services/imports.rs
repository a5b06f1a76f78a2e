//! Imports through the real services: ClinicalTrials.gov studies become protocols (amended
//! only when the record changed), FHIR patients become anonymised profiles. Importing the
//! same file twice changes nothing the second time.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::anonymise::{LabResult, PatientRecord, anonymise};
use super::patients::{self, has_active_consent, own_profile};
use super::protocols::{self, Assignment, ProtocolInput};
use super::signatures::Attest;
use crate::auth::Principal;
use crate::domain::{ConsentScope, TrialStatus};
use crate::entities::trial;
use crate::error::{AppError, AppResult};
use crate::import::ctgov::CtgovStudy;
use crate::import::fhir::FhirPatient;
use crate::state::AppState;

/// What importing one record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new trial or patient.
    Imported,
    /// An existing one that changed (a protocol amendment, an updated profile).
    Updated,
    /// Already there, identical.
    Unchanged,
    /// Deliberately left out, with the reason.
    Skipped(String),
}

/// The reason recorded on amendments made by re-importing a changed study.
pub const REIMPORT_REASON: &str = "updated from the ClinicalTrials.gov record";

/// The protocol a study describes.
pub fn protocol_input(study: &CtgovStudy) -> ProtocolInput {
    ProtocolInput {
        title: study.title.clone(),
        summary: study.summary.clone().unwrap_or_default(),
        phase: study.phase.clone(),
        primary_endpoint: study
            .primary_endpoint
            .clone()
            .unwrap_or_else(|| "not stated in the registry record".to_string()),
        secondary_endpoints: study.secondary_endpoints.clone(),
        target_enrollment: study.target_enrollment.filter(|&n| n > 0).unwrap_or(1),
        criteria: study.structured_criteria().unwrap_or_default(),
        eligibility_text: study.eligibility_text.clone().unwrap_or_default(),
        // A re-import keeps the sites and board the sponsor chose (the registry knows neither).
        site_ids: None,
        ethics_board_id: None,
        conditions: study.conditions.clone(),
        keywords: study.keywords.clone(),
        status: if study.recruiting {
            TrialStatus::Recruiting
        } else {
            TrialStatus::Closed
        },
        nct_id: Some(study.nct_id.clone()),
        // A re-import keeps the forms the sponsor defined.
        forms: None,
    }
}

/// Publishes a study as a trial of `sponsor`, or amends the trial when its record changed.
pub async fn import_study(
    state: &AppState,
    sponsor: &Principal,
    study: &CtgovStudy,
) -> AppResult<Outcome> {
    let input = protocol_input(study);
    let existing = trial::Entity::find()
        .filter(trial::Column::NctId.eq(&study.nct_id))
        .one(&state.db)
        .await?;
    let Some(existing) = existing else {
        protocols::publish(
            state,
            sponsor,
            input,
            Assignment::Deferred,
            Attest::Imported,
        )
        .await?;
        return Ok(Outcome::Imported);
    };
    if existing.sponsor_org_id != sponsor.org_id {
        return Err(AppError::conflict(format!(
            "{} is already registered by another sponsor",
            study.nct_id
        )));
    }
    let view = protocols::trial_view(&state.db, &existing.id).await?;
    if protocols::same_content(&view.current()?.document, &input) {
        return Ok(Outcome::Unchanged);
    }
    protocols::amend(
        state,
        sponsor,
        &existing.id,
        input,
        REIMPORT_REASON,
        Assignment::Deferred,
        Attest::Imported,
    )
    .await?;
    Ok(Outcome::Updated)
}

/// What a site knows of a FHIR patient, ready for anonymisation.
pub fn patient_record(patient: &FhirPatient) -> AppResult<PatientRecord> {
    let zip = patient
        .zip
        .clone()
        .ok_or_else(|| AppError::bad_input("the patient has no postal code"))?;
    Ok(PatientRecord {
        local_id: patient.local_id.clone(),
        birth_date: patient.birth_date,
        sex: patient.sex,
        zip,
        conditions: patient.conditions.clone(),
        medications: patient.medications.clone(),
        procedures: patient.procedures.clone(),
        labs: patient
            .labs
            .iter()
            .map(|lab| LabResult {
                code: lab.code.clone(),
                value: lab.value,
                unit: lab.unit.clone(),
                date: lab.date,
            })
            .collect(),
        terms: patient.condition_terms.clone(),
    })
}

/// Registers a FHIR patient for `site`; with `consent_recruitment`, also records the
/// recruitment-contact consent the site attests the patient gave (once).
pub async fn import_patient(
    state: &AppState,
    site: &Principal,
    patient: &FhirPatient,
    consent_recruitment: bool,
) -> AppResult<Outcome> {
    if patient.deceased {
        return Ok(Outcome::Skipped("the patient is deceased".to_string()));
    }
    let record = patient_record(patient)?;
    let pseudonym = patients::pseudonym(state, &site.org_id, &record.local_id)?;
    let profile = anonymise(&record, &pseudonym, &site.org_id, Utc::now().date_naive())?;
    let outcome = match own_profile(&state.db, site, &pseudonym).await {
        Ok(stored) if stored == profile => Outcome::Unchanged,
        Ok(_) => {
            patients::register(state, site, &record).await?;
            Outcome::Updated
        }
        Err(AppError::NotFound(_)) => {
            patients::register(state, site, &record).await?;
            Outcome::Imported
        }
        Err(err) => return Err(err),
    };
    let consented = has_active_consent(
        &state.db,
        &pseudonym,
        ConsentScope::RecruitmentContact,
        None,
    )
    .await?;
    if consent_recruitment && !consented {
        let act = patients::ConsentAct {
            pseudonym: &pseudonym,
            scope: ConsentScope::RecruitmentContact,
            trial_id: None,
            granted: true,
            form: None,
        };
        patients::record_consent(state, site, act, Attest::Imported).await?;
        if outcome == Outcome::Unchanged {
            return Ok(Outcome::Updated);
        }
    }
    Ok(outcome)
}
