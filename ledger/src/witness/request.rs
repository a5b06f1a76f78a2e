//! The C2SP `tlog-witness` add-checkpoint request body and the 409 response body.

use super::error::WitnessError;
use super::lines::note_body;
use crate::checkpoint::{TreeHead, parse_canonical};
use crate::hash::Hash;

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// `Content-Type` of the 409 Conflict body that tells the client the witness's size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Path of the add-checkpoint call under the witness's submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";

/// An add-checkpoint request: `old <size>\n`, one base64 hash per line, an empty line, then
/// the signed checkpoint note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// Size of the latest checkpoint the client believes the witness cosigned (0 if none).
    pub old_size: u64,
    /// RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub consistency_proof: Vec<Hash>,
    /// The signed checkpoint note (it may carry several signatures).
    pub checkpoint: String,
}

impl AddCheckpointRequest {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.consistency_proof {
            body.push_str(&hash.to_base64());
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    /// Parses a request body strictly: a canonical decimal old size, at most 63 proof lines of
    /// padded base64 of 32 bytes, the empty line, and a well-formed signed note whose text is
    /// a checkpoint (its signatures are checked by [`super::check_add_checkpoint`]).
    pub fn parse(body: &str) -> Result<Self, WitnessError> {
        let bad = |msg: &str| WitnessError::MalformedMessage(msg.to_owned());
        let (header, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        TreeHead::parse(note_body(checkpoint)?)?;
        let mut lines = header.split('\n');
        let old_size = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_canonical::<u64>)
            .ok_or_else(|| bad("first line is not `old <size>`"))?;
        let consistency_proof = lines
            .map(|l| Hash::from_base64(l).map_err(|_| bad("proof line is not a base64 hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if consistency_proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        Ok(AddCheckpointRequest {
            old_size,
            consistency_proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// The body of a 409 Conflict response: the witness's latest cosigned size and a newline.
pub fn size_body(size: u64) -> String {
    format!("{size}\n")
}

/// Parses the body of a 409 Conflict response.
pub fn parse_size_body(body: &str) -> Result<u64, WitnessError> {
    body.strip_suffix('\n')
        .and_then(parse_canonical::<u64>)
        .ok_or_else(|| WitnessError::MalformedMessage("not `<size>\\n`".to_owned()))
}
