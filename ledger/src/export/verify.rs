//! Streaming verification of an export.

use std::io::BufRead;

use super::EXPORT_FORMAT;
use super::chain::{ChainVerifier, PayloadEvidence};
use super::error::ExportError;
use super::lines::{
    CheckpointLine, EntryLine, ExportHeader, HeaderLine, LinePayload, LineProbe, RedactedLine,
};
use super::report::{Problem, Report};
use super::strict::check_no_duplicate_keys;
use crate::payload::canonical_json;

/// Verifies an export read line by line, in O(log n) memory.
///
/// Reading is strict: a line with an unknown field, a missing field or a repeated key is
/// reported (as a problem of the entry expected there, or as a bad header).
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
    Ok(state.finish(&header.origin, trusted_key))
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

fn read_header<R: BufRead>(lines: &mut Lines<R>) -> Result<ExportHeader, ExportError> {
    if !lines.advance()? {
        return Err(ExportError::Empty);
    }
    let bad = |reason: String| ExportError::BadHeader {
        line: lines.line_no,
        reason,
    };
    check_no_duplicate_keys(lines.text()).map_err(|e| bad(e.to_string()))?;
    let probe: LineProbe = serde_json::from_str(lines.text()).map_err(|e| bad(e.to_string()))?;
    if probe.line_type != "header" {
        return Err(bad(format!("first line has type {:?}", probe.line_type)));
    }
    match probe.format {
        Some(format) if format == EXPORT_FORMAT => {}
        Some(format) => return Err(ExportError::UnsupportedFormat(format)),
        None => return Err(bad("missing field `format`".to_owned())),
    }
    serde_json::from_str::<HeaderLine>(lines.text())
        .map(ExportHeader::from)
        .map_err(|e| bad(e.to_string()))
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
        let probe =
            check_no_duplicate_keys(text).and_then(|()| serde_json::from_str::<LineProbe>(text));
        let probe = match probe {
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
        let (entry, recorded_leaf, payload) = match line.into_parts() {
            Ok(parts) => parts,
            Err((seq, message)) => {
                self.chain.add_problem(seq, message);
                return;
            }
        };
        let seq = entry.seq;
        if self.checkpoint.is_some() {
            self.chain.add_problem(
                seq,
                format!("entry {seq}: appears after the checkpoint line"),
            );
        }
        self.chain.push(&entry, Some(recorded_leaf));
        match payload {
            LinePayload::Omitted => {}
            LinePayload::Json(value) => {
                let bytes = canonical_json(&value);
                self.chain
                    .check_payload(&entry, PayloadEvidence::Bytes(&bytes));
            }
            LinePayload::Erased => self.chain.check_payload(&entry, PayloadEvidence::Erased),
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
    fn finish(mut self, origin: &str, trusted_key: Option<&str>) -> Report {
        let Some(checkpoint) = self.checkpoint else {
            self.chain
                .add_problem(None, "the export has no checkpoint line");
            return self.chain.finish_without_checkpoint();
        };
        let mut report = self
            .chain
            .finish(&checkpoint.note, &checkpoint.public_key, trusted_key);
        if let Some(cp) = &report.checkpoint
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
