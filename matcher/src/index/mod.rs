//! The profile index: a Tantivy index of normalised [`Profile`]s, with cohort counts,
//! funnels, per-site counts and pseudonym listings for criteria [`Expr`]essions.
//!
//! Writes go through [`ProfileIndex::apply`] (one commit per batch, then a reader reload, so
//! the next query sees the change) or [`ProfileIndex::rebuild`].

mod cohort;
mod collectors;
mod compile;
mod schema;

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::{Searcher, Term};

use self::collectors::ValueCounts;
use self::schema::{Fields, SCHEMA_VERSION};
use crate::criteria::Expr;
use crate::error::Result;
use crate::profile::Profile;
use crate::store::{self, Store};

pub use self::cohort::CohortCounts;
pub use crate::store::{IndexConfig, Opened};

/// Documents added between intermediate commits during [`ProfileIndex::rebuild`].
pub const REBUILD_COMMIT_EVERY: usize = 250_000;

/// One change to the index.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexChange {
    /// Insert the profile, replacing any profile with the same pseudonym.
    Upsert(Profile),
    /// Remove the profile with this pseudonym (no-op when absent), e.g. consent withdrawn.
    Remove {
        /// Pseudonym of the profile to remove.
        pseudonym: String,
    },
}

/// Patients remaining after the first `k` conjuncts of a criteria expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunnelStep {
    /// Canonical text of the `k`-th conjunct.
    pub clause: String,
    /// Profiles matching conjuncts `1..=k`.
    pub remaining: u64,
}

/// A Tantivy index of anonymised profiles in a directory. `Send + Sync`: share it in an `Arc`;
/// writes are serialised internally, reads never block.
pub struct ProfileIndex {
    store: Store,
    fields: Fields,
}

impl ProfileIndex {
    /// Opens the index in `dir`. When `dir` is missing, empty or holds another schema version,
    /// it is recreated empty and [`Opened::Fresh`] is returned: the caller should then
    /// [`rebuild`](Self::rebuild) it from the database. A non-empty directory that is not an
    /// index of ours is never deleted ([`crate::Error::ForeignDirectory`]).
    pub fn open(dir: impl AsRef<Path>, config: IndexConfig) -> Result<(ProfileIndex, Opened)> {
        let (schema, fields) = schema::build();
        let (store, opened) = store::open(dir.as_ref(), schema, SCHEMA_VERSION, &config)?;
        Ok((ProfileIndex { store, fields }, opened))
    }

    fn searcher(&self) -> Searcher {
        self.store.reader.searcher()
    }

    /// Applies a batch of changes in order, as one commit, and reloads the reader so that the
    /// next query sees them. On error nothing of the batch is committed.
    pub fn apply(&self, changes: &[IndexChange]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut writer = self.store.writer();
        let result = changes.iter().try_for_each(|change| -> Result<()> {
            match change {
                IndexChange::Upsert(p) => {
                    let p = p.normalised();
                    writer.delete_term(Term::from_field_text(self.fields.pseudonym, &p.pseudonym));
                    writer.add_document(schema::document(&self.fields, &p))?;
                }
                IndexChange::Remove { pseudonym } => {
                    writer.delete_term(Term::from_field_text(
                        self.fields.pseudonym,
                        pseudonym.trim(),
                    ));
                }
            }
            Ok(())
        });
        self.store.commit_or_rollback(&mut writer, result)
    }

    /// Replaces the whole content with `profiles` (duplicates by pseudonym: the last wins),
    /// committing every [`REBUILD_COMMIT_EVERY`] documents to bound memory. Queries keep seeing
    /// the previous content until the rebuild is complete. Returns the number of profiles read.
    pub fn rebuild(&self, profiles: impl Iterator<Item = Profile>) -> Result<u64> {
        let mut writer = self.store.writer();
        self.store.mark_incomplete()?;
        writer.delete_all_documents()?;
        let mut seen = HashSet::new();
        let mut n = 0u64;
        let mut since_commit = 0usize;
        let result = (|| -> Result<()> {
            for p in profiles {
                let p = p.normalised();
                if !seen.insert(p.pseudonym.clone()) {
                    writer.delete_term(Term::from_field_text(self.fields.pseudonym, &p.pseudonym));
                }
                writer.add_document(schema::document(&self.fields, &p))?;
                n += 1;
                since_commit += 1;
                if since_commit >= REBUILD_COMMIT_EVERY {
                    writer.commit()?;
                    since_commit = 0;
                }
            }
            writer.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            writer.rollback()?;
            return Err(e);
        }
        self.store.mark_complete()?;
        self.store.reader.reload()?;
        Ok(n)
    }

    /// Number of profiles in the index.
    pub fn len(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Whether the index holds no profile.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of profiles matching `expr` (exact; apply suppression before showing it).
    pub fn count(&self, expr: &Expr) -> Result<u64> {
        let query = compile::compile(&self.fields, expr);
        Ok(self.searcher().search(query.as_ref(), &Count)? as u64)
    }

    /// For each top-level conjunct `k` of `expr`, the profiles matching conjuncts `1..=k`.
    /// All steps are computed on the same snapshot of the index, in time linear in the
    /// number of conjuncts.
    pub fn funnel(&self, expr: &Expr) -> Result<Vec<FunnelStep>> {
        Ok(self.cohort(expr, None)?.funnel)
    }

    /// The funnel, total and per-site counts of `expr` from one snapshot, optionally only
    /// among the profiles of the site `within_site`.
    pub fn cohort(&self, expr: &Expr, within_site: Option<&str>) -> Result<CohortCounts> {
        cohort::count(&self.searcher(), &self.fields, expr, within_site)
    }

    /// Profiles matching `expr` per site id, sorted by site id; sites without a match are
    /// omitted.
    pub fn count_by_site(&self, expr: &Expr) -> Result<Vec<(String, u64)>> {
        let query = compile::compile(&self.fields, expr);
        let counts = self
            .searcher()
            .search(query.as_ref(), &ValueCounts { field: "site_id" })?;
        Ok(counts.into_iter().collect())
    }

    /// Pseudonyms of the profiles matching `expr`, sorted.
    pub fn matching_pseudonyms(&self, expr: &Expr) -> Result<Vec<String>> {
        let query = compile::compile(&self.fields, expr);
        let counts = self
            .searcher()
            .search(query.as_ref(), &ValueCounts { field: "pseudonym" })?;
        Ok(counts.into_keys().collect())
    }
}

#[cfg(test)]
mod tests;
