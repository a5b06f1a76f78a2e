//! Rebuilding the ledger tables of an empty store from a copy served as tlog-tiles (a
//! witness's mirror, or the log itself): every entry, payload, tree node, the head and the
//! checkpoint, verified before anything is committed.
//!
//! The copy is trusted for nothing: the checkpoint must be signed by a trusted key, every
//! entry is decoded from its canonical bytes and linked to the one before, every payload must
//! hash to its entry's payload hash, and the rebuilt root must equal the checkpoint's. All of
//! it is written in one transaction holding the ledger lock, so a failed restore leaves the
//! store as empty as it found it.

use futures::StreamExt;
use ledger::payload::payload_hash;
use ledger::tiles::payloads::{PayloadItem, decode_payloads};
use ledger::tiles::{MirrorChecker, VerifiedEntry};
use ledger::{Checkpoint, Entry, Verifier};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};

use super::append::{begin_write, entry_row, insert_chunked, to_i64};
use super::tile_client::{Fetched, TileClient};
use crate::entities::{checkpoint, ledger_entry, ledger_head, ledger_payload, merkle_node};

/// What a restore wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The checkpoint restored (the copy's latest).
    pub checkpoint: Checkpoint,
    /// The key that signed it.
    pub verifier_key: String,
    /// Payloads restored with their bodies.
    pub payloads: u64,
    /// Payloads the copy holds as erased.
    pub erased: u64,
}

/// Restores the ledger named `origin` from `source` into the empty store `db`. The copy's
/// checkpoint must be of that origin and signed by one of `trusted_keys` (signed-note
/// verifier keys).
pub async fn restore(
    db: &DatabaseConnection,
    source: &TileClient,
    origin: &str,
    trusted_keys: &[String],
) -> anyhow::Result<Restored> {
    if ledger_entry::Entity::find().count(db).await? > 0
        || checkpoint::Entity::find().count(db).await? > 0
    {
        anyhow::bail!("the store already holds a ledger; restore only fills an empty one");
    }
    if !source.has_token() {
        anyhow::bail!("a restore needs the payloads too: give a token that may read them");
    }
    let note = source.checkpoint().await?;
    let (checkpoint, verifier_key) = open_note(&note, trusted_keys)?;
    if checkpoint.origin != origin {
        anyhow::bail!(
            "the copy is of the log {:?}, this node's is {origin:?} (see --ledger-origin)",
            checkpoint.origin
        );
    }

    let txn = begin_write(db).await?;
    let mut checker = MirrorChecker::new();
    let mut restored = Restored {
        checkpoint: checkpoint.clone(),
        verifier_key,
        payloads: 0,
        erased: 0,
    };
    let fetched = source.bundles(checker.bundles_to(checkpoint.size), true);
    futures::pin_mut!(fetched);
    while let Some(fetched) = fetched.next().await {
        let Fetched {
            tile,
            entries,
            payloads,
        } = fetched?;
        let mut nodes = Vec::new();
        let entries = checker.push_bundle(&tile, &entries, |id, hash| {
            nodes.push(merkle_node::ActiveModel {
                level: Set(i16::from(id.level)),
                idx: Set(to_i64(id.index)),
                hash: Set(hash.to_hex()),
            });
        })?;
        let payloads = decode_payloads(&payloads.unwrap_or_default())?;
        if payloads.len() != entries.len() {
            anyhow::bail!(
                "the payload bundle of {tile} holds {} payloads for {} entries",
                payloads.len(),
                entries.len()
            );
        }
        let mut entry_rows = Vec::with_capacity(entries.len());
        let mut payload_rows = Vec::with_capacity(entries.len());
        for (verified, payload) in entries.into_iter().zip(payloads) {
            let entry = full_entry(verified)?;
            payload_rows.push(payload_row(&entry, payload, &mut restored)?);
            entry_rows.push(entry_row(&entry, entry.leaf_hash())?);
        }
        insert_chunked(&txn, entry_rows).await?;
        insert_chunked(&txn, payload_rows).await?;
        insert_chunked(&txn, nodes).await?;
    }
    checker.check(&checkpoint)?;

    let frontier: Vec<String> = checker.frontier().iter().map(|h| h.to_hex()).collect();
    ledger_head::Entity::update(ledger_head::ActiveModel {
        id: Set(1),
        size: Set(to_i64(checkpoint.size)),
        frontier: Set(serde_json::to_string(&frontier)?),
        last_leaf_hash: Set(checker.last_leaf().map(|h| h.to_hex())),
        appends: sea_orm::ActiveValue::NotSet,
    })
    .exec(&txn)
    .await?;
    if checkpoint.size > 0 {
        checkpoint::Entity::insert(checkpoint::ActiveModel {
            size: Set(to_i64(checkpoint.size)),
            root_hash: Set(checkpoint.root.to_hex()),
            timestamp_ms: Set(checkpoint.timestamp_ms),
            note: Set(note),
            verifier_key: Set(Some(restored.verifier_key.clone())),
        })
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(restored)
}

/// The checkpoint in `note` and the first of `trusted_keys` that signed it.
fn open_note(note: &str, trusted_keys: &[String]) -> anyhow::Result<(Checkpoint, String)> {
    for key in trusted_keys {
        let verifier = Verifier::from_key_string(key)
            .map_err(|err| anyhow::anyhow!("the key {key} is not a verifier key: {err}"))?;
        if let Ok(checkpoint) = verifier.open(note) {
            return Ok((checkpoint, key.clone()));
        }
    }
    anyhow::bail!("the copy's checkpoint is not signed by a trusted key:\n{note}")
}

fn full_entry(verified: VerifiedEntry) -> anyhow::Result<Entry> {
    verified.entry.ok_or_else(|| {
        anyhow::anyhow!(
            "entry {} is redacted in this copy: a restore needs a copy of every entry in full \
             (a token of an admin of the log)",
            verified.seq
        )
    })
}

fn payload_row(
    entry: &Entry,
    payload: PayloadItem,
    restored: &mut Restored,
) -> anyhow::Result<ledger_payload::ActiveModel> {
    let seq = entry.seq;
    let (body, erased) = match payload {
        PayloadItem::Withheld => {
            anyhow::bail!("the payload of entry {seq} is withheld from this copy")
        }
        PayloadItem::Erased => {
            restored.erased += 1;
            (None, true)
        }
        PayloadItem::Body(body) => {
            if payload_hash(&body) != entry.payload_hash {
                anyhow::bail!(
                    "the payload of entry {seq} does not match the hash the entry attests"
                );
            }
            restored.payloads += 1;
            (Some(String::from_utf8(body)?), false)
        }
    };
    Ok(ledger_payload::ActiveModel {
        seq: Set(to_i64(seq)),
        body: Set(body),
        erased: Set(erased),
    })
}
