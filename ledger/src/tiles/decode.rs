//! Reading the canonical entry encoding back (the inverse of [`Entry::canonical_bytes`]),
//! strictly: only bytes that re-encode to themselves are accepted.

use std::collections::BTreeMap;

use crate::entry::{ENTRY_ENCODING_VERSION, ENTRY_MAGIC, Entry};
use crate::hash::Hash;

/// Why fetched bytes are not a tile, a bundle, an entry or a payload item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end in the middle of a field or item.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// The bytes do not start with the entry magic and version.
    #[error("not a canonical entry (bad magic or version)")]
    BadMagic,
    /// A string is not UTF-8, or the kind is not a valid kind.
    #[error("invalid {0} in an entry")]
    BadField(&'static str),
    /// Extra bytes, unsorted or repeated subject keys, or another non-canonical form.
    #[error("the entry is not in canonical form")]
    NotCanonical,
    /// An item is longer than its length prefix allows.
    #[error("an item of {0} bytes is too long for a bundle")]
    TooLong(usize),
    /// A hash tile's length is not 32 bytes times its width.
    #[error("a hash tile of width {width} has {len} bytes")]
    BadTileLength {
        /// The tile's width.
        width: u64,
        /// The bytes received.
        len: usize,
    },
    /// A bundle holds a different number of items than its width.
    #[error("a bundle of width {width} holds {items} items")]
    BadItemCount {
        /// The bundle's width.
        width: u64,
        /// The items received.
        items: usize,
    },
    /// A payload item has an unknown tag.
    #[error("unknown payload item tag {0}")]
    BadTag(u8),
}

/// A cursor over bytes that fails with [`DecodeError::Truncated`].
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated(self.what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = usize::try_from(self.u64()?).map_err(|_| DecodeError::Truncated(self.what))?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadField(field))
    }
}

impl Entry {
    /// Decodes canonical entry bytes. Anything that [`Entry::canonical_bytes`] would not
    /// produce (trailing bytes, unsorted or repeated subject keys, an unknown version) is
    /// refused, so the leaf hash of the bytes is the leaf hash of the entry.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Entry, DecodeError> {
        let mut r = Reader::new(bytes, "entry");
        if r.array::<4>()? != ENTRY_MAGIC || r.array::<1>()? != [ENTRY_ENCODING_VERSION] {
            return Err(DecodeError::BadMagic);
        }
        let seq = r.u64()?;
        let kind = r
            .string("kind")?
            .parse()
            .map_err(|_| DecodeError::BadField("kind"))?;
        let timestamp_ms = i64::from_be_bytes(r.array()?);
        let actor_user = r.string("actor user")?;
        let actor_org = r.string("actor organisation")?;
        let count = r.u64()?;
        let mut subjects = BTreeMap::new();
        for _ in 0..count {
            let key = r.string("subject key")?;
            let value = r.string("subject value")?;
            if subjects
                .last_key_value()
                .is_some_and(|(last, _)| *last >= key)
            {
                return Err(DecodeError::NotCanonical);
            }
            subjects.insert(key, value);
        }
        let payload_hash = Hash::from_bytes(r.array()?);
        let prev_hash = match r.array::<1>()? {
            [0] => None,
            [1] => Some(Hash::from_bytes(r.array()?)),
            _ => return Err(DecodeError::NotCanonical),
        };
        if !r.is_empty() {
            return Err(DecodeError::NotCanonical);
        }
        Ok(Entry {
            seq,
            kind,
            timestamp_ms,
            actor_user,
            actor_org,
            subjects,
            payload_hash,
            prev_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::EntryKind;

    fn entry_strategy() -> impl Strategy<Value = Entry> {
        (
            any::<u64>(),
            "[a-z][a-z0-9._-]{0,20}",
            any::<i64>(),
            ".{0,12}",
            ".{0,12}",
            proptest::collection::btree_map(".{0,8}", ".{0,16}", 0..4),
            any::<[u8; 32]>(),
            proptest::option::of(any::<[u8; 32]>()),
        )
            .prop_map(
                |(seq, kind, timestamp_ms, user, org, subjects, payload, prev)| Entry {
                    seq,
                    kind: kind.parse().unwrap_or(EntryKind::ConsentGranted),
                    timestamp_ms,
                    actor_user: user,
                    actor_org: org,
                    subjects,
                    payload_hash: Hash::from_bytes(payload),
                    prev_hash: prev.map(Hash::from_bytes),
                },
            )
    }

    proptest! {
        #[test]
        fn decoding_inverts_encoding(entry in entry_strategy()) {
            prop_assert_eq!(Entry::from_canonical_bytes(&entry.canonical_bytes()), Ok(entry));
        }

        #[test]
        fn every_truncation_is_refused(entry in entry_strategy(), cut in any::<prop::sample::Index>()) {
            let bytes = entry.canonical_bytes();
            let cut = cut.index(bytes.len());
            prop_assert!(Entry::from_canonical_bytes(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn refuses_trailing_bytes_and_unsorted_subjects() {
        let entry = Entry {
            seq: 3,
            kind: EntryKind::DataSubmitted,
            timestamp_ms: 7,
            actor_user: "u".into(),
            actor_org: "o".into(),
            subjects: BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
            payload_hash: Hash::ZERO,
            prev_hash: None,
        };
        let mut bytes = entry.canonical_bytes();
        bytes.push(0);
        assert_eq!(
            Entry::from_canonical_bytes(&bytes),
            Err(DecodeError::NotCanonical)
        );

        // Swap the two subject pairs: "a"/"1" and "b"/"2" have the same lengths.
        let text = hex::encode(entry.canonical_bytes());
        let pair =
            |k: &str, v: &str| format!("{:016x}{}{:016x}{}", 1, hex::encode(k), 1, hex::encode(v));
        let swapped = text.replacen(
            &(pair("a", "1") + &pair("b", "2")),
            &(pair("b", "2") + &pair("a", "1")),
            1,
        );
        let swapped = hex::decode(swapped).expect("hex");
        assert_ne!(swapped, entry.canonical_bytes());
        assert_eq!(
            Entry::from_canonical_bytes(&swapped),
            Err(DecodeError::NotCanonical)
        );
    }
}
