//! Exact cohort counts from one index snapshot: the funnel, the total and per-site counts,
//! in time linear in the number of clauses.
//!
//! Each top-level conjunct is compiled and evaluated once per segment into a bit set, and the
//! running intersection gives every funnel step; the last step is the cohort. Recompiling every
//! prefix (the obvious way) costs quadratic time in the number of clauses.

use std::collections::BTreeMap;

use tantivy::columnar::StrColumn;
use tantivy::query::{EnableScoring, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Searcher, SegmentReader, TERMINATED, Term};

use super::FunnelStep;
use super::compile::compile;
use super::schema::Fields;
use crate::criteria::Expr;
use crate::error::Result;
use crate::watermark::Watermark;

/// Exact counts of one cohort, all taken from the same snapshot of the index. Never show them
/// to a recruiter as they are: release them through a privacy mechanism first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortCounts {
    /// The change-log position of the index content the counts come from (see
    /// [`crate::watermark::Watermark`]); `None` when the content is at no known position.
    pub watermark: Option<Watermark>,
    /// For each top-level conjunct `k`, the profiles matching conjuncts `1..=k`.
    pub funnel: Vec<FunnelStep>,
    /// Profiles matching the whole expression (equal to the last funnel step).
    pub total: u64,
    /// Matching profiles per site id; sites without a match are absent.
    pub by_site: BTreeMap<String, u64>,
}

/// A plain bit set over a segment's document ids.
struct DocBits(Vec<u64>);

impl DocBits {
    fn empty(max_doc: DocId) -> Self {
        DocBits(vec![0; (max_doc as usize).div_ceil(64)])
    }

    fn insert(&mut self, doc: DocId) {
        if let Some(word) = self.0.get_mut(doc as usize / 64) {
            *word |= 1 << (doc % 64);
        }
    }

    fn intersect(&mut self, other: &DocBits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }

    fn len(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    fn docs(&self) -> impl Iterator<Item = DocId> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &word)| {
            (0..64u32)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| (i as u32) * 64 + bit)
        })
    }
}

/// The live documents of `segment` matched by `query`.
fn matching(searcher: &Searcher, segment: &SegmentReader, query: &dyn Query) -> Result<DocBits> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut scorer = weight.scorer(segment, 1.0)?;
    let mut bits = DocBits::empty(segment.max_doc());
    let alive = segment.alive_bitset();
    let mut doc = scorer.doc();
    while doc != TERMINATED {
        if alive.is_none_or(|a| a.is_alive(doc)) {
            bits.insert(doc);
        }
        doc = scorer.advance();
    }
    Ok(bits)
}

/// Counts `expr` on `searcher`, optionally only among the profiles of `within_site`; the
/// caller fills in the snapshot's watermark.
pub(crate) fn count(
    searcher: &Searcher,
    fields: &Fields,
    expr: &Expr,
    within_site: Option<&str>,
) -> Result<CohortCounts> {
    let conjuncts = expr.conjuncts();
    let queries: Vec<Box<dyn Query>> = conjuncts.iter().map(|c| compile(fields, c)).collect();
    let site_filter = within_site.map(|site| {
        TermQuery::new(
            Term::from_field_text(fields.site_id, site),
            IndexRecordOption::Basic,
        )
    });
    let mut remaining = vec![0u64; conjuncts.len()];
    let mut by_site = BTreeMap::new();
    let mut total = 0;
    for segment in searcher.segment_readers() {
        let mut running = match &site_filter {
            Some(filter) => matching(searcher, segment, filter)?,
            None => all_alive(segment),
        };
        for (k, query) in queries.iter().enumerate() {
            running.intersect(&matching(searcher, segment, query.as_ref())?);
            remaining[k] += running.len();
        }
        total += running.len();
        if let Some(column) = segment.fast_fields().str("site_id")? {
            count_sites(&column, &running, &mut by_site)?;
        }
    }
    let funnel: Vec<FunnelStep> = conjuncts
        .iter()
        .zip(remaining)
        .map(|(clause, remaining)| FunnelStep {
            clause: clause.to_string(),
            remaining,
        })
        .collect();
    Ok(CohortCounts {
        watermark: None,
        total,
        funnel,
        by_site,
    })
}

fn all_alive(segment: &SegmentReader) -> DocBits {
    let mut bits = DocBits::empty(segment.max_doc());
    let alive = segment.alive_bitset();
    for doc in 0..segment.max_doc() {
        if alive.is_none_or(|a| a.is_alive(doc)) {
            bits.insert(doc);
        }
    }
    bits
}

fn count_sites(
    column: &StrColumn,
    docs: &DocBits,
    by_site: &mut BTreeMap<String, u64>,
) -> Result<()> {
    let mut per_ord: BTreeMap<u64, u64> = BTreeMap::new();
    for doc in docs.docs() {
        for ord in column.term_ords(doc) {
            *per_ord.entry(ord).or_insert(0) += 1;
        }
    }
    let mut name = String::new();
    for (ord, n) in per_ord {
        if column.ord_to_str(ord, &mut name)? {
            *by_site.entry(name.clone()).or_insert(0) += n;
        }
    }
    Ok(())
}
