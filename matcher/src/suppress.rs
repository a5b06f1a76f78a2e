//! Small-cell suppression of counts shown to recruiters.

use serde::{Deserialize, Serialize};

/// Suppression policy: counts below `threshold` are never exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    /// Smallest count that may be shown (default 11). Zero is treated as one, so that a
    /// count of zero is still suppressed.
    pub threshold: u64,
}

impl Default for Suppression {
    fn default() -> Self {
        Suppression { threshold: 11 }
    }
}

/// A count as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressedCount {
    /// The exact count, or `None` when suppressed.
    pub count: Option<u64>,
    /// Whether the count was suppressed.
    pub suppressed: bool,
    /// Display text: the number, or `fewer than N`.
    pub display: String,
}

impl Suppression {
    /// A policy with the given threshold.
    pub fn new(threshold: u64) -> Self {
        Suppression { threshold }
    }

    /// Applies the policy to an exact count. Counts below the threshold (including zero) are
    /// suppressed.
    pub fn apply(&self, count: u64) -> SuppressedCount {
        let threshold = self.threshold.max(1);
        if count < threshold || count == 0 {
            SuppressedCount {
                count: None,
                suppressed: true,
                display: format!("fewer than {threshold}"),
            }
        } else {
            SuppressedCount {
                count: Some(count),
                suppressed: false,
                display: count.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn default_threshold_is_eleven() {
        let s = Suppression::default();
        assert_eq!(s.threshold, 11);
        for n in 0..11 {
            let c = s.apply(n);
            assert_eq!(c.count, None);
            assert!(c.suppressed);
            assert_eq!(c.display, "fewer than 11");
        }
        let c = s.apply(11);
        assert_eq!(c.count, Some(11));
        assert!(!c.suppressed);
        assert_eq!(c.display, "11");
    }

    #[test]
    fn zero_threshold_still_suppresses_zero() {
        let c = Suppression::new(0).apply(0);
        assert!(c.suppressed);
        assert_eq!(c.display, "fewer than 1");
        assert_eq!(Suppression::new(0).apply(1).count, Some(1));
    }

    proptest! {
        #[test]
        fn never_exposes_small_counts(threshold in 0u64..50, n in 0u64..100) {
            let c = Suppression::new(threshold).apply(n);
            if n < threshold || n == 0 {
                prop_assert!(c.suppressed);
                prop_assert_eq!(c.count, None);
                prop_assert_eq!(c.display, format!("fewer than {}", threshold.max(1)));
            } else {
                prop_assert_eq!(c.count, Some(n));
                prop_assert_eq!(c.display, n.to_string());
            }
        }
    }
}
