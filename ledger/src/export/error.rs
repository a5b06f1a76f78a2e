//! Errors that stop export writing or verification outright.

/// A structural failure: the export cannot be read or its structure cannot be attributed to
/// an entry. Everything attributable is reported as a [`super::Problem`] instead.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading or writing failed.
    #[error("I/O error at line {line}: {source}")]
    Io {
        /// 1-based line number (0 when writing).
        line: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The export is empty.
    #[error("the export is empty")]
    Empty,
    /// The first line is not a valid header.
    #[error("line {line}: not a veritrial ledger export header: {reason}")]
    BadHeader {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The header names a format this library does not read.
    #[error("unsupported export format {0:?}")]
    UnsupportedFormat(String),
    /// A line is JSON but of an unknown type.
    #[error("line {line}: unknown line type {line_type:?}")]
    UnknownLineType {
        /// 1-based line number.
        line: u64,
        /// The `type` found.
        line_type: String,
    },
    /// A line outside the entry section is not valid JSON.
    #[error("line {line}: invalid JSON: {source}")]
    Json {
        /// 1-based line number.
        line: u64,
        /// The parser error.
        #[source]
        source: serde_json::Error,
    },
}
