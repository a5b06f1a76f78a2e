//! serde shapes of export lines.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

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

/// The header line as read: every field required, nothing else allowed. Its `type` and
/// `format` were checked by a [`LineProbe`] first.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct HeaderLine {
    #[serde(rename = "type")]
    _line_type: IgnoredAny,
    #[serde(rename = "format")]
    _format: IgnoredAny,
    origin: String,
    exported_at_ms: i64,
}

impl From<HeaderLine> for ExportHeader {
    fn from(line: HeaderLine) -> Self {
        ExportHeader {
            origin: line.origin,
            exported_at_ms: line.exported_at_ms,
        }
    }
}

/// Just the `type` of a line (and, for a header, its `format`), read leniently to decide
/// how to read the line strictly.
#[derive(Deserialize)]
pub(crate) struct LineProbe {
    #[serde(rename = "type")]
    pub line_type: String,
    #[serde(default)]
    pub format: Option<String>,
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
    pub payload: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub payload_erased: bool,
}

/// An entry line as read: every field of the entry required, `payload` or `payloadErased`
/// optional (not both), nothing else allowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EntryLine {
    /// Always "entry": lines are dispatched on it before they are read.
    #[serde(rename = "type")]
    _line_type: IgnoredAny,
    pub seq: u64,
    pub kind: EntryKind,
    pub timestamp_ms: i64,
    pub actor_user: String,
    pub actor_org: String,
    pub subjects: BTreeMap<String, String>,
    pub payload_hash: Hash,
    #[serde(deserialize_with = "required")]
    pub prev_hash: Option<Hash>,
    pub leaf_hash: Hash,
    #[serde(default, deserialize_with = "present")]
    pub payload: Option<Value>,
    #[serde(default, deserialize_with = "only_true")]
    pub payload_erased: bool,
}

/// What an entry line says of its payload.
pub(crate) enum LinePayload {
    /// Nothing (an export without payloads).
    Omitted,
    /// The payload, as JSON.
    Json(Value),
    /// The erasure marker.
    Erased,
}

impl EntryLine {
    /// Splits into the entry, its recorded leaf hash and what the line says of its payload;
    /// `Err` when it carries both a payload and the erasure marker.
    pub fn into_parts(self) -> Result<(Entry, Hash, LinePayload), (u64, String)> {
        let seq = self.seq;
        let payload = match (self.payload, self.payload_erased) {
            (None, false) => LinePayload::Omitted,
            (Some(value), false) => LinePayload::Json(value),
            (None, true) => LinePayload::Erased,
            (Some(_), true) => {
                return Err((
                    seq,
                    format!("entry {seq}: the line carries both a payload and the erasure marker"),
                ));
            }
        };
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
        Ok((entry, self.leaf_hash, payload))
    }
}

/// A redacted entry line (both directions): only what the chain and the tree need.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RedactedLine {
    #[serde(rename = "type")]
    pub line_type: String,
    pub seq: u64,
    #[serde(deserialize_with = "required")]
    pub prev_hash: Option<Hash>,
    pub leaf_hash: Hash,
}

/// The checkpoint line (both directions).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CheckpointLine {
    #[serde(rename = "type")]
    pub line_type: String,
    pub note: String,
    pub public_key: String,
}

/// An `Option` field that must be present (possibly `null`): serde lets a missing `Option`
/// default to `None` unless the field has its own `deserialize_with`.
fn required<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// A JSON value that, when present, is kept even if it is `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A flag that may only be written as `true` (its absence means `false`).
fn only_true<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    if bool::deserialize(deserializer)? {
        Ok(true)
    } else {
        Err(serde::de::Error::custom(
            "`payloadErased` is written only as true",
        ))
    }
}
