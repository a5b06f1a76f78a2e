//! The client side: rebuild the tree from fetched entry bundles and check it against a
//! signed checkpoint before anything fetched is trusted.

use super::bundle::{BundleItem, decode_bundle};
use super::decode::DecodeError;
use super::path::{TileKind, TilePath};
use super::{TILE_WIDTH, tile_width};
use crate::checkpoint::Checkpoint;
use crate::entry::Entry;
use crate::hash::Hash;
use crate::merkle::{CompactRange, NodeId, ProofError};

/// Why fetched entries cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// The bytes are not a bundle of entries.
    #[error("entry bundle {tile}: {source}")]
    Decode {
        /// The bundle.
        tile: String,
        /// What is wrong with it.
        source: DecodeError,
    },
    /// The path given is not an entry bundle that continues what is held.
    #[error("{tile} does not continue the {size} entries held")]
    NotNext {
        /// The bundle.
        tile: String,
        /// Entries held.
        size: u64,
    },
    /// An entry names another position than the one it is at.
    #[error("entry at position {position} says it is entry {seq}")]
    WrongSeq {
        /// Where it is.
        position: u64,
        /// What it says.
        seq: u64,
    },
    /// An entry's `prev_hash` is not the leaf hash of the entry before it.
    #[error("entry {0}: its previous hash is not the leaf hash of entry {prev}", prev = .0.saturating_sub(1))]
    BrokenChain(u64),
    /// The checkpoint covers another number of entries than those held.
    #[error("the checkpoint covers {checkpoint} entries, {held} are held")]
    SizeMismatch {
        /// The checkpoint's size.
        checkpoint: u64,
        /// Entries held.
        held: u64,
    },
    /// The root of the entries held is not the checkpoint's.
    #[error("the {size} entries fetched hash to {computed}, the checkpoint says {signed}")]
    RootMismatch {
        /// Entries held.
        size: u64,
        /// The root recomputed from them.
        computed: Hash,
        /// The root in the signed checkpoint.
        signed: Hash,
    },
    /// The frontier given to resume from is inconsistent.
    #[error("cannot resume: {0}")]
    BadFrontier(ProofError),
}

/// An entry fetched and linked into the chain (trusted once [`MirrorChecker::check`] passes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// Its position in the log.
    pub seq: u64,
    /// Its leaf hash: recomputed from the entry, or as given for a redacted one.
    pub leaf_hash: Hash,
    /// The entry, or `None` when the log served it redacted.
    pub entry: Option<Entry>,
}

/// Rebuilds the log's tree from entry bundles, in order, checking positions and the hash
/// chain as it goes; [`MirrorChecker::check`] then compares the root with a checkpoint.
/// Memory is O(log n): only the tree's frontier and the last leaf are kept.
#[derive(Debug, Clone, Default)]
pub struct MirrorChecker {
    tree: CompactRange,
    last_leaf: Option<Hash>,
}

impl MirrorChecker {
    /// A checker holding no entries yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A checker continuing from a verified copy of `size` entries whose frontier is `hashes`
    /// (see [`CompactRange::frontier_ids`]) and whose last leaf hash is `last_leaf`.
    pub fn resume(
        size: u64,
        hashes: Vec<Hash>,
        last_leaf: Option<Hash>,
    ) -> Result<Self, MirrorError> {
        let tree = CompactRange::from_frontier(size, hashes).map_err(MirrorError::BadFrontier)?;
        Ok(Self { tree, last_leaf })
    }

    /// Entries held.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The frontier of the tree held (to store and [`MirrorChecker::resume`] from).
    pub fn frontier(&self) -> &[Hash] {
        self.tree.hashes()
    }

    /// The leaf hash of the last entry held.
    pub fn last_leaf(&self) -> Option<Hash> {
        self.last_leaf
    }

    /// The entry bundles to fetch, in order, to hold `target` entries: the one holding the
    /// next entry (partial or full), then the rest up to `target` (the last one partial
    /// unless `target` is a multiple of 256). Empty when `target` entries are held.
    pub fn bundles_to(&self, target: u64) -> Vec<TilePath> {
        let size = self.size();
        if size >= target {
            return Vec::new();
        }
        (size / TILE_WIDTH..target.div_ceil(TILE_WIDTH))
            .map(|index| TilePath {
                kind: TileKind::Entries,
                index,
                width: tile_width(target, index),
            })
            .collect()
    }

    /// Adds the entries of bundle `tile` that are new (those already held are skipped: a
    /// bundle fetched partial before may come back full), and returns them with their leaf
    /// hashes, having checked each position and chain link. `visit` sees every perfect tree
    /// node the new entries complete (as [`CompactRange::append_with`] reports them), for a
    /// mirror that stores the tree.
    pub fn push_bundle(
        &mut self,
        tile: &TilePath,
        bytes: &[u8],
        mut visit: impl FnMut(NodeId, Hash),
    ) -> Result<Vec<VerifiedEntry>, MirrorError> {
        let name = || tile.to_string();
        let first = tile.first_item();
        let size = self.size();
        let end = first.saturating_add(tile.width);
        if tile.kind != TileKind::Entries || first > size || end <= size {
            return Err(MirrorError::NotNext { tile: name(), size });
        }
        let items = decode_bundle(bytes).map_err(|source| MirrorError::Decode {
            tile: name(),
            source,
        })?;
        if items.len() as u64 != tile.width {
            return Err(MirrorError::Decode {
                tile: name(),
                source: DecodeError::BadItemCount {
                    width: tile.width,
                    items: items.len(),
                },
            });
        }
        let skip = usize::try_from(size - first).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(items.len().saturating_sub(skip));
        for bytes in items.into_iter().skip(skip) {
            let item = BundleItem::parse(bytes).map_err(|source| MirrorError::Decode {
                tile: name(),
                source,
            })?;
            out.push(self.push_item(item, &mut visit)?);
        }
        Ok(out)
    }

    fn push_item(
        &mut self,
        item: BundleItem,
        visit: &mut impl FnMut(NodeId, Hash),
    ) -> Result<VerifiedEntry, MirrorError> {
        let position = self.size();
        let (leaf_hash, entry) = match item {
            BundleItem::Redacted(leaf) => (leaf, None),
            BundleItem::Entry(entry) => {
                if entry.seq != position {
                    return Err(MirrorError::WrongSeq {
                        position,
                        seq: entry.seq,
                    });
                }
                if entry.prev_hash != self.last_leaf {
                    return Err(MirrorError::BrokenChain(position));
                }
                (entry.leaf_hash(), Some(entry))
            }
        };
        self.tree.append_with(leaf_hash, visit);
        self.last_leaf = Some(leaf_hash);
        Ok(VerifiedEntry {
            seq: position,
            leaf_hash,
            entry,
        })
    }

    /// Checks that the entries held are exactly those `checkpoint` signs (its signature must
    /// have been checked by the caller).
    pub fn check(&self, checkpoint: &Checkpoint) -> Result<(), MirrorError> {
        if checkpoint.size != self.size() {
            return Err(MirrorError::SizeMismatch {
                checkpoint: checkpoint.size,
                held: self.size(),
            });
        }
        let computed = self.tree.root();
        if computed != checkpoint.root {
            return Err(MirrorError::RootMismatch {
                size: self.size(),
                computed,
                signed: checkpoint.root,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::EntryKind;
    use crate::merkle::MemoryTree;
    use crate::tiles::bundle::encode_bundle;

    fn chain(n: u64) -> Vec<Entry> {
        let mut prev = None;
        (0..n)
            .map(|seq| {
                let entry = Entry {
                    seq,
                    kind: EntryKind::DataSubmitted,
                    timestamp_ms: 1_700_000_000_000 + seq as i64,
                    actor_user: format!("u{}", seq % 7),
                    actor_org: "o".into(),
                    subjects: BTreeMap::from([("trial".into(), format!("t{}", seq % 3))]),
                    payload_hash: Hash::sha256(&seq.to_be_bytes()),
                    prev_hash: prev,
                };
                prev = Some(entry.leaf_hash());
                entry
            })
            .collect()
    }

    /// The bundle a log of `entries` serves for `tile`, redacting entries `redact` says.
    fn serve(entries: &[Entry], tile: &TilePath, redact: impl Fn(u64) -> bool) -> Vec<u8> {
        let first = tile.first_item() as usize;
        let items = entries[first..first + tile.width as usize].iter().map(|e| {
            if redact(e.seq) {
                BundleItem::redacted_bytes(&e.leaf_hash())
            } else {
                e.canonical_bytes()
            }
        });
        encode_bundle(items).expect("short entries")
    }

    fn checkpoint(entries: &[Entry]) -> Checkpoint {
        let mut tree = MemoryTree::new();
        for e in entries {
            tree.append(e.leaf_hash());
        }
        Checkpoint {
            origin: "test".into(),
            size: entries.len() as u64,
            root: tree.root(),
            timestamp_ms: 0,
        }
    }

    /// Follows a growing log: catches up to `sizes` in turn, through partial bundles.
    fn follow(
        entries: &[Entry],
        sizes: &[u64],
        redact: impl Fn(u64) -> bool + Copy,
    ) -> Result<MirrorChecker, MirrorError> {
        let mut checker = MirrorChecker::new();
        for &size in sizes {
            for tile in checker.bundles_to(size) {
                let bytes = serve(entries, &tile, redact);
                let got = checker.push_bundle(&tile, &bytes, |_, _| {})?;
                for v in &got {
                    assert_eq!(v.leaf_hash, entries[v.seq as usize].leaf_hash());
                }
            }
            checker.check(&checkpoint(&entries[..size as usize]))?;
        }
        Ok(checker)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn follows_a_growing_log(mut sizes in proptest::collection::vec(0u64..1_500, 1..5), redacted in 0u64..5) {
            sizes.sort_unstable();
            let entries = chain(1_500);
            // Every `redacted`-th entry (none when 0) is served redacted.
            let redact = |seq: u64| redacted > 0 && seq.is_multiple_of(redacted);
            let checker = follow(&entries, &sizes, redact).expect("an honest log verifies");
            prop_assert_eq!(checker.size(), *sizes.last().unwrap_or(&0));
        }

        #[test]
        fn any_changed_entry_is_caught(victim in 0u64..700, field in 0u8..3) {
            let mut entries = chain(700);
            let e = &mut entries[victim as usize];
            match field {
                0 => e.timestamp_ms += 1,
                1 => e.actor_user.push('x'),
                _ => { e.subjects.insert("trial".into(), "other".into()); }
            }
            // The liar re-signs nothing: the checkpoint is of the honest log.
            let honest = chain(700);
            let mut checker = MirrorChecker::new();
            let mut result = Ok(());
            for tile in checker.bundles_to(700) {
                if let Err(err) = checker.push_bundle(&tile, &serve(&entries, &tile, |_| false), |_, _| {}) {
                    result = Err(err);
                    break;
                }
            }
            let result = result.and_then(|()| checker.check(&checkpoint(&honest)));
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn a_forged_redacted_leaf_fails_the_chain_or_the_root() {
        let entries = chain(300);
        let mut checker = MirrorChecker::new();
        let tiles = checker.bundles_to(300);
        assert_eq!(tiles.len(), 2);
        let tile = tiles[0];
        let mut items: Vec<Vec<u8>> = entries[..256].iter().map(Entry::canonical_bytes).collect();
        items[255] = BundleItem::redacted_bytes(&Hash::sha256(b"forged"));
        let bundle = encode_bundle(&items).expect("short");
        checker
            .push_bundle(&tile, &bundle, |_, _| {})
            .expect("a redacted leaf cannot be checked alone");
        let tile = checker.bundles_to(300)[0];
        assert_eq!(tile, tiles[1]);
        assert_eq!(tile.width, 300 - TILE_WIDTH);
        let err = checker
            .push_bundle(&tile, &serve(&entries, &tile, |_| false), |_, _| {})
            .expect_err("the next entry's link exposes it");
        assert_eq!(err, MirrorError::BrokenChain(256));
    }

    #[test]
    fn refuses_bundles_out_of_order_and_of_the_wrong_width() {
        let entries = chain(600);
        let mut checker = MirrorChecker::new();
        let later = TilePath {
            kind: TileKind::Entries,
            index: 1,
            width: 256,
        };
        assert!(matches!(
            checker.push_bundle(&later, &serve(&entries, &later, |_| false), |_, _| {}),
            Err(MirrorError::NotNext { .. })
        ));
        let first = TilePath {
            kind: TileKind::Entries,
            index: 0,
            width: 256,
        };
        let short = TilePath { width: 10, ..first };
        assert!(matches!(
            checker.push_bundle(&first, &serve(&entries, &short, |_| false), |_, _| {}),
            Err(MirrorError::Decode {
                source: DecodeError::BadItemCount { .. },
                ..
            })
        ));
        let mut half = checker.clone();
        half.push_bundle(&short, &serve(&entries, &short, |_| false), |_, _| {})
            .expect("partial");
        let rest = half
            .push_bundle(&first, &serve(&entries, &first, |_| false), |_, _| {})
            .expect("full");
        assert_eq!(rest.first().map(|v| v.seq), Some(10));
        assert_eq!(
            half.check(&checkpoint(&entries[..255])),
            Err(MirrorError::SizeMismatch {
                checkpoint: 255,
                held: 256
            })
        );
        half.check(&checkpoint(&entries[..256]))
            .expect("the same log");
    }
}
