//! The witness's mirror tables (`mirror_log`, `mirror_entry`, `mirror_node`): what one
//! catch-up round writes, and what the copy is served from.

use ledger::Hash;
use ledger::merkle::{CompactRange, node_hash};
use ledger::tiles::TILE_HEIGHT;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, sea_query::OnConflict,
};

use crate::entities::{mirror_entry, mirror_log, mirror_node};

/// Rows per multi-row INSERT (far below SQLite's and PostgreSQL's parameter limits).
const INSERT_CHUNK: usize = 1_000;

/// Sequence numbers and indexes fit in i64.
pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The verified state of the mirror of `origin`, if any.
pub async fn held(
    db: &impl ConnectionTrait,
    origin: &str,
) -> anyhow::Result<Option<mirror_log::Model>> {
    Ok(mirror_log::Entity::find_by_id(origin.to_owned())
        .one(db)
        .await?)
}

/// Every mirrored log and its size.
pub async fn sizes(db: &impl ConnectionTrait) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = mirror_log::Entity::find()
        .order_by_asc(mirror_log::Column::Origin)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.origin, row.size)).collect())
}

/// The root of the copy of `origin` at `size` (at most the size held), from the stored
/// leaf hashes and kept nodes: each frontier node at level `L` is folded up from the
/// at most 128 nodes below it at the nearest kept level.
pub async fn root_at(db: &impl ConnectionTrait, origin: &str, size: u64) -> anyhow::Result<Hash> {
    let mut frontier = Vec::new();
    for id in CompactRange::frontier_ids(size) {
        let base = id.level - id.level % TILE_HEIGHT;
        let width = 1u64 << (id.level - base);
        let first = to_i64(id.index * width);
        let last = to_i64((id.index + 1) * width);
        let hashes: Vec<String> = if base == 0 {
            mirror_entry::Entity::find()
                .filter(mirror_entry::Column::Origin.eq(origin))
                .filter(mirror_entry::Column::Seq.gte(first))
                .filter(mirror_entry::Column::Seq.lt(last))
                .order_by_asc(mirror_entry::Column::Seq)
                .all(db)
                .await?
                .into_iter()
                .map(|row| row.leaf_hash)
                .collect()
        } else {
            mirror_node::Entity::find()
                .filter(mirror_node::Column::Origin.eq(origin))
                .filter(mirror_node::Column::Level.eq(i16::from(base)))
                .filter(mirror_node::Column::Idx.gte(first))
                .filter(mirror_node::Column::Idx.lt(last))
                .order_by_asc(mirror_node::Column::Idx)
                .all(db)
                .await?
                .into_iter()
                .map(|row| row.hash)
                .collect()
        };
        anyhow::ensure!(
            hashes.len() as u64 == width,
            "the copy of {origin} lacks nodes under {id:?} (size {size})"
        );
        let mut level = hashes
            .iter()
            .map(|h| Hash::from_hex(h))
            .collect::<Result<Vec<_>, _>>()?;
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
        }
        frontier.extend(level);
    }
    Ok(CompactRange::from_frontier(size, frontier)?.root())
}

/// Whether a tree node is one a hash tile above level 0 serves.
pub(super) fn kept_node(level: u8) -> bool {
    level > 0 && level.is_multiple_of(TILE_HEIGHT)
}

/// Inserts entry and node rows (in chunks).
pub(super) async fn insert(
    txn: &DatabaseTransaction,
    entries: Vec<mirror_entry::ActiveModel>,
    nodes: Vec<mirror_node::ActiveModel>,
) -> anyhow::Result<()> {
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let chunk: Vec<_> = entries.by_ref().take(INSERT_CHUNK).collect();
        mirror_entry::Entity::insert_many(chunk).exec(txn).await?;
    }
    if !nodes.is_empty() {
        mirror_node::Entity::insert_many(nodes).exec(txn).await?;
    }
    Ok(())
}

/// The new verified state of a mirror.
pub(super) struct NewState<'a> {
    pub origin: &'a str,
    pub size: u64,
    pub root: Hash,
    pub frontier: &'a [Hash],
    pub last_leaf: Option<Hash>,
    pub note: &'a str,
}

/// Records the verified state (inserting or replacing the log's row).
pub(super) async fn record(txn: &DatabaseTransaction, state: NewState<'_>) -> anyhow::Result<()> {
    let frontier: Vec<String> = state.frontier.iter().map(Hash::to_hex).collect();
    let row = mirror_log::ActiveModel {
        origin: Set(state.origin.to_owned()),
        size: Set(to_i64(state.size)),
        root_hash: Set(state.root.to_hex()),
        frontier: Set(serde_json::to_string(&frontier)?),
        last_leaf_hash: Set(state.last_leaf.map(|h| h.to_hex())),
        note: Set(state.note.to_owned()),
        updated_ms: Set(chrono::Utc::now().timestamp_millis()),
    };
    mirror_log::Entity::insert(row)
        .on_conflict(
            OnConflict::column(mirror_log::Column::Origin)
                .update_columns([
                    mirror_log::Column::Size,
                    mirror_log::Column::RootHash,
                    mirror_log::Column::Frontier,
                    mirror_log::Column::LastLeafHash,
                    mirror_log::Column::Note,
                    mirror_log::Column::UpdatedMs,
                ])
                .to_owned(),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// Entries `start..end` of `origin`, in order.
pub async fn entries(
    db: &impl ConnectionTrait,
    origin: &str,
    start: u64,
    end: u64,
) -> anyhow::Result<Vec<mirror_entry::Model>> {
    Ok(mirror_entry::Entity::find()
        .filter(mirror_entry::Column::Origin.eq(origin))
        .filter(mirror_entry::Column::Seq.gte(to_i64(start)))
        .filter(mirror_entry::Column::Seq.lt(to_i64(end)))
        .order_by_asc(mirror_entry::Column::Seq)
        .all(db)
        .await?)
}

/// Stored nodes of `origin` at `level`, indexes `start..end`, in order.
pub async fn nodes(
    db: &impl ConnectionTrait,
    origin: &str,
    level: u8,
    start: u64,
    end: u64,
) -> anyhow::Result<Vec<mirror_node::Model>> {
    Ok(mirror_node::Entity::find()
        .filter(mirror_node::Column::Origin.eq(origin))
        .filter(mirror_node::Column::Level.eq(i16::from(level)))
        .filter(mirror_node::Column::Idx.gte(to_i64(start)))
        .filter(mirror_node::Column::Idx.lt(to_i64(end)))
        .order_by_asc(mirror_node::Column::Idx)
        .all(db)
        .await?)
}
