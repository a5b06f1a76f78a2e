//! Appending entries: one lock, one chain, one signed checkpoint per batch.
//!
//! Only the [`super::writer::LedgerWriter`] appends: services hand it units of work.

use std::collections::BTreeMap;

use chrono::Utc;
use ledger::merkle::CompactRange;
use ledger::payload::{canonical_json, payload_hash};
use ledger::{Checkpoint, Entry, EntryKind, Hash};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, TransactionTrait,
};

use super::LedgerKeys;
use super::held_rows::INSERT_CHUNK;
use crate::auth::Principal;
use crate::entities::{checkpoint, ledger_entry, ledger_head, ledger_payload, merkle_node};
use crate::error::{AppError, AppResult};

/// Who caused an entry.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The user's id (or `system` for the node itself).
    pub user_id: String,
    /// The user's organisation id.
    pub org_id: String,
}

impl Actor {
    /// The signed-in user who causes an entry, with their organisation.
    pub fn of(who: &Principal) -> Self {
        Self {
            user_id: who.user_id.clone(),
            org_id: who.org_id.clone(),
        }
    }
}

/// An entry to append: what happened, to what, and the payload it attests.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// What happened.
    pub kind: EntryKind,
    /// Who did it.
    pub actor: Actor,
    /// What it is about: `trial` → id, `participant` → commitment, …; never personal data.
    pub subjects: BTreeMap<String, String>,
    /// The document attested; stored (erasably) beside the entry, its hash in the entry.
    pub payload: serde_json::Value,
}

/// An appended entry's coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Its sequence number (= leaf index).
    pub seq: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The SHA-256 of its canonical payload.
    pub payload_hash: Hash,
}

/// Begins a write transaction that holds the ledger lock from its first statement.
///
/// Every change that is ledgered starts here, so the change and its entries commit together,
/// and appenders (tasks or processes) queue on the head row instead of forking the chain:
/// on PostgreSQL the row lock is held until commit; on SQLite the first write takes the
/// database's write lock (waiting up to the busy timeout) before anything is read.
pub(super) async fn begin_write(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let txn = db.begin().await?;
    let locked = ledger_head::Entity::update_many()
        .col_expr(
            ledger_head::Column::Appends,
            Expr::col(ledger_head::Column::Appends).add(1),
        )
        .filter(ledger_head::Column::Id.eq(1))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the ledger head row is missing: the database was not migrated"
        )));
    }
    Ok(txn)
}

/// The ledger side of one group-commit transaction: the tree grows in memory as entries are
/// appended; their payloads go back to the caller, to be stored with the unit's other rows
/// (where the unit and later ones can read the documents, e.g. a protocol just published);
/// the entries, the tree nodes, the head and one checkpoint are written at the end, in
/// multi-row inserts. No unit reads `ledger_entry`: entries are read only once committed
/// (receipts, audit, export).
pub(super) struct Batch {
    tree: CompactRange,
    prev: Option<Hash>,
    timestamp_ms: i64,
    node_rows: Vec<merkle_node::ActiveModel>,
    entry_rows: Vec<ledger_entry::ActiveModel>,
}

/// How far a [`Batch`] had got, to rewind to when one unit of work fails.
pub(super) struct Mark {
    tree: CompactRange,
    prev: Option<Hash>,
    node_rows: usize,
    entry_rows: usize,
}

impl Batch {
    /// Reads the head inside `txn` (which must come from [`begin_write`]). Every entry of the
    /// batch gets one timestamp, never earlier than the last stored entry's, so timestamps
    /// never go backwards along the chain even when processes' clocks disagree.
    pub(super) async fn open(txn: &DatabaseTransaction) -> AppResult<Self> {
        let head = ledger_head::Entity::find_by_id(1)
            .one(txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the ledger head row is missing")))?;
        let tree = restore_tree(&head)?;
        let last_timestamp_ms = match tree.size() {
            0 => i64::MIN,
            size => ledger_entry::Entity::find_by_id(to_i64(size - 1))
                .one(txn)
                .await?
                .map(|row| row.timestamp_ms)
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("the ledger's last entry is missing"))
                })?,
        };
        Ok(Self {
            tree,
            prev: head.last_leaf_hash.as_deref().map(parse_hash).transpose()?,
            timestamp_ms: Ord::max(Utc::now().timestamp_millis(), last_timestamp_ms),
            node_rows: Vec::new(),
            entry_rows: Vec::new(),
        })
    }

    /// Appends `entries` in order; returns where they went and their payload rows, for the
    /// caller to store in the same transaction (the entries are stored at [`Batch::write`]).
    pub(super) fn append(
        &mut self,
        entries: Vec<NewEntry>,
    ) -> AppResult<(Vec<Appended>, Vec<ledger_payload::ActiveModel>)> {
        let mut appended = Vec::with_capacity(entries.len());
        let mut payload_rows = Vec::with_capacity(entries.len());
        for new in entries {
            let body = canonical_json(&new.payload);
            let entry = Entry {
                seq: self.tree.size(),
                kind: new.kind,
                timestamp_ms: self.timestamp_ms,
                actor_user: new.actor.user_id,
                actor_org: new.actor.org_id,
                subjects: new.subjects,
                payload_hash: payload_hash(&body),
                prev_hash: self.prev,
            };
            let leaf = entry.leaf_hash();
            let nodes = &mut self.node_rows;
            self.tree.append_with(leaf, |id, hash| {
                nodes.push(merkle_node::ActiveModel {
                    level: Set(i16::from(id.level)),
                    idx: Set(to_i64(id.index)),
                    hash: Set(hash.to_hex()),
                });
            });
            let body = String::from_utf8(body).map_err(anyhow::Error::from)?;
            payload_rows.push(ledger_payload::ActiveModel {
                seq: Set(to_i64(entry.seq)),
                body: Set(Some(body)),
                erased: Set(false),
            });
            appended.push(Appended {
                seq: entry.seq,
                leaf_hash: leaf,
                payload_hash: entry.payload_hash,
            });
            self.entry_rows.push(entry_row(&entry, leaf)?);
            self.prev = Some(leaf);
        }
        Ok((appended, payload_rows))
    }

    /// Entries in the tree, including those appended so far.
    pub(super) fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Where the batch stands now.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            tree: self.tree.clone(),
            prev: self.prev,
            node_rows: self.node_rows.len(),
            entry_rows: self.entry_rows.len(),
        }
    }

    /// Forgets everything appended since `mark` (its payload rows go with the unit's).
    pub(super) fn rewind(&mut self, mark: Mark) {
        self.tree = mark.tree;
        self.prev = mark.prev;
        self.node_rows.truncate(mark.node_rows);
        self.entry_rows.truncate(mark.entry_rows);
    }

    /// Stores the entries and the tree nodes, moves the head and signs one checkpoint of the
    /// new tree, all inside `txn`. A batch that appended nothing writes nothing.
    pub(super) async fn write(
        self,
        txn: &DatabaseTransaction,
        keys: &LedgerKeys,
        size_before: u64,
    ) -> AppResult<()> {
        if self.tree.size() == size_before {
            return Ok(());
        }
        insert_chunked(txn, self.entry_rows).await?;
        insert_chunked(txn, self.node_rows).await?;

        let size = self.tree.size();
        let frontier: Vec<String> = self.tree.hashes().iter().map(Hash::to_hex).collect();
        ledger_head::Entity::update(ledger_head::ActiveModel {
            id: Set(1),
            size: Set(to_i64(size)),
            frontier: Set(serde_json::to_string(&frontier).map_err(anyhow::Error::from)?),
            last_leaf_hash: Set(self.prev.map(|h| h.to_hex())),
            appends: sea_orm::ActiveValue::NotSet,
        })
        .exec(txn)
        .await?;

        let cp = Checkpoint {
            origin: keys.origin().to_string(),
            size,
            root: self.tree.root(),
            timestamp_ms: self.timestamp_ms,
        };
        let note = keys
            .signer()
            .sign(&cp)
            .map_err(|err| anyhow::anyhow!("signing the checkpoint failed: {err}"))?;
        checkpoint::Entity::insert(checkpoint::ActiveModel {
            size: Set(to_i64(size)),
            root_hash: Set(cp.root.to_hex()),
            timestamp_ms: Set(self.timestamp_ms),
            note: Set(note),
            verifier_key: Set(Some(keys.verifier_key())),
        })
        .exec(txn)
        .await?;
        Ok(())
    }
}

fn restore_tree(head: &ledger_head::Model) -> AppResult<CompactRange> {
    let hexes: Vec<String> = serde_json::from_str(&head.frontier).map_err(anyhow::Error::from)?;
    let hashes = hexes
        .iter()
        .map(|h| parse_hash(h))
        .collect::<AppResult<Vec<_>>>()?;
    let size = u64::try_from(head.size).map_err(anyhow::Error::from)?;
    CompactRange::from_frontier(size, hashes).map_err(|err| {
        AppError::Internal(anyhow::anyhow!(
            "the stored Merkle frontier is corrupt: {err}"
        ))
    })
}

pub(super) fn entry_row(entry: &Entry, leaf: Hash) -> AppResult<ledger_entry::ActiveModel> {
    Ok(ledger_entry::ActiveModel {
        seq: Set(to_i64(entry.seq)),
        kind: Set(entry.kind.as_str().to_string()),
        timestamp_ms: Set(entry.timestamp_ms),
        actor_user: Set(entry.actor_user.clone()),
        actor_org: Set(entry.actor_org.clone()),
        subjects: Set(serde_json::to_string(&entry.subjects).map_err(anyhow::Error::from)?),
        trial_id: Set(entry.subjects.get("trial").cloned()),
        payload_hash: Set(entry.payload_hash.to_hex()),
        prev_hash: Set(entry.prev_hash.map(|h| h.to_hex())),
        leaf_hash: Set(leaf.to_hex()),
    })
}

pub(super) async fn insert_chunked<A>(txn: &impl ConnectionTrait, rows: Vec<A>) -> AppResult<()>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(INSERT_CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// A stored hash; a malformed one means the database is corrupt.
pub(super) fn parse_hash(hex: &str) -> AppResult<Hash> {
    Hash::from_hex(hex)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("a stored hash is malformed: {err}")))
}

/// Sequence numbers and indexes fit in i64 (trees are capped far below 2^63 leaves).
pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
