//! The stored ledger served as C2SP `tlog-tiles` (see [`ledger::tiles`]): the latest signed
//! checkpoint, hash tiles from `merkle_nodes`, entry bundles from `ledger_entries` and
//! payload bundles from `ledger_payloads`.
//!
//! What is public: the checkpoint and the hash tiles. A checkpoint is meant to be handed
//! around (receipts carry it), and hash tiles are SHA-256 values that reveal nothing but the
//! tree's size, which the checkpoint already states; they are what any client needs to check
//! proofs. Entries are not public: their kinds, times, actors and subjects show who runs which
//! trial and how fast it recruits, which is why `ledgerEntries` and the export redact them for
//! readers of other trials. Entry bundles therefore follow the export's rule
//! ([`Visibility`]): only ethics boards and admins get them, with every entry they may not
//! read in full as a redacted item (its leaf hash). Payload bundles follow the same rule,
//! with the payloads of other entries withheld.
//!
//! Every tile is cut at the latest checkpoint's size, so what is served always hashes up to
//! a signed root.

use ledger::Hash;
use ledger::tiles::bundle::{BundleItem, encode_bundle};
use ledger::tiles::payloads::{PayloadItem, encode_payloads};
use ledger::tiles::{TileKind, TilePath, encode_hash_tile, tile_nodes};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::LedgerKeys;
use super::append::{parse_hash, to_i64};
use super::cosign_store::head_with_cosignatures;
use super::read::StoredEntry;
use super::visibility::Visibility;
use crate::entities::{checkpoint, ledger_entry, ledger_payload, merkle_node};
use crate::error::{AppError, AppResult};

/// The latest signed checkpoint (a signed note) with the witnesses' cosignatures collected
/// so far, or a fresh one of the empty tree.
pub async fn checkpoint_note(db: &impl ConnectionTrait, keys: &LedgerKeys) -> AppResult<String> {
    Ok(match head_with_cosignatures(db, keys).await? {
        Some(cosigned) => cosigned.head.note,
        None => keys.sign_empty()?.note,
    })
}

/// Parses a tile path relative to the log's prefix (e.g. `tile/0/000.p/5`).
pub fn parse_path(path: &str) -> AppResult<TilePath> {
    TilePath::parse(path).map_err(|err| AppError::bad_input(err.to_string()))
}

/// Whether `tile` is an entry or payload bundle, which only a reader may fetch.
pub fn needs_reader(tile: &TilePath) -> bool {
    !matches!(tile.kind, TileKind::Hash { .. })
}

/// The bytes of `tile`. Bundles are cut to what `visibility` shows; without a reader's
/// visibility they are refused.
pub async fn tile(
    db: &impl ConnectionTrait,
    tile: &TilePath,
    visibility: Option<&Visibility>,
) -> AppResult<Vec<u8>> {
    let size = checkpoint_size(db).await?;
    if !needs_reader(tile) {
        return hash_tile(db, tile, size).await;
    }
    let visibility = visibility.ok_or_else(|| {
        AppError::Unauthenticated("entry and payload bundles need a token".into())
    })?;
    bundle(db, tile, size, visibility).await
}

async fn checkpoint_size(db: &impl ConnectionTrait) -> AppResult<u64> {
    let latest = checkpoint::Entity::find()
        .order_by_desc(checkpoint::Column::Size)
        .one(db)
        .await?;
    Ok(latest.map_or(0, |cp| u64::try_from(cp.size).unwrap_or(0)))
}

fn not_found(tile: &TilePath, size: u64) -> AppError {
    AppError::NotFound(format!("{tile} is not in the tree of {size} entries"))
}

/// `rows`, which must be all `tile.width` of the tile's `what` (the tile is inside the
/// signed tree, so a missing row means the database lost it).
fn all_stored<T>(tile: &TilePath, rows: Vec<T>, what: &str) -> AppResult<Vec<T>> {
    if rows.len() as u64 != tile.width {
        return Err(AppError::Internal(anyhow::anyhow!(
            "{tile}: {} of its {} {what} are stored",
            rows.len(),
            tile.width
        )));
    }
    Ok(rows)
}

async fn hash_tile(db: &impl ConnectionTrait, tile: &TilePath, size: u64) -> AppResult<Vec<u8>> {
    let (level, range) = tile_nodes(tile, size).ok_or_else(|| not_found(tile, size))?;
    let rows = merkle_node::Entity::find()
        .filter(merkle_node::Column::Level.eq(i16::from(level)))
        .filter(merkle_node::Column::Idx.gte(to_i64(range.start)))
        .filter(merkle_node::Column::Idx.lt(to_i64(range.end)))
        .order_by_asc(merkle_node::Column::Idx)
        .all(db)
        .await?;
    let hashes = all_stored(tile, rows, "tree nodes")?
        .iter()
        .map(|row| parse_hash(&row.hash))
        .collect::<AppResult<Vec<Hash>>>()?;
    Ok(encode_hash_tile(&hashes))
}

async fn bundle(
    db: &impl ConnectionTrait,
    tile: &TilePath,
    size: u64,
    visibility: &Visibility,
) -> AppResult<Vec<u8>> {
    let start = tile.first_item();
    let end = start.saturating_add(tile.width);
    if end > size {
        return Err(not_found(tile, size));
    }
    let rows = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Seq.gte(to_i64(start)))
        .filter(ledger_entry::Column::Seq.lt(to_i64(end)))
        .order_by_asc(ledger_entry::Column::Seq)
        .limit(tile.width)
        .all(db)
        .await?;
    let entries = all_stored(tile, rows, "entries")?
        .iter()
        .map(StoredEntry::from_row)
        .collect::<AppResult<Vec<_>>>()?;
    let internal =
        |err: ledger::tiles::DecodeError| AppError::Internal(anyhow::anyhow!("{tile}: {err}"));
    if tile.kind == TileKind::Entries {
        let items = entries.iter().map(|stored| {
            if visibility.shows(&stored.entry) {
                stored.entry.canonical_bytes()
            } else {
                BundleItem::redacted_bytes(&stored.leaf_hash)
            }
        });
        return encode_bundle(items).map_err(internal);
    }
    let payloads = ledger_payload::Entity::find()
        .filter(ledger_payload::Column::Seq.gte(to_i64(start)))
        .filter(ledger_payload::Column::Seq.lt(to_i64(end)))
        .order_by_asc(ledger_payload::Column::Seq)
        .all(db)
        .await?;
    let mut payloads = payloads.into_iter().peekable();
    let mut items = Vec::with_capacity(entries.len());
    for stored in &entries {
        let seq = to_i64(stored.entry.seq);
        let row = payloads.next_if(|row| row.seq == seq);
        // A payload row deleted without an erasure record is withheld, never passed off as
        // erased: `verify` reports it on the log, and a restore from this copy refuses it.
        items.push(match row {
            Some(row) if visibility.shows(&stored.entry) => match (row.erased, row.body) {
                (true, _) => PayloadItem::Erased,
                (false, Some(body)) => PayloadItem::Body(body.into_bytes()),
                (false, None) => PayloadItem::Withheld,
            },
            _ => PayloadItem::Withheld,
        });
    }
    encode_payloads(&items).map_err(internal)
}
