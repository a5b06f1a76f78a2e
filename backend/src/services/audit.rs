//! What ethics boards read: a trial's audit trail, protocol changes, and consent receipts.

use std::collections::BTreeMap;

use chrono::DateTime;
use ledger::{EntryKind, Receipt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::ledger::{self as ledger_service, StoredEntry};
use super::patients::{latest_consent, own_profile};
use super::protocols::{self, ProtocolDocument, TrialView};
use crate::auth::Principal;
use crate::domain::{ConsentScope, Role};
use crate::entities::ledger_entry;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Every ledger entry about a trial, in order: for its ethics board, its sponsor and admins.
pub async fn audit_trail(
    state: &AppState,
    who: &Principal,
    trial_id: &str,
) -> AppResult<(TrialView, Vec<StoredEntry>)> {
    who.require(&[Role::Ethics, Role::Sponsor, Role::Admin])?;
    let view = protocols::readable_trial(state, who, trial_id).await?;
    let rows = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::TrialId.eq(trial_id))
        .order_by_asc(ledger_entry::Column::Seq)
        .all(&state.db)
        .await?;
    let entries = rows
        .iter()
        .map(StoredEntry::from_row)
        .collect::<AppResult<Vec<_>>>()?;
    Ok((view, entries))
}

/// Cumulative enrollments and data submissions at the end of one day (UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityDay {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Participants enrolled up to and including this day.
    pub enrolled: u32,
    /// Case-report records submitted up to and including this day (corrections excluded).
    pub submitted: u32,
}

/// The running totals of enrollments and submissions, one point per day with either.
pub fn activity(events: &[StoredEntry]) -> Vec<ActivityDay> {
    let mut per_day: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for stored in events {
        let counts = match stored.entry.kind {
            EntryKind::EnrollmentCreated => (1, 0),
            EntryKind::DataSubmitted => (0, 1),
            _ => continue,
        };
        let day = DateTime::from_timestamp_millis(stored.entry.timestamp_ms)
            .unwrap_or_default()
            .format("%Y-%m-%d")
            .to_string();
        let totals = per_day.entry(day).or_default();
        totals.0 += counts.0;
        totals.1 += counts.1;
    }
    let (mut enrolled, mut submitted) = (0, 0);
    per_day
        .into_iter()
        .map(|(day, (e, s))| {
            enrolled += e;
            submitted += s;
            ActivityDay {
                day,
                enrolled,
                submitted,
            }
        })
        .collect()
}

/// One field that differs between two protocol versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The fields that changed from `before` to `after` (bookkeeping fields left out).
pub fn changes(before: &ProtocolDocument, after: &ProtocolDocument) -> AppResult<Vec<FieldChange>> {
    let before = serde_json::to_value(before).map_err(anyhow::Error::from)?;
    let after = serde_json::to_value(after).map_err(anyhow::Error::from)?;
    let skip = ["version", "previousVersionHash", "reason", "trialId"];
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return Ok(Vec::new());
    };
    Ok(a.iter()
        .filter(|(field, _)| !skip.contains(&field.as_str()))
        .filter(|(field, value)| b.get(*field) != Some(*value))
        .map(|(field, value)| FieldChange {
            field: field.clone(),
            before: b.get(field).map(display).unwrap_or_default(),
            after: display(value),
        })
        .collect())
}

/// The eligibility clauses (top-level `and` operands, in canonical form) an amendment added
/// and removed: what a board reads to see how criteria were widened or narrowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClauseChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// The clause-level difference of the criteria from `before` to `after`.
pub fn clause_changes(
    before: &ProtocolDocument,
    after: &ProtocolDocument,
) -> AppResult<ClauseChanges> {
    let clauses = |doc: &ProtocolDocument| -> AppResult<Vec<String>> {
        Ok(doc
            .criteria_expr()?
            .map(|expr| expr.conjuncts().iter().map(ToString::to_string).collect())
            .unwrap_or_default())
    };
    let (old, new) = (clauses(before)?, clauses(after)?);
    Ok(ClauseChanges {
        added: new.iter().filter(|c| !old.contains(c)).cloned().collect(),
        removed: old.iter().filter(|c| !new.contains(c)).cloned().collect(),
    })
}

/// A JSON value as text for people and for exports: strings as they are, null as nothing,
/// anything else in its JSON form.
pub(crate) fn display(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What a patient can keep: their latest consent entry of `scope`, its inclusion proof and
/// the signed checkpoint (the latest cosigned one that covers the entry, with its witnesses'
/// cosignatures; before any, the latest), verifiable offline with `veritrial verify`.
pub async fn consent_receipt(
    state: &AppState,
    site: &Principal,
    pseudonym: &str,
    scope: ConsentScope,
    trial_id: Option<&str>,
) -> AppResult<Receipt> {
    site.require(&[Role::Site])?;
    own_profile(&state.db, site, pseudonym).await?;
    let consent = latest_consent(&state.db, pseudonym, scope, trial_id)
        .await?
        .ok_or_else(|| {
            AppError::not_found("no consent of that scope is recorded for this patient")
        })?;
    let seq = u64::try_from(consent.ledger_seq).map_err(anyhow::Error::from)?;
    let row = ledger_entry::Entity::find_by_id(consent.ledger_seq)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("ledger entry {seq} is missing")))?;
    let stored = StoredEntry::from_row(&row)?;
    let head = ledger_service::checkpoint_for_entry(
        &state.db,
        &state.ledger,
        seq,
        state.cosigning.quorum(),
    )
    .await?;
    let proof = ledger_service::inclusion_proof(&state.db, seq, head.size).await?;
    Ok(Receipt {
        entry: stored.entry,
        leaf_index: seq,
        tree_size: head.size,
        proof,
        checkpoint: head.note,
        public_key: head.public_key,
    })
}
