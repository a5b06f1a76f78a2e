//! The offline export format and its verification.
//!
//! An export is JSON Lines (UTF-8, one JSON object per `\n`-terminated line):
//!
//! 1. a header: `{"type":"header","format":"veritrial-ledger/1","origin":"<log origin>",
//!    "exportedAtMs":<unix ms>}`;
//! 2. one line per entry, in sequence order: `{"type":"entry",` followed by the [`Entry`]
//!    fields in their camelCase JSON form, `"leafHash":"<hex>"` (the leaf hash recorded by the
//!    log) and optionally either `"payload":<the payload's canonical JSON, as JSON>` or, for a
//!    payload that was erased, `"payloadErased":true`; or, for an
//!    entry withheld from the reader, a *redacted* line
//!    `{"type":"redacted","seq":<n>,"prevHash":"<hex>"|null,"leafHash":"<hex>"}` carrying only
//!    what the chain and the tree need (see below);
//! 3. a last line `{"type":"checkpoint","note":"<signed note text>","publicKey":"<verifier
//!    key>"}`.
//!
//! [`verify_export`] recomputes every leaf hash and chain link, the Merkle root, and checks
//! the checkpoint signature, size and root; [`ChainVerifier`] does the same for entries read
//! from anywhere else (e.g. a database).
//!
//! Reading is strict: every field of a line is required (except `payload` and
//! `payloadErased`), a field not listed here is an error, and so is a key repeated in any
//! JSON object of a line, since two readers could disagree on which one counts.
//!
//! # Payloads and erasures
//!
//! A payload given in an entry line must hash (SHA-256 of [`canonical_json`] of it) to the
//! entry's `payloadHash`. A payload may be erased (personal data withdrawn), but only through
//! a ledgered erasure: an entry of kind `payload.erased`, later in the chain, whose subject
//! `erased` is the erased entry's sequence number. An entry line marked `payloadErased` with
//! no such erasure entry after it is reported. Entry timestamps never go backwards: an entry
//! whose `timestampMs` is below that of the last entry before it (redacted entries carry no
//! time) is reported.
//!
//! [`canonical_json`]: crate::payload::canonical_json
//!
//! # Redacted lines
//!
//! A reader may be shown only some entries in full (an ethics board sees the entries of its own
//! trials). Every other entry is a redacted line: its leaf hash goes into the Merkle tree as
//! recorded, its `prevHash` is checked against the previous entry's leaf hash, and the next
//! entry's `prevHash` against its leaf hash. So the whole log still verifies against the signed
//! checkpoint, and a redacted line cannot hide a change to a full entry: a full entry's leaf is
//! always recomputed from its contents, and any other leaf changes the root. A redacted line
//! asserts nothing about its own entry's contents; [`Report::entries_redacted`] says how many
//! entries were checked only by their place in the chain and the tree.
//!
//! # What is reported
//!
//! Each [`Problem`] is a sentence naming the entry it concerns; [`Report::first_bad_seq`] is
//! the lowest sequence number named:
//!
//! * an altered entry: `entry N: contents do not match its recorded leaf hash` (or, if its
//!   recorded `leafHash` was recomputed too, `entry N+1: prev_hash does not match the hash of
//!   entry N`);
//! * a deleted entry: `entry N is missing`; reordered entries: the first position out of
//!   order (`entry N is missing`, `entry N is out of order or duplicated`);
//! * a payload that does not hash to the entry's `payloadHash`: `entry N: the payload does
//!   not match its payload hash`; an erased payload without its erasure entry: `entry N: its
//!   payload is marked erased but no payload.erased entry records the erasure`;
//! * a timestamp that goes backwards: `entry N: its timestamp (…) is earlier than entry M's`;
//! * a line that is not valid JSON, repeats a key, lacks a field or has an unknown one: the
//!   entry expected at that place, with the parser's message;
//! * a checkpoint covering more or fewer entries than present: the first entry missing or
//!   not covered;
//! * problems that concern no single entry (`seq: None`): a Merkle root that differs from the
//!   checkpoint root, an invalid or unknown-key signature, a public key that is not the
//!   trusted key, a malformed or missing checkpoint.
//!
//! [`Entry`]: crate::Entry

mod chain;
mod erasures;
mod error;
mod lines;
mod report;
mod signatures;
mod strict;
mod verify;
mod writer;

pub use chain::{ChainVerifier, PayloadEvidence};
pub use erasures::erased_seq;
pub use error::ExportError;
pub use lines::ExportHeader;
pub use report::{Problem, Report};
pub use verify::verify_export;
pub use writer::{ExportPayload, ExportWriter};

/// The value of the header's `format` field.
pub const EXPORT_FORMAT: &str = "veritrial-ledger/1";
