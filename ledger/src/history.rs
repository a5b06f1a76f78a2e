//! Comparing histories of one log: does a ledger extend a checkpoint someone saved earlier,
//! where do two copies of a ledger part, and do two checkpoints contradict each other (a
//! split view: two different trees of the same size)?
//!
//! A saved checkpoint commits only to a root, so a ledger that does not extend it can be
//! placed no closer than "at or before its size"; with the old ledger's leaves as well,
//! [`parting_size`] finds the exact size by bisection over prefix roots (the root of the
//! first `k` leaves): two histories agree on a prefix exactly when its roots are equal, so
//! the predicate "the prefix roots of size `k` differ" is monotone in `k`.

use crate::checkpoint::Checkpoint;
use crate::merkle::MemoryTree;

/// Why a ledger does not extend a saved checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The two checkpoints are of different logs.
    #[error("the saved checkpoint is of log {old:?}, the ledger of log {new:?}")]
    OtherLog {
        /// The saved checkpoint's origin.
        old: String,
        /// The ledger's origin.
        new: String,
    },
    /// The ledger holds fewer entries than the saved checkpoint: entries were removed.
    #[error(
        "the ledger has {new_size} entries but the saved checkpoint covers {old_size}: \
         the histories part at or before size {new_size}"
    )]
    Shorter {
        /// The saved checkpoint's size.
        old_size: u64,
        /// The ledger's size.
        new_size: u64,
    },
    /// The ledger's first `old_size` entries do not hash to the saved root.
    #[error(
        "the ledger's first {old_size} entries do not hash to the saved checkpoint's root: \
         the histories part at or before size {old_size}"
    )]
    Diverged {
        /// The saved checkpoint's size.
        old_size: u64,
    },
}

/// Checks that `tree` (the leaves of a verified ledger of log `origin`) extends `old`: the
/// root of its first `old.size` leaves is `old.root`.
pub fn check_extends(
    old: &Checkpoint,
    origin: &str,
    tree: &MemoryTree,
) -> Result<(), HistoryError> {
    if old.origin != origin {
        return Err(HistoryError::OtherLog {
            old: old.origin.clone(),
            new: origin.to_owned(),
        });
    }
    let root = tree.root_at(old.size).map_err(|_| HistoryError::Shorter {
        old_size: old.size,
        new_size: tree.size(),
    })?;
    if root != old.root {
        return Err(HistoryError::Diverged { old_size: old.size });
    }
    Ok(())
}

/// Where two copies of a ledger part: `None` when one extends the other, else the number of
/// leading entries they agree on (entry `k`, zero-based, is the first that differs). Found
/// by bisection over prefix roots: O(log n) root computations of O(log n) each.
pub fn parting_size(a: &MemoryTree, b: &MemoryTree) -> Option<u64> {
    let common = a.size().min(b.size());
    let differs = |k: u64| a.root_at(k).ok() != b.root_at(k).ok();
    if !differs(common) {
        return None;
    }
    // Invariant: the prefixes of size `agree` are equal, those of size `differ` are not.
    let (mut agree, mut differ) = (0, common);
    while differ - agree > 1 {
        let mid = agree + (differ - agree) / 2;
        if differs(mid) {
            differ = mid;
        } else {
            agree = mid;
        }
    }
    Some(agree)
}

/// What two checkpoints of one log say about each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The same tree.
    Same,
    /// Trees of different sizes: consistent only if a consistency proof (or the ledger
    /// itself, through [`check_extends`]) shows the larger extends the smaller.
    DifferentSizes {
        /// The smaller size.
        smaller: u64,
        /// The larger size.
        larger: u64,
    },
    /// A split view: two different trees of the same size, both signed by the log.
    SplitView {
        /// The size both claim.
        size: u64,
    },
    /// Checkpoints of two different logs.
    OtherLogs,
}

/// Compares two (verified) checkpoints; see [`Comparison`].
pub fn compare(a: &Checkpoint, b: &Checkpoint) -> Comparison {
    if a.origin != b.origin {
        Comparison::OtherLogs
    } else if a.size != b.size {
        Comparison::DifferentSizes {
            smaller: a.size.min(b.size),
            larger: a.size.max(b.size),
        }
    } else if a.root != b.root {
        Comparison::SplitView { size: a.size }
    } else {
        Comparison::Same
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hash::Hash;

    fn tree(leaves: &[u8]) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.append(Hash::sha256(&[*leaf]));
        }
        tree
    }

    fn checkpoint(tree: &MemoryTree, size: u64) -> Checkpoint {
        Checkpoint {
            origin: "veritrial.test/ledger".into(),
            size,
            root: tree.root_at(size).expect("size"),
            timestamp_ms: 1,
        }
    }

    proptest! {
        /// Bisection names the first differing leaf, as a linear scan does.
        #[test]
        fn parting_size_is_the_first_difference(
            a in proptest::collection::vec(0u8..4, 0..80),
            b in proptest::collection::vec(0u8..4, 0..80),
        ) {
            let common = a.len().min(b.len());
            let first_diff = (0..common).find(|&i| a[i] != b[i]).map(|i| i as u64);
            prop_assert_eq!(parting_size(&tree(&a), &tree(&b)), first_diff);
            prop_assert_eq!(parting_size(&tree(&b), &tree(&a)), first_diff);
        }
    }

    #[test]
    fn a_ledger_extends_its_old_checkpoints_and_not_a_rewritten_one() {
        let leaves: Vec<u8> = (0..37).collect();
        let now = tree(&leaves);
        for size in [0, 1, 20, 37] {
            assert_eq!(
                check_extends(&checkpoint(&now, size), "veritrial.test/ledger", &now),
                Ok(())
            );
        }
        let mut rewritten = leaves.clone();
        rewritten[12] = 200;
        let old = checkpoint(&tree(&rewritten), 30);
        assert_eq!(
            check_extends(&old, "veritrial.test/ledger", &now),
            Err(HistoryError::Diverged { old_size: 30 })
        );
        assert_eq!(
            check_extends(&old, "other/log", &now),
            Err(HistoryError::OtherLog {
                old: "veritrial.test/ledger".into(),
                new: "other/log".into()
            })
        );
        let short = tree(&leaves[..10]);
        assert_eq!(
            check_extends(&checkpoint(&now, 20), "veritrial.test/ledger", &short),
            Err(HistoryError::Shorter {
                old_size: 20,
                new_size: 10
            })
        );
        assert_eq!(parting_size(&now, &tree(&rewritten)), Some(12));
    }

    #[test]
    fn comparisons() {
        let a = tree(&[1, 2, 3]);
        let b = tree(&[1, 2, 4]);
        assert_eq!(
            compare(&checkpoint(&a, 3), &checkpoint(&a, 3)),
            Comparison::Same
        );
        assert_eq!(
            compare(&checkpoint(&a, 3), &checkpoint(&b, 3)),
            Comparison::SplitView { size: 3 }
        );
        assert_eq!(
            compare(&checkpoint(&a, 3), &checkpoint(&b, 2)),
            Comparison::DifferentSizes {
                smaller: 2,
                larger: 3
            }
        );
        let mut other = checkpoint(&a, 3);
        other.origin = "other/log".into();
        assert_eq!(compare(&checkpoint(&a, 3), &other), Comparison::OtherLogs);
    }
}
