//! The derived search indexes (profiles of consenting patients, published trials), kept in
//! step with the database and rebuilt from it when missing, outdated or out of step.
//!
//! Index work blocks (Tantivy searches and commits), so it runs on a bounded
//! [`BlockingPool`], never on the async workers: use [`Matching::run_profiles`] and
//! [`Matching::run_trials`]. When the pool is full they answer `RATE_LIMITED` at once.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use matcher::index::{IndexChange, ProfileIndex};
use matcher::profile::Profile;
use matcher::suppress::Suppression;
use matcher::trials::{TrialChange, TrialDoc, TrialIndex};
use matcher::{IndexConfig, Opened};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::blocking::BlockingPool;
use super::{patients, protocols};
use crate::entities::trial;
use crate::error::{AppError, AppResult};

/// The node's indexes, the pool their work runs on and the small-cell suppression rule.
#[derive(Clone)]
pub struct Matching {
    profiles: Arc<ProfileIndex>,
    trials: Arc<TrialIndex>,
    pool: BlockingPool,
    suppression: Suppression,
}

impl Matching {
    /// Opens the indexes under `dir`, rebuilding either from the database when it is fresh
    /// (missing, other schema version) or holds a different number of documents.
    pub async fn open(
        dir: &Path,
        db: &DatabaseConnection,
        suppression: Suppression,
    ) -> anyhow::Result<Self> {
        let config = IndexConfig::default();
        let in_use = || {
            format!(
                "cannot open the search index under {} (is another veritrial process, such as a running server, using this data directory? stop it first)",
                dir.display()
            )
        };
        let (profiles, opened_profiles) =
            ProfileIndex::open(dir.join("profiles"), config).with_context(in_use)?;
        let (trials, opened_trials) =
            TrialIndex::open(dir.join("trials"), config).with_context(in_use)?;
        let matching = Self {
            profiles: Arc::new(profiles),
            trials: Arc::new(trials),
            pool: BlockingPool::per_core("search index"),
            suppression,
        };
        // Counts decide; the documents are loaded only when an index must be rebuilt.
        let consenting = patients::consenting_count(db).await?;
        if opened_profiles == Opened::Fresh || matching.profiles.len() != consenting {
            tracing::info!(
                profiles = consenting,
                "rebuilding the profile index from the database"
            );
            matching
                .profiles
                .rebuild(patients::consenting_profiles(db).await?.into_iter())?;
        }
        let published = trial::Entity::find().count(db).await?;
        if opened_trials == Opened::Fresh || matching.trials.len() != published {
            tracing::info!(
                trials = published,
                "rebuilding the trial index from the database"
            );
            matching
                .trials
                .rebuild(protocols::trial_docs(db).await?.into_iter())?;
        }
        Ok(matching)
    }

    /// Rebuilds both indexes from the database; returns (profiles, trials) indexed.
    pub async fn rebuild(&self, db: &DatabaseConnection) -> anyhow::Result<(u64, u64)> {
        let profiles = patients::consenting_profiles(db).await?;
        let index = self.profiles.clone();
        let profiles = self
            .pool
            .run_to_completion(move || index.rebuild(profiles.into_iter()))
            .await??;
        let trials = self.rebuild_trials(db).await?;
        Ok((profiles, trials))
    }

    /// Rebuilds the trial index from the database; returns the trials indexed.
    pub async fn rebuild_trials(&self, db: &DatabaseConnection) -> anyhow::Result<u64> {
        let docs = protocols::trial_docs(db).await?;
        let index = self.trials.clone();
        Ok(self
            .pool
            .run_to_completion(move || index.rebuild(docs.into_iter()))
            .await??)
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
        let index = self.profiles.clone();
        self.pool.run(move |_| f(&index)).await
    }

    /// Runs `f` on the trial index on the same bounded pool; see [`Matching::run_profiles`].
    pub async fn run_trials<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&TrialIndex) -> T + Send + 'static,
        T: Send + 'static,
    {
        let index = self.trials.clone();
        self.pool.run(move |_| f(&index)).await
    }

    /// The pool index work runs on (to see how busy it is).
    pub fn pool(&self) -> &BlockingPool {
        &self.pool
    }

    /// The suppression rule for counts shown to recruiters and sponsors.
    pub fn suppression(&self) -> Suppression {
        self.suppression
    }

    /// Puts a profile in the index (it has active recruitment consent) or takes it out.
    /// Committed before returning: the next query sees it. It follows a database commit, so
    /// it waits for a turn on the pool rather than being refused, and completes even if the
    /// caller goes away.
    pub async fn set_profile(&self, profile: Option<Profile>, pseudonym: &str) -> AppResult<()> {
        let change = match profile {
            Some(profile) => IndexChange::Upsert(profile),
            None => IndexChange::Remove {
                pseudonym: pseudonym.to_string(),
            },
        };
        let index = self.profiles.clone();
        self.pool
            .run_to_completion(move || index.apply(&[change]))
            .await?
            .map_err(index_error)
    }

    /// Puts a trial in the trial index, or replaces it; like [`Matching::set_profile`], it
    /// waits for a turn rather than being refused.
    pub async fn set_trial(&self, doc: TrialDoc) -> AppResult<()> {
        let index = self.trials.clone();
        self.pool
            .run_to_completion(move || index.apply(&[TrialChange::Upsert(doc)]))
            .await?
            .map_err(index_error)
    }
}

/// An index failure is ours, not the caller's.
pub fn index_error(err: matcher::Error) -> AppError {
    AppError::Internal(anyhow::Error::new(err).context("search index"))
}
