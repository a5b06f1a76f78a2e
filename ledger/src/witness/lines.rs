//! Adding signature lines to a note, and reading a block of them.

use super::error::WitnessError;
use crate::checkpoint::note::{self, parse_signature_line};

/// Appends signature `lines` (each exactly one `— <name> <base64>\n` line) to a signed note,
/// skipping any whose key name and key id already sign the note or an earlier line. The
/// result must still be a well-formed note.
pub fn add_signature_lines(note_text: &str, lines: &[String]) -> Result<String, WitnessError> {
    let parsed = note::parse(note_text)?;
    let mut seen: Vec<(String, [u8; 4])> = parsed
        .signatures
        .iter()
        .map(|s| (s.name.to_owned(), s.key_id))
        .collect();
    let mut out = note_text.to_owned();
    for line in lines {
        let sig = parse_one_line(line)?;
        let id = (sig.0.to_owned(), sig.1);
        if !seen.contains(&id) {
            seen.push(id);
            out.push_str(line);
        }
    }
    note::parse(&out)?;
    Ok(out)
}

/// Splits a block of signature lines (such as an add-checkpoint response body: one or more
/// lines, each ending in `\n`) into its lines, each with its newline, checking every one.
pub fn split_signature_lines(block: &str) -> Result<Vec<String>, WitnessError> {
    if block.is_empty() {
        return Err(WitnessError::MalformedMessage(
            "no signature lines".to_owned(),
        ));
    }
    block
        .split_inclusive('\n')
        .map(|line| parse_one_line(line).map(|_| line.to_owned()))
        .collect()
}

/// Parses one newline-terminated signature line into its name and key id.
fn parse_one_line(line: &str) -> Result<(&str, [u8; 4]), WitnessError> {
    let body = line
        .strip_suffix('\n')
        .filter(|b| !b.contains('\n'))
        .ok_or_else(|| {
            WitnessError::MalformedMessage("a signature line must end in one newline".to_owned())
        })?;
    let sig = parse_signature_line(body)?;
    Ok((sig.name, sig.key_id))
}

/// The text of a signed note (the checkpoint body a cosigner signs), after checking that the
/// note is well formed. Signatures are not checked.
pub fn note_body(note_text: &str) -> Result<&str, WitnessError> {
    Ok(note::parse(note_text)?.text)
}
