//! Streaming verification of a sequence of entries against a signed checkpoint.

use super::erasures::Erasures;
use super::report::{Problem, Report};
use super::signatures::{self, Signable};
use crate::checkpoint::{Checkpoint, CheckpointError, Verifier};
use crate::entry::Entry;
use crate::hash::Hash;
use crate::merkle::CompactRange;
use crate::payload::payload_hash;

/// Problems kept in a report; further ones are only counted.
const MAX_PROBLEMS: usize = 1000;

/// What the verifier remembers of the previous entry.
#[derive(Debug, Clone)]
struct Previous {
    seq: u64,
    leaf: Hash,
    recorded_leaf: Option<Hash>,
    leaf_mismatch: bool,
    /// Its payload hash, when its contents were seen (not redacted, not resumed from).
    payload_hash: Option<Hash>,
}

/// What is known of an entry's payload, for [`ChainVerifier::check_payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadEvidence<'a> {
    /// The payload's bytes (canonical JSON): they must hash to the entry's payload hash.
    Bytes(&'a [u8]),
    /// The payload was erased: a later `payload.erased` entry must name the entry.
    Erased,
    /// The payload is gone without being marked erased.
    Missing,
}

/// Verifies entries one at a time, in the order they are stored: sequence numbers, recorded
/// leaf hashes, hash-chain links, timestamps that never go backwards and the Merkle root,
/// electronic signatures bound to the entry they sign, payloads and their erasures when given, signed checkpoints along the way
/// ([`ChainVerifier::check_checkpoint`]), then the latest signed checkpoint in
/// [`ChainVerifier::finish`]. Memory use is O(log n) plus the erased payloads not yet
/// accounted for.
#[derive(Debug, Clone, Default)]
pub struct ChainVerifier {
    tree: CompactRange,
    expected_seq: u64,
    previous: Option<Previous>,
    /// Sequence number and timestamp of the latest entry whose contents were seen.
    last_time: Option<(u64, i64)>,
    erasures: Erasures,
    problems: Vec<Problem>,
    omitted: u64,
    first_bad_seq: Option<u64>,
    redacted: u64,
    resumed_at: u64,
}

impl ChainVerifier {
    /// A verifier expecting entry 0 first.
    pub fn new() -> Self {
        Self::default()
    }

    /// A verifier that continues after the entries `[0, tree.size())`, verified earlier:
    /// `tree` is their compact range, and the last of them (entry `tree.size() - 1`) has
    /// leaf hash `last_leaf` and timestamp `last_timestamp_ms`. The next entry pushed must
    /// be entry `tree.size()` and link to `last_leaf`. An empty `tree` is a fresh verifier.
    pub fn resume(tree: CompactRange, last_leaf: Hash, last_timestamp_ms: i64) -> Self {
        let size = tree.size();
        let Some(last) = size.checked_sub(1) else {
            return Self::new();
        };
        ChainVerifier {
            tree,
            expected_seq: size,
            previous: Some(Previous {
                seq: last,
                leaf: last_leaf,
                recorded_leaf: Some(last_leaf),
                leaf_mismatch: false,
                payload_hash: None,
            }),
            last_time: Some((last, last_timestamp_ms)),
            resumed_at: size,
            ..Self::default()
        }
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
        self.check_time(seq, entry.timestamp_ms);
        if let Err(message) = self.erasures.observe(entry) {
            self.add_problem(seq, message);
        }
        let signable = self.previous.as_ref().map(|p| Signable {
            seq: p.seq,
            payload_hash: p.payload_hash,
        });
        if let Err(message) = signatures::check(entry, signable) {
            self.add_problem(seq, message);
        }

        self.tree.append_with(leaf, |_, _| {});
        self.previous = Some(Previous {
            seq,
            leaf,
            recorded_leaf: recorded_leaf_hash,
            leaf_mismatch,
            payload_hash: Some(entry.payload_hash),
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
            payload_hash: None,
        });
    }

    /// Checks the payload of `entry` (pushed already or about to be): its bytes must hash to
    /// the entry's payload hash; an erased payload must be accounted for by a later
    /// `payload.erased` entry (checked at the end); a missing one is a problem.
    pub fn check_payload(&mut self, entry: &Entry, evidence: PayloadEvidence<'_>) {
        let seq = entry.seq;
        match evidence {
            PayloadEvidence::Bytes(bytes) if payload_hash(bytes) == entry.payload_hash => {}
            PayloadEvidence::Bytes(_) => self.add_problem(
                seq,
                format!("entry {seq}: the payload does not match its payload hash"),
            ),
            PayloadEvidence::Erased => self.erasures.payload_erased(seq),
            PayloadEvidence::Missing => self.add_problem(
                seq,
                format!("entry {seq}: its payload was deleted without an erasure record"),
            ),
        }
    }

    /// Accounts for the erased payload of entry `seq` with an erasure entry that lies beyond
    /// the entries verified (recorded after the verified snapshot was taken).
    pub fn erasure_recorded_later(&mut self, seq: u64) {
        self.erasures.recorded_later(seq);
    }

    /// Checks a signed checkpoint of the tree as it stands (the entries pushed so far): its
    /// signature under the verifier key `key`, its size and its root. Returns the checkpoint
    /// when its signature verifies, so the caller can compare what it recorded beside it.
    pub fn check_checkpoint(&mut self, note: &str, key: &str) -> Option<Checkpoint> {
        let size = self.tree.size();
        let label = format!("the checkpoint of size {size}");
        let checkpoint = match Verifier::from_key_string(key) {
            Err(e) => {
                self.add_problem(None, format!("{label}: its key cannot be used: {e}"));
                return None;
            }
            Ok(verifier) => match verifier.open(note) {
                Ok(cp) => cp,
                Err(e) => {
                    self.add_problem(None, format!("{label}: {}", describe_checkpoint_error(&e)));
                    return None;
                }
            },
        };
        if checkpoint.size != size {
            self.add_problem(
                None,
                format!("{label}: its signed note is for size {}", checkpoint.size),
            );
        } else if checkpoint.root != self.tree.root() {
            self.add_problem(
                None,
                format!(
                    "{label}: its root {} is not the Merkle root of the first {size} entries ({})",
                    checkpoint.root,
                    self.tree.root()
                ),
            );
        }
        Some(checkpoint)
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
            self.compare_with_checkpoint(cp.size, cp.root);
        }
        self.into_report(checkpoint)
    }

    /// Finishes without a checkpoint (only the entries themselves are checked).
    pub fn finish_without_checkpoint(self) -> Report {
        self.into_report(None)
    }

    fn into_report(mut self, checkpoint: Option<Checkpoint>) -> Report {
        let unaccounted: Vec<u64> = self.erasures.unaccounted().collect();
        for seq in unaccounted {
            self.add_problem(
                seq,
                format!(
                    "entry {seq}: its payload is marked erased but no payload.erased entry records the erasure"
                ),
            );
        }
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
            resumed_at: self.resumed_at,
        }
    }

    /// Checks that entry `seq`'s timestamp is not earlier than that of the latest entry
    /// whose contents were seen (redacted entries carry no time).
    fn check_time(&mut self, seq: u64, timestamp_ms: i64) {
        if let Some((before, before_ms)) = self.last_time
            && timestamp_ms < before_ms
        {
            self.add_problem(
                seq,
                format!(
                    "entry {seq}: its timestamp ({timestamp_ms} ms) is earlier than entry {before}'s ({before_ms} ms)"
                ),
            );
        }
        self.last_time = Some((seq, timestamp_ms));
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
    fn compare_with_checkpoint(&mut self, size: u64, root: Hash) {
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
