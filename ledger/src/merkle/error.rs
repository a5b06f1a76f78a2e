//! Errors of proof planning and verification.

use crate::hash::Hash;

/// Why a proof could not be planned, assembled or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is beyond tree size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The second tree of a consistency proof is smaller than the first.
    #[error("tree size {size2} is smaller than tree size {size1}")]
    SizesDecreasing {
        /// The first (older) size.
        size1: u64,
        /// The second (newer) size.
        size2: u64,
    },
    /// Consistency from the empty tree is meaningless (any tree extends it).
    #[error("consistency proof from the empty tree is meaningless")]
    EmptyTreeConsistency,
    /// Equal tree sizes need an empty consistency proof.
    #[error("tree sizes are equal but the proof is not empty")]
    NonEmptyProofForEqualSizes,
    /// A consistency proof between different sizes cannot be empty.
    #[error("consistency proof is empty")]
    EmptyProof,
    /// The proof has the wrong number of hashes.
    #[error("proof has {got} hashes, expected {want}")]
    WrongProofSize {
        /// Hashes given.
        got: usize,
        /// Hashes expected for these parameters.
        want: usize,
    },
    /// The proof does not lead to the expected root.
    #[error("computed root {calculated} does not match expected root {expected}")]
    RootMismatch {
        /// Root computed from the proof.
        calculated: Hash,
        /// Root the caller expected.
        expected: Hash,
    },
    /// A plan was assembled with the wrong number of fetched hashes.
    #[error("got {got} node hashes for a plan that needs {want}")]
    WrongNodeCount {
        /// Hashes given.
        got: usize,
        /// Hashes the plan lists.
        want: usize,
    },
    /// A node the plan needs is not in the store.
    #[error("node at level {level} index {index} is not available")]
    MissingNode {
        /// Level of the missing node.
        level: u8,
        /// Index of the missing node.
        index: u64,
    },
    /// The tree size is larger than this implementation supports ([`super::MAX_TREE_SIZE`]).
    #[error("tree size {0} is too large")]
    TreeTooLarge(u64),
}
