//! The compact range `[0, size)`: the right frontier of a growing tree.

use super::error::ProofError;
use super::hashing::{empty_root, node_hash};
use super::node::NodeId;
use super::plan::MAX_TREE_SIZE;
use crate::hash::Hash;

/// The perfect subtrees covering leaves `[0, size)` (one per set bit of `size`, largest
/// first). Enough to append leaves and compute the root in O(log n) memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// Hashes of the frontier nodes, ordered by decreasing level (left to right).
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// An empty range (tree size 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Hashes of the frontier nodes, in the order of [`CompactRange::frontier_ids`].
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf hash and returns every perfect node completed by it, starting with
    /// the leaf itself at level 0, then its newly complete ancestors, lowest first.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut out = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.append_with(leaf, |id, hash| out.push((id, hash)));
        out
    }

    /// Appends a leaf hash, calling `visit` for every completed perfect node (as
    /// [`CompactRange::append`] returns them) without allocating.
    pub fn append_with(&mut self, leaf: Hash, mut visit: impl FnMut(NodeId, Hash)) {
        let n = self.size;
        let mut hash = leaf;
        visit(NodeId::leaf(n), hash);
        let mut level = 0u32;
        while n.checked_shr(level).is_some_and(|bits| bits & 1 == 1) {
            // A set bit in `n` means the frontier holds a left sibling at this level.
            let Some(left) = self.hashes.pop() else { break };
            hash = node_hash(&left, &hash);
            level += 1;
            visit(NodeId::new(level as u8, n >> level), hash);
        }
        self.hashes.push(hash);
        self.size = n.saturating_add(1);
    }

    /// The tree root over `[0, size)` (the empty-tree root when size is 0).
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Ids of the frontier nodes of a tree of `size` leaves, largest (leftmost) first.
    pub fn frontier_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(size.count_ones() as usize);
        let mut begin = 0u64;
        for level in (0..64u32).rev() {
            if (size >> level) & 1 == 1 {
                ids.push(NodeId::new(level as u8, begin >> level));
                begin += 1u64 << level;
            }
        }
        ids
    }

    /// Restores a range from the hashes of [`CompactRange::frontier_ids`]`(size)`, in order.
    /// Fails if the number of hashes is wrong or `size` exceeds [`MAX_TREE_SIZE`].
    pub fn from_frontier(size: u64, hashes: Vec<Hash>) -> Result<Self, ProofError> {
        if size > MAX_TREE_SIZE {
            return Err(ProofError::TreeTooLarge(size));
        }
        let want = size.count_ones() as usize;
        if hashes.len() != want {
            return Err(ProofError::WrongNodeCount {
                got: hashes.len(),
                want,
            });
        }
        Ok(CompactRange { size, hashes })
    }
}
