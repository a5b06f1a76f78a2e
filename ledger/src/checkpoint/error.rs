//! Errors of checkpoint signing, parsing and verification.

/// Why a checkpoint could not be signed, parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note text is not a well-formed signed note.
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    /// The note body is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// The verifier key string is not well formed.
    #[error("malformed verifier key: {0}")]
    MalformedKey(String),
    /// A key name or origin is empty or contains forbidden characters.
    #[error("invalid name {0:?}")]
    InvalidName(String),
    /// The note carries no signature by the verifier's key.
    #[error("checkpoint is not signed by key {0}")]
    UnknownKey(String),
    /// A signature by the verifier's key does not verify.
    #[error("checkpoint signature by key {0} is invalid")]
    BadSignature(String),
    /// The PKCS#8 document is not a valid Ed25519 key.
    #[error("invalid Ed25519 PKCS#8 key: {0}")]
    InvalidPrivateKey(String),
    /// The system random number generator failed.
    #[error("random number generator failure")]
    Rng,
}
