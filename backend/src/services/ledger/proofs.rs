//! Inclusion and consistency proofs from the stored perfect nodes: O(log n) rows per proof.

use std::collections::HashMap;

use ledger::Hash;
use ledger::merkle::{NodeId, ProofPlan, consistency_plan, inclusion_plan};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::append::{parse_hash, to_i64};
use crate::entities::{ledger_head, merkle_node};
use crate::error::{AppError, AppResult};

/// The RFC 6962 inclusion proof of entry `seq` in the tree of the first `tree_size` entries.
pub async fn inclusion_proof(
    db: &impl ConnectionTrait,
    seq: u64,
    tree_size: u64,
) -> AppResult<Vec<Hash>> {
    check_size(db, tree_size).await?;
    let plan = inclusion_plan(seq, tree_size).map_err(|err| {
        AppError::bad_input(format!(
            "no inclusion proof for entry {seq} in a tree of {tree_size}: {err}"
        ))
    })?;
    fetch_and_assemble(db, &plan).await
}

/// The RFC 6962 consistency proof between the trees of `from_size` and `to_size` entries.
pub async fn consistency_proof(
    db: &impl ConnectionTrait,
    from_size: u64,
    to_size: u64,
) -> AppResult<Vec<Hash>> {
    check_size(db, to_size).await?;
    let plan = consistency_plan(from_size, to_size).map_err(|err| {
        AppError::bad_input(format!(
            "no consistency proof from size {from_size} to {to_size}: {err}"
        ))
    })?;
    fetch_and_assemble(db, &plan).await
}

async fn check_size(db: &impl ConnectionTrait, tree_size: u64) -> AppResult<()> {
    let size = ledger_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .map_or(0, |head| head.size);
    if to_i64(tree_size) > size {
        return Err(AppError::bad_input(format!(
            "the ledger has {size} entries; there is no tree of size {tree_size} yet"
        )));
    }
    Ok(())
}

async fn fetch_and_assemble(db: &impl ConnectionTrait, plan: &ProofPlan) -> AppResult<Vec<Hash>> {
    let ids = plan.node_ids();
    if ids.is_empty() {
        return plan.assemble(Vec::new()).map_err(internal);
    }
    let condition = ids.iter().fold(Condition::any(), |any, id| {
        any.add(
            Condition::all()
                .add(merkle_node::Column::Level.eq(i16::from(id.level)))
                .add(merkle_node::Column::Idx.eq(to_i64(id.index))),
        )
    });
    let rows = merkle_node::Entity::find()
        .filter(condition)
        .all(db)
        .await?;
    let found: HashMap<(i16, i64), String> = rows
        .into_iter()
        .map(|row| ((row.level, row.idx), row.hash))
        .collect();
    let hashes = ids
        .iter()
        .map(|id: &NodeId| {
            let hex = found
                .get(&(i16::from(id.level), to_i64(id.index)))
                .ok_or_else(|| internal(format!("Merkle node {id:?} is missing")))?;
            parse_hash(hex)
        })
        .collect::<AppResult<Vec<_>>>()?;
    plan.assemble(hashes).map_err(internal)
}

fn internal(err: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("assembling a proof failed: {err}"))
}
