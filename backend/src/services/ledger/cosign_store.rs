//! Stored cosignatures: writing what witnesses return, and reading checkpoints with their
//! cosignature lines attached (for `ledgerHead`, consent receipts and exports).

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::LedgerKeys;
use super::append::{parse_hash, to_i64};
use super::read::{Head, head};
use crate::entities::{checkpoint, checkpoint_cosignature};
use crate::error::{AppError, AppResult};

/// Whose cosignatures count, and how many a checkpoint needs to count as cosigned: only
/// the witnesses this process is configured with (a cosignature stored by a witness since
/// removed from the configuration, or by one another process trusts, counts for nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quorum {
    /// The trusted witnesses' verifier keys.
    pub keys: Vec<String>,
    /// Cosignatures needed among them (at least 1).
    pub needed: usize,
}

impl Quorum {
    /// The same witnesses, `needed` of them.
    pub fn of(&self, needed: usize) -> Quorum {
        Quorum {
            keys: self.keys.clone(),
            needed,
        }
    }
}

/// A witness that cosigned a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigner {
    /// The witness's name (its key name).
    pub name: String,
    /// The witness's verifier key.
    pub key: String,
    /// When it cosigned, Unix seconds.
    pub timestamp_secs: i64,
}

/// A checkpoint whose note carries the witnesses' cosignature lines after the log's
/// signature, and who cosigned it.
#[derive(Clone, Debug)]
pub struct CosignedHead {
    /// The checkpoint; its `note` has every stored cosignature line appended.
    pub head: Head,
    /// The witnesses whose lines are attached, by name.
    pub cosigners: Vec<Cosigner>,
}

/// A cosignature to store.
#[derive(Clone, Debug)]
pub struct NewCosignature {
    /// The cosigned checkpoint's size.
    pub checkpoint_size: u64,
    /// Who cosigned.
    pub cosigner: Cosigner,
    /// The note signature line, ending in a newline.
    pub line: String,
}

/// Stores a cosignature; storing the same witness's cosignature of a checkpoint again (as
/// another process may) keeps the first.
pub async fn store_cosignature(db: &impl ConnectionTrait, new: NewCosignature) -> AppResult<()> {
    checkpoint_cosignature::Entity::insert(checkpoint_cosignature::ActiveModel {
        checkpoint_size: Set(to_i64(new.checkpoint_size)),
        witness_key: Set(new.cosigner.key),
        witness_name: Set(new.cosigner.name),
        timestamp_secs: Set(new.cosigner.timestamp_secs),
        signature_line: Set(new.line),
    })
    .on_conflict_do_nothing_on([
        checkpoint_cosignature::Column::CheckpointSize,
        checkpoint_cosignature::Column::WitnessKey,
    ])
    .exec(db)
    .await?;
    Ok(())
}

/// Whether the witness with verifier key `key` has cosigned the checkpoint of `size`.
pub async fn has_cosigned(db: &impl ConnectionTrait, size: u64, key: &str) -> AppResult<bool> {
    Ok(
        checkpoint_cosignature::Entity::find_by_id((to_i64(size), key.to_string()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// The largest checkpoint the witness with verifier key `key` has cosigned, if any.
pub async fn latest_cosigned_by(db: &impl ConnectionTrait, key: &str) -> AppResult<Option<u64>> {
    let row = checkpoint_cosignature::Entity::find()
        .filter(checkpoint_cosignature::Column::WitnessKey.eq(key))
        .order_by_desc(checkpoint_cosignature::Column::CheckpointSize)
        .one(db)
        .await?;
    row.map(|row| u64::try_from(row.checkpoint_size).map_err(|err| anyhow::Error::from(err).into()))
        .transpose()
}

/// The latest checkpoint of at least `min_size` entries that `quorum` has cosigned, with its
/// cosignatures attached. `None` when no witness is trusted.
pub async fn latest_cosigned(
    db: &impl ConnectionTrait,
    keys: &LedgerKeys,
    min_size: u64,
    quorum: &Quorum,
) -> AppResult<Option<CosignedHead>> {
    if quorum.keys.is_empty() {
        return Ok(None);
    }
    let cosigners = Expr::col(checkpoint_cosignature::Column::WitnessKey).count();
    let Some(newest) = checkpoint_cosignature::Entity::find()
        .select_only()
        .column(checkpoint_cosignature::Column::CheckpointSize)
        .filter(checkpoint_cosignature::Column::CheckpointSize.gte(to_i64(min_size)))
        .filter(checkpoint_cosignature::Column::WitnessKey.is_in(quorum.keys.iter().cloned()))
        .group_by(checkpoint_cosignature::Column::CheckpointSize)
        .having(cosigners.gte(i64::try_from(quorum.needed.max(1)).unwrap_or(i64::MAX)))
        .order_by_desc(checkpoint_cosignature::Column::CheckpointSize)
        .into_tuple::<i64>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let row = checkpoint::Entity::find_by_id(newest)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "a cosignature names checkpoint {newest} which is not stored"
            ))
        })?;
    let head = Head {
        size: u64::try_from(row.size).map_err(anyhow::Error::from)?,
        root: parse_hash(&row.root_hash)?,
        timestamp_ms: row.timestamp_ms,
        note: row.note,
        public_key: row.verifier_key.unwrap_or_else(|| keys.verifier_key()),
    };
    with_cosignatures(db, head).await.map(Some)
}

/// `head` with every stored cosignature of its checkpoint attached.
pub async fn with_cosignatures(
    db: &impl ConnectionTrait,
    mut head: Head,
) -> AppResult<CosignedHead> {
    let rows = checkpoint_cosignature::Entity::find()
        .filter(checkpoint_cosignature::Column::CheckpointSize.eq(to_i64(head.size)))
        .order_by_asc(checkpoint_cosignature::Column::WitnessName)
        .all(db)
        .await?;
    let mut cosigners = Vec::with_capacity(rows.len());
    for row in rows {
        head.note.push_str(&row.signature_line);
        cosigners.push(Cosigner {
            name: row.witness_name,
            key: row.witness_key,
            timestamp_secs: row.timestamp_secs,
        });
    }
    Ok(CosignedHead { head, cosigners })
}

/// The checkpoint to prove entry `seq` against, with its cosignatures: the latest that covers
/// it and that `quorum` cosigned; before there is one, the latest that any trusted witness
/// cosigned (a quorum may come later, but each cosignature already counts); before that, the
/// latest checkpoint.
pub async fn checkpoint_for_entry(
    db: &impl ConnectionTrait,
    keys: &LedgerKeys,
    seq: u64,
    quorum: &Quorum,
) -> AppResult<Head> {
    // A quorum of one is asked once.
    let needed = quorum.needed.max(1);
    for needed in std::iter::once(needed).chain((needed > 1).then_some(1)) {
        let quorum = quorum.of(needed);
        if let Some(cosigned) = latest_cosigned(db, keys, seq.saturating_add(1), &quorum).await? {
            return Ok(cosigned.head);
        }
    }
    head(db, keys)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the ledger has no checkpoint")))
}

/// The latest checkpoint with its cosignatures (if any), `None` while the ledger is empty.
pub async fn head_with_cosignatures(
    db: &impl ConnectionTrait,
    keys: &LedgerKeys,
) -> AppResult<Option<CosignedHead>> {
    match head(db, keys).await? {
        Some(head) => with_cosignatures(db, head).await.map(Some),
        None => Ok(None),
    }
}
