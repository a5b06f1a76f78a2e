//! Errors of cosigning, cosignature verification and the add-checkpoint wire format.

use crate::checkpoint::CheckpointError;

/// Why a cosignature could not be made or verified, or a witness message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// A note, key or checkpoint body is malformed, or the log's signature fails.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The note carries no cosignature line by this cosigner's name and key id.
    #[error("no cosignature by {0}")]
    MissingCosignature(String),
    /// A cosignature line by this cosigner does not verify, or is not 8 + 64 bytes.
    #[error("cosignature by {0} is invalid")]
    BadCosignature(String),
    /// A cosignature timestamp must be in 1 ..= 2^63 - 1 seconds.
    #[error("cosignature timestamp {0} is out of range")]
    TimestampOutOfRange(u64),
    /// Fewer valid cosignatures than the quorum requires.
    #[error("{got} valid cosignatures, {need} required")]
    QuorumNotMet {
        /// Distinct configured witnesses whose cosignature verified.
        got: usize,
        /// The quorum.
        need: usize,
    },
    /// An add-checkpoint request or response body is malformed.
    #[error("malformed witness message: {0}")]
    MalformedMessage(String),
}
