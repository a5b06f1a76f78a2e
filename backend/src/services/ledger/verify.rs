//! Full verification of the stored ledger: every leaf, every chain link, every payload,
//! the Merkle root and the latest checkpoint's signature.
//!
//! Database reads are async; the hashing of each page runs on a blocking thread, so a long
//! ledger never holds an async worker. Dropping the future (a request that timed out) stops
//! the work at the next page.

use std::collections::HashMap;

use ledger::export::{ChainVerifier, Report};
use ledger::payload::payload_hash;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::LedgerKeys;
use super::read::{Head, StoredEntry, entries, head};
use crate::entities::{ledger_entry, ledger_payload};
use crate::error::{AppError, AppResult};

/// Entries read per round trip.
const PAGE: u64 = 5_000;

/// Verifies everything stored; the latest checkpoint must be signed by the key recorded with
/// it, and that key must be one of this node's own (current or retired, see
/// [`LedgerKeys::own_verifier_keys`]). The report names the first bad entry and what is
/// wrong with it.
pub async fn verify(db: &impl ConnectionTrait, keys: &LedgerKeys) -> AppResult<Report> {
    let mut verifier = ChainVerifier::new();
    let mut after = None;
    loop {
        let rows = entries(db, after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = u64::try_from(last.seq).ok();
        let payloads = payloads_between(db, rows[0].seq, last.seq).await?;
        verifier = off_the_workers(move || {
            check_page(&mut verifier, &rows, &payloads);
            verifier
        })
        .await?;
    }
    let head = head(db, keys).await?;
    let keys = keys.clone();
    off_the_workers(move || finish(verifier, head, &keys)).await?
}

/// Runs CPU-bound verification work on a blocking thread.
async fn off_the_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|err| {
        AppError::Internal(anyhow::Error::new(err).context("ledger verification failed"))
    })
}

fn check_page(
    verifier: &mut ChainVerifier,
    rows: &[ledger_entry::Model],
    payloads: &HashMap<i64, ledger_payload::Model>,
) {
    for row in rows {
        match StoredEntry::from_row(row) {
            Ok(stored) => {
                verifier.push(&stored.entry, Some(stored.leaf_hash));
                check_payload(verifier, &stored, payloads.get(&row.seq));
            }
            Err(err) => verifier.add_problem(u64::try_from(row.seq).ok(), err.to_string()),
        }
    }
}

fn finish(mut verifier: ChainVerifier, head: Option<Head>, keys: &LedgerKeys) -> AppResult<Report> {
    Ok(match head {
        Some(head) => {
            let trusted = keys.trusted_key_for(&head.public_key)?;
            verifier.finish(&head.note, &head.public_key, Some(&trusted))
        }
        None if verifier.entries_checked() > 0 => {
            verifier.add_problem(None, "the ledger has entries but no signed checkpoint");
            verifier.finish_without_checkpoint()
        }
        None => verifier.finish_without_checkpoint(),
    })
}

fn check_payload(
    verifier: &mut ChainVerifier,
    stored: &StoredEntry,
    payload: Option<&ledger_payload::Model>,
) {
    let seq = stored.entry.seq;
    match payload {
        None => verifier.add_problem(seq, format!("entry {seq}: its payload was deleted without an erasure record")),
        Some(p) if p.erased => {}
        Some(p) => match &p.body {
            Some(body) if payload_hash(body.as_bytes()) == stored.entry.payload_hash => {}
            Some(_) => verifier.add_problem(
                seq,
                format!("entry {seq}: the stored payload no longer matches the payload hash the entry attests"),
            ),
            None => verifier.add_problem(seq, format!("entry {seq}: its payload is empty but not marked erased")),
        },
    }
}

async fn payloads_between(
    db: &impl ConnectionTrait,
    first: i64,
    last: i64,
) -> AppResult<HashMap<i64, ledger_payload::Model>> {
    let rows = ledger_payload::Entity::find()
        .filter(ledger_payload::Column::Seq.between(first, last))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.seq, row)).collect())
}
