//! Streaming verification of a sequence of entries against a signed checkpoint.

use super::report::{Problem, Report};
use crate::checkpoint::{CheckpointError, Verifier};
use crate::entry::Entry;
use crate::hash::Hash;
use crate::merkle::CompactRange;

/// Problems kept in a report; further ones are only counted.
const MAX_PROBLEMS: usize = 1000;

/// What the verifier remembers of the previous entry.
#[derive(Debug, Clone)]
struct Previous {
    seq: u64,
    leaf: Hash,
    recorded_leaf: Option<Hash>,
    leaf_mismatch: bool,
}

/// Verifies entries one at a time, in the order they are stored: sequence numbers, recorded
/// leaf hashes, hash-chain links and the Merkle root, then the signed checkpoint in
/// [`ChainVerifier::finish`]. Memory use is O(log n).
#[derive(Debug, Clone, Default)]
pub struct ChainVerifier {
    tree: CompactRange,
    expected_seq: u64,
    previous: Option<Previous>,
    problems: Vec<Problem>,
    omitted: u64,
    first_bad_seq: Option<u64>,
    redacted: u64,
}

impl ChainVerifier {
    /// A verifier expecting entry 0 first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries pushed so far.
    pub fn entries_checked(&self) -> u64 {
        self.tree.size()
    }

    /// The sequence number the next entry should have.
    pub fn expected_seq(&self) -> u64 {
        self.expected_seq
    }

    /// Merkle root of the entries pushed so far (over their recomputed leaf hashes).
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Checks the next entry and adds it to the tree. `recorded_leaf_hash` is the leaf hash
    /// stored alongside the entry, if any. Returns the recomputed leaf hash.
    pub fn push(&mut self, entry: &Entry, recorded_leaf_hash: Option<Hash>) -> Hash {
        let seq = entry.seq;
        let leaf = entry.leaf_hash();
        let in_sequence = self.check_sequence(seq);

        let leaf_mismatch = recorded_leaf_hash.is_some_and(|recorded| recorded != leaf);
        if let Some(recorded) = recorded_leaf_hash.filter(|_| leaf_mismatch) {
            self.add_problem(
                seq,
                format!(
                    "entry {seq}: contents do not match its recorded leaf hash \
                     (recomputed {leaf}, recorded {recorded})"
                ),
            );
        }
        if in_sequence {
            self.check_link(seq, entry.prev_hash);
        }

        self.tree.append_with(leaf, |_, _| {});
        self.previous = Some(Previous {
            seq,
            leaf,
            recorded_leaf: recorded_leaf_hash,
            leaf_mismatch,
        });
        leaf
    }

    /// Adds a redacted entry: only its sequence number, its `prev_hash` as claimed and its
    /// recorded leaf hash are known. The leaf goes into the tree as recorded (so the
    /// checkpoint's root still binds it) and the chain links on both sides are checked, but
    /// the entry's contents cannot be, and it is counted in [`Report::entries_redacted`].
    ///
    /// [`Report::entries_redacted`]: super::Report::entries_redacted
    pub fn push_redacted(&mut self, seq: u64, prev_hash: Option<Hash>, leaf: Hash) {
        if self.check_sequence(seq) {
            self.check_link(seq, prev_hash);
        }
        self.tree.append_with(leaf, |_, _| {});
        self.redacted += 1;
        self.previous = Some(Previous {
            seq,
            leaf,
            recorded_leaf: Some(leaf),
            leaf_mismatch: false,
        });
    }

    /// Number of redacted entries pushed so far.
    pub fn entries_redacted(&self) -> u64 {
        self.redacted
    }

    /// Records a problem found by the caller (e.g. a stored payload that no longer matches
    /// its entry's payload hash). `seq` may be a sequence number or `None`.
    pub fn add_problem(&mut self, seq: impl Into<Option<u64>>, message: impl Into<String>) {
        let seq = seq.into();
        if let Some(s) = seq {
            self.first_bad_seq = Some(self.first_bad_seq.map_or(s, |f| f.min(s)));
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                seq,
                message: message.into(),
            });
        } else {
            self.omitted += 1;
        }
    }

    /// Finishes with the signed checkpoint `note` and the `public_key` that is said to sign it.
    /// With a `trusted_key`, the note must be signed by that key (and a different
    /// `public_key` is itself a problem); without one, `public_key` is used as is.
    /// The checkpoint must cover exactly the entries pushed and have their Merkle root.
    pub fn finish(mut self, note: &str, public_key: &str, trusted_key: Option<&str>) -> Report {
        let key = match trusted_key {
            Some(trusted) => {
                if !same_key(trusted, public_key) {
                    self.add_problem(
                        None,
                        format!(
                            "the public key given with the checkpoint ({}) is not the trusted key ({})",
                            public_key.trim(),
                            trusted.trim()
                        ),
                    );
                }
                trusted
            }
            None => public_key,
        };
        let checkpoint = match Verifier::from_key_string(key) {
            Err(e) => {
                self.add_problem(None, format!("the public key cannot be used: {e}"));
                None
            }
            Ok(verifier) => match verifier.open(note) {
                Ok(cp) => Some(cp),
                Err(e) => {
                    self.add_problem(None, describe_checkpoint_error(&e));
                    None
                }
            },
        };
        if let Some(cp) = &checkpoint {
            self.check_checkpoint(cp.size, cp.root);
        }
        self.into_report(checkpoint)
    }

    /// Finishes without a checkpoint (only the entries themselves are checked).
    pub fn finish_without_checkpoint(self) -> Report {
        self.into_report(None)
    }

    fn into_report(mut self, checkpoint: Option<crate::checkpoint::Checkpoint>) -> Report {
        if self.omitted > 0 {
            self.problems.push(Problem {
                seq: None,
                message: format!("{} further problems not listed", self.omitted),
            });
        }
        Report {
            ok: self.problems.is_empty(),
            entries_checked: self.tree.size(),
            entries_redacted: self.redacted,
            first_bad_seq: self.first_bad_seq,
            problems: self.problems,
            checkpoint,
        }
    }

    /// Checks `seq` against the expected sequence number; returns whether it matched.
    fn check_sequence(&mut self, seq: u64) -> bool {
        let expected = self.expected_seq;
        if seq == expected {
            self.expected_seq = seq.saturating_add(1);
            return true;
        }
        let after = match &self.previous {
            Some(p) => format!("entry {} is followed by entry {seq}", p.seq),
            None => format!("the first entry is entry {seq}"),
        };
        if seq > expected {
            let message = if seq - expected == 1 {
                format!("entry {expected} is missing ({after})")
            } else {
                format!("entries {expected} to {} are missing ({after})", seq - 1)
            };
            self.add_problem(expected, message);
            self.expected_seq = seq.saturating_add(1);
        } else {
            self.add_problem(
                seq,
                format!("entry {seq} is out of order or duplicated ({after})"),
            );
        }
        false
    }

    /// Checks entry `seq`'s `prev_hash` against the previous entry's leaf hash.
    fn check_link(&mut self, seq: u64, prev_hash: Option<Hash>) {
        match (&self.previous, prev_hash) {
            (None, None) => {}
            (None, Some(_)) => self.add_problem(
                seq,
                format!("entry {seq}: the first entry must not have a prev_hash"),
            ),
            (Some(p), None) => {
                let prev = p.seq;
                self.add_problem(
                    seq,
                    format!(
                        "entry {seq}: prev_hash is missing (it must be the hash of entry {prev})"
                    ),
                );
            }
            (Some(p), Some(link)) => {
                // If the previous entry was already reported as altered, a link to its
                // recorded hash is consistent with the record and not reported again.
                let to_recorded = p.leaf_mismatch && p.recorded_leaf == Some(link);
                if link != p.leaf && !to_recorded {
                    let prev = p.seq;
                    self.add_problem(
                        seq,
                        format!("entry {seq}: prev_hash does not match the hash of entry {prev}"),
                    );
                }
            }
        }
    }

    /// Compares the verified checkpoint with the entries seen.
    fn check_checkpoint(&mut self, size: u64, root: Hash) {
        let count = self.tree.size();
        if size > count {
            self.add_problem(
                count,
                format!(
                    "the checkpoint covers {size} entries but only {count} are present \
                     (entries from {count} on are missing)"
                ),
            );
        } else if size < count {
            self.add_problem(
                size,
                format!(
                    "the checkpoint covers only {size} entries but {count} are present \
                     (entries from {size} on are not covered by the signed checkpoint)"
                ),
            );
        } else {
            let computed = self.tree.root();
            if computed != root {
                self.add_problem(
                    None,
                    format!(
                        "the Merkle root of the {count} entries ({computed}) does not match \
                         the checkpoint root ({root})"
                    ),
                );
            }
        }
    }
}

/// Whether two verifier key strings denote the same key.
fn same_key(a: &str, b: &str) -> bool {
    match (Verifier::from_key_string(a), Verifier::from_key_string(b)) {
        (Ok(a), Ok(b)) => a.key_string() == b.key_string(),
        _ => a.trim() == b.trim(),
    }
}

fn describe_checkpoint_error(e: &CheckpointError) -> String {
    match e {
        CheckpointError::UnknownKey(name) => {
            format!("the checkpoint is not signed by the key {name}")
        }
        CheckpointError::BadSignature(name) => format!(
            "the checkpoint signature by {name} is invalid (the checkpoint was altered or forged)"
        ),
        other => format!("the checkpoint cannot be read: {other}"),
    }
}
