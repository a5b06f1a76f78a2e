//! The derived search indexes (profiles of consenting patients, published trials): a
//! projection of the database that this process's [indexer](super::indexer) keeps in step
//! with the [outbox](super::outbox). Services never write to them.
//!
//! Index work blocks (Tantivy searches and commits), so it runs on a bounded
//! [`BlockingPool`], never on the async workers: use [`Matching::run_profiles`] and
//! [`Matching::run_trials`]. When the pool is full they answer `RATE_LIMITED` at once.
//! Before reading, a request calls [`Matching::fresh`] (read-your-writes across processes).

use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;

use anyhow::Context;
use matcher::IndexConfig;
use matcher::index::ProfileIndex;
use matcher::suppress::Suppression;
use matcher::trials::TrialIndex;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::blocking::BlockingPool;
use super::indexer::{Indexer, IndexerSettings, Indexes};
use super::outbox;
use crate::error::{AppError, AppResult};

/// The node's indexes, their indexer, the pool their work runs on and the small-cell
/// suppression rule.
#[derive(Clone)]
pub struct Matching {
    indexes: Indexes,
    suppression: Suppression,
    indexer: Indexer,
}

impl Matching {
    /// Opens the indexes under `dir` and starts the indexer, which first brings them up to
    /// the database (rebuilding an index that is fresh, of another schema version, of another
    /// database, or when `settings` asks for it; resuming from its watermark otherwise).
    pub async fn open(
        dir: &Path,
        db: &DatabaseConnection,
        suppression: Suppression,
        settings: IndexerSettings,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let config = IndexConfig::default();
        let in_use = || {
            format!(
                "cannot open the search index under {} (is another veritrial process, such as a running server, using this data directory? stop it first)",
                dir.display()
            )
        };
        let (profiles, _) =
            ProfileIndex::open(dir.join("profiles"), config).with_context(in_use)?;
        let (trials, _) = TrialIndex::open(dir.join("trials"), config).with_context(in_use)?;
        let indexes = Indexes {
            profiles: Arc::new(profiles),
            trials: Arc::new(trials),
            pool: BlockingPool::per_core("search index"),
        };
        let indexer = Indexer::start(db.clone(), indexes.clone(), settings, wake).await?;
        Ok(Self {
            indexes,
            suppression,
            indexer,
        })
    }

    /// Waits until the indexes reflect every change committed (by any process) before this
    /// call: reads the outbox head, then waits for the indexer to reach it, at most the
    /// freshness timeout (then [`AppError::IndexBehind`]).
    pub async fn fresh(&self, db: &impl ConnectionTrait) -> AppResult<()> {
        let head = outbox::head(db).await?;
        self.indexer.wait_for(head).await
    }

    /// The indexer (its watermark, to report the lag).
    pub fn indexer(&self) -> &Indexer {
        &self.indexer
    }

    /// Runs `f` on the profile index on the bounded blocking pool and returns its result.
    ///
    /// This is the one way request handlers use the profile index. It answers
    /// [`AppError::RateLimited`] at once when the pool and its queue are full; if the caller
    /// goes away (request timeout) before `f` starts, `f` never runs. Do all of one request's
    /// index work in one closure, so it takes one turn:
    ///
    /// ```text
    /// let (total, sites) = state
    ///     .matching
    ///     .run_profiles(move |index| Ok::<_, matcher::Error>((index.count(&expr)?, index.count_by_site(&expr)?)))
    ///     .await?
    ///     .map_err(index_error)?;
    /// ```
    pub async fn run_profiles<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&ProfileIndex) -> T + Send + 'static,
        T: Send + 'static,
    {
        let index = self.indexes.profiles.clone();
        self.indexes.pool.run(move |_| f(&index)).await
    }

    /// Runs `f` on the trial index on the same bounded pool; see [`Matching::run_profiles`].
    pub async fn run_trials<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&TrialIndex) -> T + Send + 'static,
        T: Send + 'static,
    {
        let index = self.indexes.trials.clone();
        self.indexes.pool.run(move |_| f(&index)).await
    }

    /// The pool index work runs on (to see how busy it is).
    pub fn pool(&self) -> &BlockingPool {
        &self.indexes.pool
    }

    /// The suppression rule for counts shown to recruiters and sponsors.
    pub fn suppression(&self) -> Suppression {
        self.suppression
    }
}

/// An index failure is ours, not the caller's.
pub fn index_error(err: matcher::Error) -> AppError {
    AppError::Internal(anyhow::Error::new(err).context("search index"))
}
