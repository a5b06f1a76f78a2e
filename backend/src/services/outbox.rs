//! The outbox: the log of changes that affect search, which each process's indexer tails
//! (see [`super::indexer`]).
//!
//! A unit of work that changes a profile, a consent, a trial or a protocol says so with
//! [`super::ledger::Work::touch`]; the ledger writer then calls [`record`] inside the batch's
//! transaction, so the log has a row for every committed change and for nothing that rolled
//! back.
//!
//! **Invariant: every outbox write happens under the ledger write lock**
//! (only the [`super::ledger::LedgerWriter`] writes it, inside its batches). Positions are handed out in insert order, and the lock
//! serialises the writing transactions, so commit order is position order: a reader never
//! sees position N+1 committed while N is still to come. That is what lets an indexer keep a
//! single watermark ("everything up to N is applied") instead of tracking gaps. (Positions
//! may still skip numbers, e.g. after a rollback; a gap is never filled later.)
//!
//! **Pruning.** Each indexer deletes the rows it applied long ago ([`prune`]) and records the
//! last deleted position (`database_identity.pruned_through`) in the same transaction. An
//! index whose watermark is below it (a process stopped for long) rebuilds instead of
//! resuming. The last row is never deleted, so positions are never reused.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::entities::{database_identity, index_outbox};
use crate::error::{AppError, AppResult};

/// The PostgreSQL channel notified when outbox rows commit.
pub const CHANNEL: &str = "veritrial_outbox";

/// Rows per multi-row INSERT (three parameters each, well under every limit).
const INSERT_CHUNK: usize = 1_000;

/// Which index document a change may have touched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexTouch {
    /// The profile of this pseudonym (its data or its recruitment-contact consent).
    Profile(String),
    /// The trial of this id (its protocol, status or criteria).
    Trial(String),
}

impl IndexTouch {
    fn kind(&self) -> &'static str {
        match self {
            IndexTouch::Profile(_) => "profile",
            IndexTouch::Trial(_) => "trial",
        }
    }

    fn key(&self) -> &str {
        match self {
            IndexTouch::Profile(key) | IndexTouch::Trial(key) => key,
        }
    }

    /// The touch an outbox row records.
    pub fn from_row(row: &index_outbox::Model) -> AppResult<Self> {
        match row.kind.as_str() {
            "profile" => Ok(IndexTouch::Profile(row.key.clone())),
            "trial" => Ok(IndexTouch::Trial(row.key.clone())),
            other => Err(AppError::Internal(anyhow::anyhow!(
                "outbox row {} has unknown kind {other:?}",
                row.position
            ))),
        }
    }
}

/// Appends `changes` to the outbox inside `db`'s transaction, which must hold the ledger lock
/// (see the module's invariant). On PostgreSQL it also issues
/// `NOTIFY veritrial_outbox`, delivered to listening indexers when the transaction commits.
pub async fn record(db: &impl ConnectionTrait, changes: &[IndexTouch]) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    for chunk in changes.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|touch| index_outbox::ActiveModel {
            kind: Set(touch.kind().to_string()),
            key: Set(touch.key().to_string()),
            created_at: Set(now),
            ..Default::default()
        });
        index_outbox::Entity::insert_many(rows).exec(db).await?;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("NOTIFY {CHANNEL}")).await?;
    }
    Ok(())
}

/// The last position written (0 when the outbox is empty).
pub async fn head(db: &impl ConnectionTrait) -> AppResult<u64> {
    let last = index_outbox::Entity::find()
        .select_only()
        .column_as(index_outbox::Column::Position.max(), "head")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    Ok(last.map_or(0, position))
}

/// Up to `limit` rows after `after`, in position order.
pub async fn after(
    db: &impl ConnectionTrait,
    after: u64,
    limit: u64,
) -> AppResult<Vec<index_outbox::Model>> {
    Ok(index_outbox::Entity::find()
        .filter(index_outbox::Column::Position.gt(stored(after)))
        .order_by_asc(index_outbox::Column::Position)
        .limit(limit)
        .all(db)
        .await?)
}

/// Rows deleted per transaction when pruning (each a short hold of the write lock).
const PRUNE_CHUNK: u64 = 10_000;

/// The last position pruned (0 when nothing was), as seen by `db`'s snapshot.
pub async fn pruned_through(db: &impl ConnectionTrait) -> AppResult<u64> {
    let row = database_identity::Entity::find_by_id(1).one(db).await?;
    Ok(row.map_or(0, |row| position(row.pruned_through)))
}

/// Deletes every row up to `through` (but never the last row), a chunk per transaction,
/// each recording how far it went; returns the new `pruned_through`.
pub async fn prune(db: &DatabaseConnection, through: u64) -> AppResult<u64> {
    database_identity(db).await?;
    let through = through.min(head(db).await?.saturating_sub(1));
    let mut done = pruned_through(db).await?;
    while done < through {
        let upto = through.min(done + PRUNE_CHUNK);
        let txn = db.begin().await?;
        index_outbox::Entity::delete_many()
            .filter(index_outbox::Column::Position.lte(stored(upto)))
            .exec(&txn)
            .await?;
        database_identity::Entity::update_many()
            .col_expr(
                database_identity::Column::PrunedThrough,
                Expr::value(stored(upto)),
            )
            .filter(database_identity::Column::Id.eq(1))
            .filter(database_identity::Column::PrunedThrough.lt(stored(upto)))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        done = upto;
    }
    Ok(done)
}

fn stored(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

/// A stored position as the unsigned number watermarks use (positions start at 1).
pub fn position(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// The database's identity, created (a random UUID) on first use. Every process on the same
/// database reads the same value; an index whose watermark names another is rebuilt.
pub async fn database_identity(db: &impl ConnectionTrait) -> AppResult<String> {
    if let Some(row) = database_identity::Entity::find_by_id(1).one(db).await? {
        return Ok(row.identity);
    }
    database_identity::Entity::insert(database_identity::ActiveModel {
        id: Set(1),
        identity: Set(uuid::Uuid::new_v4().to_string()),
        created_at: Set(Utc::now()),
        pruned_through: Set(0),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    // Whoever inserted first won; everyone reads the winner.
    database_identity::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|row| row.identity)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the database identity is missing")))
}
