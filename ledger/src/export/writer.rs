//! Writing exports.

use std::io::Write;

use serde_json::value::RawValue;

use super::EXPORT_FORMAT;
use super::error::ExportError;
use super::lines::{CheckpointLine, EntryLineRef, ExportHeader, HeaderLineRef, RedactedLine};
use crate::entry::Entry;
use crate::hash::Hash;

/// What an entry line carries of the entry's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportPayload<'a> {
    /// Nothing: the export is checked without payloads.
    Omitted,
    /// The payload's canonical JSON bytes, written as JSON (`"payload":{…}`).
    Json(&'a [u8]),
    /// The payload was erased: the line says so (`"payloadErased":true`).
    Erased,
}

/// Writes an export line by line: the header on creation, then entries, then the checkpoint.
#[derive(Debug)]
pub struct ExportWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    entries: u64,
}

impl<W: Write> ExportWriter<W> {
    /// Starts an export by writing its header line.
    pub fn new(out: W, header: &ExportHeader) -> Result<Self, ExportError> {
        let mut writer = ExportWriter {
            out,
            buf: Vec::with_capacity(1024),
            entries: 0,
        };
        writer.write_line(&HeaderLineRef {
            line_type: "header",
            format: EXPORT_FORMAT,
            origin: &header.origin,
            exported_at_ms: header.exported_at_ms,
        })?;
        Ok(writer)
    }

    /// Writes an entry with its recomputed leaf hash (and optionally its payload, canonical
    /// JSON bytes). Returns the leaf hash.
    pub fn write_entry(
        &mut self,
        entry: &Entry,
        payload: Option<&[u8]>,
    ) -> Result<Hash, ExportError> {
        let leaf = entry.leaf_hash();
        self.write_recorded_entry(entry, leaf, payload)?;
        Ok(leaf)
    }

    /// Writes an entry with the leaf hash recorded for it (e.g. as stored in a database), so
    /// that a verifier can detect an entry altered after it was recorded; `payload`, when
    /// given, is the payload's canonical JSON bytes.
    pub fn write_recorded_entry(
        &mut self,
        entry: &Entry,
        leaf_hash: Hash,
        payload: Option<&[u8]>,
    ) -> Result<(), ExportError> {
        let payload = payload.map_or(ExportPayload::Omitted, ExportPayload::Json);
        self.write_entry_line(entry, leaf_hash, payload)
    }

    /// Writes an entry with its recorded leaf hash and what is known of its payload. Fails
    /// if payload bytes are not JSON.
    pub fn write_entry_line(
        &mut self,
        entry: &Entry,
        leaf_hash: Hash,
        payload: ExportPayload<'_>,
    ) -> Result<(), ExportError> {
        let json = match payload {
            ExportPayload::Json(bytes) => Some(
                serde_json::from_slice::<&RawValue>(bytes)
                    .map_err(|source| ExportError::Json { line: 0, source })?,
            ),
            ExportPayload::Omitted | ExportPayload::Erased => None,
        };
        self.write_line(&EntryLineRef {
            line_type: "entry",
            seq: entry.seq,
            kind: &entry.kind,
            timestamp_ms: entry.timestamp_ms,
            actor_user: &entry.actor_user,
            actor_org: &entry.actor_org,
            subjects: &entry.subjects,
            payload_hash: entry.payload_hash,
            prev_hash: entry.prev_hash,
            leaf_hash,
            payload: json,
            payload_erased: payload == ExportPayload::Erased,
        })?;
        self.entries += 1;
        Ok(())
    }

    /// Writes a redacted line in place of `entry`: its sequence number, `prev_hash` and the
    /// recorded `leaf_hash`, nothing else. The tree and the chain still verify over it.
    pub fn write_redacted(&mut self, entry: &Entry, leaf_hash: Hash) -> Result<(), ExportError> {
        self.write_line(&RedactedLine {
            line_type: "redacted".to_owned(),
            seq: entry.seq,
            prev_hash: entry.prev_hash,
            leaf_hash,
        })?;
        self.entries += 1;
        Ok(())
    }

    /// Number of entries written (redacted ones included).
    pub fn entries_written(&self) -> u64 {
        self.entries
    }

    /// Writes the checkpoint line, flushes, and returns the underlying writer.
    pub fn finish(mut self, note: &str, public_key: &str) -> Result<W, ExportError> {
        self.write_line(&CheckpointLine {
            line_type: "checkpoint".to_owned(),
            note: note.to_owned(),
            public_key: public_key.to_owned(),
        })?;
        self.out
            .flush()
            .map_err(|source| ExportError::Io { line: 0, source })?;
        Ok(self.out)
    }

    fn write_line<T: serde::Serialize>(&mut self, line: &T) -> Result<(), ExportError> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, line)
            .map_err(|source| ExportError::Json { line: 0, source })?;
        self.buf.push(b'\n');
        self.out
            .write_all(&self.buf)
            .map_err(|source| ExportError::Io { line: 0, source })
    }
}
