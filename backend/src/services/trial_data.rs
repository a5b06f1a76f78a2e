//! Enrollment and case-report data: every change is ledgered; data are never overwritten,
//! corrections add versions with who and why (the audit trail 21 CFR Part 11 expects).

use std::collections::BTreeMap;

use chrono::Utc;
use ledger::EntryKind;
use ledger::payload::{canonical_json, payload_hash};
use matcher::eval::explain;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::ledger::{Actor, NewEntry, Work, seq_i64};
use super::patients::{has_active_consent, own_profile};
use super::protocols;
use super::signatures::{self, Signature};
use crate::auth::Principal;
use crate::domain::{ConsentScope, Role, TrialStatus};
use crate::entities::{enrollment, ledger_payload, submission, submission_version};
use crate::error::{AppError, AppResult};
use crate::forms::{self, FormDefinition, ValueChange};
use crate::state::AppState;

/// Largest case-report record accepted, in canonical JSON bytes.
pub const MAX_DATA_BYTES: usize = 256 * 1024;

const ENROLLED: &str = "enrolled";
const WITHDRAWN: &str = "withdrawn";

/// Enrolls one of the site's patients, re-checking consent and the criteria in force.
pub async fn enroll(
    state: &AppState,
    site: &Principal,
    trial_id: &str,
    pseudonym: &str,
) -> AppResult<enrollment::Model> {
    site.require(&[Role::Site])?;
    own_profile(&state.db, site, pseudonym).await?;
    protocols::readable_trial(state, site, trial_id).await?;
    let (site, trial_id, pseudonym) = (site.clone(), trial_id.to_string(), pseudonym.to_string());
    // Everything the decision rests on (the trial's status and current criteria, the
    // profile, consent, prior enrollment) is read in the unit of work, under the ledger
    // lock, so no concurrent amendment, withdrawal or enrollment can slip between the check
    // and the insert; the unique index on enrolled (trial, patient) pairs backs this up.
    state
        .writer
        .run(move |work| {
            Box::pin(async move { enroll_unit(work, &site, &trial_id, &pseudonym).await })
        })
        .await
}

async fn enroll_unit(
    work: &mut Work,
    site: &Principal,
    trial_id: &str,
    pseudonym: &str,
) -> AppResult<enrollment::Model> {
    let txn = work.db();
    let view = protocols::trial_view(txn, trial_id).await?;
    if view.trial.status != TrialStatus::Recruiting.as_str() {
        return Err(AppError::conflict("the trial is not recruiting"));
    }
    let current = view.require_approved()?;
    let profile = own_profile(txn, site, pseudonym).await?;
    if !has_active_consent(
        txn,
        pseudonym,
        ConsentScope::TrialParticipation,
        Some(trial_id),
    )
    .await?
    {
        return Err(AppError::conflict(
            "the patient has no active consent to take part in this trial: record it first",
        ));
    }
    if let Some(expr) = current.document.criteria_expr()? {
        let explanation = explain(&expr, &profile);
        if !explanation.matched {
            let failing: Vec<String> = explanation
                .clauses
                .into_iter()
                .filter(|c| !c.met)
                .map(|c| c.clause)
                .collect();
            return Err(AppError::conflict(format!(
                "the patient does not meet the criteria of protocol version {}: fails {}",
                current.row.version,
                failing.join("; ")
            )));
        }
    }
    let already = enrollment::Entity::find()
        .filter(enrollment::Column::TrialId.eq(trial_id))
        .filter(enrollment::Column::Pseudonym.eq(pseudonym))
        .filter(enrollment::Column::Status.eq(ENROLLED))
        .one(txn)
        .await?;
    if already.is_some() {
        return Err(AppError::conflict(
            "the patient is already enrolled in this trial",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let appended = work.append_one(NewEntry {
        kind: EntryKind::EnrollmentCreated,
        actor: Actor::of(site),
        subjects: BTreeMap::from([
            ("trial".to_string(), trial_id.to_string()),
            ("enrollment".to_string(), id.clone()),
        ]),
        payload: serde_json::json!({
            "enrollmentId": id,
            "trialId": trial_id,
            "siteId": site.org_id,
            "protocolVersion": current.row.version,
        }),
    })?;
    let row = enrollment::Entity::insert(enrollment::ActiveModel {
        id: Set(id),
        trial_id: Set(trial_id.to_string()),
        pseudonym: Set(pseudonym.to_string()),
        site_org_id: Set(site.org_id.clone()),
        protocol_version: Set(current.row.version),
        status: Set(ENROLLED.to_string()),
        ledger_seq: Set(seq_i64(appended.seq)),
        withdrawn_ledger_seq: Set(None),
        withdraw_reason: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_with_returning(work.db())
    .await
    .map_err(|err| {
        AppError::unique_or_internal(err, "the patient is already enrolled in this trial")
    })?;
    Ok(row)
}

/// One of the site's own enrollments.
pub(super) async fn own_enrollment(
    db: &impl ConnectionTrait,
    site: &Principal,
    id: &str,
) -> AppResult<enrollment::Model> {
    let row = enrollment::Entity::find_by_id(id.to_string())
        .one(db)
        .await?;
    match row {
        Some(row) if row.site_org_id == site.org_id => Ok(row),
        _ => Err(AppError::not_found(format!(
            "your site has no enrollment with id {id:?}"
        ))),
    }
}

/// Withdraws a participant (`enrollment.withdrawn`); their data stay, new data are refused.
pub async fn withdraw(
    state: &AppState,
    site: &Principal,
    enrollment_id: &str,
    reason: &str,
) -> AppResult<enrollment::Model> {
    site.require(&[Role::Site])?;
    if reason.trim().is_empty() {
        return Err(AppError::bad_input("a withdrawal needs a reason"));
    }
    let (site, enrollment_id, reason) = (
        site.clone(),
        enrollment_id.to_string(),
        reason.trim().to_string(),
    );
    state
        .writer
        .run(move |work| {
            Box::pin(async move { withdraw_unit(work, &site, &enrollment_id, &reason).await })
        })
        .await
}

async fn withdraw_unit(
    work: &mut Work,
    site: &Principal,
    enrollment_id: &str,
    reason: &str,
) -> AppResult<enrollment::Model> {
    let row = own_enrollment(work.db(), site, enrollment_id).await?;
    if row.status == WITHDRAWN {
        return Err(AppError::conflict("the participant is already withdrawn"));
    }
    let appended = work.append_one(NewEntry {
        kind: EntryKind::EnrollmentWithdrawn,
        actor: Actor::of(site),
        subjects: BTreeMap::from([
            ("trial".to_string(), row.trial_id.clone()),
            ("enrollment".to_string(), row.id.clone()),
        ]),
        payload: serde_json::json!({ "enrollmentId": row.id, "reason": reason }),
    })?;
    let updated = enrollment::Entity::update(enrollment::ActiveModel {
        id: Set(row.id.clone()),
        status: Set(WITHDRAWN.to_string()),
        withdrawn_ledger_seq: Set(Some(seq_i64(appended.seq))),
        withdraw_reason: Set(Some(reason.to_string())),
        ..Default::default()
    })
    .exec(work.db())
    .await?;
    Ok(updated)
}

/// One version of a submission, with its data.
#[derive(Clone, Debug)]
pub struct SubmissionVersionView {
    pub submission: submission::Model,
    pub version: submission_version::Model,
    pub data: serde_json::Value,
    /// The protocol version whose form definition this version was checked against (none
    /// for a form the protocol does not define).
    pub protocol_version: Option<i32>,
    /// What changed from the previous version, field by field (empty for the first).
    pub changes: Vec<ValueChange>,
}

/// The form a record of `form` must follow in `trial_id` now: from the protocol version in
/// force, with that version's number; `None` when the protocol defines no forms.
async fn form_in_force(
    db: &impl ConnectionTrait,
    trial_id: &str,
    form: &str,
) -> AppResult<Option<(i32, FormDefinition)>> {
    let (version, document) = protocols::version_in_force(db, trial_id).await?;
    Ok(document
        .form(form)?
        .map(|definition| (version, definition.clone())))
}

/// Checks `data` against the form in force (`BAD_INPUT` naming each field at fault) and
/// returns that form with the protocol version that defines it.
async fn check_against_form(
    db: &impl ConnectionTrait,
    trial_id: &str,
    form: &str,
    data: &serde_json::Value,
) -> AppResult<Option<(i32, FormDefinition)>> {
    let found = form_in_force(db, trial_id, form).await?;
    if let Some((_, definition)) = &found {
        forms::check_record(definition, data)?;
    }
    Ok(found)
}

fn check_data(data: &serde_json::Value) -> AppResult<()> {
    if !data.is_object() {
        return Err(AppError::bad_input("trial data must be a JSON object"));
    }
    let size = canonical_json(data).len();
    if size > MAX_DATA_BYTES {
        return Err(AppError::bad_input(format!(
            "trial data are {size} bytes; at most {MAX_DATA_BYTES} are accepted (attach large files instead)"
        )));
    }
    Ok(())
}

/// Submits a case-report-form record for an enrolled participant (`data.submitted`).
pub async fn submit(
    state: &AppState,
    site: &Principal,
    enrollment_id: &str,
    form: &str,
    visit: &str,
    data: serde_json::Value,
) -> AppResult<SubmissionVersionView> {
    site.require(&[Role::Site])?;
    check_data(&data)?;
    for (name, value) in [("form", form), ("visit", visit)] {
        if value.trim().is_empty() {
            return Err(AppError::bad_input(format!("the {name} is empty")));
        }
    }
    let (form, visit) = (form.trim().to_string(), visit.trim().to_string());
    // Checked outside the unit, so validation never holds the ledger lock; the payload
    // records the protocol version whose form the data were checked against.
    let enrolled = own_enrollment(&state.db, site, enrollment_id).await?;
    let protocol_version = check_against_form(&state.db, &enrolled.trial_id, &form, &data)
        .await?
        .map(|(version, _)| version);
    let (site, enrollment_id) = (site.clone(), enrollment_id.to_string());
    let record = Record {
        form,
        visit,
        data,
        protocol_version,
    };
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let enrolled = own_enrollment(work.db(), &site, &enrollment_id).await?;
                submit_unit(work, &site, enrolled, record).await
            })
        })
        .await
}

/// A new record, checked against its form.
struct Record {
    form: String,
    visit: String,
    data: serde_json::Value,
    protocol_version: Option<i32>,
}

async fn submit_unit(
    work: &mut Work,
    site: &Principal,
    enrolled: enrollment::Model,
    record: Record,
) -> AppResult<SubmissionVersionView> {
    let Record {
        form,
        visit,
        data,
        protocol_version,
    } = record;
    if enrolled.status != ENROLLED {
        return Err(AppError::conflict(
            "the participant was withdrawn: no new data may be submitted",
        ));
    }
    let submission = submission::Model {
        id: uuid::Uuid::new_v4().to_string(),
        enrollment_id: enrolled.id.clone(),
        trial_id: enrolled.trial_id.clone(),
        site_org_id: site.org_id.clone(),
        form,
        visit,
        current_version: 1,
        created_at: Utc::now(),
    };
    // A fresh id, for an enrollment read under the lock: nothing can refuse the row.
    work.insert_later(submission.clone().into_active_model());
    let first = NewVersion {
        number: 1,
        reason: None,
        data: data.clone(),
        protocol_version,
        signature: None,
    };
    let version = add_version(work, site, &submission, first)?;
    Ok(SubmissionVersionView {
        submission,
        version,
        data,
        protocol_version,
        changes: Vec::new(),
    })
}

/// What a site's signature on a correction means.
pub const CORRECTION_MEANING: &str = "I attest that this correction is accurate";

/// A correction: the new data and why, and the password that signs it.
pub struct Correction<'a> {
    /// The corrected data, whole.
    pub data: serde_json::Value,
    /// Why the data changed.
    pub reason: &'a str,
    /// The site member's own password, re-entered to sign.
    pub password: &'a str,
}

/// Corrects a submission by adding version n+1 with the reason (`data.corrected`), signed by
/// the site member who makes it.
pub async fn correct(
    state: &AppState,
    site: &Principal,
    submission_id: &str,
    correction: Correction<'_>,
) -> AppResult<SubmissionVersionView> {
    let Correction {
        data,
        reason,
        password,
    } = correction;
    site.require(&[Role::Site])?;
    check_data(&data)?;
    if reason.trim().is_empty() {
        return Err(AppError::bad_input("a correction needs a reason"));
    }
    // Checked again inside the unit; here so that nobody signs for another site's record.
    let record = own_submission(&state.db, site, submission_id).await?;
    let form = check_against_form(&state.db, &record.trial_id, &record.form, &data).await?;
    let protocol_version = form.as_ref().map(|(version, _)| *version);
    let signature = signatures::sign(state, site, password, CORRECTION_MEANING).await?;
    let (site, submission_id, reason) = (
        site.clone(),
        submission_id.to_string(),
        reason.trim().to_string(),
    );
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let mut submission = own_submission(work.db(), &site, &submission_id).await?;
                let next = submission.current_version + 1;
                let (previous, _) = current_data(work.db(), &submission).await?;
                if previous == data {
                    return Err(AppError::conflict(
                        "the correction changes no value: nothing to record",
                    ));
                }
                let change = NewVersion {
                    number: next,
                    reason: Some(&reason),
                    data: data.clone(),
                    protocol_version,
                    signature: Some(signature),
                };
                let version = add_version(work, &site, &submission, change)?;
                submission::Entity::update(submission::ActiveModel {
                    id: Set(submission.id.clone()),
                    current_version: Set(next),
                    ..Default::default()
                })
                .exec(work.db())
                .await?;
                submission.current_version = next;
                let definition = form.as_ref().map(|(_, definition)| definition);
                let changes = forms::value_changes(definition, &previous, &data);
                Ok(SubmissionVersionView {
                    submission,
                    version,
                    data,
                    protocol_version,
                    changes,
                })
            })
        })
        .await
}

/// The site's own submission `submission_id`, or `NOT_FOUND`.
async fn own_submission(
    db: &impl ConnectionTrait,
    site: &Principal,
    submission_id: &str,
) -> AppResult<submission::Model> {
    submission::Entity::find_by_id(submission_id.to_string())
        .one(db)
        .await?
        .filter(|s| s.site_org_id == site.org_id)
        .ok_or_else(|| {
            AppError::not_found(format!(
                "your site has no submission with id {submission_id:?}"
            ))
        })
}

/// A version of a submission, about to be recorded.
struct NewVersion<'a> {
    number: i32,
    reason: Option<&'a str>,
    data: serde_json::Value,
    /// The protocol version whose form the data were checked against.
    protocol_version: Option<i32>,
    signature: Option<Signature>,
}

fn add_version(
    work: &mut Work,
    site: &Principal,
    submission: &submission::Model,
    change: NewVersion<'_>,
) -> AppResult<submission_version::Model> {
    let NewVersion {
        number: version,
        reason,
        data,
        protocol_version,
        signature,
    } = change;
    let mut payload = serde_json::json!({
        "submissionId": submission.id,
        "enrollmentId": submission.enrollment_id,
        "trialId": submission.trial_id,
        "form": submission.form,
        "visit": submission.visit,
        "version": version,
        "reason": reason,
        "data": data,
    });
    if let Some(version) = protocol_version {
        payload["protocolVersion"] = version.into();
    }
    let hash = payload_hash(&canonical_json(&payload));
    let act = NewEntry {
        kind: if version == 1 {
            EntryKind::DataSubmitted
        } else {
            EntryKind::DataCorrected
        },
        actor: Actor::of(site),
        subjects: BTreeMap::from([
            ("trial".to_string(), submission.trial_id.clone()),
            ("submission".to_string(), submission.id.clone()),
        ]),
        payload,
    };
    let appended = signatures::append_act(work, act, signature.as_ref())?;
    let row = submission_version::Model {
        id: uuid::Uuid::new_v4().to_string(),
        submission_id: submission.id.clone(),
        version,
        ledger_seq: seq_i64(appended.seq),
        content_hash: hash.to_hex(),
        reason: reason.map(str::to_string),
        created_by: site.user_id.clone(),
        created_at: Utc::now(),
    };
    // A fresh id, for a submission read (or held) by this unit, under the lock; the
    // (submission, version) pair is unique because the unit read the current version.
    work.insert_later(row.clone().into_active_model());
    Ok(row)
}

/// Every version of every submission of an enrollment: for its site, and for the trial's
/// ethics board (read-only).
pub async fn submissions(
    state: &AppState,
    who: &Principal,
    enrollment_id: &str,
) -> AppResult<Vec<SubmissionVersionView>> {
    who.require(&[Role::Site, Role::Ethics, Role::Admin])?;
    let not_found = || AppError::not_found(format!("no enrollment has id {enrollment_id:?}"));
    let enrolled = enrollment::Entity::find_by_id(enrollment_id.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    if !protocols::may_read_site_record(state, who, &enrolled.site_org_id, &enrolled.trial_id)
        .await?
    {
        return Err(not_found());
    }
    let subs = submission::Entity::find()
        .filter(submission::Column::EnrollmentId.eq(enrollment_id))
        .order_by_asc(submission::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let view = protocols::trial_view(&state.db, &enrolled.trial_id).await?;
    let mut out = Vec::new();
    for sub in subs {
        out.extend(record_versions(&state.db, &view, sub).await?);
    }
    Ok(out)
}

/// Every version of one record, oldest first, each with what changed from the one before
/// (labelled by the form of the protocol version it was checked against).
pub(crate) async fn record_versions(
    db: &impl ConnectionTrait,
    view: &protocols::TrialView,
    sub: submission::Model,
) -> AppResult<Vec<SubmissionVersionView>> {
    let versions = submission_version::Entity::find()
        .filter(submission_version::Column::SubmissionId.eq(&sub.id))
        .order_by_asc(submission_version::Column::Version)
        .all(db)
        .await?;
    let mut out: Vec<SubmissionVersionView> = Vec::with_capacity(versions.len());
    for version in versions {
        let payload = stored_payload(db, version.ledger_seq).await?;
        let protocol_version = checked_against(&payload);
        let data = payload["data"].clone();
        let changes = match out.last() {
            Some(previous) => {
                let form = protocol_version.and_then(|number| {
                    view.versions
                        .iter()
                        .find(|v| v.row.version == number)
                        .and_then(|v| v.document.form(&sub.form).ok().flatten())
                });
                forms::value_changes(form, &previous.data, &data)
            }
            None => Vec::new(),
        };
        out.push(SubmissionVersionView {
            submission: sub.clone(),
            version,
            data,
            protocol_version,
            changes,
        });
    }
    Ok(out)
}

/// The ledgered payload of entry `seq` as JSON (`null` once erased).
async fn stored_payload(db: &impl ConnectionTrait, seq: i64) -> AppResult<serde_json::Value> {
    Ok(ledger_payload::Entity::find_by_id(seq)
        .one(db)
        .await?
        .and_then(|p| p.body)
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .unwrap_or(serde_json::Value::Null))
}

/// The ledgered payload of version `version` of a record.
async fn version_payload(
    db: &impl ConnectionTrait,
    submission_id: &str,
    version: i32,
) -> AppResult<serde_json::Value> {
    let row = submission_version::Entity::find()
        .filter(submission_version::Column::SubmissionId.eq(submission_id))
        .filter(submission_version::Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "version {version} of record {submission_id} is missing"
            ))
        })?;
    stored_payload(db, row.ledger_seq).await
}

/// The current version of a record: its data, and the protocol version whose form they
/// were checked against (if any). Reads that one version only.
pub(crate) async fn current_data(
    db: &impl ConnectionTrait,
    record: &submission::Model,
) -> AppResult<(serde_json::Value, Option<i32>)> {
    let payload = version_payload(db, &record.id, record.current_version).await?;
    Ok((payload["data"].clone(), checked_against(&payload)))
}

/// The protocol version a version's payload says its data were checked against.
fn checked_against(payload: &serde_json::Value) -> Option<i32> {
    payload["protocolVersion"]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
}

/// One of the site's own enrollments (`NOT_FOUND` for any other).
pub async fn enrollment(
    state: &AppState,
    site: &Principal,
    id: &str,
) -> AppResult<enrollment::Model> {
    site.require(&[Role::Site])?;
    own_enrollment(&state.db, site, id).await
}

/// The site's enrollments in a trial.
pub async fn enrollments(
    state: &AppState,
    site: &Principal,
    trial_id: &str,
) -> AppResult<Vec<enrollment::Model>> {
    site.require(&[Role::Site])?;
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::TrialId.eq(trial_id))
        .filter(enrollment::Column::SiteOrgId.eq(&site.org_id))
        .order_by_asc(enrollment::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

/// Most records in one page of [`trial_records`].
pub const MAX_RECORDS_PAGE: u64 = 200;

/// A page of a trial's records and how many there are in all.
pub struct RecordPage {
    pub total: u64,
    /// Each record at its current version, with what its last correction changed.
    pub items: Vec<SubmissionVersionView>,
}

/// A trial's case-report records at their current versions, oldest first, optionally of one
/// form: for its sponsor's monitors and its ethics board (every site) and for its sites (their
/// own). Records name the enrollment, never the patient.
pub async fn trial_records(
    state: &AppState,
    who: &Principal,
    trial_id: &str,
    form: Option<&str>,
    (first, offset): (u64, u64),
) -> AppResult<RecordPage> {
    who.require(&[Role::Sponsor, Role::Ethics, Role::Admin, Role::Site])?;
    if first == 0 || first > MAX_RECORDS_PAGE {
        return Err(AppError::bad_input(format!(
            "`first` must be between 1 and {MAX_RECORDS_PAGE}"
        )));
    }
    let view = protocols::readable_trial(state, who, trial_id).await?;
    let mut query = submission::Entity::find().filter(submission::Column::TrialId.eq(trial_id));
    if who.role == Role::Site {
        query = query.filter(submission::Column::SiteOrgId.eq(&who.org_id));
    }
    if let Some(form) = form {
        query = query.filter(submission::Column::Form.eq(form));
    }
    let total = query.clone().count(&state.db).await?;
    let rows = query
        .order_by_asc(submission::Column::CreatedAt)
        .order_by_asc(submission::Column::Id)
        .offset(offset)
        .limit(first)
        .all(&state.db)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(current) = record_versions(&state.db, &view, row).await?.pop() {
            items.push(current);
        }
    }
    Ok(RecordPage { total, items })
}

/// Record `submission_id` at its current version, if the caller may read it (its site, the
/// trial's sponsor and ethics board, admins); `None` otherwise.
pub async fn record(
    state: &AppState,
    who: &Principal,
    submission_id: &str,
) -> AppResult<Option<SubmissionVersionView>> {
    if who.role == Role::Recruiter {
        return Ok(None); // recruiters see counts, never records
    }
    let Some(row) = submission::Entity::find_by_id(submission_id.to_string())
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if who.role == Role::Site && row.site_org_id != who.org_id {
        return Ok(None);
    }
    let Ok(view) = protocols::readable_trial(state, who, &row.trial_id).await else {
        return Ok(None);
    };
    Ok(record_versions(&state.db, &view, row).await?.pop())
}
