//! serde shapes of export lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, EntryKind};
use crate::hash::Hash;

/// Export header metadata written on the first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportHeader {
    /// The log origin (the checkpoint's first line).
    pub origin: String,
    /// When the export was produced, Unix milliseconds (UTC).
    pub exported_at_ms: i64,
}

/// The header line as written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HeaderLineRef<'a> {
    #[serde(rename = "type")]
    pub line_type: &'static str,
    pub format: &'static str,
    pub origin: &'a str,
    pub exported_at_ms: i64,
}

/// The header line as read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HeaderLine {
    #[serde(rename = "type")]
    pub line_type: String,
    pub format: String,
    #[serde(default)]
    pub origin: Option<String>,
}

/// Just the `type` of a line.
#[derive(Deserialize)]
pub(crate) struct LineProbe {
    #[serde(rename = "type")]
    pub line_type: String,
}

/// An entry line as written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntryLineRef<'a> {
    #[serde(rename = "type")]
    pub line_type: &'static str,
    pub seq: u64,
    pub kind: &'a EntryKind,
    pub timestamp_ms: i64,
    pub actor_user: &'a str,
    pub actor_org: &'a str,
    pub subjects: &'a BTreeMap<String, String>,
    pub payload_hash: Hash,
    pub prev_hash: Option<Hash>,
    pub leaf_hash: Hash,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// An entry line as read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntryLine {
    pub seq: u64,
    pub kind: EntryKind,
    pub timestamp_ms: i64,
    pub actor_user: String,
    pub actor_org: String,
    #[serde(default)]
    pub subjects: BTreeMap<String, String>,
    pub payload_hash: Hash,
    #[serde(default)]
    pub prev_hash: Option<Hash>,
    pub leaf_hash: Hash,
    #[serde(default)]
    pub payload: Option<String>,
}

impl EntryLine {
    /// Splits into the entry, its recorded leaf hash and its optional base64 payload.
    pub fn into_parts(self) -> (Entry, Hash, Option<String>) {
        let entry = Entry {
            seq: self.seq,
            kind: self.kind,
            timestamp_ms: self.timestamp_ms,
            actor_user: self.actor_user,
            actor_org: self.actor_org,
            subjects: self.subjects,
            payload_hash: self.payload_hash,
            prev_hash: self.prev_hash,
        };
        (entry, self.leaf_hash, self.payload)
    }
}

/// A redacted entry line (both directions): only what the chain and the tree need.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RedactedLine {
    #[serde(rename = "type")]
    pub line_type: String,
    pub seq: u64,
    #[serde(default)]
    pub prev_hash: Option<Hash>,
    pub leaf_hash: Hash,
}

/// The checkpoint line (both directions).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckpointLine {
    #[serde(rename = "type")]
    pub line_type: String,
    pub note: String,
    pub public_key: String,
}
