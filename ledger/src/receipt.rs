//! Inclusion receipts: what a participant keeps to prove, offline, that an entry (e.g. their
//! consent) is in the ledger.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError, Verifier};
use crate::entry::Entry;
use crate::hash::Hash;
use crate::merkle::{ProofError, verify_inclusion};

/// An entry, its inclusion proof, and the signed checkpoint the proof leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The entry being proven.
    pub entry: Entry,
    /// Its leaf index (equal to `entry.seq`).
    pub leaf_index: u64,
    /// The tree size the proof is for (equal to the checkpoint's size).
    pub tree_size: u64,
    /// RFC 6962 inclusion proof, lowest level first (hex strings in JSON).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note; once witnesses have cosigned it, their C2SP
    /// `cosignature/v1` lines follow the log's signature (check them with
    /// [`crate::witness::verify_quorum`]).
    pub checkpoint: String,
    /// The signed-note verifier key of the log.
    pub public_key: String,
}

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt's key is not the trusted key.
    #[error("the receipt's public key is not the trusted key")]
    UntrustedKey,
    /// The checkpoint is malformed or its signature does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The leaf index is not the entry's sequence number.
    #[error("leaf index {leaf_index} is not the entry's sequence number {seq}")]
    IndexMismatch {
        /// The receipt's leaf index.
        leaf_index: u64,
        /// The entry's sequence number.
        seq: u64,
    },
    /// The proof's tree size is not the checkpoint's size.
    #[error("proof is for tree size {tree_size} but the checkpoint has size {checkpoint_size}")]
    SizeMismatch {
        /// The receipt's tree size.
        tree_size: u64,
        /// The checkpoint's size.
        checkpoint_size: u64,
    },
    /// The proof does not show the entry under the checkpoint's root.
    #[error("the entry is not included under the checkpoint root: {0}")]
    NotIncluded(#[from] ProofError),
}

impl Receipt {
    /// Verifies the receipt; see [`verify_receipt`].
    pub fn verify(&self, trusted_key: Option<&str>) -> Result<Checkpoint, ReceiptError> {
        verify_receipt(self, trusted_key)
    }
}

/// Checks the checkpoint signature (against `trusted_key` if given, else the receipt's own
/// key), then that the entry's leaf hash is included at `leaf_index` under the checkpoint's
/// root. Returns the verified checkpoint.
pub fn verify_receipt(
    receipt: &Receipt,
    trusted_key: Option<&str>,
) -> Result<Checkpoint, ReceiptError> {
    let own = Verifier::from_key_string(&receipt.public_key)?;
    let verifier = match trusted_key {
        Some(trusted) => {
            let trusted = Verifier::from_key_string(trusted)?;
            if trusted.key_string() != own.key_string() {
                return Err(ReceiptError::UntrustedKey);
            }
            trusted
        }
        None => own,
    };
    let checkpoint = verifier.open(&receipt.checkpoint)?;
    if receipt.leaf_index != receipt.entry.seq {
        return Err(ReceiptError::IndexMismatch {
            leaf_index: receipt.leaf_index,
            seq: receipt.entry.seq,
        });
    }
    if receipt.tree_size != checkpoint.size {
        return Err(ReceiptError::SizeMismatch {
            tree_size: receipt.tree_size,
            checkpoint_size: checkpoint.size,
        });
    }
    verify_inclusion(
        &receipt.entry.leaf_hash(),
        receipt.leaf_index,
        receipt.tree_size,
        &receipt.proof,
        &checkpoint.root,
    )?;
    Ok(checkpoint)
}
