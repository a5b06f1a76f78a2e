//! Verification reports.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The sequence number of the entry concerned, if the problem concerns one.
    pub seq: Option<u64>,
    /// A human-readable sentence, e.g. `entry 41: prev_hash does not match the hash of entry 40`.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The outcome of verifying a ledger (an export, or entries read from a database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// True when nothing is wrong.
    pub ok: bool,
    /// Number of entries examined, redacted ones included.
    pub entries_checked: u64,
    /// How many of them were redacted: only their place in the chain and the tree was
    /// checked, not their contents.
    #[serde(default)]
    pub entries_redacted: u64,
    /// Lowest sequence number named by any problem.
    pub first_bad_seq: Option<u64>,
    /// Everything found wrong, in the order found (at most 1000, then a summary line).
    pub problems: Vec<Problem>,
    /// The checkpoint, when its signature verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// Entries `[0, resumed_at)` were verified earlier and taken as given (incremental
    /// verification from a watermark); 0 when everything was checked.
    #[serde(default)]
    pub resumed_at: u64,
}

impl Report {
    /// Entries whose contents were checked (not redacted).
    pub fn entries_fully_checked(&self) -> u64 {
        self.entries_checked.saturating_sub(self.entries_redacted)
    }
}
