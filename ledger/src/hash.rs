//! The 32-byte SHA-256 digest type used everywhere in the ledger.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::digest;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string or byte slice could not be turned into a [`Hash`](struct@crate::Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// The input is not 64 hexadecimal digits.
    #[error("invalid hex hash: expected 64 hexadecimal digits")]
    InvalidHex,
    /// The input is not valid standard (padded) base64.
    #[error("invalid base64 hash")]
    InvalidBase64,
    /// The input decoded to the wrong number of bytes.
    #[error("hash has {0} bytes, expected 32")]
    WrongLength(usize),
}

/// A SHA-256 digest: leaf hashes, node hashes, roots, payload hashes and commitments.
///
/// Displayed, and serialised with serde, as 64 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;

    /// The all-zero hash (never the hash of anything in practice; useful as a placeholder).
    pub const ZERO: Hash = Hash([0; 32]);

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Hash(bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// SHA-256 of `data`.
    pub fn sha256(data: &[u8]) -> Self {
        Self::from_digest(digest::digest(&digest::SHA256, data))
    }

    /// Converts a finished ring SHA-256 digest.
    pub(crate) fn from_digest(d: digest::Digest) -> Self {
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Hash(out)
    }

    /// Copies a 32-byte slice into a hash.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; 32]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashParseError::WrongLength(bytes.len()))
    }

    /// Lowercase hexadecimal form (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError::InvalidHex)?;
        Ok(Hash(out))
    }

    /// Standard padded base64 form (as used inside checkpoints and by the RFC 6962 test vectors).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard padded base64 that decodes to exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, HashParseError> {
        let bytes = STANDARD
            .decode(s)
            .map_err(|_| HashParseError::InvalidBase64)?;
        Self::from_slice(&bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Self {
        Hash(bytes)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 64];
        // Encoding 32 bytes into a 64-byte buffer cannot fail.
        if hex::encode_to_slice(self.0, &mut buf).is_err() {
            return Err(fmt::Error);
        }
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        hex::encode_to_slice(self.0, &mut buf).map_err(serde::ser::Error::custom)?;
        let s = std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(s)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexVisitor;
        impl Visitor<'_> for HexVisitor {
            type Value = Hash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SHA-256 hash as 64 hexadecimal digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Hash, E> {
                Hash::from_hex(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_round_trip() {
        let h = Hash::sha256(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_string(), h.to_hex());
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert_eq!(Hash::from_hex("00"), Err(HashParseError::InvalidHex));
        assert_eq!(
            Hash::from_base64("AAAA"),
            Err(HashParseError::WrongLength(3))
        );
    }

    #[test]
    fn serde_is_lowercase_hex() {
        let h = Hash::sha256(b"abc");
        let json = serde_json::to_string(&h).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", h.to_hex()));
        let back: Hash = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, h);
        assert!(serde_json::from_str::<Hash>("\"zz\"").is_err());
    }
}
