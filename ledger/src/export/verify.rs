//! Streaming verification of an export.

use std::io::BufRead;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::EXPORT_FORMAT;
use super::chain::ChainVerifier;
use super::error::ExportError;
use super::lines::{CheckpointLine, EntryLine, HeaderLine, LineProbe};
use super::report::Report;
use crate::payload::payload_hash;

/// How `ExportWriter` starts every entry line.
const ENTRY_PREFIX: &str = r#"{"type":"entry","#;

/// Checks one parsed entry line: chain, recorded leaf hash, and payload if present.
fn check_entry(chain: &mut ChainVerifier, line: EntryLine, after_checkpoint: bool) {
    let (entry, recorded_leaf, payload) = line.into_parts();
    let seq = entry.seq;
    if after_checkpoint {
        chain.add_problem(
            seq,
            format!("entry {seq}: appears after the checkpoint line"),
        );
    }
    chain.push(&entry, Some(recorded_leaf));
    if let Some(payload) = payload {
        match STANDARD.decode(payload.as_bytes()) {
            Ok(bytes) if payload_hash(&bytes) == entry.payload_hash => {}
            Ok(_) => chain.add_problem(
                seq,
                format!("entry {seq}: the payload does not match its payload hash"),
            ),
            Err(_) => {
                chain.add_problem(seq, format!("entry {seq}: the payload is not valid base64"))
            }
        }
    }
}

/// Verifies an export read line by line, in O(log n) memory.
///
/// With `trusted_key` (a signed-note verifier key), the checkpoint must be signed by that key;
/// otherwise the key in the export is used, which only proves internal consistency.
/// Returns `Err` only when the input cannot be read or is not an export at all; every problem
/// with entries or the checkpoint is listed in the [`Report`], with the first bad sequence
/// number.
pub fn verify_export<R: BufRead>(
    mut reader: R,
    trusted_key: Option<&str>,
) -> Result<Report, ExportError> {
    let mut buf = String::new();
    let mut line_no = 0u64;

    // Header.
    let header = loop {
        buf.clear();
        line_no += 1;
        let n = reader
            .read_line(&mut buf)
            .map_err(|source| ExportError::Io {
                line: line_no,
                source,
            })?;
        if n == 0 {
            return Err(ExportError::Empty);
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        let header: HeaderLine =
            serde_json::from_str(text).map_err(|e| ExportError::BadHeader {
                line: line_no,
                reason: e.to_string(),
            })?;
        if header.line_type != "header" {
            return Err(ExportError::BadHeader {
                line: line_no,
                reason: format!("first line has type {:?}", header.line_type),
            });
        }
        if header.format != EXPORT_FORMAT {
            return Err(ExportError::UnsupportedFormat(header.format));
        }
        break header;
    };

    let mut chain = ChainVerifier::new();
    let mut checkpoint: Option<CheckpointLine> = None;
    loop {
        buf.clear();
        line_no += 1;
        let n = reader
            .read_line(&mut buf)
            .map_err(|source| ExportError::Io {
                line: line_no,
                source,
            })?;
        if n == 0 {
            break;
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        // Fast path: lines as written by `ExportWriter` start with the entry type, so they
        // can be parsed once, straight into an entry line.
        if text.starts_with(ENTRY_PREFIX)
            && let Ok(line) = serde_json::from_str::<EntryLine>(text)
        {
            check_entry(&mut chain, line, checkpoint.is_some());
            continue;
        }
        let probe: LineProbe = match serde_json::from_str(text) {
            Ok(probe) => probe,
            Err(source) if checkpoint.is_none() => {
                // Inside the entry section a broken line stands for the entry expected here.
                let seq = chain.expected_seq();
                chain.add_problem(
                    seq,
                    format!("entry {seq}: line {line_no} is not a valid export line: {source}"),
                );
                continue;
            }
            Err(source) => {
                return Err(ExportError::Json {
                    line: line_no,
                    source,
                });
            }
        };
        match probe.line_type.as_str() {
            "entry" => match serde_json::from_str::<EntryLine>(text) {
                Ok(line) => check_entry(&mut chain, line, checkpoint.is_some()),
                Err(e) => {
                    let seq = serde_json::from_str::<serde_json::Value>(text)
                        .ok()
                        .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
                        .unwrap_or_else(|| chain.expected_seq());
                    chain.add_problem(
                        seq,
                        format!("entry {seq}: malformed entry line {line_no}: {e}"),
                    );
                }
            },
            "checkpoint" => {
                if checkpoint.is_some() {
                    chain.add_problem(None, format!("line {line_no}: a second checkpoint line"));
                    continue;
                }
                match serde_json::from_str::<CheckpointLine>(text) {
                    Ok(line) => checkpoint = Some(line),
                    Err(e) => {
                        chain.add_problem(
                            None,
                            format!("line {line_no}: malformed checkpoint line: {e}"),
                        );
                    }
                }
            }
            "header" => chain.add_problem(None, format!("line {line_no}: a second header line")),
            other => {
                return Err(ExportError::UnknownLineType {
                    line: line_no,
                    line_type: other.to_owned(),
                });
            }
        }
    }

    let Some(checkpoint) = checkpoint else {
        chain.add_problem(None, "the export has no checkpoint line");
        return Ok(chain.finish_without_checkpoint());
    };
    let mut report = chain.finish(&checkpoint.note, &checkpoint.public_key, trusted_key);
    if let (Some(origin), Some(cp)) = (&header.origin, &report.checkpoint)
        && origin != &cp.origin
    {
        report.ok = false;
        report.problems.push(super::Problem {
            seq: None,
            message: format!(
                "the checkpoint origin {:?} differs from the export's origin {origin:?}",
                cp.origin
            ),
        });
    }
    Ok(report)
}
