//! One add-checkpoint request, start to end: find the log, check the checkpoint against the
//! latest one cosigned, then cosign and store, or refuse (keeping evidence and raising the
//! alarm when the log contradicts itself). Check and store happen in one transaction under
//! the node's lock, so two requests for one log never both pass the same check.

use std::time::{SystemTime, UNIX_EPOCH};

use ledger::witness::{
    AddCheckpointRequest, CosignedHead, Rejection, add_signature_lines, check_add_checkpoint,
    claimed_origin, note_body,
};
use ledger::{Hash, TreeHead};
use sea_orm::TransactionTrait;

use super::WitnessNode;
use super::store::{NewEvidence, WitnessStore};
use crate::entities::witness_log;

/// What the witness answers.
#[derive(Debug)]
pub enum Outcome {
    /// 200: the cosignature line.
    Cosigned(String),
    /// Refused with the spec's status.
    Refused(Rejection),
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
        Err(Rejection::Inconsistent(reason)) => {
            let cosigned = latest.ok_or_else(|| {
                anyhow::anyhow!("an inconsistency was found without a cosigned checkpoint")
            })?;
            let presented_size = TreeHead::parse(note_body(&request.checkpoint)?)?.size;
            let evidence = NewEvidence {
                origin: &origin,
                reason: &reason,
                cosigned: &cosigned,
                presented_size,
                presented_note: &request.checkpoint,
            };
            let id = WitnessStore::add_evidence(&txn, evidence, i64::try_from(now)?).await?;
            txn.commit().await?;
            node.alarm.raise(&origin, &reason, id);
            Ok(Outcome::Refused(Rejection::Inconsistent(reason)))
        }
        Err(rejection) => Ok(Outcome::Refused(rejection)),
    }
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
