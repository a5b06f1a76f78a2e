//! Tantivy schema of the profile index and the conversion of a profile to a document.

use tantivy::TantivyDocument;
use tantivy::schema::{FAST, Field, INDEXED, STRING, Schema};

use crate::profile::Profile;

/// Bump when the schema or the encoding of any field changes: the index is then rebuilt.
pub(crate) const SCHEMA_VERSION: &str = "profiles-1";

/// Field handles of the profile schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Raw pseudonym: indexed (deletes) and fast (listing).
    pub pseudonym: Field,
    /// Raw site id: indexed and fast (per-site counts).
    pub site_id: Field,
    /// Age, u64, indexed and fast (range queries).
    pub age: Field,
    /// Sex keyword, raw.
    pub sex: Field,
    /// ZIP3, raw.
    pub zip3: Field,
    /// Normalised condition codes, raw, multi-valued.
    pub condition: Field,
    /// Normalised medication codes, raw, multi-valued.
    pub medication: Field,
    /// Normalised procedure codes, raw, multi-valued.
    pub procedure: Field,
    /// Lab results as bytes terms `code \0 sortable(value)` (see [`lab_key`]).
    pub lab: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        pseudonym: b.add_text_field("pseudonym", STRING | FAST),
        site_id: b.add_text_field("site_id", STRING | FAST),
        age: b.add_u64_field("age", INDEXED | FAST),
        sex: b.add_text_field("sex", STRING),
        zip3: b.add_text_field("zip3", STRING),
        condition: b.add_text_field("condition", STRING),
        medication: b.add_text_field("medication", STRING),
        procedure: b.add_text_field("procedure", STRING),
        lab: b.add_bytes_field("lab", INDEXED),
    };
    (b.build(), fields)
}

/// Order-preserving encoding of an `f64` as 8 big-endian bytes (`-0.0` sorts below `0.0`,
/// so callers map `-0.0` to `0.0` first).
pub(crate) fn sortable_f64(v: f64) -> [u8; 8] {
    let bits = v.to_bits();
    let key = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    key.to_be_bytes()
}

/// The indexed term of one lab result: the normalised code, a NUL separator, then the value
/// in [`sortable_f64`] form. All results of one code are contiguous in the term dictionary and
/// ordered by value, so a value range is a term range.
pub(crate) fn lab_key(code: &str, value: f64) -> Vec<u8> {
    let value = if value == 0.0 { 0.0 } else { value };
    let mut key = Vec::with_capacity(code.len() + 9);
    key.extend_from_slice(code.as_bytes());
    key.push(0);
    key.extend_from_slice(&sortable_f64(value));
    key
}

/// Builds the document of a profile, which must already be [`Profile::normalised`].
pub(crate) fn document(f: &Fields, p: &Profile) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.pseudonym, &p.pseudonym);
    doc.add_text(f.site_id, &p.site_id);
    doc.add_u64(f.age, u64::from(p.age));
    doc.add_text(f.sex, p.sex.as_str());
    doc.add_text(f.zip3, &p.zip3);
    for c in &p.conditions {
        doc.add_text(f.condition, c);
    }
    for c in &p.medications {
        doc.add_text(f.medication, c);
    }
    for c in &p.procedures {
        doc.add_text(f.procedure, c);
    }
    for lab in &p.labs {
        doc.add_bytes(f.lab, &lab_key(&lab.code, lab.value));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_encoding_preserves_order() {
        let values = [
            f64::NEG_INFINITY,
            -1e9,
            -1.5,
            -0.0001,
            0.0,
            1e-9,
            1.5,
            7.0,
            1e300,
            f64::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(sortable_f64(w[0]) < sortable_f64(w[1]), "{:?}", w);
        }
    }
}
