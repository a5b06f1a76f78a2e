//! Canonical payload bytes, payload hashes and salted pseudonym commitments.
//!
//! # Canonical JSON
//!
//! [`canonical_json`] renders a [`serde_json::Value`] as compact UTF-8 JSON:
//!
//! * no whitespace outside strings;
//! * object members sorted by key, comparing the keys' UTF-8 bytes (equivalently, by Unicode
//!   code point); duplicate keys cannot occur in a `Value`;
//! * strings written with the minimal JSON escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
//!   other control characters below U+0020 as `\u00xx` (lowercase hex); everything else,
//!   including non-ASCII characters and `/`, is written as raw UTF-8;
//! * numbers as `serde_json` prints them: integers in plain decimal (`-12`, `0`), other numbers
//!   in the shortest form that round-trips an IEEE-754 double (`1.5`, `1e100`, `1.0`);
//! * `true`, `false`, `null` literally; arrays keep their order.
//!
//! The payload hash an entry carries is [`payload_hash`] of these bytes (or of any other
//! payload bytes, e.g. an attachment file): plain SHA-256.

use ring::hmac;
use serde_json::Value;

use crate::hash::Hash;

/// Canonical JSON bytes of `value` (rules in the module docs).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

/// SHA-256 of payload bytes: the value stored in [`crate::Entry::payload_hash`].
pub fn payload_hash(bytes: &[u8]) -> Hash {
    Hash::sha256(bytes)
}

/// Salted pseudonym commitment: HMAC-SHA-256 keyed by `salt` over the UTF-8 bytes of `value`.
///
/// Used to refer to a participant in entries without revealing who it is; whoever holds
/// the salt can recompute (and thus check) the commitment.
pub fn commitment(salt: &[u8], value: &str) -> Hash {
    let key = hmac::Key::new(hmac::HMAC_SHA256, salt);
    let tag = hmac::sign(&key, value.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    Hash(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sort explicitly: serde_json's map may preserve insertion order when the
            // `preserve_order` feature is enabled elsewhere in the build.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_and_compact() {
        let v = json!({"b": [1, 2.5, "x"], "a": {"z": null, "y": true}, "é": "\u{1}\n\"/"});
        let s = String::from_utf8(canonical_json(&v)).expect("utf8");
        assert_eq!(
            s,
            r#"{"a":{"y":true,"z":null},"b":[1,2.5,"x"],"é":"\u0001\n\"/"}"#
        );
        // The output is valid JSON that parses back to the same value.
        let back: Value = serde_json::from_str(&s).expect("json");
        assert_eq!(back, v);
    }

    #[test]
    fn hash_and_commitment() {
        assert_eq!(
            payload_hash(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            commitment(b"Jefe", "what do ya want for nothing?").to_hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
