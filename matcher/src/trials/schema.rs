//! Tantivy schema of the trial index.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::TrialDoc;
use crate::codes::normalise_code;
use crate::error::Result;

/// Bump when the schema changes: the trial index is then rebuilt.
pub(crate) const SCHEMA_VERSION: &str = "trials-1";

/// Value of the `sex` field for trials open to all sexes.
pub(crate) const ALL_SEXES: &str = "all";

/// Field handles of the trial schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub trial_id: Field,
    pub title: Field,
    pub conditions: Field,
    pub keywords: Field,
    pub eligibility: Field,
    /// Normalised codes among the trial's conditions (raw terms).
    pub codes: Field,
    pub recruiting: Field,
    /// `min_age` or 0.
    pub min_age: Field,
    /// `max_age` or 255.
    pub max_age: Field,
    /// Sex keyword or [`ALL_SEXES`].
    pub sex: Field,
    /// The whole [`TrialDoc`] as JSON (stored only).
    pub doc: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let mut b = Schema::builder();
    let fields = Fields {
        trial_id: b.add_text_field("trial_id", STRING),
        title: b.add_text_field("title", text.clone()),
        conditions: b.add_text_field("conditions", text.clone()),
        keywords: b.add_text_field("keywords", text.clone()),
        eligibility: b.add_text_field("eligibility", text),
        codes: b.add_text_field("codes", STRING),
        recruiting: b.add_bool_field("recruiting", INDEXED),
        min_age: b.add_u64_field("min_age", INDEXED | FAST),
        max_age: b.add_u64_field("max_age", INDEXED | FAST),
        sex: b.add_text_field("sex", STRING),
        doc: b.add_text_field("doc", STORED),
    };
    (b.build(), fields)
}

/// Whether a trial condition is a code (`system:code`, no spaces) rather than a name.
fn is_code(s: &str) -> bool {
    let s = s.trim();
    s.split_once(':')
        .is_some_and(|(sys, code)| !sys.is_empty() && !code.is_empty())
        && !s.contains(char::is_whitespace)
}

pub(crate) fn document(f: &Fields, t: &TrialDoc) -> Result<TantivyDocument> {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.trial_id, &t.trial_id);
    doc.add_text(f.title, &t.title);
    for c in &t.conditions {
        if is_code(c) {
            doc.add_text(f.codes, normalise_code(c));
        } else {
            doc.add_text(f.conditions, c);
        }
    }
    for k in &t.keywords {
        doc.add_text(f.keywords, k);
    }
    doc.add_text(f.eligibility, &t.eligibility_text);
    doc.add_bool(f.recruiting, t.recruiting);
    doc.add_u64(f.min_age, t.min_age.map_or(0, u64::from));
    doc.add_u64(f.max_age, t.max_age.map_or(255, u64::from));
    doc.add_text(f.sex, t.sex.map_or(ALL_SEXES, |s| s.as_str()));
    doc.add_text(f.doc, serde_json::to_string(t)?);
    Ok(doc)
}
