//! Versioned index directories: open an index whose schema version matches, or recreate
//! the directory empty so that the caller rebuilds it from the database. Each commit may
//! carry a [`Watermark`], and queries read a [`Snapshot`]: a searcher together with the
//! watermark of the content it sees.

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher};

use crate::error::{Error, Result};
use crate::watermark::Watermark;

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

/// What a query reads: a searcher and the watermark of the content it sees (`None` when the
/// content is at no known position, e.g. fresh or written without a watermark).
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub searcher: Searcher,
    pub watermark: Option<Watermark>,
}

/// An opened index with its single writer, a manually reloaded reader and the snapshot
/// queries read (replaced, under the writer lock, after each commit). The writer holds the
/// directory's lock until [`Store::close`] drops it.
pub(crate) struct Store {
    pub index: Index,
    writer: Mutex<Option<IndexWriter>>,
    reader: IndexReader,
    current: RwLock<Snapshot>,
    dir: std::path::PathBuf,
    version: String,
}

impl Store {
    /// Exclusive access to the writer (a poisoned lock is recovered: the writer itself keeps
    /// no half-applied state outside of uncommitted operations, which are rolled back).
    fn writer(&self) -> MutexGuard<'_, Option<IndexWriter>> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with exclusive access to the writer; [`Error::Closed`] once closed.
    fn with_writer<R>(&self, f: impl FnOnce(&mut IndexWriter) -> Result<R>) -> Result<R> {
        f(self.writer().as_mut().ok_or(Error::Closed)?)
    }

    /// Drops the writer after any write in progress, releasing the directory's lock so that
    /// another writer (a restarted server, a repair tool) can open the index while readers
    /// of this one still hold it. Later writes fail with [`Error::Closed`]; queries go on
    /// reading the last snapshot. Closing twice is harmless.
    pub fn close(&self) {
        drop(self.writer().take());
    }

    /// The searcher and watermark queries read now.
    pub fn snapshot(&self) -> Snapshot {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The searcher queries read now.
    pub fn searcher(&self) -> Searcher {
        self.snapshot().searcher
    }

    /// Ends a batch: commits it with `at` as its payload (none clears the watermark) and
    /// publishes the new snapshot (so the next query sees it) when `result` is `Ok`, rolls it
    /// back otherwise.
    fn commit_or_rollback(
        &self,
        writer: &mut IndexWriter,
        result: Result<()>,
        at: Option<&Watermark>,
    ) -> Result<()> {
        match result {
            Ok(()) => self.commit(writer, at),
            Err(e) => {
                writer.rollback()?;
                Err(e)
            }
        }
    }

    /// Commits what `writer` holds with `at` as the payload and publishes the new snapshot.
    fn commit(&self, writer: &mut IndexWriter, at: Option<&Watermark>) -> Result<()> {
        let mut prepared = writer.prepare_commit()?;
        if let Some(at) = at {
            prepared.set_payload(&at.to_payload());
        }
        prepared.commit()?;
        self.reader.reload()?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Snapshot {
            searcher: self.reader.searcher(),
            watermark: at.cloned(),
        };
        Ok(())
    }

    /// Applies one batch as one commit: `each` turns every change into writer operations,
    /// then the batch commits with `at` as its watermark (none clears it). On error nothing
    /// of the batch is committed. An empty batch at a watermark only [advances](Self::advance)
    /// it; an empty batch without one does nothing.
    pub fn write_batch<C>(
        &self,
        changes: &[C],
        at: Option<&Watermark>,
        mut each: impl FnMut(&mut IndexWriter, &C) -> Result<()>,
    ) -> Result<()> {
        self.with_writer(|writer| {
            if changes.is_empty() {
                return match at {
                    Some(at) => self.advance(writer, at),
                    None => Ok(()),
                };
            }
            let result = changes.iter().try_for_each(|c| each(writer, c));
            self.commit_or_rollback(writer, result, at)
        })
    }

    /// Replaces the whole content with `items` (`each` adds one), committing every
    /// `commit_every` items to bound memory and at the end with `at` as the watermark.
    /// Queries keep seeing the previous content until the rebuild is complete, and a crash
    /// in between makes the next open start afresh. Returns the number of items read.
    pub fn replace_all<T>(
        &self,
        items: impl Iterator<Item = T>,
        at: Option<&Watermark>,
        commit_every: usize,
        mut each: impl FnMut(&mut IndexWriter, T) -> Result<()>,
    ) -> Result<u64> {
        self.with_writer(|writer| {
            self.mark_incomplete()?;
            writer.delete_all_documents()?;
            let mut n = 0u64;
            let result = (|| -> Result<()> {
                for item in items {
                    each(writer, item)?;
                    n += 1;
                    if n.is_multiple_of(commit_every as u64) {
                        writer.commit()?;
                    }
                }
                Ok(())
            })();
            if let Err(e) = result {
                writer.rollback()?;
                return Err(e);
            }
            self.commit(writer, at)?;
            self.mark_complete()?;
            Ok(n)
        })
    }

    /// Records that the content, unchanged, reflects the log up to `at`: in memory only when
    /// it already reflects a position of the same database (a restart then replays from the
    /// committed position, which changes nothing), with an empty commit otherwise. `writer`
    /// is the locked writer, so that this orders with commits.
    fn advance(&self, writer: &mut IndexWriter, at: &Watermark) -> Result<()> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        match &current.watermark {
            Some(w) if w.database == at.database => {
                if at.position > w.position {
                    current.watermark = Some(at.clone());
                }
                Ok(())
            }
            _ => {
                drop(current);
                self.commit(writer, Some(at))
            }
        }
    }

    /// Removes the version file, so that a crash before [`Store::mark_complete`] makes the
    /// next open recreate the index (used around bulk rebuilds).
    fn mark_incomplete(&self) -> Result<()> {
        match fs::remove_file(self.dir.join(VERSION_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Writes the version file back after a complete rebuild.
    fn mark_complete(&self) -> Result<()> {
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
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let snapshot = Snapshot {
        searcher: reader.searcher(),
        watermark: Watermark::from_payload(index.load_metas()?.payload.as_deref()),
    };
    Ok((
        Store {
            index,
            writer: Mutex::new(Some(writer)),
            reader,
            current: RwLock::new(snapshot),
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
