//! RFC 6962 / RFC 9162 Merkle tree: hashing, compact ranges, proof planning, an in-memory
//! tree and proof verification.
//!
//! The design follows transparency-dev/merkle: perfect subtrees are addressed by [`NodeId`],
//! a store keeps only perfect nodes, and proofs are planned as a list of perfect nodes to
//! fetch ([`ProofPlan::node_ids`]) followed by a rehash of the ephemeral right-edge nodes
//! ([`ProofPlan::assemble`]).

mod compact;
mod error;
mod hashing;
mod memory;
mod node;
mod plan;
mod verify;

pub use compact::CompactRange;
pub use error::ProofError;
pub use hashing::{LEAF_PREFIX, NODE_PREFIX, empty_root, leaf_hash, node_hash};
pub use memory::MemoryTree;
pub use node::NodeId;
pub use plan::{MAX_TREE_SIZE, ProofPlan, consistency_plan, inclusion_plan};
pub use verify::{
    root_from_consistency_proof, root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
