//! Rewriting history as a dishonest operator would, for the tests that must catch it.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use veritrial::entities::{
    checkpoint, checkpoint_cosignature, ledger_entry, ledger_head, ledger_payload, merkle_node,
};
use veritrial::server::open_stores;

use super::TestStore;

/// Cuts the stored ledger back to its first `keep` entries, as an operator who rebuilds
/// history from there would. Nothing may append meanwhile; a serving process reads the
/// rows as they are left.
pub async fn truncate_ledger(store: &TestStore, keep: u64) {
    let stores = open_stores(&store.config()).await.expect("stores");
    let db = &stores.db;
    let keep_i = i64::try_from(keep).expect("size");
    ledger_entry::Entity::delete_many()
        .filter(ledger_entry::Column::Seq.gte(keep_i))
        .exec(db)
        .await
        .expect("entries cut");
    ledger_payload::Entity::delete_many()
        .filter(ledger_payload::Column::Seq.gte(keep_i))
        .exec(db)
        .await
        .expect("payloads cut");
    checkpoint::Entity::delete_many()
        .filter(checkpoint::Column::Size.gt(keep_i))
        .exec(db)
        .await
        .expect("checkpoints cut");
    checkpoint_cosignature::Entity::delete_many()
        .filter(checkpoint_cosignature::Column::CheckpointSize.gt(keep_i))
        .exec(db)
        .await
        .expect("cosignatures cut");
    // A perfect node at (level, idx) covers leaves up to (idx + 1) << level.
    for level in 0..63i16 {
        merkle_node::Entity::delete_many()
            .filter(merkle_node::Column::Level.eq(level))
            .filter(merkle_node::Column::Idx.gte(keep_i >> level))
            .exec(db)
            .await
            .expect("nodes cut");
    }
    let mut frontier = Vec::new();
    for id in ledger::merkle::CompactRange::frontier_ids(keep) {
        let node = merkle_node::Entity::find_by_id((
            i16::from(id.level),
            i64::try_from(id.index).expect("index"),
        ))
        .one(db)
        .await
        .expect("node read")
        .expect("frontier node kept");
        frontier.push(node.hash);
    }
    let last = ledger_entry::Entity::find_by_id(keep_i - 1)
        .one(db)
        .await
        .expect("entry read")
        .expect("last kept entry");
    let head = ledger_head::ActiveModel {
        id: sea_orm::ActiveValue::Set(1),
        size: sea_orm::ActiveValue::Set(keep_i),
        frontier: sea_orm::ActiveValue::Set(serde_json::to_string(&frontier).expect("JSON")),
        last_leaf_hash: sea_orm::ActiveValue::Set(Some(last.leaf_hash)),
        appends: sea_orm::ActiveValue::NotSet,
    };
    ledger_head::Entity::update(head)
        .exec(db)
        .await
        .expect("head moved back");
}
