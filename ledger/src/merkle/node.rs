//! Addresses of perfect subtrees.

use serde::{Deserialize, Serialize};

/// A perfect subtree: the node at `level` (0 = leaves) and `index` (counted from the left on
/// that level). It covers leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves (0 for a leaf).
    pub level: u8,
    /// Position among the nodes of that level, from 0.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// The leaf node with the given index.
    pub const fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }

    /// The parent node (levels saturate at 255, far above any real tree).
    pub const fn parent(self) -> Self {
        NodeId {
            level: self.level.saturating_add(1),
            index: self.index >> 1,
        }
    }

    /// The other child of this node's parent.
    pub const fn sibling(self) -> Self {
        NodeId {
            level: self.level,
            index: self.index ^ 1,
        }
    }

    /// The leaf range `[begin, end)` covered by this node, or `None` if it exceeds `u64`.
    pub fn coverage(self) -> Option<(u64, u64)> {
        let begin = self.index.checked_shl(u32::from(self.level))?;
        if begin >> self.level != self.index {
            return None;
        }
        let width = 1u64.checked_shl(u32::from(self.level))?;
        Some((begin, begin.checked_add(width)?))
    }
}

/// Bit length of `x` (0 for 0), like Go's `bits.Len64`.
pub(crate) fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Appends the perfect nodes covering leaves `[begin, end)` in left-to-right order.
pub(crate) fn range_nodes(begin: u64, end: u64, out: &mut Vec<NodeId>) {
    let (mut left, mut right) = decompose(begin, end);
    let mut pos = begin;
    // Left border, from lower to upper levels.
    while left != 0 {
        let level = left.trailing_zeros();
        let bit = 1u64 << level;
        out.push(NodeId::new(level as u8, pos >> level));
        pos = pos.wrapping_add(bit);
        left ^= bit;
    }
    // Right border, from upper to lower levels.
    while right != 0 {
        let level = bit_len(right) - 1;
        let bit = 1u64 << level;
        out.push(NodeId::new(level as u8, pos >> level));
        pos = pos.wrapping_add(bit);
        right ^= bit;
    }
}

/// Number of perfect nodes covering leaves `[begin, end)`.
pub(crate) fn range_size(begin: u64, end: u64) -> usize {
    let (left, right) = decompose(begin, end);
    (left.count_ones() + right.count_ones()) as usize
}

/// Splits `[begin, end)` into the bit masks of its left and right borders (requires
/// `begin <= end`).
fn decompose(begin: u64, end: u64) -> (u64, u64) {
    if begin == 0 {
        return (0, end);
    }
    let xbegin = begin - 1;
    let d = bit_len(xbegin ^ end).saturating_sub(1);
    let mask = (1u64 << d) - 1;
    (!xbegin & mask, end & mask)
}
