//! Streaming verification of an export.

use std::io::BufRead;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::EXPORT_FORMAT;
use super::chain::ChainVerifier;
use super::error::ExportError;
use super::lines::{CheckpointLine, EntryLine, HeaderLine, LineProbe, RedactedLine};
use super::report::{Problem, Report};
use crate::payload::payload_hash;

/// How `ExportWriter` starts every entry line.
const ENTRY_PREFIX: &str = r#"{"type":"entry","#;

/// Verifies an export read line by line, in O(log n) memory.
///
/// With `trusted_key` (a signed-note verifier key), the checkpoint must be signed by that key;
/// otherwise the key in the export is used, which only proves internal consistency.
/// Returns `Err` only when the input cannot be read or is not an export at all; every problem
/// with entries or the checkpoint is listed in the [`Report`], with the first bad sequence
/// number.
pub fn verify_export<R: BufRead>(
    reader: R,
    trusted_key: Option<&str>,
) -> Result<Report, ExportError> {
    let mut lines = Lines {
        reader,
        buf: String::new(),
        line_no: 0,
    };
    let header = read_header(&mut lines)?;
    let mut state = State::default();
    while lines.advance()? {
        state.handle(lines.text(), lines.line_no)?;
    }
    Ok(state.finish(header.origin.as_deref(), trusted_key))
}

/// Non-empty lines of the input, with their 1-based numbers.
struct Lines<R> {
    reader: R,
    buf: String,
    line_no: u64,
}

impl<R: BufRead> Lines<R> {
    /// Reads the next non-blank line; `false` at the end of the input.
    fn advance(&mut self) -> Result<bool, ExportError> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            let n = self
                .reader
                .read_line(&mut self.buf)
                .map_err(|source| ExportError::Io {
                    line: self.line_no,
                    source,
                })?;
            if n == 0 {
                return Ok(false);
            }
            if !self.buf.trim().is_empty() {
                return Ok(true);
            }
        }
    }

    fn text(&self) -> &str {
        self.buf.trim()
    }
}

fn read_header<R: BufRead>(lines: &mut Lines<R>) -> Result<HeaderLine, ExportError> {
    if !lines.advance()? {
        return Err(ExportError::Empty);
    }
    let bad = |reason: String| ExportError::BadHeader {
        line: lines.line_no,
        reason,
    };
    let header: HeaderLine = serde_json::from_str(lines.text()).map_err(|e| bad(e.to_string()))?;
    if header.line_type != "header" {
        return Err(bad(format!("first line has type {:?}", header.line_type)));
    }
    if header.format != EXPORT_FORMAT {
        return Err(ExportError::UnsupportedFormat(header.format));
    }
    Ok(header)
}

/// Verification state after the header.
#[derive(Default)]
struct State {
    chain: ChainVerifier,
    checkpoint: Option<CheckpointLine>,
}

impl State {
    /// Handles one line after the header.
    fn handle(&mut self, text: &str, line_no: u64) -> Result<(), ExportError> {
        // Fast path: lines as written by `ExportWriter` start with the entry type, so they
        // can be parsed once, straight into an entry line.
        if text.starts_with(ENTRY_PREFIX)
            && let Ok(line) = serde_json::from_str::<EntryLine>(text)
        {
            self.entry(line);
            return Ok(());
        }
        let probe: LineProbe = match serde_json::from_str(text) {
            Ok(probe) => probe,
            Err(source) if self.checkpoint.is_none() => {
                // Inside the entry section a broken line stands for the entry expected here.
                let seq = self.chain.expected_seq();
                self.chain.add_problem(
                    seq,
                    format!("entry {seq}: line {line_no} is not a valid export line: {source}"),
                );
                return Ok(());
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
                Ok(line) => self.entry(line),
                Err(e) => {
                    let seq = serde_json::from_str::<serde_json::Value>(text)
                        .ok()
                        .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
                        .unwrap_or_else(|| self.chain.expected_seq());
                    self.chain.add_problem(
                        seq,
                        format!("entry {seq}: malformed entry line {line_no}: {e}"),
                    );
                }
            },
            "redacted" => match serde_json::from_str::<RedactedLine>(text) {
                Ok(line) => self.redacted(line),
                Err(e) => {
                    let seq = self.chain.expected_seq();
                    self.chain.add_problem(
                        seq,
                        format!("entry {seq}: malformed redacted line {line_no}: {e}"),
                    );
                }
            },
            "checkpoint" if self.checkpoint.is_some() => {
                self.chain
                    .add_problem(None, format!("line {line_no}: a second checkpoint line"));
            }
            "checkpoint" => match serde_json::from_str::<CheckpointLine>(text) {
                Ok(line) => self.checkpoint = Some(line),
                Err(e) => self.chain.add_problem(
                    None,
                    format!("line {line_no}: malformed checkpoint line: {e}"),
                ),
            },
            "header" => self
                .chain
                .add_problem(None, format!("line {line_no}: a second header line")),
            other => {
                return Err(ExportError::UnknownLineType {
                    line: line_no,
                    line_type: other.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Checks one parsed entry line: chain, recorded leaf hash, and payload if present.
    fn entry(&mut self, line: EntryLine) {
        let (entry, recorded_leaf, payload) = line.into_parts();
        let seq = entry.seq;
        if self.checkpoint.is_some() {
            self.chain.add_problem(
                seq,
                format!("entry {seq}: appears after the checkpoint line"),
            );
        }
        self.chain.push(&entry, Some(recorded_leaf));
        let Some(payload) = payload else { return };
        match STANDARD.decode(payload.as_bytes()) {
            Ok(bytes) if payload_hash(&bytes) == entry.payload_hash => {}
            Ok(_) => self.chain.add_problem(
                seq,
                format!("entry {seq}: the payload does not match its payload hash"),
            ),
            Err(_) => self
                .chain
                .add_problem(seq, format!("entry {seq}: the payload is not valid base64")),
        }
    }

    /// Places one redacted entry in the chain and the tree.
    fn redacted(&mut self, line: RedactedLine) {
        if self.checkpoint.is_some() {
            let seq = line.seq;
            self.chain.add_problem(
                seq,
                format!("entry {seq}: appears after the checkpoint line"),
            );
        }
        self.chain
            .push_redacted(line.seq, line.prev_hash, line.leaf_hash);
    }

    /// Checks the checkpoint (if any) and produces the report.
    fn finish(mut self, origin: Option<&str>, trusted_key: Option<&str>) -> Report {
        let Some(checkpoint) = self.checkpoint else {
            self.chain
                .add_problem(None, "the export has no checkpoint line");
            return self.chain.finish_without_checkpoint();
        };
        let mut report = self
            .chain
            .finish(&checkpoint.note, &checkpoint.public_key, trusted_key);
        if let (Some(origin), Some(cp)) = (origin, &report.checkpoint)
            && origin != cp.origin
        {
            report.ok = false;
            report.problems.push(Problem {
                seq: None,
                message: format!(
                    "the checkpoint origin {:?} differs from the export's origin {origin:?}",
                    cp.origin
                ),
            });
        }
        report
    }
}
