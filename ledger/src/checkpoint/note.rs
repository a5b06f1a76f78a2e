//! Splitting and assembling C2SP signed notes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::CheckpointError;

/// Start of every signature line: U+2014 EM DASH and a space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

/// Most signature lines a note may carry.
const MAX_SIGNATURES: usize = 100;

/// One signature line of a note.
pub(crate) struct NoteSignature<'a> {
    /// The signer's key name.
    pub name: &'a str,
    /// The 4-byte key id.
    pub key_id: [u8; 4],
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

/// A note split into its signed text and its signature lines.
pub(crate) struct ParsedNote<'a> {
    /// The signed text (ends with a newline).
    pub text: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature<'a>>,
}

/// Formats the signature line for `name`, `key_id` and `signature`.
pub(crate) fn signature_line(name: &str, key_id: [u8; 4], signature: &[u8]) -> String {
    let mut blob = Vec::with_capacity(4 + signature.len());
    blob.extend_from_slice(&key_id);
    blob.extend_from_slice(signature);
    format!("{SIG_PREFIX}{name} {}\n", STANDARD.encode(blob))
}

/// Splits a note strictly: UTF-8 text without control characters other than newline, a
/// non-empty text part ending in a newline, one empty line, then 1 to 100 signature lines.
pub(crate) fn parse(note: &str) -> Result<ParsedNote<'_>, CheckpointError> {
    let bad = |msg: &str| CheckpointError::MalformedNote(msg.to_owned());
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("note contains control characters"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| bad("no empty line before the signatures"))?;
    let text = &note[..split + 1];
    let sigs = &note[split + 2..];
    if text.len() < 2 {
        return Err(bad("note text is empty"));
    }
    let sigs = sigs
        .strip_suffix('\n')
        .ok_or_else(|| bad("signature block does not end with a newline"))?;
    let mut signatures = Vec::new();
    for line in sigs.split('\n') {
        if signatures.len() == MAX_SIGNATURES {
            return Err(bad("too many signatures"));
        }
        signatures.push(parse_signature_line(line)?);
    }
    Ok(ParsedNote { text, signatures })
}

/// Parses one signature line without its newline: `— <name> <base64(key id || signature)>`.
pub(crate) fn parse_signature_line(line: &str) -> Result<NoteSignature<'_>, CheckpointError> {
    let bad = |msg: &str| CheckpointError::MalformedNote(msg.to_owned());
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| bad("signature line does not start with an em dash"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("signature line has no signature"))?;
    if name.is_empty() || b64.contains(' ') || line.chars().any(char::is_control) {
        return Err(bad("signature line is not `— <name> <signature>`"));
    }
    let blob = STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not valid base64"))?;
    if blob.len() < 5 {
        return Err(bad("signature is too short"));
    }
    Ok(NoteSignature {
        name,
        key_id: [blob[0], blob[1], blob[2], blob[3]],
        signature: blob[4..].to_vec(),
    })
}
