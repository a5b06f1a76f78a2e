//! The witness's own database: per log the latest cosigned checkpoint, and the evidence.
//! SQLite in the data directory by default, PostgreSQL optional; migrated by
//! [`migrations::WitnessMigrator`] only, so it never gets the log's tables.

use std::path::Path;

use anyhow::Context;
use migrations::{MigratorTrait, WitnessMigrator};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::db::{self, DatabaseTarget};
use crate::entities::{witness_evidence, witness_log};

/// The SQLite file under the witness's data directory.
pub const SQLITE_FILE: &str = "witness.db";

/// Pool size: a witness answers a few logs, rarely.
const MAX_CONNECTIONS: u32 = 4;

/// The witness database.
#[derive(Clone, Debug)]
pub struct WitnessStore {
    db: DatabaseConnection,
    target: DatabaseTarget,
}

/// Two contradicting checkpoints of one log, about to be kept as evidence.
pub struct NewEvidence<'a> {
    /// The log's origin.
    pub origin: &'a str,
    /// Why they contradict.
    pub reason: &'a str,
    /// The size of the checkpoint this witness held: the one it cosigned, or the one its
    /// mirrored copy was verified against.
    pub held_size: u64,
    /// That checkpoint, as the log signed it.
    pub held_note: &'a str,
    /// The size of the checkpoint presented now.
    pub presented_size: u64,
    /// The checkpoint presented now, as the log signed it.
    pub presented_note: &'a str,
}

impl WitnessStore {
    /// Connects to `database_url`, or to `DIR/witness.db`, and applies the witness's
    /// migrations.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Self> {
        let target = match database_url {
            None => DatabaseTarget::Sqlite(data_dir.join(SQLITE_FILE)),
            Some(url) => {
                DatabaseTarget::resolve(Some(url), &crate::datadir::DataDir::open(data_dir)?)?
            }
        };
        let db = db::connect(&target, MAX_CONNECTIONS).await?;
        WitnessMigrator::up(&db, None)
            .await
            .context("migrating the witness database failed")?;
        Ok(Self { db, target })
    }

    /// The connection pool (for a follower that adds its own tables through the migrator).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// A description safe to log.
    pub fn describe(&self) -> String {
        self.target.describe()
    }

    /// The latest cosigned checkpoint of `origin`, locked until `txn` ends (PostgreSQL: a
    /// row lock; SQLite: the transaction's write lock, and the node's own mutex).
    pub async fn latest_for_update(
        txn: &DatabaseTransaction,
        origin: &str,
    ) -> anyhow::Result<Option<witness_log::Model>> {
        Ok(witness_log::Entity::find_by_id(origin.to_owned())
            .lock_exclusive()
            .one(txn)
            .await?)
    }

    /// Records `note` as the latest cosigned checkpoint of `origin`.
    pub async fn save_latest(
        txn: &DatabaseTransaction,
        existing: Option<witness_log::Model>,
        row: witness_log::Model,
    ) -> anyhow::Result<()> {
        let active = witness_log::ActiveModel {
            origin: Set(row.origin),
            size: Set(row.size),
            root_hash: Set(row.root_hash),
            note: Set(row.note),
            cosigned_at: Set(row.cosigned_at),
        };
        match existing {
            Some(_) => active.update(txn).await?,
            None => active.insert(txn).await?,
        };
        Ok(())
    }

    /// Keeps both signed notes; returns the evidence id.
    pub async fn add_evidence(
        txn: &DatabaseTransaction,
        evidence: NewEvidence<'_>,
        detected_at: i64,
    ) -> anyhow::Result<i64> {
        let row = witness_evidence::ActiveModel {
            origin: Set(evidence.origin.to_owned()),
            reason: Set(evidence.reason.to_owned()),
            cosigned_size: Set(i64::try_from(evidence.held_size)?),
            cosigned_note: Set(evidence.held_note.to_owned()),
            presented_size: Set(i64::try_from(evidence.presented_size)?),
            presented_note: Set(evidence.presented_note.to_owned()),
            detected_at: Set(detected_at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        Ok(row.id)
    }

    /// Whether `presented_note` of `origin` is kept as evidence already.
    pub async fn holds_evidence(
        txn: &DatabaseTransaction,
        origin: &str,
        presented_note: &str,
    ) -> anyhow::Result<bool> {
        Ok(witness_evidence::Entity::find()
            .filter(witness_evidence::Column::Origin.eq(origin))
            .filter(witness_evidence::Column::PresentedNote.eq(presented_note))
            .count(txn)
            .await?
            > 0)
    }

    /// Every log this witness has cosigned, by origin.
    pub async fn logs(&self) -> anyhow::Result<Vec<witness_log::Model>> {
        Ok(witness_log::Entity::find()
            .order_by_asc(witness_log::Column::Origin)
            .all(&self.db)
            .await?)
    }

    /// The latest cosigned checkpoint of `origin`.
    pub async fn latest(&self, origin: &str) -> anyhow::Result<Option<witness_log::Model>> {
        Ok(witness_log::Entity::find_by_id(origin.to_owned())
            .one(&self.db)
            .await?)
    }

    /// All evidence, oldest first.
    pub async fn evidence(&self) -> anyhow::Result<Vec<witness_evidence::Model>> {
        Ok(witness_evidence::Entity::find()
            .order_by_asc(witness_evidence::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// How many evidence records are kept.
    pub async fn evidence_count(&self) -> anyhow::Result<u64> {
        Ok(witness_evidence::Entity::find().count(&self.db).await?)
    }
}
