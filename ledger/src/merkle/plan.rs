//! Planning inclusion and consistency proofs over a store of perfect nodes.

use super::error::ProofError;
use super::hashing::node_hash;
use super::node::{NodeId, bit_len, range_nodes, range_size};
use crate::hash::Hash;

/// Largest tree size for which proofs are planned (2^62 leaves).
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// How to build a proof from stored perfect nodes: fetch [`ProofPlan::node_ids`] in order,
/// then [`ProofPlan::assemble`] them. At most one proof element is *ephemeral* (a node on
/// the right edge of a non-perfect tree); it is recomputed from the fetched perfect nodes
/// `ids[begin..end]`, which are listed from lower to upper levels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProofPlan {
    ids: Vec<NodeId>,
    begin: usize,
    end: usize,
}

impl ProofPlan {
    /// The perfect nodes to fetch, in the order [`ProofPlan::assemble`] expects.
    pub fn node_ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Turns the fetched node hashes (same order as [`ProofPlan::node_ids`]) into the RFC
    /// 6962 proof, hashing the ephemeral node's parts together.
    pub fn assemble(&self, fetched: Vec<Hash>) -> Result<Vec<Hash>, ProofError> {
        if fetched.len() != self.ids.len() {
            return Err(ProofError::WrongNodeCount {
                got: fetched.len(),
                want: self.ids.len(),
            });
        }
        if self.end <= self.begin + 1 {
            return Ok(fetched);
        }
        let mut proof = Vec::with_capacity(fetched.len() - (self.end - self.begin - 1));
        proof.extend_from_slice(&fetched[..self.begin]);
        let mut hash = fetched[self.begin];
        for upper in &fetched[self.begin + 1..self.end] {
            hash = node_hash(upper, &hash);
        }
        proof.push(hash);
        proof.extend_from_slice(&fetched[self.end..]);
        Ok(proof)
    }

    /// Fetches every node through `get` and assembles the proof.
    pub fn build(
        &self,
        mut get: impl FnMut(NodeId) -> Option<Hash>,
    ) -> Result<Vec<Hash>, ProofError> {
        let fetched = self
            .ids
            .iter()
            .map(|&id| {
                get(id).ok_or(ProofError::MissingNode {
                    level: id.level,
                    index: id.index,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.assemble(fetched)
    }

    fn skip_first(mut self) -> Self {
        if !self.ids.is_empty() {
            self.ids.remove(0);
        }
        if self.begin < self.end {
            self.begin -= 1;
            self.end -= 1;
        }
        self
    }
}

/// Plans the inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    check_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(nodes(index, 0, size).skip_first())
}

/// Plans the consistency proof from the tree of `size1` leaves to the tree of `size2`
/// leaves (requires `0 < size1 <= size2`).
pub fn consistency_plan(size1: u64, size2: u64) -> Result<ProofPlan, ProofError> {
    check_size(size2)?;
    if size1 > size2 {
        return Err(ProofError::SizesDecreasing { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyTreeConsistency);
    }
    if size1 == size2 {
        return Ok(ProofPlan::default());
    }
    // The biggest perfect subtree of [0, size1) ending at size1.
    let level = size1.trailing_zeros();
    let index = (size1 - 1) >> level;
    let plan = nodes(index, level, size2);
    // If size1 is a power of two, that subtree is the old root, which the client knows.
    if size1.is_power_of_two() {
        Ok(plan.skip_first())
    } else {
        Ok(plan)
    }
}

fn check_size(size: u64) -> Result<(), ProofError> {
    if size > MAX_TREE_SIZE {
        return Err(ProofError::TreeTooLarge(size));
    }
    Ok(())
}

/// Nodes proving that node (`level`, `index`) is in the tree of `size` leaves, starting
/// with that node itself. Requires `index < ceil(size / 2^level)` and `size <= 2^62`.
fn nodes(index: u64, level: u32, size: u64) -> ProofPlan {
    // The fork node is where the path to (level, index) leaves the path to leaf `size`;
    // its sibling is the ephemeral node.
    let inner = bit_len(index ^ (size >> level)).saturating_sub(1);
    let fork = NodeId::new((level + inner) as u8, index >> inner);
    let fork_level = u32::from(fork.level);
    let begin = fork.index << fork_level;
    let end = begin + (1u64 << fork_level);
    let left = range_size(0, begin);
    let right = range_size(end, size);

    let mut node = NodeId::new(level as u8, index);
    let mut ids = Vec::with_capacity(1 + inner as usize + right + left);
    ids.push(node);
    while node.level < fork.level {
        ids.push(node.sibling());
        node = node.parent();
    }
    let len1 = ids.len();
    range_nodes(end, size, &mut ids);
    ids[len1..].reverse();
    let len2 = ids.len();
    range_nodes(0, begin, &mut ids);
    ids[len2..].reverse();

    let (begin, end) = if len1 >= len2 { (0, 0) } else { (len1, len2) };
    ProofPlan { ids, begin, end }
}
