//! The verified watermark: after a verification finds nothing wrong, the size and root it
//! verified are stored, and the next verification resumes there instead of starting over.
//!
//! Resuming takes the stored Merkle nodes of the frontier at the watermark (the compact
//! range of entries `[0, size)`) and checks that they still give the watermark's root, and
//! that the last entry below the watermark still hashes to its stored leaf node, before it
//! seeds a [`ChainVerifier`] with them. Entries below the watermark are not read again: a
//! change to them that leaves the stored tree alone is found only by a full verification.

use chrono::Utc;
use ledger::export::ChainVerifier;
use ledger::merkle::{CompactRange, NodeId};
use ledger::{Hash, Report};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::append::{parse_hash, to_i64};
use super::read::StoredEntry;
use crate::entities::{ledger_entry, ledger_verified, merkle_node};
use crate::error::{AppError, AppResult};

/// Where a verification starts.
pub(super) struct Start {
    /// The verifier, fresh or seeded at the watermark.
    pub verifier: ChainVerifier,
    /// The first entry to read.
    pub from: u64,
}

impl Start {
    /// From entry 0.
    pub fn fresh() -> Self {
        Self {
            verifier: ChainVerifier::new(),
            from: 0,
        }
    }

    /// From entry 0, with a problem found while trying to resume.
    fn over(problem: String) -> Self {
        let mut start = Self::fresh();
        start.verifier.add_problem(None, problem);
        start
    }
}

/// The stored watermark, if any: entries `[0, size)` verified, with their root.
pub(super) async fn load(db: &impl ConnectionTrait) -> AppResult<Option<(u64, Hash)>> {
    let Some(row) = ledger_verified::Entity::find_by_id(1).one(db).await? else {
        return Ok(None);
    };
    let size = u64::try_from(row.size).map_err(anyhow::Error::from)?;
    Ok(Some((size, parse_hash(&row.root_hash)?)))
}

/// Resumes at `watermark` for a snapshot of `size` entries, or starts over (with the reason
/// as a problem) when the stored tree no longer agrees with the watermark.
pub(super) async fn resume(
    db: &impl ConnectionTrait,
    watermark: Option<(u64, Hash)>,
    size: u64,
) -> AppResult<Start> {
    let Some((verified, root)) = watermark.filter(|(verified, _)| *verified > 0) else {
        return Ok(Start::fresh());
    };
    if verified > size {
        return Ok(Start::over(format!(
            "the ledger has {size} entries but {verified} were verified before: entries were removed"
        )));
    }
    let ids = CompactRange::frontier_ids(verified);
    let last = NodeId::leaf(verified - 1);
    let mut hashes = Vec::with_capacity(ids.len());
    for id in &ids {
        match node(db, *id).await? {
            Some(hash) => hashes.push(hash),
            None => return Ok(Start::over(missing_node(verified, *id))),
        }
    }
    let Some(last_leaf) = node(db, last).await? else {
        return Ok(Start::over(missing_node(verified, last)));
    };
    let range = CompactRange::from_frontier(verified, hashes)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("the watermark is unusable: {err}")))?;
    if range.root() != root {
        return Ok(Start::over(format!(
            "the stored Merkle tree no longer gives the root verified at size {verified} \
             ({} instead of {root}): verified from the start again",
            range.root()
        )));
    }
    let last_row = ledger_entry::Entity::find_by_id(to_i64(verified - 1))
        .one(db)
        .await?;
    let last_entry = last_row.as_ref().map(StoredEntry::from_row).transpose();
    let Ok(Some(last_entry)) = last_entry else {
        return Ok(Start::over(format!(
            "entry {}, the last one verified before, is missing or unreadable: verified from the start again",
            verified - 1
        )));
    };
    if last_entry.entry.leaf_hash() != last_leaf {
        return Ok(Start::over(format!(
            "entry {}, the last one verified before, no longer matches its stored leaf: \
             verified from the start again",
            verified - 1
        )));
    }
    Ok(Start {
        verifier: ChainVerifier::resume(range, last_leaf, last_entry.entry.timestamp_ms),
        from: verified,
    })
}

/// Stores the watermark of a report that found nothing wrong; never moves it back (another
/// verification may have stored a later one meanwhile).
pub(super) async fn advance(db: &impl ConnectionTrait, report: &Report) -> AppResult<()> {
    let Some(checkpoint) = report.checkpoint.as_ref().filter(|_| report.ok) else {
        return Ok(());
    };
    let size = to_i64(checkpoint.size);
    let root = checkpoint.root.to_hex();
    let now = Utc::now().timestamp_millis();
    let moved = ledger_verified::Entity::update_many()
        .col_expr(ledger_verified::Column::Size, Expr::value(size))
        .col_expr(ledger_verified::Column::RootHash, Expr::value(root.clone()))
        .col_expr(ledger_verified::Column::VerifiedAtMs, Expr::value(now))
        .filter(ledger_verified::Column::Id.eq(1))
        .filter(ledger_verified::Column::Size.lte(size))
        .exec(db)
        .await?;
    if moved.rows_affected == 0 {
        ledger_verified::Entity::insert(ledger_verified::ActiveModel {
            id: Set(1),
            size: Set(size),
            root_hash: Set(root),
            verified_at_ms: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    }
    Ok(())
}

/// A stored Merkle node.
async fn node(db: &impl ConnectionTrait, id: NodeId) -> AppResult<Option<Hash>> {
    let row = merkle_node::Entity::find_by_id((i16::from(id.level), to_i64(id.index)))
        .one(db)
        .await?;
    row.map(|row| parse_hash(&row.hash)).transpose()
}

fn missing_node(verified: u64, id: NodeId) -> String {
    format!(
        "the stored Merkle tree lacks node ({}, {}) of the tree verified at size {verified}: \
         verified from the start again",
        id.level, id.index
    )
}
