//! Erased payloads and the `payload.erased` entries that account for them.
//!
//! A payload may be erased (its body blanked), but only through a ledgered erasure: a
//! [`EntryKind::PayloadErased`] entry, later in the chain, whose [`ERASED_SUBJECT`] subject
//! names the erased entry. A verifier meets the erased payload first and its erasure entry
//! later, so it keeps the erased entries not yet accounted for; whatever is left at the end
//! was erased without a record.

use std::collections::BTreeSet;

use crate::entry::{ERASED_SUBJECT, Entry, EntryKind};

/// The entry an erasure entry names, or why it names none.
pub fn erased_seq(entry: &Entry) -> Result<u64, String> {
    let seq = entry.seq;
    let Some(named) = entry.subjects.get(ERASED_SUBJECT) else {
        return Err(format!(
            "entry {seq}: a payload.erased entry must name the erased entry (subject `{ERASED_SUBJECT}`)"
        ));
    };
    match named.parse::<u64>() {
        Ok(target) if target < seq && named == &target.to_string() => Ok(target),
        Ok(target) if target >= seq => Err(format!(
            "entry {seq}: erases entry {target}, which is not earlier in the chain"
        )),
        _ => Err(format!(
            "entry {seq}: names {named:?} as the erased entry, which is not a sequence number"
        )),
    }
}

/// Erased payloads waiting for their erasure entry.
#[derive(Debug, Clone, Default)]
pub(super) struct Erasures {
    pending: BTreeSet<u64>,
}

impl Erasures {
    /// Entry `seq`'s payload is erased: it must be accounted for by a later erasure entry.
    pub(super) fn payload_erased(&mut self, seq: u64) {
        self.pending.insert(seq);
    }

    /// Takes note of `entry` if it is an erasure entry; `Err` says what is wrong with it.
    pub(super) fn observe(&mut self, entry: &Entry) -> Result<(), String> {
        if entry.kind != EntryKind::PayloadErased {
            return Ok(());
        }
        let target = erased_seq(entry)?;
        self.pending.remove(&target);
        Ok(())
    }

    /// An erasure of entry `seq` recorded beyond the entries verified (appended after the
    /// snapshot was taken).
    pub(super) fn recorded_later(&mut self, seq: u64) {
        self.pending.remove(&seq);
    }

    /// Erased payloads no erasure entry accounts for, in order.
    pub(super) fn unaccounted(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::hash::Hash;

    fn erasure(seq: u64, named: &str) -> Entry {
        Entry {
            seq,
            kind: EntryKind::PayloadErased,
            timestamp_ms: 0,
            actor_user: "u".into(),
            actor_org: "o".into(),
            subjects: BTreeMap::from([(ERASED_SUBJECT.into(), named.into())]),
            payload_hash: Hash::ZERO,
            prev_hash: None,
        }
    }

    #[test]
    fn an_erasure_accounts_for_an_earlier_entry_only() {
        let mut erasures = Erasures::default();
        erasures.payload_erased(3);
        erasures.payload_erased(5);
        assert_eq!(erasures.observe(&erasure(9, "3")), Ok(()));
        assert_eq!(erasures.unaccounted().collect::<Vec<_>>(), [5]);
        assert!(erasures.observe(&erasure(9, "9")).is_err());
        assert!(erasures.observe(&erasure(9, "12")).is_err());
        assert!(erasures.observe(&erasure(9, "05")).is_err());
        assert!(erasures.observe(&erasure(9, "x")).is_err());
        let mut bare = erasure(9, "5");
        bare.subjects.clear();
        assert!(erasures.observe(&bare).is_err());
        erasures.recorded_later(5);
        assert_eq!(erasures.unaccounted().count(), 0);
    }
}
