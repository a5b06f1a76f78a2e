//! Which ledger entries a reader sees in full; every other entry is shown redacted (its
//! sequence number and hashes only), so the whole log still verifies.
//!
//! An entry is shown in full when its `trial` subject is a trial the reader may read
//! ([`protocols::may_read`]: for an ethics board, a trial that names it).
//! Entries without a trial (recruitment-contact consent given when a site registers a
//! patient) concern no trial and are redacted for everyone but admins, who see everything.

use std::collections::HashSet;

use ledger::Entry;

use crate::auth::Principal;
use crate::domain::Role;
use crate::error::AppResult;
use crate::services::protocols;
use crate::state::AppState;

/// What of the ledger one reader sees in full.
#[derive(Clone, Debug)]
pub enum Visibility {
    /// Every entry (admins, and the node's own command line).
    Everything,
    /// Only the entries about these trials.
    Trials(HashSet<String>),
}

impl Visibility {
    /// What `who` sees in full: everything for an admin, otherwise the entries of the trials
    /// `who` may read.
    pub async fn of(state: &AppState, who: &Principal) -> AppResult<Self> {
        if who.role == Role::Admin {
            return Ok(Self::Everything);
        }
        let trials = protocols::list(state, who, None).await?;
        Ok(Self::Trials(
            trials.into_iter().map(|view| view.trial.id).collect(),
        ))
    }

    /// Whether `entry` is shown in full.
    pub fn shows(&self, entry: &Entry) -> bool {
        match self {
            Self::Everything => true,
            Self::Trials(trials) => entry
                .subjects
                .get("trial")
                .is_some_and(|trial| trials.contains(trial)),
        }
    }
}
