//! Serving and mirroring the log as C2SP `tlog-tiles`: tile paths, hash tiles, entry
//! bundles, and a client-side checker that rebuilds the tree from fetched entries.
//!
//! # Layout (C2SP tlog-tiles, <https://c2sp.org/tlog-tiles>)
//!
//! * `tile/<L>/<N>[.p/<W>]`: a *hash tile*: the hashes of the tree nodes at level `8 × L`
//!   (leaves are level 0) with indexes `256 × N .. 256 × N + W`, concatenated (32 bytes
//!   each). A full tile has `W = 256` and no `.p/` suffix; a partial one (the right edge of
//!   the tree) has `1 <= W < 256`. `N` is written in groups of three digits, every group but
//!   the last prefixed by `x` (`1234067` → `x001/x234/067`). See [`TilePath`].
//! * `tile/entries/<N>[.p/<W>]`: an *entry bundle*: entries `256 × N .. 256 × N + W`, each
//!   as a big-endian `u16` length and then its bytes. Our entry bytes are the canonical
//!   entry encoding of the crate docs, whose RFC 6962 leaf hash is the tree's leaf, so a
//!   client recomputes every leaf from the bundle. A reader who may not see an entry gets a
//!   *redacted item* instead: the 4 ASCII bytes `VTLR` and the entry's 32-byte leaf hash
//!   (canonical entries begin with `VTLE`, so the two never mix). See [`bundle`].
//!
//! Veritrial adds one resource beside them, for mirrors allowed to read payloads:
//! `payloads/<N>[.p/<W>]`, the payloads of the same entries (see [`payloads`]).
//!
//! # Why not a published crate
//!
//! The tiles crate published from cloudflare/azul (`tlog_tiles` 0.2) implements Go's older
//! `sumdb/tlog` layout (`tile/<H>/<L>/<N>`, `tile/<H>/data/<N>`), not the C2SP paths with
//! entry bundles, and brings `sha2` and `url` where this crate hashes with `ring`. The codec
//! is small, so it is written here and tested against [`MemoryTree`](crate::merkle::MemoryTree).

pub mod bundle;
mod check;
mod decode;
mod hash_tile;
mod path;
pub mod payloads;

pub use check::{MirrorChecker, MirrorError, VerifiedEntry};
pub use decode::DecodeError;
pub use hash_tile::{encode_hash_tile, parse_hash_tile, tile_nodes};
pub use path::{TileKind, TilePath, TilePathError};

/// Levels of the tree per tile level (tiles are 2^8 = 256 nodes wide).
pub const TILE_HEIGHT: u8 = 8;

/// Nodes (or entries) in a full tile or bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The width of the tile `index` of a level that has `count` nodes (or entries): 256 for a
/// full tile, less at the right edge, 0 when the tile does not exist yet.
pub fn tile_width(count: u64, index: u64) -> u64 {
    count
        .saturating_sub(index.saturating_mul(TILE_WIDTH))
        .min(TILE_WIDTH)
}

/// Number of complete nodes at tree level `level` in a tree of `size` leaves.
pub fn nodes_at_level(size: u64, level: u32) -> u64 {
    size.checked_shr(level).unwrap_or(0)
}
