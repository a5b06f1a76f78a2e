//! The profile index: a Tantivy index of normalised [`Profile`]s, with cohort counts,
//! funnels, per-site counts and pseudonym listings for criteria [`Expr`]essions.
//!
//! Writes go through [`ProfileIndex::apply_at`] (one commit per batch, then a reader reload,
//! so the next query sees the change) or [`ProfileIndex::rebuild_at`], each recording the
//! [`Watermark`] of the database change log the content reflects; [`ProfileIndex::apply`] and
//! [`ProfileIndex::rebuild`] write without one (tests, benchmarks).

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
use crate::watermark::Watermark;

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
        self.store.searcher()
    }

    /// Applies a batch of changes in order, as one commit, and reloads the reader so that the
    /// next query sees them. On error nothing of the batch is committed. The content is then
    /// at no known position of a change log (its [`watermark`](Self::watermark) is `None`).
    pub fn apply(&self, changes: &[IndexChange]) -> Result<()> {
        self.write(changes, None)
    }

    /// Like [`apply`](Self::apply), recording that the content now reflects the change log up
    /// to `at` (in the commit payload, so that it survives a restart). An empty batch only
    /// moves the watermark.
    pub fn apply_at(&self, changes: &[IndexChange], at: &Watermark) -> Result<()> {
        self.write(changes, Some(at))
    }

    fn write(&self, changes: &[IndexChange], at: Option<&Watermark>) -> Result<()> {
        self.store
            .write_batch(changes, at, |writer, change| -> Result<()> {
                match change {
                    IndexChange::Upsert(p) => {
                        let p = p.normalised();
                        writer.delete_term(Term::from_field_text(
                            self.fields.pseudonym,
                            &p.pseudonym,
                        ));
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
            })
    }

    /// Replaces the whole content with `profiles` (duplicates by pseudonym: the last wins),
    /// committing every [`REBUILD_COMMIT_EVERY`] documents to bound memory. Queries keep seeing
    /// the previous content until the rebuild is complete. Returns the number of profiles read.
    /// Like [`apply`](Self::apply), it leaves no watermark.
    pub fn rebuild(&self, profiles: impl Iterator<Item = Profile>) -> Result<u64> {
        self.replace(profiles, None)
    }

    /// Like [`rebuild`](Self::rebuild), recording that the content reflects the change log up
    /// to `at`.
    pub fn rebuild_at(
        &self,
        profiles: impl Iterator<Item = Profile>,
        at: &Watermark,
    ) -> Result<u64> {
        self.replace(profiles, Some(at))
    }

    fn replace(
        &self,
        profiles: impl Iterator<Item = Profile>,
        at: Option<&Watermark>,
    ) -> Result<u64> {
        let mut seen = HashSet::new();
        self.store
            .replace_all(profiles, at, REBUILD_COMMIT_EVERY, |writer, p| {
                let p = p.normalised();
                if !seen.insert(p.pseudonym.clone()) {
                    writer.delete_term(Term::from_field_text(self.fields.pseudonym, &p.pseudonym));
                }
                writer.add_document(schema::document(&self.fields, &p))?;
                Ok(())
            })
    }

    /// The change-log position the content reflects, as committed with
    /// [`apply_at`](Self::apply_at) or [`rebuild_at`](Self::rebuild_at) (and read back from
    /// the commit payload on open); `None` when fresh or last written without one.
    pub fn watermark(&self) -> Option<Watermark> {
        self.store.snapshot().watermark
    }

    /// Releases the index's directory lock after any write in progress: later writes fail
    /// with [`crate::Error::Closed`], queries go on reading the last content. A server calls
    /// it on shutdown, so that the index can be reopened at once while a query still holds
    /// this handle.
    pub fn close(&self) {
        self.store.close();
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
    /// [`CohortCounts::watermark`] names the snapshot they come from.
    pub fn cohort(&self, expr: &Expr, within_site: Option<&str>) -> Result<CohortCounts> {
        let snapshot = self.store.snapshot();
        let mut counts = cohort::count(&snapshot.searcher, &self.fields, expr, within_site)?;
        counts.watermark = snapshot.watermark;
        Ok(counts)
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
