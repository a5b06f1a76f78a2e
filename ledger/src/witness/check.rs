//! The witness's decision on an add-checkpoint request, with the spec's status codes.

use super::request::AddCheckpointRequest;
use crate::checkpoint::note;
use crate::checkpoint::{CheckpointError, TreeHead, Verifier};
use crate::hash::Hash;
use crate::merkle::{ProofError, empty_root, verify_consistency};

/// The latest checkpoint a witness cosigned for a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CosignedHead {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
}

/// Why a witness refuses to cosign, each with the HTTP status C2SP `tlog-witness` requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// 400: the body, the note or the checkpoint is malformed, or the old size exceeds the
    /// checkpoint's size.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: the witness does not know this origin.
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// 403: no valid signature by the log's key.
    #[error("checkpoint not signed by the log: {0}")]
    Forbidden(CheckpointError),
    /// 409: the old size is not the size the witness last cosigned.
    #[error("old size does not match the latest cosigned size {known_size}")]
    Conflict {
        /// The size the witness last cosigned (0 if none).
        known_size: u64,
    },
    /// 422: the request is invalid but proves nothing against the log (an empty tree with
    /// another root, a proof from the empty tree, a proof of the wrong length).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 409 and evidence: the log signed another root for the size the witness cosigned (a
    /// fork, or a split view). The body names the known size, as for [`Rejection::Conflict`].
    #[error("forked from the cosigned checkpoint: {reason}")]
    Forked {
        /// The size the witness cosigned, which is also the presented size.
        known_size: u64,
        /// What differs.
        reason: String,
    },
    /// 422 and evidence: the log signed a checkpoint whose consistency proof, of the right
    /// shape, does not lead from the cosigned root to the new one.
    #[error("inconsistent with the cosigned checkpoint: {0}")]
    Inconsistent(String),
}

impl Rejection {
    /// The HTTP status code of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::BadRequest(_) => 400,
            Rejection::Forbidden(_) => 403,
            Rejection::UnknownLog(_) => 404,
            Rejection::Conflict { .. } | Rejection::Forked { .. } => 409,
            Rejection::Unprocessable(_) | Rejection::Inconsistent(_) => 422,
        }
    }

    /// The size to send back in a 409 body (`Content-Type: text/x.tlog.size`).
    pub fn known_size(&self) -> Option<u64> {
        match self {
            Rejection::Conflict { known_size } | Rejection::Forked { known_size, .. } => {
                Some(*known_size)
            }
            _ => None,
        }
    }

    /// What the log contradicted, when this refusal is evidence against it (the log signed
    /// a checkpoint incompatible with one the witness cosigned); `None` otherwise.
    pub fn contradiction(&self) -> Option<&str> {
        match self {
            Rejection::Forked { reason, .. } | Rejection::Inconsistent(reason) => Some(reason),
            _ => None,
        }
    }
}

/// The origin line of the request's checkpoint, read before any signature is checked, so
/// the witness can find the log's key (and answer 404 for an unknown log).
pub fn claimed_origin(request: &AddCheckpointRequest) -> Result<String, Rejection> {
    let parsed =
        note::parse(&request.checkpoint).map_err(|e| Rejection::BadRequest(e.to_string()))?;
    let head = TreeHead::parse(parsed.text).map_err(|e| Rejection::BadRequest(e.to_string()))?;
    Ok(head.origin)
}

/// Checks an add-checkpoint request against the log's key and the latest checkpoint the
/// witness cosigned for it (`None` if it never did), in the order C2SP `tlog-witness` gives:
/// signature (403), old size above the size (400), old size mismatch (409), empty tree root
/// and proof from size zero (422), equal sizes with another root (409), consistency proof
/// (422). On success
/// returns the checkpoint's tree head, to store and cosign.
pub fn check_add_checkpoint(
    request: &AddCheckpointRequest,
    log: &Verifier,
    latest: Option<CosignedHead>,
) -> Result<TreeHead, Rejection> {
    let text = log.verify_note(&request.checkpoint).map_err(|e| match e {
        CheckpointError::MalformedNote(_) => Rejection::BadRequest(e.to_string()),
        e => Rejection::Forbidden(e),
    })?;
    let head = TreeHead::parse(text).map_err(|e| Rejection::BadRequest(e.to_string()))?;
    let old = request.old_size;
    if old > head.size {
        return Err(Rejection::BadRequest(format!(
            "old size {old} exceeds checkpoint size {}",
            head.size
        )));
    }
    let known_size = latest.map_or(0, |l| l.size);
    if old != known_size {
        return Err(Rejection::Conflict { known_size });
    }
    if head.size == 0 && head.root != empty_root() {
        return Err(Rejection::Unprocessable(
            "an empty tree must have the root of the empty tree".into(),
        ));
    }
    let proof = &request.consistency_proof;
    let Some(latest) = latest.filter(|_| old > 0) else {
        if !proof.is_empty() {
            return Err(Rejection::Unprocessable(
                "a proof from size zero must be empty".into(),
            ));
        }
        return Ok(head);
    };
    if old == head.size {
        if !proof.is_empty() {
            return Err(Rejection::Unprocessable(
                "a proof between equal sizes must be empty".into(),
            ));
        }
        if head.root != latest.root {
            return Err(Rejection::Forked {
                known_size: old,
                reason: format!(
                    "size {old} was cosigned with root {}, now {}",
                    latest.root, head.root
                ),
            });
        }
        return Ok(head);
    }
    match verify_consistency(old, head.size, proof, &latest.root, &head.root) {
        Ok(()) => Ok(head),
        // Hashes that do not lead from the cosigned root to the signed one: the log cannot
        // prove that its new checkpoint extends the one cosigned.
        Err(e @ ProofError::RootMismatch { .. }) => Err(Rejection::Inconsistent(format!(
            "no valid consistency proof from size {old}: {e}"
        ))),
        // A proof of the wrong shape proves nothing either way.
        Err(e) => Err(Rejection::Unprocessable(e.to_string())),
    }
}
