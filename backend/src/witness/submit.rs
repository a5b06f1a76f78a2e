//! One add-checkpoint request, start to end: find the log, check the checkpoint against the
//! latest one cosigned, then cosign and store, or refuse (keeping evidence and raising the
//! alarm when the log contradicts itself). Check and store happen in one transaction under
//! the node's lock, so two requests for one log never both pass the same check.
//!
//! A witness that mirrors the log cosigns only what it holds: before the check, it brings
//! its copy up to the checkpoint's size (a round of the follower, at most [`MIRROR_WAIT`]),
//! and answers `503 Service Unavailable` (the log retries) when it cannot. So a restore from
//! its copy loses nothing up to the last checkpoint it cosigned.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ledger::witness::{
    AddCheckpointRequest, CosignedHead, Rejection, add_signature_lines, check_add_checkpoint,
    claimed_origin, note_body,
};
use ledger::{Hash, TreeHead};
use sea_orm::TransactionTrait;

use super::WitnessNode;
use super::mirror::{self, Contradiction};
use super::mirror_store;
use super::store::{NewEvidence, WitnessStore};
use crate::entities::witness_log;

/// How long a request waits for the mirror to reach its checkpoint: under the log's 5 s
/// request timeout, so that the log hears the 503 and retries.
pub const MIRROR_WAIT: Duration = Duration::from_secs(4);

/// What the witness answers.
#[derive(Debug)]
pub enum Outcome {
    /// 200: the cosignature line.
    Cosigned(String),
    /// Refused with the spec's status.
    Refused(Rejection),
    /// 503: the witness mirrors the log and does not hold the checkpoint's entries yet.
    NotMirrored(String),
}

/// Handles one request body.
pub async fn add_checkpoint(node: &WitnessNode, body: &str) -> anyhow::Result<Outcome> {
    let request = match AddCheckpointRequest::parse(body) {
        Ok(request) => request,
        Err(e) => return Ok(Outcome::Refused(Rejection::BadRequest(e.to_string()))),
    };
    let origin = match claimed_origin(&request) {
        Ok(origin) => origin,
        Err(rejection) => return Ok(Outcome::Refused(rejection)),
    };
    let Some(log) = node.logs.iter().find(|l| l.origin == origin) else {
        return Ok(Outcome::Refused(Rejection::UnknownLog(origin)));
    };
    // Only a checkpoint the log signed may make the witness fetch anything.
    if let Ok(text) = log.verifier.verify_note(&request.checkpoint)
        && let Ok(head) = TreeHead::parse(text)
        && let Some(refusal) = hold_entries(node, &head, &request.checkpoint).await?
    {
        return Ok(refusal);
    }

    let _serial = node.lock.lock().await;
    let txn = node.store.db().begin().await?;
    let latest = WitnessStore::latest_for_update(&txn, &origin).await?;
    let known = latest.as_ref().map(cosigned_head).transpose()?;
    let now = now_secs();
    match check_add_checkpoint(&request, &log.verifier, known) {
        Ok(head) => {
            // A cosignature's time never goes back for one log, even if the clock does.
            let time = latest
                .as_ref()
                .map_or(now, |l| now.max(u64::try_from(l.cosigned_at).unwrap_or(0)));
            let line = node
                .cosigner
                .cosign(note_body(&request.checkpoint)?, time)?;
            let note = add_signature_lines(&request.checkpoint, std::slice::from_ref(&line))?;
            WitnessStore::save_latest(&txn, latest, stored_row(&origin, &head, note, time)?)
                .await?;
            txn.commit().await?;
            node.alarm.cosigned();
            Ok(Outcome::Cosigned(line))
        }
        Err(rejection) => {
            let Some(reason) = rejection.contradiction() else {
                return Ok(Outcome::Refused(rejection));
            };
            let cosigned = latest.ok_or_else(|| {
                anyhow::anyhow!("a contradiction was found without a cosigned checkpoint")
            })?;
            let presented_size = TreeHead::parse(note_body(&request.checkpoint)?)?.size;
            let evidence = NewEvidence {
                origin: &origin,
                reason,
                held_size: u64::try_from(cosigned.size)?,
                held_note: &cosigned.note,
                presented_size,
                presented_note: &request.checkpoint,
            };
            let id = WitnessStore::add_evidence(&txn, evidence, i64::try_from(now)?).await?;
            txn.commit().await?;
            node.alarm.raise(&origin, reason, id);
            Ok(Outcome::Refused(rejection))
        }
    }
}

/// When the witness mirrors the log of `head`: brings the copy up to `head`'s size, and
/// answers why not to cosign when it cannot, or when the copy of that size has another root
/// (kept as evidence). `None`: go on to the check.
async fn hold_entries(
    node: &WitnessNode,
    head: &TreeHead,
    note: &str,
) -> anyhow::Result<Option<Outcome>> {
    let Some(mirrors) = node.mirrors().filter(|m| m.follows(&head.origin)) else {
        return Ok(None);
    };
    let db = node.store.db();
    let held_size = |row: &Option<crate::entities::mirror_log::Model>| {
        row.as_ref()
            .map_or(0, |r| u64::try_from(r.size).unwrap_or(0))
    };
    let mut held = mirror_store::held(db, &head.origin).await?;
    if held_size(&held) < head.size {
        if let Ok(Some(round)) =
            tokio::time::timeout(MIRROR_WAIT, mirrors.round(db, &head.origin)).await
        {
            mirror::report(node, &head.origin, round).await;
        }
        held = mirror_store::held(db, &head.origin).await?;
    }
    let size = held_size(&held);
    let Some(row) = held.filter(|_| size >= head.size) else {
        return Ok(Some(Outcome::NotMirrored(format!(
            "this witness mirrors the log and cosigns only entries it holds: it holds {size} \
             of the {} of this checkpoint; retry",
            head.size
        ))));
    };
    let copy_root = if size == head.size {
        Hash::from_hex(&row.root_hash)?
    } else {
        mirror_store::root_at(db, &head.origin, head.size).await?
    };
    if copy_root != head.root {
        let contradiction = Contradiction {
            reason: format!(
                "the log signed root {} for size {}, where this witness's copy (of {size} \
                 entries) has {copy_root}",
                head.root, head.size
            ),
            held_size: size,
            held_note: row.note,
            presented_size: head.size,
            presented_note: note.to_owned(),
        };
        mirror::keep_evidence(node, &head.origin, &contradiction).await?;
        return Ok(Some(Outcome::Refused(Rejection::Inconsistent(
            contradiction.reason,
        ))));
    }
    Ok(None)
}

fn cosigned_head(row: &witness_log::Model) -> anyhow::Result<CosignedHead> {
    Ok(CosignedHead {
        size: u64::try_from(row.size)?,
        root: Hash::from_hex(&row.root_hash)?,
    })
}

fn stored_row(
    origin: &str,
    head: &TreeHead,
    note: String,
    time: u64,
) -> anyhow::Result<witness_log::Model> {
    Ok(witness_log::Model {
        origin: origin.to_owned(),
        size: i64::try_from(head.size)?,
        root_hash: head.root.to_hex(),
        note,
        cosigned_at: i64::try_from(time)?,
    })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}
