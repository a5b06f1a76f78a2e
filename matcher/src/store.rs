//! Versioned index directories: open an index whose schema version matches, or recreate
//! the directory empty so that the caller rebuilds it from the database.

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

use crate::error::{Error, Result};

/// Name of the file holding the schema version inside an index directory.
pub const VERSION_FILE: &str = "veritrial-schema-version";

/// Tantivy's writer needs at least this much heap per indexing thread.
pub const MIN_HEAP_PER_THREAD: usize = 15_000_000;

/// How [`crate::index::ProfileIndex::open`] (or the trial index) found its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The directory was missing, empty or of another schema version and has been
    /// (re)created empty: rebuild it from the database.
    Fresh,
    /// An index of the current schema version was opened as is.
    Existing,
}

/// Writer resources for an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexConfig {
    /// Total indexing heap in bytes across threads (default 50 MB; at least 15 MB per thread).
    pub writer_heap_bytes: usize,
    /// Indexing threads (default 1). Merges run on one extra background thread.
    pub threads: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            writer_heap_bytes: 50_000_000,
            threads: 1,
        }
    }
}

impl IndexConfig {
    fn validate(&self) -> Result<()> {
        if self.threads == 0 {
            return Err(Error::Config("threads must be at least 1".into()));
        }
        if self.writer_heap_bytes / self.threads < MIN_HEAP_PER_THREAD {
            return Err(Error::Config(format!(
                "writer_heap_bytes must be at least {MIN_HEAP_PER_THREAD} per thread"
            )));
        }
        Ok(())
    }
}

/// An opened index with its single writer and a manually reloaded reader.
pub(crate) struct Store {
    pub index: Index,
    writer: Mutex<IndexWriter>,
    pub reader: IndexReader,
    dir: std::path::PathBuf,
    version: String,
}

impl Store {
    /// Exclusive access to the writer (a poisoned lock is recovered: the writer itself keeps
    /// no half-applied state outside of uncommitted operations, which are rolled back).
    pub fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends a batch: commits it and reloads the reader (so the next query sees it) when
    /// `result` is `Ok`, rolls it back otherwise.
    pub fn commit_or_rollback(&self, writer: &mut IndexWriter, result: Result<()>) -> Result<()> {
        match result {
            Ok(()) => {
                writer.commit()?;
                self.reader.reload()?;
                Ok(())
            }
            Err(e) => {
                writer.rollback()?;
                Err(e)
            }
        }
    }

    /// Removes the version file, so that a crash before [`Store::mark_complete`] makes the
    /// next open recreate the index (used around bulk rebuilds).
    pub fn mark_incomplete(&self) -> Result<()> {
        match fs::remove_file(self.dir.join(VERSION_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Writes the version file back after a complete rebuild.
    pub fn mark_complete(&self) -> Result<()> {
        fs::write(self.dir.join(VERSION_FILE), &self.version)?;
        Ok(())
    }
}

/// Opens the index in `dir` if it carries `version`, otherwise recreates it empty.
pub(crate) fn open(
    dir: &Path,
    schema: Schema,
    version: &str,
    config: &IndexConfig,
) -> Result<(Store, Opened)> {
    config.validate()?;
    let (index, opened) = match try_open_existing(dir, version) {
        Some(index) => (index, Opened::Existing),
        None => {
            recreate_dir(dir)?;
            let index = Index::create_in_dir(dir, schema)?;
            fs::write(dir.join(VERSION_FILE), version)?;
            (index, Opened::Fresh)
        }
    };
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .num_worker_threads(config.threads)
        .memory_budget_per_thread(config.writer_heap_bytes / config.threads)
        .num_merge_threads(1)
        .build();
    let writer = index.writer_with_options(options)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok((
        Store {
            index,
            writer: Mutex::new(writer),
            reader,
            dir: dir.to_path_buf(),
            version: version.to_string(),
        },
        opened,
    ))
}

fn try_open_existing(dir: &Path, version: &str) -> Option<Index> {
    let stored = fs::read_to_string(dir.join(VERSION_FILE)).ok()?;
    if stored.trim() != version {
        return None;
    }
    Index::open_in_dir(dir).ok()
}

/// Empties `dir` (creating it if needed), but only when it is empty or clearly ours.
fn recreate_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries = fs::read_dir(dir)?.peekable();
        let empty = entries.peek().is_none();
        let ours = dir.join(VERSION_FILE).exists() || dir.join("meta.json").exists();
        if !empty && !ours {
            return Err(Error::ForeignDirectory(dir.to_path_buf()));
        }
        if !empty {
            fs::remove_dir_all(dir)?;
        }
    }
    fs::create_dir_all(dir)?;
    Ok(())
}
