//! RFC 6962 leaf and node hashing.

use crate::hash::Hash;
use ring::digest;

/// Domain-separation prefix of a leaf hash input.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash input.
pub const NODE_PREFIX: u8 = 0x01;

/// Leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[LEAF_PREFIX]);
    ctx.update(data);
    Hash::from_digest(ctx.finish())
}

/// Interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left.as_bytes());
    buf[33..].copy_from_slice(right.as_bytes());
    Hash::sha256(&buf)
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash::sha256(b"")
}
