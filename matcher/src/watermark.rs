//! Watermarks: where an index stands in the change log of the database it projects.
//!
//! A projection commits each batch of changes with the log position it reflects, as the
//! Tantivy commit payload, so that a restart resumes from there and a directory pointed at
//! another database is recognised (and rebuilt) instead of trusted.

use std::fmt;

use serde::{Deserialize, Serialize};

/// "This content reflects every change of `database`'s log up to `position`."
///
/// Stored as a small JSON object, `{"database": "…", "position": 42}`, in the commit payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// Identifies the database (a random id stored in it once).
    pub database: String,
    /// The last change-log position the content reflects.
    pub position: u64,
}

impl Watermark {
    /// The watermark at `position` of `database`'s log.
    pub fn new(database: impl Into<String>, position: u64) -> Self {
        Watermark {
            database: database.into(),
            position,
        }
    }

    /// The commit payload recording this watermark.
    pub(crate) fn to_payload(&self) -> String {
        serde_json::json!({ "database": self.database, "position": self.position }).to_string()
    }

    /// The watermark a commit payload records; `None` for no payload or one of another shape.
    pub(crate) fn from_payload(payload: Option<&str>) -> Option<Self> {
        serde_json::from_str(payload?).ok()
    }
}

/// `database@position`: a short, stable name of the content, e.g. for release keys.
impl fmt::Display for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.database, self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_have_the_documented_shape() {
        let w = Watermark::new("db-1", 42);
        let payload = w.to_payload();
        let json: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "database": "db-1", "position": 42 })
        );
        assert_eq!(Watermark::from_payload(Some(&payload)), Some(w.clone()));
        assert_eq!(w.to_string(), "db-1@42");
    }

    #[test]
    fn foreign_or_missing_payloads_are_no_watermark() {
        assert_eq!(Watermark::from_payload(None), None);
        assert_eq!(Watermark::from_payload(Some("")), None);
        assert_eq!(Watermark::from_payload(Some("{\"position\": 3}")), None);
        assert_eq!(Watermark::from_payload(Some("not json")), None);
    }
}
