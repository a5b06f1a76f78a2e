//! Trial search for a patient: a Tantivy index of trials, ranked by BM25 against the
//! patient's condition terms and codes, filtered to recruiting trials whose age/sex limits
//! and structured criteria the patient meets.

mod schema;

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TokenStream;
use tantivy::{TantivyDocument, Term};

use self::schema::{Fields, SCHEMA_VERSION};
use crate::criteria::Expr;
use crate::error::Result;
use crate::eval::matches_normalised;
use crate::index::REBUILD_COMMIT_EVERY;
use crate::profile::{Profile, Sex};
use crate::store::{self, IndexConfig, Opened, Store};
use crate::watermark::Watermark;

/// A trial as indexed for patient search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrialDoc {
    /// Trial id (unique in the index).
    pub trial_id: String,
    /// Title.
    pub title: String,
    /// Conditions studied: display names (`Type 2 diabetes`) and/or codes (`icd10:E11`).
    pub conditions: Vec<String>,
    /// Free keywords.
    pub keywords: Vec<String>,
    /// Eligibility criteria as free text.
    pub eligibility_text: String,
    /// Minimum age in years, inclusive.
    pub min_age: Option<u8>,
    /// Maximum age in years, inclusive.
    pub max_age: Option<u8>,
    /// Sex accepted; `None` accepts all.
    pub sex: Option<Sex>,
    /// Structured criteria, checked with [`crate::eval::matches`] when present.
    pub criteria: Option<Expr>,
    /// Whether the trial is published and recruiting; others are never returned.
    pub recruiting: bool,
}

/// One change to the trial index.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialChange {
    /// Insert the trial, replacing any trial with the same id.
    Upsert(TrialDoc),
    /// Remove the trial with this id (no-op when absent).
    Remove {
        /// Id of the trial to remove.
        trial_id: String,
    },
}

/// A trial found for a patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrialHit {
    /// Trial id.
    pub trial_id: String,
    /// BM25 relevance (higher is better).
    pub score: f32,
}

/// A Tantivy index of trials in a directory (a sibling of the profile index).
pub struct TrialIndex {
    store: Store,
    fields: Fields,
}

impl TrialIndex {
    /// Opens the trial index in `dir`, with the same lifecycle as
    /// [`crate::index::ProfileIndex::open`]: [`Opened::Fresh`] means "rebuild from the database".
    pub fn open(dir: impl AsRef<Path>, config: IndexConfig) -> Result<(TrialIndex, Opened)> {
        let (schema, fields) = schema::build();
        let (store, opened) = store::open(dir.as_ref(), schema, SCHEMA_VERSION, &config)?;
        Ok((TrialIndex { store, fields }, opened))
    }

    /// Applies changes in order as one commit; the next search sees them. Like
    /// [`crate::index::ProfileIndex::apply`], it leaves no watermark.
    pub fn apply(&self, changes: &[TrialChange]) -> Result<()> {
        self.write(changes, None)
    }

    /// Like [`apply`](Self::apply), recording that the content reflects the change log up to
    /// `at`; see [`crate::index::ProfileIndex::apply_at`].
    pub fn apply_at(&self, changes: &[TrialChange], at: &Watermark) -> Result<()> {
        self.write(changes, Some(at))
    }

    fn write(&self, changes: &[TrialChange], at: Option<&Watermark>) -> Result<()> {
        self.store
            .write_batch(changes, at, |writer, change| -> Result<()> {
                match change {
                    TrialChange::Upsert(t) => {
                        writer
                            .delete_term(Term::from_field_text(self.fields.trial_id, &t.trial_id));
                        writer.add_document(schema::document(&self.fields, t)?)?;
                    }
                    TrialChange::Remove { trial_id } => {
                        writer.delete_term(Term::from_field_text(self.fields.trial_id, trial_id));
                    }
                }
                Ok(())
            })
    }

    /// Replaces the whole content with `trials`. Returns the number of trials read.
    pub fn rebuild(&self, trials: impl Iterator<Item = TrialDoc>) -> Result<u64> {
        self.replace(trials, None)
    }

    /// Like [`rebuild`](Self::rebuild), recording that the content reflects the change log
    /// up to `at`.
    pub fn rebuild_at(
        &self,
        trials: impl Iterator<Item = TrialDoc>,
        at: &Watermark,
    ) -> Result<u64> {
        self.replace(trials, Some(at))
    }

    fn replace(
        &self,
        trials: impl Iterator<Item = TrialDoc>,
        at: Option<&Watermark>,
    ) -> Result<u64> {
        self.store
            .replace_all(trials, at, REBUILD_COMMIT_EVERY, |writer, t| {
                writer.delete_term(Term::from_field_text(self.fields.trial_id, &t.trial_id));
                writer.add_document(schema::document(&self.fields, &t)?)?;
                Ok(())
            })
    }

    /// The change-log position the content reflects; see
    /// [`crate::index::ProfileIndex::watermark`].
    pub fn watermark(&self) -> Option<Watermark> {
        self.store.snapshot().watermark
    }

    /// Releases the directory lock; see [`crate::index::ProfileIndex::close`].
    pub fn close(&self) {
        self.store.close();
    }

    /// Number of trials in the index.
    pub fn len(&self) -> u64 {
        self.store.searcher().num_docs()
    }

    /// Whether the index holds no trial.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `limit` recruiting trials for `profile`, best first.
    ///
    /// The query is the patient's condition `terms` (analysed like the trial text, with
    /// stemming) over title, conditions, keywords and eligibility text, plus the patient's
    /// codes and their ancestors (`icd10:E11.9` also looks for `icd10:E11`) against coded
    /// trial conditions; scores are BM25. Trials must be recruiting, accept the patient's
    /// age and sex, and, when they carry structured criteria, match them. A patient with no
    /// terms and no codes gets no hits.
    pub fn search_for_patient(&self, profile: &Profile, limit: usize) -> Result<Vec<TrialHit>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let patient = profile.normalised();
        let Some(relevance) = self.relevance_query(&patient)? else {
            return Ok(Vec::new());
        };
        let query = BooleanQuery::new(vec![
            (Occur::Must, relevance),
            (Occur::Must, zero_score(self.filter_query(&patient))),
        ]);
        let searcher = self.store.searcher();
        let mut fetch = limit.saturating_mul(4).max(32);
        loop {
            let top = searcher.search(&query, &TopDocs::with_limit(fetch).order_by_score())?;
            let mut hits = Vec::new();
            for (score, address) in &top {
                let doc: TantivyDocument = searcher.doc(*address)?;
                let Some(json) = doc.get_first(self.fields.doc).and_then(|v| v.as_str()) else {
                    continue;
                };
                let trial: TrialDoc = serde_json::from_str(json)?;
                if trial
                    .criteria
                    .as_ref()
                    .is_none_or(|c| matches_normalised(c, &patient))
                {
                    hits.push(TrialHit {
                        trial_id: trial.trial_id,
                        score: *score,
                    });
                    if hits.len() == limit {
                        return Ok(hits);
                    }
                }
            }
            if top.len() < fetch {
                return Ok(hits);
            }
            fetch = fetch.saturating_mul(4);
        }
    }

    /// Should-clauses over the text fields and coded conditions; `None` when the patient
    /// offers nothing to search with.
    fn relevance_query(&self, p: &Profile) -> Result<Option<Box<dyn Query>>> {
        let f = &self.fields;
        let mut analyzer = self.store.index.tokenizer_for_field(f.title)?;
        let mut tokens = BTreeSet::new();
        for term in &p.terms {
            let mut stream = analyzer.token_stream(term);
            while stream.advance() {
                tokens.insert(stream.token().text.clone());
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for token in &tokens {
            for (field, boost) in [
                (f.title, 2.0),
                (f.conditions, 2.0),
                (f.keywords, 1.5),
                (f.eligibility, 1.0),
            ] {
                let q = TermQuery::new(
                    Term::from_field_text(field, token),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let codes: BTreeSet<String> = p
            .conditions
            .iter()
            .chain(&p.medications)
            .chain(&p.procedures)
            .flat_map(|c| code_ancestors(c))
            .collect();
        for code in &codes {
            let q = TermQuery::new(
                Term::from_field_text(f.codes, code),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), 3.0))));
        }
        Ok((!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>))
    }

    /// Recruiting, age within limits, sex accepted.
    fn filter_query(&self, p: &Profile) -> Box<dyn Query> {
        let f = &self.fields;
        let age = u64::from(p.age);
        let term = |field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ))
        };
        Box::new(BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_bool(f.recruiting, true),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_u64(f.min_age, 0)),
                    Bound::Included(Term::from_field_u64(f.min_age, age)),
                )),
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_u64(f.max_age, age)),
                    Bound::Included(Term::from_field_u64(f.max_age, u64::MAX)),
                )),
            ),
            (
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, term(f.sex, schema::ALL_SEXES)),
                    (Occur::Should, term(f.sex, p.sex.as_str())),
                ])),
            ),
        ]))
    }
}

fn zero_score(q: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(q, 0.0))
}

/// A normalised code and its ancestors by truncation (`icd10:E11.65` → `icd10:E11.6`,
/// `icd10:E11`, …, down to three characters), which is how ICD-10 and ATC nest.
fn code_ancestors(code: &str) -> Vec<String> {
    let Some((system, body)) = code.split_once(':') else {
        return vec![code.to_string()];
    };
    let chars: Vec<char> = body.chars().collect();
    let mut out = vec![code.to_string()];
    for len in (3..chars.len()).rev() {
        let prefix: String = chars[..len].iter().collect();
        let prefix = prefix.trim_end_matches('.');
        if prefix.chars().count() >= 3 {
            out.push(format!("{system}:{prefix}"));
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
