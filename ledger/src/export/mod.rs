//! The offline export format and its verification.
//!
//! An export is JSON Lines (UTF-8, one JSON object per `\n`-terminated line):
//!
//! 1. a header: `{"type":"header","format":"veritrial-ledger/1","origin":"<log origin>",
//!    "exportedAtMs":<unix ms>}`;
//! 2. one line per entry, in sequence order: `{"type":"entry",` followed by the [`Entry`]
//!    fields in their camelCase JSON form, `"leafHash":"<hex>"` (the leaf hash recorded by the
//!    log) and optionally `"payload":"<base64 of the canonical payload bytes>"`;
//! 3. a last line `{"type":"checkpoint","note":"<signed note text>","publicKey":"<verifier
//!    key>"}`.
//!
//! [`verify_export`] recomputes every leaf hash and chain link, the Merkle root, and checks
//! the checkpoint signature, size and root; [`ChainVerifier`] does the same for entries read
//! from anywhere else (e.g. a database).
//!
//! [`Entry`]: crate::Entry

mod chain;
mod error;
mod lines;
mod report;
mod verify;
mod writer;

pub use chain::ChainVerifier;
pub use error::ExportError;
pub use lines::ExportHeader;
pub use report::{Problem, Report};
pub use verify::verify_export;
pub use writer::ExportWriter;

/// The value of the header's `format` field.
pub const EXPORT_FORMAT: &str = "veritrial-ledger/1";
