//! Verification of RFC 6962 inclusion and consistency proofs (a port of
//! transparency-dev/merkle `proof/verify.go`).

use super::error::ProofError;
use super::hashing::node_hash;
use super::node::bit_len;
use crate::hash::Hash;

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    check_match(calculated, *root)
}

/// The root implied by an inclusion proof of `leaf_hash` at `index` in a tree of `size`.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decomp_incl_proof(index, size);
    let want = inner + border;
    if proof.len() != want {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want,
        });
    }
    let res = chain_inner(*leaf_hash, &proof[..inner], index);
    Ok(chain_border_right(res, &proof[inner..]))
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1`
/// leaves with root `root1`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    let calculated = root_from_consistency_proof(size1, size2, proof, root1)?;
    check_match(calculated, *root2)
}

/// Checks the proof against `root1` and returns the implied root of the tree of `size2`.
pub fn root_from_consistency_proof(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
) -> Result<Hash, ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizesDecreasing { size1, size2 });
    }
    // Checked before equal sizes: consistency with the empty tree proves nothing (this is
    // what the transparency-dev `additional` vectors require).
    if size1 == 0 {
        return Err(ProofError::EmptyTreeConsistency);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyProofForEqualSizes);
        }
        return Ok(*root1);
    }
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }

    let (inner, border) = decomp_incl_proof(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    // shift < inner because size1 < size2.
    let inner = inner.saturating_sub(shift);

    // The proof starts with the root of the subtree of size 2^shift, unless that is root1.
    let (seed, rest) = if size1.is_power_of_two() {
        (*root1, proof)
    } else {
        (proof[0], &proof[1..])
    };
    let want = proof.len() - rest.len() + inner + border;
    if proof.len() != want {
        return Err(ProofError::WrongProofSize {
            got: proof.len(),
            want,
        });
    }

    let mask = (size1 - 1) >> shift;
    let hash1 = chain_inner_right(seed, &rest[..inner], mask);
    let hash1 = chain_border_right(hash1, &rest[inner..]);
    check_match(hash1, *root1)?;

    let hash2 = chain_inner(seed, &rest[..inner], mask);
    Ok(chain_border_right(hash2, &rest[inner..]))
}

fn check_match(calculated: Hash, expected: Hash) -> Result<(), ProofError> {
    if calculated == expected {
        Ok(())
    } else {
        Err(ProofError::RootMismatch {
            calculated,
            expected,
        })
    }
}

/// Splits the proof for leaf `index` in a tree of `size` into the part below the point
/// where the paths to `index` and `size - 1` diverge (inner) and the part above (border).
fn decomp_incl_proof(index: u64, size: u64) -> (usize, usize) {
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 0 {
            seed = node_hash(&seed, h);
        } else {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

fn chain_border_right(mut seed: Hash, proof: &[Hash]) -> Hash {
    for h in proof {
        seed = node_hash(h, &seed);
    }
    seed
}
