//! Collectors over the string fast fields: distinct values with their document counts.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Counts matching documents per value of a single-valued string fast field.
pub(crate) struct ValueCounts {
    /// Name of the string fast field.
    pub field: &'static str,
}

/// Per-segment state of [`ValueCounts`].
pub(crate) struct SegmentValueCounts {
    column: Option<StrColumn>,
    counts: Vec<u64>,
}

impl Collector for ValueCounts {
    type Fruit = BTreeMap<String, u64>;
    type Child = SegmentValueCounts;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentValueCounts> {
        let column = segment.fast_fields().str(self.field)?;
        let num_terms = column.as_ref().map_or(0, |c| c.dictionary().num_terms());
        Ok(SegmentValueCounts {
            column,
            counts: vec![0; num_terms],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<BTreeMap<String, u64>>,
    ) -> tantivy::Result<BTreeMap<String, u64>> {
        let mut total = BTreeMap::new();
        for fruit in fruits {
            for (value, n) in fruit {
                *total.entry(value).or_insert(0) += n;
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for SegmentValueCounts {
    type Fruit = BTreeMap<String, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(column) = &self.column else { return };
        for ord in column.term_ords(doc) {
            if let Some(slot) = usize::try_from(ord)
                .ok()
                .and_then(|o| self.counts.get_mut(o))
            {
                *slot += 1;
            }
        }
    }

    fn harvest(self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let Some(column) = &self.column else {
            return out;
        };
        let mut buf = String::new();
        for (ord, &n) in self.counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if let Ok(true) = column.ord_to_str(ord as u64, &mut buf) {
                *out.entry(buf.clone()).or_insert(0) += n;
            }
        }
        out
    }
}
