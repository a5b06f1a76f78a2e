//! A complete in-memory Merkle tree that keeps every perfect node.

use super::compact::CompactRange;
use super::error::ProofError;
use super::hashing::{empty_root, node_hash};
use super::node::NodeId;
use super::plan::{consistency_plan, inclusion_plan};
use crate::hash::Hash;

/// An append-only tree holding every perfect node, level by level (`levels[0]` are the
/// leaves). Appending is amortised O(1); roots of any past size and proofs are O(log n).
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree with room for `leaves` leaves.
    pub fn with_capacity(leaves: usize) -> Self {
        MemoryTree {
            levels: vec![Vec::with_capacity(leaves)],
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash, completing any perfect nodes it closes.
    pub fn append(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut level = 0;
        let mut hash = leaf;
        while self.levels[level].len().is_multiple_of(2) {
            let nodes = &self.levels[level];
            let left = nodes[nodes.len() - 2];
            hash = node_hash(&left, &hash);
            level += 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
        }
    }

    /// The stored hash of a perfect node, if it is complete in the current tree.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or_else(|_| empty_root())
    }

    /// The root of the tree as it was at `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size() {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                size: self.size(),
            });
        }
        let mut root: Option<Hash> = None;
        for id in CompactRange::frontier_ids(size).into_iter().rev() {
            let hash = self.node(id).ok_or(ProofError::MissingNode {
                level: id.level,
                index: id.index,
            })?;
            root = Some(match root {
                None => hash,
                Some(right) => node_hash(&hash, &right),
            });
        }
        Ok(root.unwrap_or_else(empty_root))
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves (`size <= self.size()`).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        inclusion_plan(index, size)?.build(|id| self.node(id))
    }

    /// Consistency proof from size `size1` to size `size2` (`0 < size1 <= size2 <= self.size()`).
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size2)?;
        consistency_plan(size1, size2)?.build(|id| self.node(id))
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                size: self.size(),
            });
        }
        Ok(())
    }
}
