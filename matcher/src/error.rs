//! Errors of the index and trial-search operations.

use std::path::PathBuf;

/// Errors returned by [`crate::index::ProfileIndex`] and [`crate::trials::TrialIndex`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from Tantivy (I/O, corrupted index, lock held by another writer, …).
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A file-system error around the index directory.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored document could not be decoded.
    #[error("stored document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An invalid [`crate::index::IndexConfig`].
    #[error("invalid index configuration: {0}")]
    Config(String),
    /// The directory holds files that are not an index of ours; it is left untouched.
    #[error("{0} is not empty and does not hold a Veritrial index; refusing to overwrite it")]
    ForeignDirectory(PathBuf),
    /// The index was closed (its server is shutting down); it no longer takes writes.
    #[error("the index is closed and takes no more writes")]
    Closed,
}

/// Result alias for this crate's fallible operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
