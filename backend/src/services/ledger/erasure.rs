//! Erasing a payload, on the record: in one unit of work the payload an entry attests is
//! blanked, marked erased, and a `payload.erased` entry says which entry, who (its actor),
//! when (its timestamp) and why (a fixed reason, never free text, so the record carries no
//! personal data). Verification accepts an erased payload only when such an entry, later in
//! the chain, names it; the entry itself, its payload hash and the Merkle tree are untouched,
//! so the ledger still proves what was there.
//!
//! Who may erase: an admin of the organisation that recorded the entry (the entry's
//! `actorOrg`), the one answerable for the data. The record of an erasure is never erased.

use std::collections::BTreeMap;

use ledger::EntryKind;
use ledger::entry::ERASED_SUBJECT;
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::append::{Actor, Appended, NewEntry, to_i64};
use super::read::StoredEntry;
use super::writer::{LedgerWriter, Work};
use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{ledger_entry, ledger_payload};
use crate::error::{AppError, AppResult};

/// Why a payload is erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum ErasureReason {
    /// The data subject asked for their data to be erased.
    SubjectRequest,
    /// The participant withdrew the consent the data was collected under.
    ConsentWithdrawn,
    /// The data were entered by mistake (e.g. into the wrong record).
    EnteredInError,
    /// A court or regulator ordered it.
    LegalOrder,
}

impl ErasureReason {
    /// The reason as recorded in the erasure entry's payload.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureReason::SubjectRequest => "subject_request",
            ErasureReason::ConsentWithdrawn => "consent_withdrawn",
            ErasureReason::EnteredInError => "entered_in_error",
            ErasureReason::LegalOrder => "legal_order",
        }
    }
}

/// Erases the payload of entry `seq` on behalf of `who`, through `writer`, and returns the
/// erasure entry.
pub async fn erase_payload(
    writer: &LedgerWriter,
    who: &Principal,
    seq: u64,
    reason: ErasureReason,
) -> AppResult<Appended> {
    who.require(&[Role::Admin])?;
    let who = who.clone();
    writer
        .run(move |work| Box::pin(async move { erase_unit(work, &who, seq, reason).await }))
        .await
}

async fn erase_unit(
    work: &mut Work,
    who: &Principal,
    seq: u64,
    reason: ErasureReason,
) -> AppResult<Appended> {
    let txn = work.db();
    let row = ledger_entry::Entity::find_by_id(to_i64(seq))
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("there is no ledger entry {seq}")))?;
    let erased = StoredEntry::from_row(&row)?.entry;
    if erased.actor_org != who.org_id {
        return Err(AppError::forbidden(format!(
            "only an admin of the organisation that recorded entry {seq} may erase its payload"
        )));
    }
    if erased.kind == EntryKind::PayloadErased {
        return Err(AppError::bad_input(format!(
            "entry {seq} records an erasure; such records are never erased"
        )));
    }
    match ledger_payload::Entity::find_by_id(to_i64(seq))
        .one(txn)
        .await?
    {
        Some(payload) if !payload.erased => {}
        Some(_) => {
            return Err(AppError::conflict(format!(
                "the payload of entry {seq} is already erased"
            )));
        }
        None => {
            return Err(AppError::conflict(format!(
                "entry {seq} has no stored payload to erase"
            )));
        }
    }
    ledger_payload::Entity::update(ledger_payload::ActiveModel {
        seq: Set(to_i64(seq)),
        body: Set(None),
        erased: Set(true),
    })
    .exec(txn)
    .await?;
    let mut subjects = BTreeMap::from([(ERASED_SUBJECT.to_string(), seq.to_string())]);
    if let Some(trial) = erased.subjects.get("trial") {
        // Whoever may read the erased entry may read its erasure.
        subjects.insert("trial".to_string(), trial.clone());
    }
    work.append_one(NewEntry {
        kind: EntryKind::PayloadErased,
        actor: Actor::of(who),
        subjects,
        payload: serde_json::json!({
            "erasedSeq": seq,
            "erasedPayloadHash": erased.payload_hash.to_hex(),
            "reason": reason.as_str(),
        }),
    })
}
