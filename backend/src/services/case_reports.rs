//! Case-report sign-off: a site member (the investigator) attests, with an electronic
//! signature, that an enrollment's case report is accurate and complete. The sign-off entry
//! (`casereport.signed-off`) lists every submission at its current version with its content
//! hash, and its signature follows it; a later correction or submission therefore shows as a
//! change since the sign-off, and a new sign-off covers it.

use std::collections::{BTreeMap, HashMap};

use ledger::EntryKind;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use super::ledger::{Actor, NewEntry, Work, seq_i64};
use super::signatures::{self, Signature};
use super::trial_data::own_enrollment;
use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{ledger_entry, ledger_payload, submission, submission_version};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What the investigator's signature on a case report means.
pub const SIGN_OFF_MEANING: &str = "I attest that this case report is accurate and complete";

/// One submission as signed off: which version, and the hash of its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedItem {
    pub submission_id: String,
    pub form: String,
    pub visit: String,
    pub version: i32,
    pub content_hash: String,
}

/// The payload of a `casereport.signed-off` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOffPayload {
    enrollment_id: String,
    trial_id: String,
    submissions: Vec<SignedItem>,
}

/// A sign-off as read back from the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOff {
    /// The `casereport.signed-off` entry.
    pub ledger_seq: i64,
    /// The submissions it covers, at the versions signed.
    pub items: Vec<SignedItem>,
    /// Who signed it, when, meaning what.
    pub signature: Signature,
    /// Whether the case report is still as signed: no correction or submission since.
    pub current: bool,
}

/// Signs off the case report of one of the site's enrollments: every submission at its
/// current version, with the signer's password re-entered. A case report with no data has
/// nothing to sign (`BAD_INPUT`).
pub async fn sign_off(
    state: &AppState,
    site: &Principal,
    enrollment_id: &str,
    password: &str,
) -> AppResult<SignOff> {
    site.require(&[Role::Site])?;
    own_enrollment(&state.db, site, enrollment_id).await?;
    let signature = signatures::sign(state, site, password, SIGN_OFF_MEANING).await?;
    let (site, enrollment_id) = (site.clone(), enrollment_id.to_string());
    state
        .writer
        .run(move |work| {
            Box::pin(async move { sign_off_unit(work, &site, &enrollment_id, signature).await })
        })
        .await
}

async fn sign_off_unit(
    work: &mut Work,
    site: &Principal,
    enrollment_id: &str,
    signature: Signature,
) -> AppResult<SignOff> {
    let enrolled = own_enrollment(work.db(), site, enrollment_id).await?;
    let items = current_items(work.db(), enrollment_id).await?;
    if items.is_empty() {
        return Err(AppError::bad_input(
            "this case report has no data yet: there is nothing to sign off",
        ));
    }
    let payload = SignOffPayload {
        enrollment_id: enrollment_id.to_string(),
        trial_id: enrolled.trial_id.clone(),
        submissions: items.clone(),
    };
    let act = NewEntry {
        kind: EntryKind::CaseReportSignedOff,
        actor: Actor::of(site),
        subjects: BTreeMap::from([
            ("trial".to_string(), enrolled.trial_id.clone()),
            ("enrollment".to_string(), enrollment_id.to_string()),
        ]),
        payload: serde_json::to_value(&payload).map_err(anyhow::Error::from)?,
    };
    let appended = signatures::append_act(work, act, Some(&signature))?;
    Ok(SignOff {
        ledger_seq: seq_i64(appended.seq),
        items,
        signature,
        current: true,
    })
}

/// Every submission of the enrollment at its current version, oldest first.
async fn current_items(
    db: &impl ConnectionTrait,
    enrollment_id: &str,
) -> AppResult<Vec<SignedItem>> {
    let subs = submission::Entity::find()
        .filter(submission::Column::EnrollmentId.eq(enrollment_id))
        .order_by_asc(submission::Column::CreatedAt)
        .order_by_asc(submission::Column::Id)
        .all(db)
        .await?;
    let versions: HashMap<(String, i32), String> = submission_version::Entity::find()
        .filter(submission_version::Column::SubmissionId.is_in(subs.iter().map(|s| s.id.clone())))
        .all(db)
        .await?
        .into_iter()
        .map(|v| ((v.submission_id, v.version), v.content_hash))
        .collect();
    subs.into_iter()
        .map(|sub| {
            let content_hash = versions
                .get(&(sub.id.clone(), sub.current_version))
                .cloned()
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "submission {} has no version {}",
                        sub.id,
                        sub.current_version
                    ))
                })?;
            Ok(SignedItem {
                submission_id: sub.id,
                form: sub.form,
                visit: sub.visit,
                version: sub.current_version,
                content_hash,
            })
        })
        .collect()
}

/// The latest sign-off of the enrollment's case report, read from the ledger, and whether
/// the case report is still as signed. The caller has checked who may read it.
pub async fn latest(
    db: &impl ConnectionTrait,
    trial_id: &str,
    enrollment_id: &str,
) -> AppResult<Option<SignOff>> {
    let rows = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::TrialId.eq(trial_id))
        .filter(ledger_entry::Column::Kind.eq(EntryKind::CaseReportSignedOff.as_str()))
        .order_by_desc(ledger_entry::Column::Seq)
        .all(db)
        .await?;
    for row in rows {
        let subjects: BTreeMap<String, String> =
            serde_json::from_str(&row.subjects).map_err(anyhow::Error::from)?;
        if subjects.get("enrollment").map(String::as_str) != Some(enrollment_id) {
            continue;
        }
        let Some(body) = ledger_payload::Entity::find_by_id(row.seq)
            .one(db)
            .await?
            .and_then(|p| p.body)
        else {
            continue;
        };
        let payload: SignOffPayload = serde_json::from_str(&body).map_err(|err| {
            AppError::Internal(anyhow::anyhow!(
                "the sign-off in entry {} is malformed: {err}",
                row.seq
            ))
        })?;
        let Some(signed) = signatures::of_one(db, row.seq).await? else {
            continue;
        };
        let current = current_items(db, enrollment_id).await? == payload.submissions;
        return Ok(Some(SignOff {
            ledger_seq: row.seq,
            items: payload.submissions,
            signature: signed.signature,
            current,
        }));
    }
    Ok(None)
}
