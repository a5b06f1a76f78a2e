//! Reading the stored ledger: the head and pages of entries.

use std::collections::{BTreeMap, HashMap};

use ledger::{Entry, EntryKind, Hash};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::LedgerKeys;
use super::append::parse_hash;
use crate::entities::{checkpoint, ledger_entry, ledger_payload};
use crate::error::{AppError, AppResult};

/// The latest signed checkpoint and the key that signed it.
#[derive(Clone, Debug)]
pub struct Head {
    /// Entries covered by the checkpoint.
    pub size: u64,
    /// Merkle root of those entries.
    pub root: Hash,
    /// When it was signed (Unix ms).
    pub timestamp_ms: i64,
    /// The signed note text (C2SP tlog-checkpoint).
    pub note: String,
    /// The signed-note verifier key that signed it (recorded with the checkpoint).
    pub public_key: String,
}

/// The latest checkpoint with the key recorded as its signer (the current key of `keys`
/// for checkpoints written before keys were recorded), or `None` while the ledger is empty.
pub async fn head(db: &impl ConnectionTrait, keys: &LedgerKeys) -> AppResult<Option<Head>> {
    let latest = checkpoint::Entity::find()
        .order_by_desc(checkpoint::Column::Size)
        .one(db)
        .await?;
    latest
        .map(|cp| {
            Ok(Head {
                size: u64::try_from(cp.size).map_err(anyhow::Error::from)?,
                root: parse_hash(&cp.root_hash)?,
                timestamp_ms: cp.timestamp_ms,
                note: cp.note,
                public_key: cp.verifier_key.unwrap_or_else(|| keys.verifier_key()),
            })
        })
        .transpose()
}

/// An entry as stored, with the leaf hash recorded beside it.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    /// The entry, rebuilt from its row.
    pub entry: Entry,
    /// The leaf hash stored with it.
    pub leaf_hash: Hash,
}

impl StoredEntry {
    /// Rebuilds an entry from its row; a row that cannot be read is corrupt.
    pub fn from_row(row: &ledger_entry::Model) -> AppResult<Self> {
        let corrupt = |what: &str| {
            AppError::Internal(anyhow::anyhow!(
                "entry {}: the stored {what} is malformed",
                row.seq
            ))
        };
        let subjects: BTreeMap<String, String> =
            serde_json::from_str(&row.subjects).map_err(|_| corrupt("subjects"))?;
        let entry = Entry {
            seq: u64::try_from(row.seq).map_err(|_| corrupt("sequence number"))?,
            kind: row.kind.parse::<EntryKind>().map_err(|_| corrupt("kind"))?,
            timestamp_ms: row.timestamp_ms,
            actor_user: row.actor_user.clone(),
            actor_org: row.actor_org.clone(),
            subjects,
            payload_hash: Hash::from_hex(&row.payload_hash).map_err(|_| corrupt("payload hash"))?,
            prev_hash: row
                .prev_hash
                .as_deref()
                .map(Hash::from_hex)
                .transpose()
                .map_err(|_| corrupt("previous hash"))?,
        };
        Ok(Self {
            entry,
            leaf_hash: Hash::from_hex(&row.leaf_hash).map_err(|_| corrupt("leaf hash"))?,
        })
    }
}

/// Up to `first` entry rows with sequence numbers above `after` (from the start when `None`).
pub async fn entries(
    db: &impl ConnectionTrait,
    after: Option<u64>,
    first: u64,
) -> AppResult<Vec<ledger_entry::Model>> {
    entries_before(db, after, first, None).await
}

/// Like [`entries`], but only entries with sequence numbers below `end` (all when `None`):
/// the entries of one snapshot of size `end`.
pub async fn entries_before(
    db: &impl ConnectionTrait,
    after: Option<u64>,
    first: u64,
    end: Option<u64>,
) -> AppResult<Vec<ledger_entry::Model>> {
    let mut query = ledger_entry::Entity::find().order_by_asc(ledger_entry::Column::Seq);
    if let Some(after) = after {
        query = query.filter(ledger_entry::Column::Seq.gt(super::append::to_i64(after)));
    }
    if let Some(end) = end {
        query = query.filter(ledger_entry::Column::Seq.lt(super::append::to_i64(end)));
    }
    Ok(query.limit(first).all(db).await?)
}

/// The stored payloads of entries `first..=last`, by sequence number.
pub(super) async fn payloads_between(
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
