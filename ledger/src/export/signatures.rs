//! Electronic signatures in the chain: a [`EntryKind::RecordSigned`] entry signs the entry
//! just before it, and carries that entry's sequence number and payload hash as subjects, so
//! a signature cannot be moved to another record, nor a signed record's content changed,
//! without the chain showing it (offline too: subjects are part of every entry's bytes).

use crate::entry::{Entry, EntryKind, SIGNED_PAYLOAD_SUBJECT, SIGNED_SUBJECT};
use crate::hash::Hash;

/// What a signature needs of the entry before it: its sequence number and, when its contents
/// were seen, its payload hash.
#[derive(Debug, Clone, Copy)]
pub(super) struct Signable {
    pub(super) seq: u64,
    pub(super) payload_hash: Option<Hash>,
}

/// Checks that a `record.signed` entry signs `previous` (the entry just before it) and binds
/// its payload hash. Other kinds pass. When the previous entry's contents are unknown
/// (redacted, or verified earlier and resumed from), only what can be checked is.
pub(super) fn check(entry: &Entry, previous: Option<Signable>) -> Result<(), String> {
    if entry.kind != EntryKind::RecordSigned {
        return Ok(());
    }
    let seq = entry.seq;
    let subject = |key: &str| {
        entry.subjects.get(key).ok_or_else(|| {
            format!(
                "entry {seq}: a record.signed entry must name the signed entry (subject `{key}`)"
            )
        })
    };
    let signed = subject(SIGNED_SUBJECT)?;
    let signed_payload = subject(SIGNED_PAYLOAD_SUBJECT)?;
    let Some(previous) = previous else {
        return Err(format!(
            "entry {seq}: a signature cannot be the first entry: it signs the entry before it"
        ));
    };
    if signed != &previous.seq.to_string() {
        return Err(format!(
            "entry {seq}: the signature names entry {signed:?}, but a signature signs the entry \
             just before it ({})",
            previous.seq
        ));
    }
    match previous.payload_hash {
        Some(hash) if signed_payload != &hash.to_hex() => Err(format!(
            "entry {seq}: the signature was made over other content than entry {} holds \
             (signed payload {signed_payload}, entry's payload {hash})",
            previous.seq
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::payload::payload_hash;

    fn signature(seq: u64, signed: &str, signed_payload: &str) -> Entry {
        Entry {
            seq,
            kind: EntryKind::RecordSigned,
            timestamp_ms: 0,
            actor_user: "u".into(),
            actor_org: "o".into(),
            subjects: BTreeMap::from([
                (SIGNED_SUBJECT.to_string(), signed.to_string()),
                (
                    SIGNED_PAYLOAD_SUBJECT.to_string(),
                    signed_payload.to_string(),
                ),
            ]),
            payload_hash: payload_hash(b"{}"),
            prev_hash: None,
        }
    }

    #[test]
    fn a_signature_binds_the_entry_before_it_and_its_payload() {
        let content = payload_hash(b"{\"a\":1}");
        let previous = Some(Signable {
            seq: 4,
            payload_hash: Some(content),
        });
        assert_eq!(
            check(&signature(5, "4", &content.to_hex()), previous),
            Ok(())
        );

        let other = payload_hash(b"{\"a\":2}").to_hex();
        let moved = check(&signature(5, "4", &other), previous).unwrap_err();
        assert!(moved.contains("other content"), "{moved}");

        let elsewhere = check(&signature(5, "3", &content.to_hex()), previous).unwrap_err();
        assert!(elsewhere.contains("just before it"), "{elsewhere}");

        let first = check(&signature(0, "0", &content.to_hex()), None).unwrap_err();
        assert!(first.contains("first entry"), "{first}");
    }

    #[test]
    fn an_unseen_previous_payload_checks_only_the_link() {
        let previous = Some(Signable {
            seq: 4,
            payload_hash: None,
        });
        assert_eq!(check(&signature(5, "4", "ab"), previous), Ok(()));
        assert!(check(&signature(5, "2", "ab"), previous).is_err());
    }

    #[test]
    fn a_signature_without_its_subjects_is_named() {
        let mut unnamed = signature(5, "4", "ab");
        unnamed.subjects.clear();
        let err = check(&unnamed, None).unwrap_err();
        assert!(err.contains("subject `signed`"), "{err}");
    }
}
