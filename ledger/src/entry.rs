//! Ledger entries and their canonical byte encoding (see the crate docs for the exact layout).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::Hash;
use crate::merkle;

/// Magic bytes that open every canonical entry encoding ("VTLE": Veritrial ledger entry).
pub const ENTRY_MAGIC: [u8; 4] = *b"VTLE";

/// Version byte of the canonical entry encoding described in the crate docs.
pub const ENTRY_ENCODING_VERSION: u8 = 1;

/// The subject of a [`EntryKind::PayloadErased`] entry that names the erased entry's
/// sequence number, in decimal.
pub const ERASED_SUBJECT: &str = "erased";

/// The subject of a [`EntryKind::RecordSigned`] entry that names the signed entry's
/// sequence number, in decimal: always the entry just before it.
pub const SIGNED_SUBJECT: &str = "signed";

/// The subject of a [`EntryKind::RecordSigned`] entry that carries the signed entry's
/// payload hash (hex), binding the signature to the exact content signed.
pub const SIGNED_PAYLOAD_SUBJECT: &str = "signed-payload";

/// Longest accepted entry-kind string, in bytes.
pub const MAX_KIND_LEN: usize = 64;

/// Why an entry kind string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryKindError {
    /// The kind is empty, too long, or uses characters other than `a-z 0-9 . _ -`.
    #[error("invalid entry kind {0:?}: expected 1-64 characters from a-z, 0-9, '.', '_', '-'")]
    Invalid(String),
}

/// What an entry attests. Serialised as its dotted name (for example `consent.granted`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// `protocol.published`: a trial protocol version was published.
    ProtocolPublished,
    /// `protocol.amended`: a published protocol was amended.
    ProtocolAmended,
    /// `protocol.reviewed`: an ethics board decided on a protocol version.
    ProtocolReviewed,
    /// `consent.granted`: a participant granted consent.
    ConsentGranted,
    /// `consent.withdrawn`: a participant withdrew consent.
    ConsentWithdrawn,
    /// `enrollment.created`: a participant was enrolled in a trial.
    EnrollmentCreated,
    /// `enrollment.withdrawn`: an enrollment ended by withdrawal.
    EnrollmentWithdrawn,
    /// `data.submitted`: trial data was submitted.
    DataSubmitted,
    /// `data.corrected`: previously submitted data was corrected.
    DataCorrected,
    /// `casereport.signed-off`: a site attested that an enrollment's case report (each
    /// submission at the version listed) is accurate and complete.
    CaseReportSignedOff,
    /// `attachment.added`: a document was attached.
    AttachmentAdded,
    /// `invitation.created`: a recruitment invitation was created.
    InvitationCreated,
    /// `record.signed`: an electronic signature of the entry just before it. Its subjects
    /// [`SIGNED_SUBJECT`] and [`SIGNED_PAYLOAD_SUBJECT`] name that entry and its payload
    /// hash; its payload says who signed, when, and what the signature means.
    RecordSigned,
    /// `payload.erased`: the payload of an earlier entry was erased. Its subject
    /// [`ERASED_SUBJECT`] names the erased entry's sequence number (decimal); its actor and
    /// timestamp say who erased it and when, its payload why. A verifier accepts an erased
    /// payload only when such an entry, later in the chain, names it.
    PayloadErased,
    /// Any other kind. Build it with [`EntryKind::from_str`] so that known names map to
    /// their dedicated variants; the canonical encoding only depends on [`EntryKind::as_str`].
    Other(String),
}

impl EntryKind {
    /// The dotted name of this kind, exactly as encoded in the canonical bytes.
    pub fn as_str(&self) -> &str {
        match self {
            EntryKind::ProtocolPublished => "protocol.published",
            EntryKind::ProtocolAmended => "protocol.amended",
            EntryKind::ProtocolReviewed => "protocol.reviewed",
            EntryKind::ConsentGranted => "consent.granted",
            EntryKind::ConsentWithdrawn => "consent.withdrawn",
            EntryKind::EnrollmentCreated => "enrollment.created",
            EntryKind::EnrollmentWithdrawn => "enrollment.withdrawn",
            EntryKind::DataSubmitted => "data.submitted",
            EntryKind::DataCorrected => "data.corrected",
            EntryKind::CaseReportSignedOff => "casereport.signed-off",
            EntryKind::AttachmentAdded => "attachment.added",
            EntryKind::InvitationCreated => "invitation.created",
            EntryKind::RecordSigned => "record.signed",
            EntryKind::PayloadErased => "payload.erased",
            EntryKind::Other(s) => s,
        }
    }
}

impl FromStr for EntryKind {
    type Err = EntryKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "protocol.published" => EntryKind::ProtocolPublished,
            "protocol.amended" => EntryKind::ProtocolAmended,
            "protocol.reviewed" => EntryKind::ProtocolReviewed,
            "consent.granted" => EntryKind::ConsentGranted,
            "consent.withdrawn" => EntryKind::ConsentWithdrawn,
            "enrollment.created" => EntryKind::EnrollmentCreated,
            "enrollment.withdrawn" => EntryKind::EnrollmentWithdrawn,
            "data.submitted" => EntryKind::DataSubmitted,
            "data.corrected" => EntryKind::DataCorrected,
            "casereport.signed-off" => EntryKind::CaseReportSignedOff,
            "attachment.added" => EntryKind::AttachmentAdded,
            "invitation.created" => EntryKind::InvitationCreated,
            "record.signed" => EntryKind::RecordSigned,
            "payload.erased" => EntryKind::PayloadErased,
            other => {
                let valid = !other.is_empty()
                    && other.len() <= MAX_KIND_LEN
                    && other.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    });
                if !valid {
                    return Err(EntryKindError::Invalid(other.to_owned()));
                }
                EntryKind::Other(other.to_owned())
            }
        })
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EntryKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntryKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl serde::de::Visitor<'_> for KindVisitor {
            type Value = EntryKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dotted entry kind such as \"consent.granted\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EntryKind, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(KindVisitor)
    }
}

/// One ledger entry. It attests a payload by its hash; the payload itself lives elsewhere.
///
/// JSON form (serde) uses camelCase field names: `seq`, `kind`, `timestampMs`, `actorUser`,
/// `actorOrg`, `subjects`, `payloadHash`, `prevHash` (hashes as lowercase hex, `prevHash`
/// is `null` for entry 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Position in the log, starting at 0; equal to the Merkle leaf index.
    pub seq: u64,
    /// What this entry attests.
    pub kind: EntryKind,
    /// When the entry was appended, in milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// Id of the acting user.
    pub actor_user: String,
    /// Id of the acting user's organisation.
    pub actor_org: String,
    /// Subject references, e.g. `"trial" -> id`, `"participant" -> commitment hex`.
    #[serde(default)]
    pub subjects: BTreeMap<String, String>,
    /// SHA-256 of the canonical payload bytes (see [`crate::payload`]).
    pub payload_hash: Hash,
    /// Leaf hash of entry `seq - 1`; `None` only for entry 0.
    #[serde(default)]
    pub prev_hash: Option<Hash>,
}

impl Entry {
    /// The canonical byte encoding of this entry (layout documented in the crate docs).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_len_hint());
        self.encode_into(&mut buf);
        buf
    }

    /// Appends the canonical byte encoding of this entry to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&ENTRY_MAGIC);
        buf.push(ENTRY_ENCODING_VERSION);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        put_bytes(buf, self.kind.as_str().as_bytes());
        buf.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        put_bytes(buf, self.actor_user.as_bytes());
        put_bytes(buf, self.actor_org.as_bytes());
        buf.extend_from_slice(&(self.subjects.len() as u64).to_be_bytes());
        for (key, value) in &self.subjects {
            put_bytes(buf, key.as_bytes());
            put_bytes(buf, value.as_bytes());
        }
        buf.extend_from_slice(self.payload_hash.as_bytes());
        match &self.prev_hash {
            None => buf.push(0),
            Some(prev) => {
                buf.push(1);
                buf.extend_from_slice(prev.as_bytes());
            }
        }
    }

    /// RFC 6962 leaf hash of the canonical bytes: `SHA-256(0x00 || canonical_bytes())`.
    /// This is both the Merkle leaf and the value the next entry's `prev_hash` must carry.
    pub fn leaf_hash(&self) -> Hash {
        let mut buf = Vec::with_capacity(1 + self.encoded_len_hint());
        buf.push(merkle::LEAF_PREFIX);
        self.encode_into(&mut buf);
        Hash::sha256(&buf)
    }

    fn encoded_len_hint(&self) -> usize {
        let subjects: usize = self
            .subjects
            .iter()
            .map(|(k, v)| 16 + k.len() + v.len())
            .sum();
        5 + 8
            + 8
            + self.kind.as_str().len()
            + 8
            + 8
            + self.actor_user.len()
            + 8
            + self.actor_org.len()
            + 8
            + subjects
            + 32
            + 33
    }
}

/// Writes a u64 big-endian byte length followed by the bytes.
fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            seq: 1,
            kind: EntryKind::ConsentGranted,
            timestamp_ms: 1_700_000_000_000,
            actor_user: "u1".into(),
            actor_org: "o1".into(),
            subjects: BTreeMap::from([("trial".into(), "t1".into())]),
            payload_hash: Hash::sha256(b"payload"),
            prev_hash: Some(Hash::sha256(b"prev")),
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            "protocol.published",
            "protocol.amended",
            "consent.granted",
            "consent.withdrawn",
            "enrollment.created",
            "enrollment.withdrawn",
            "data.submitted",
            "data.corrected",
            "attachment.added",
            "invitation.created",
            "payload.erased",
            "site.opened",
        ] {
            let kind: EntryKind = k.parse().expect("valid kind");
            assert_eq!(kind.as_str(), k);
        }
        assert!(matches!("x.y".parse(), Ok(EntryKind::Other(_))));
        assert!("".parse::<EntryKind>().is_err());
        assert!("Consent Granted".parse::<EntryKind>().is_err());
    }

    #[test]
    fn canonical_bytes_layout() {
        let e = sample();
        let mut want = Vec::new();
        want.extend_from_slice(b"VTLE\x01");
        want.extend_from_slice(&1u64.to_be_bytes());
        want.extend_from_slice(&15u64.to_be_bytes());
        want.extend_from_slice(b"consent.granted");
        want.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        want.extend_from_slice(&2u64.to_be_bytes());
        want.extend_from_slice(b"u1");
        want.extend_from_slice(&2u64.to_be_bytes());
        want.extend_from_slice(b"o1");
        want.extend_from_slice(&1u64.to_be_bytes());
        want.extend_from_slice(&5u64.to_be_bytes());
        want.extend_from_slice(b"trial");
        want.extend_from_slice(&2u64.to_be_bytes());
        want.extend_from_slice(b"t1");
        want.extend_from_slice(Hash::sha256(b"payload").as_bytes());
        want.push(1);
        want.extend_from_slice(Hash::sha256(b"prev").as_bytes());
        assert_eq!(e.canonical_bytes(), want);
        assert_eq!(e.leaf_hash(), merkle::leaf_hash(&want));
    }

    #[test]
    fn every_field_changes_the_leaf_hash() {
        let base = sample();
        let h = base.leaf_hash();
        let mut variants = vec![];
        let mut e = base.clone();
        e.seq = 2;
        variants.push(e);
        let mut e = base.clone();
        e.kind = EntryKind::ConsentWithdrawn;
        variants.push(e);
        let mut e = base.clone();
        e.timestamp_ms += 1;
        variants.push(e);
        let mut e = base.clone();
        e.actor_user = "u".into();
        e.actor_org = "1o1".into();
        variants.push(e);
        let mut e = base.clone();
        e.subjects.insert("participant".into(), "p".into());
        variants.push(e);
        let mut e = base.clone();
        e.payload_hash = Hash::ZERO;
        variants.push(e);
        let mut e = base.clone();
        e.prev_hash = None;
        variants.push(e);
        for v in variants {
            assert_ne!(v.leaf_hash(), h, "{v:?}");
        }
    }

    #[test]
    fn json_is_camel_case() {
        let e = sample();
        let v = serde_json::to_value(&e).expect("serialise");
        assert_eq!(v["kind"], "consent.granted");
        assert_eq!(v["timestampMs"], 1_700_000_000_000i64);
        assert_eq!(v["payloadHash"], Hash::sha256(b"payload").to_hex());
        let back: Entry = serde_json::from_value(v).expect("deserialise");
        assert_eq!(back, e);
    }
}

#[cfg(test)]
mod golden {
    use super::*;

    /// The crate-level docs' worked example: pins the encoding so it cannot change silently.
    #[test]
    fn documented_example() {
        let e = Entry {
            seq: 1,
            kind: EntryKind::ConsentGranted,
            timestamp_ms: 1_700_000_000_000,
            actor_user: "u1".into(),
            actor_org: "o1".into(),
            subjects: BTreeMap::from([("trial".into(), "t1".into())]),
            payload_hash: Hash([0x11; 32]),
            prev_hash: Some(Hash([0x22; 32])),
        };
        assert_eq!(
            hex::encode(e.canonical_bytes()),
            concat!(
                "56544c4501",
                "0000000000000001",
                "000000000000000f",
                "636f6e73656e742e6772616e746564",
                "0000018bcfe56800",
                "0000000000000002",
                "7531",
                "0000000000000002",
                "6f31",
                "0000000000000001",
                "0000000000000005",
                "747269616c",
                "0000000000000002",
                "7431",
                "1111111111111111111111111111111111111111111111111111111111111111",
                "01",
                "2222222222222222222222222222222222222222222222222222222222222222",
            )
        );
        assert_eq!(
            e.leaf_hash().to_hex(),
            "c6d01e70fa5b44ad8efb056e1afe8535cceabfdf916d28f96799c0e5b596efc4"
        );
    }
}
