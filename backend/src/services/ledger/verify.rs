//! Verification of the stored ledger: every leaf, chain link, timestamp, payload (and its
//! erasure), every stored checkpoint against the tree at its size, and the latest
//! checkpoint's signature.
//!
//! A verification pins one snapshot: it reads the verified watermark, then the head (size
//! `N` and its checkpoint), then exactly the entries `0..N`, so appends that commit
//! meanwhile never make a correct ledger look wrong. An incremental verification
//! ([`Scope::Incremental`]) resumes at the watermark (see [`super::watermark`]) and reads
//! only the entries past it; a full one reads everything. A verification that finds nothing
//! wrong moves the watermark to `N`.
//!
//! Database reads are async; the hashing of each page runs on a blocking thread, so a long
//! ledger never holds an async worker. Dropping the future (a request that timed out) stops
//! the work at the next page.

use std::collections::HashMap;

use ledger::export::{ChainVerifier, PayloadEvidence, Report, erased_seq};
use ledger::{EntryKind, Hash};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::LedgerKeys;
use super::append::to_i64;
use super::read::{Head, StoredEntry, entries_before, head, payloads_between};
use super::watermark::{self, Start};
use crate::entities::{checkpoint, ledger_entry, ledger_payload};
use crate::error::{AppError, AppResult};

/// Entries read per round trip.
const PAGE: u64 = 5_000;

/// How much of the ledger a verification reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Only the entries past the verified watermark (everything when there is none).
    Incremental,
    /// Every entry, whatever was verified before.
    Full,
}

/// Verifies the entries past the verified watermark ([`Scope::Incremental`]); see
/// [`verify_scoped`].
pub async fn verify(db: &impl ConnectionTrait, keys: &LedgerKeys) -> AppResult<Report> {
    verify_scoped(db, keys, Scope::Incremental).await
}

/// Verifies one snapshot of the stored ledger. Every checkpoint must be signed by the key
/// recorded with it, and that key must be one of this node's own (current or retired, see
/// [`LedgerKeys::own_verifier_keys`]). The report names the first bad entry and what is
/// wrong with it; [`Report::resumed_at`] says where an incremental verification started.
pub async fn verify_scoped(
    db: &impl ConnectionTrait,
    keys: &LedgerKeys,
    scope: Scope,
) -> AppResult<Report> {
    // The watermark before the head: a watermark is never ahead of a head read after it.
    let watermark = match scope {
        Scope::Incremental => watermark::load(db).await?,
        Scope::Full => None,
    };
    let head = head(db, keys).await?;
    let end = head.as_ref().map(|h| h.size);
    let Start { mut verifier, from } = match end {
        Some(size) => watermark::resume(db, watermark, size).await?,
        None => Start::fresh(),
    };
    let own_keys = keys.own_verifier_keys().map_err(AppError::Internal)?;
    let current_key = keys.verifier_key();
    let mut after = from.checked_sub(1);
    loop {
        let rows = entries_before(db, after, PAGE, end).await?;
        let Some(last) = rows.last() else { break };
        after = u64::try_from(last.seq).ok();
        let payloads = payloads_between(db, rows[0].seq, last.seq).await?;
        let checkpoints = checkpoints_between(db, rows[0].seq + 1, last.seq + 1, end).await?;
        let page = Page {
            rows,
            payloads,
            checkpoints,
            own_keys: own_keys.clone(),
            current_key: current_key.clone(),
        };
        verifier = off_the_workers(move || {
            page.check(&mut verifier);
            verifier
        })
        .await?;
    }
    if let Some(end) = end {
        for seq in erased_after(db, end).await? {
            verifier.erasure_recorded_later(seq);
        }
    }
    let keys_for_finish = keys.clone();
    let report = off_the_workers(move || finish(verifier, head, &keys_for_finish)).await??;
    watermark::advance(db, &report).await?;
    Ok(report)
}

/// Runs CPU-bound verification work on a blocking thread.
async fn off_the_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|err| {
        AppError::Internal(anyhow::Error::new(err).context("ledger verification failed"))
    })
}

/// One page of entries with their payloads and the checkpoints signed at their sizes.
struct Page {
    rows: Vec<ledger_entry::Model>,
    payloads: HashMap<i64, ledger_payload::Model>,
    checkpoints: HashMap<u64, checkpoint::Model>,
    own_keys: Vec<String>,
    current_key: String,
}

impl Page {
    fn check(&self, verifier: &mut ChainVerifier) {
        for row in &self.rows {
            match StoredEntry::from_row(row) {
                Ok(stored) => {
                    verifier.push(&stored.entry, Some(stored.leaf_hash));
                    check_payload(verifier, &stored, self.payloads.get(&row.seq));
                }
                Err(err) => verifier.add_problem(u64::try_from(row.seq).ok(), err.to_string()),
            }
            if let Some(cp) = self.checkpoints.get(&verifier.entries_checked()) {
                self.check_checkpoint(verifier, cp);
            }
        }
    }

    /// Checks a stored checkpoint against the tree as it stands (at the checkpoint's size).
    fn check_checkpoint(&self, verifier: &mut ChainVerifier, row: &checkpoint::Model) {
        let size = row.size;
        let key = row.verifier_key.as_deref().unwrap_or(&self.current_key);
        if !self.own_keys.iter().any(|own| own == key) {
            verifier.add_problem(
                None,
                format!(
                    "the checkpoint of size {size} names a key that is not one of this node's: {key}"
                ),
            );
        }
        let Some(signed) = verifier.check_checkpoint(&row.note, key) else {
            return;
        };
        if Hash::from_hex(&row.root_hash).ok() != Some(signed.root) {
            verifier.add_problem(
                None,
                format!(
                    "the checkpoint of size {size}: its recorded root {} is not the root of its signed note ({})",
                    row.root_hash, signed.root
                ),
            );
        }
    }
}

fn finish(mut verifier: ChainVerifier, head: Option<Head>, keys: &LedgerKeys) -> AppResult<Report> {
    Ok(match head {
        Some(head) => {
            let trusted = keys.trusted_key_for(&head.public_key)?;
            let recorded_root = head.root;
            let size = head.size;
            let mut report = verifier.finish(&head.note, &head.public_key, Some(&trusted));
            if let Some(cp) = &report.checkpoint
                && cp.root != recorded_root
            {
                report.ok = false;
                report.problems.push(ledger::Problem {
                    seq: None,
                    message: format!(
                        "the checkpoint of size {size}: its recorded root {recorded_root} is not the root of its signed note ({})",
                        cp.root
                    ),
                });
            }
            report
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
    let evidence = match payload {
        None => PayloadEvidence::Missing,
        Some(p) if p.erased => PayloadEvidence::Erased,
        Some(p) => match &p.body {
            Some(body) => PayloadEvidence::Bytes(body.as_bytes()),
            None => {
                let seq = stored.entry.seq;
                verifier.add_problem(
                    seq,
                    format!("entry {seq}: its payload is empty but not marked erased"),
                );
                return;
            }
        },
    };
    verifier.check_payload(&stored.entry, evidence);
}

/// The checkpoints of sizes `first..=last`, below the snapshot's own (checked at the end).
async fn checkpoints_between(
    db: &impl ConnectionTrait,
    first: i64,
    last: i64,
    end: Option<u64>,
) -> AppResult<HashMap<u64, checkpoint::Model>> {
    let mut query =
        checkpoint::Entity::find().filter(checkpoint::Column::Size.between(first, last));
    if let Some(end) = end {
        query = query.filter(checkpoint::Column::Size.lt(to_i64(end)));
    }
    let rows = query.all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((u64::try_from(row.size).ok()?, row)))
        .collect())
}

/// The entries whose erasure was recorded at or after `end` (after the snapshot was taken):
/// their payloads may already read as erased.
async fn erased_after(db: &impl ConnectionTrait, end: u64) -> AppResult<Vec<u64>> {
    let rows = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Kind.eq(EntryKind::PayloadErased.as_str()))
        .filter(ledger_entry::Column::Seq.gte(to_i64(end)))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| StoredEntry::from_row(row).ok())
        .filter_map(|stored| erased_seq(&stored.entry).ok())
        .collect())
}
