//! Signed-note key names, key ids and verifier key strings.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::CheckpointError;
use crate::hash::Hash;

/// Signature type byte for Ed25519 note signatures (C2SP signed-note).
pub(crate) const ALG_ED25519: u8 = 0x01;

/// Signature type byte for timestamped Ed25519 cosignatures (C2SP tlog-cosignature v1).
pub(crate) const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A key name is non-empty, has no whitespace or control characters and no `+`.
pub(crate) fn check_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(CheckpointError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// Key id: first four bytes of `SHA-256(name || "\n" || alg || public key)`.
pub(crate) fn key_id(name: &str, alg: u8, public_key: &[u8]) -> [u8; 4] {
    let mut data = Vec::with_capacity(name.len() + 2 + public_key.len());
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(alg);
    data.extend_from_slice(public_key);
    let h = Hash::sha256(&data);
    [h.0[0], h.0[1], h.0[2], h.0[3]]
}

/// Verifier key string: `name+<hex key id>+<base64(alg || public key)>`.
pub(crate) fn format_verifier_key(name: &str, alg: u8, public_key: &[u8]) -> String {
    let mut alg_key = Vec::with_capacity(1 + public_key.len());
    alg_key.push(alg);
    alg_key.extend_from_slice(public_key);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, alg, public_key)),
        STANDARD.encode(alg_key)
    )
}

/// Parses a verifier key string of signature type `alg` (an Ed25519 type) into its name, key
/// id and 32-byte Ed25519 public key, checking that the id matches the key.
pub(crate) fn parse_verifier_key(
    s: &str,
    alg: u8,
) -> Result<(String, [u8; 4], [u8; 32]), CheckpointError> {
    let bad = |msg: &str| CheckpointError::MalformedKey(msg.to_owned());
    let s = s.trim();
    // The base64 part may itself contain '+', so split on the first two only.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected <name>+<key id>+<key>"));
    };
    check_name(name).map_err(|_| bad("invalid key name"))?;
    let mut id = [0u8; 4];
    if id_hex.len() != 8 {
        return Err(bad("key id must be 8 hex digits"));
    }
    hex::decode_to_slice(id_hex, &mut id).map_err(|_| bad("key id must be 8 hex digits"))?;
    let alg_key = STANDARD
        .decode(key_b64)
        .map_err(|_| bad("key is not valid base64"))?;
    let key = match alg_key.split_first() {
        Some((&found, key)) if found == alg => key,
        _ => return Err(bad(&format!("key is not of signature type {alg:#04x}"))),
    };
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| bad("Ed25519 public key must be 32 bytes"))?;
    if key_id(name, alg, &key) != id {
        return Err(bad("key id does not match the key"));
    }
    Ok((name.to_owned(), id, key))
}
