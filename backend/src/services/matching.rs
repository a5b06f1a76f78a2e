//! The derived search indexes (profiles of consenting patients, published trials), kept in
//! step with the database and rebuilt from it when missing, outdated or out of step.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use matcher::index::{IndexChange, ProfileIndex};
use matcher::profile::Profile;
use matcher::suppress::Suppression;
use matcher::trials::{TrialChange, TrialDoc, TrialIndex};
use matcher::{IndexConfig, Opened};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::{patients, protocols};
use crate::entities::trial;
use crate::error::{AppError, AppResult};

/// The node's indexes and its small-cell suppression rule.
#[derive(Clone)]
pub struct Matching {
    profiles: Arc<ProfileIndex>,
    trials: Arc<TrialIndex>,
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
        let profiles = self
            .profiles
            .rebuild(patients::consenting_profiles(db).await?.into_iter())?;
        let trials = self
            .trials
            .rebuild(protocols::trial_docs(db).await?.into_iter())?;
        Ok((profiles, trials))
    }

    /// Rebuilds the trial index from the database; returns the trials indexed.
    pub async fn rebuild_trials(&self, db: &DatabaseConnection) -> anyhow::Result<u64> {
        Ok(self
            .trials
            .rebuild(protocols::trial_docs(db).await?.into_iter())?)
    }

    /// The profile index.
    pub fn profiles(&self) -> &ProfileIndex {
        &self.profiles
    }

    /// The trial index.
    pub fn trials(&self) -> &TrialIndex {
        &self.trials
    }

    /// The suppression rule for counts shown to recruiters and sponsors.
    pub fn suppression(&self) -> Suppression {
        self.suppression
    }

    /// Puts a profile in the index (it has active recruitment consent) or takes it out.
    /// Committed before returning: the next query sees it.
    pub fn set_profile(&self, profile: Option<Profile>, pseudonym: &str) -> AppResult<()> {
        let change = match profile {
            Some(profile) => IndexChange::Upsert(profile),
            None => IndexChange::Remove {
                pseudonym: pseudonym.to_string(),
            },
        };
        self.profiles.apply(&[change]).map_err(index_error)
    }

    /// Puts a trial in the trial index, or replaces it.
    pub fn set_trial(&self, doc: TrialDoc) -> AppResult<()> {
        self.trials
            .apply(&[TrialChange::Upsert(doc)])
            .map_err(index_error)
    }
}

/// An index failure is ours, not the caller's.
pub fn index_error(err: matcher::Error) -> AppError {
    AppError::Internal(anyhow::Error::new(err).context("search index"))
}
