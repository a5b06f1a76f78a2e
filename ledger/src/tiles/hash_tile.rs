//! Hash tiles: which tree nodes a tile holds, and their bytes.

use std::ops::Range;

use super::decode::DecodeError;
use super::path::{TileKind, TilePath};
use super::{TILE_HEIGHT, nodes_at_level};
use crate::hash::Hash;

/// The tree level and the node indexes that the hash tile `tile` holds, if all of them are
/// complete in a tree of `size` leaves (`None` for a tile that is not a hash tile or that
/// reaches past the tree).
pub fn tile_nodes(tile: &TilePath, size: u64) -> Option<(u8, Range<u64>)> {
    let TileKind::Hash { level } = tile.kind else {
        return None;
    };
    let tree_level = level.checked_mul(TILE_HEIGHT)?;
    let start = tile.first_item();
    let end = start.checked_add(tile.width)?;
    (end <= nodes_at_level(size, u32::from(tree_level))).then_some((tree_level, start..end))
}

/// The bytes of a hash tile: its hashes, concatenated.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes
        .iter()
        .flat_map(|h| h.as_bytes().iter().copied())
        .collect()
}

/// Splits the bytes of a hash tile of width `width` into its hashes.
pub fn parse_hash_tile(bytes: &[u8], width: u64) -> Result<Vec<Hash>, DecodeError> {
    let bad = || DecodeError::BadTileLength {
        width,
        len: bytes.len(),
    };
    let want = usize::try_from(width)
        .ok()
        .and_then(|w| w.checked_mul(Hash::LEN))
        .ok_or_else(bad)?;
    if bytes.len() != want {
        return Err(bad());
    }
    Ok(bytes
        .chunks_exact(Hash::LEN)
        .map(|chunk| {
            let mut raw = [0u8; 32];
            raw.copy_from_slice(chunk);
            Hash::from_bytes(raw)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::merkle::{MemoryTree, NodeId, node_hash};
    use crate::tiles::{TILE_WIDTH, tile_width};

    fn tree(size: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.append(Hash::sha256(&i.to_be_bytes()));
        }
        tree
    }

    /// A hash tile as a log serves it, from the tree's stored nodes.
    fn serve(tree: &MemoryTree, tile: &TilePath) -> Option<Vec<u8>> {
        let (level, range) = tile_nodes(tile, tree.size())?;
        let hashes: Option<Vec<Hash>> = range.map(|i| tree.node(NodeId::new(level, i))).collect();
        Some(encode_hash_tile(&hashes?))
    }

    /// The root of the 256 nodes of a full tile: the node one tile level up.
    fn tile_root(hashes: &[Hash]) -> Hash {
        let mut level = hashes.to_vec();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        level[0]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Every tile of every level that a tree of `size` has is served with the tree's
        /// own nodes, and a full tile's hashes hash up to the node that the next level's
        /// tile holds.
        #[test]
        fn tiles_match_the_memory_tree(size in 0u64..70_000) {
            let tree = tree(size);
            for level in 0..=2u8 {
                let nodes = nodes_at_level(size, u32::from(level) * 8);
                for index in 0..nodes.div_ceil(TILE_WIDTH) {
                    let width = tile_width(nodes, index);
                    let tile = TilePath { kind: TileKind::Hash { level }, index, width };
                    let bytes = serve(&tree, &tile).expect("the tile exists");
                    let hashes = parse_hash_tile(&bytes, width).expect("parses");
                    prop_assert_eq!(hashes.len() as u64, width);
                    if tile.is_full() {
                        let up = tree.node(NodeId::new((level + 1) * 8, index)).expect("complete");
                        prop_assert_eq!(tile_root(&hashes), up);
                    }
                    let wider = TilePath { width: width + 1, ..tile };
                    prop_assert!(width == TILE_WIDTH || tile_nodes(&wider, size).is_none());
                }
            }
        }
    }

    #[test]
    fn refuses_wrong_lengths() {
        assert!(parse_hash_tile(&[0; 64], 2).is_ok());
        assert!(parse_hash_tile(&[0; 63], 2).is_err());
        assert!(parse_hash_tile(&[0; 96], 2).is_err());
    }
}
