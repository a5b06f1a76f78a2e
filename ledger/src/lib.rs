//! Veritrial's verifiable ledger: a Certificate-Transparency-style, append-only log of
//! everything that happens to a trial (protocols, consent, enrollment, data submissions).
//!
//! Pure library: no database, no network, no async. It provides
//!
//! * [`entry`]: ledger entries and their canonical byte encoding (below);
//! * [`payload`]: canonical JSON for payloads, payload hashes, salted pseudonym commitments;
//! * [`merkle`]: the RFC 6962 / RFC 9162 Merkle tree, proofs and their verification;
//! * [`checkpoint`]: C2SP `tlog-checkpoint` checkpoints in Ed25519 C2SP signed notes;
//! * [`export`]: the offline JSON Lines export (full or, for a reader shown only some entries,
//!   with redacted lines that keep the chain and the tree verifiable), its writer and its
//!   streaming verifier;
//! * [`receipt`]: self-contained inclusion receipts (e.g. for a consent);
//! * [`history`]: whether a ledger extends a saved checkpoint, where two copies part, and
//!   split views (two checkpoints of one size with different roots);
//! * [`tiles`]: the log served as C2SP `tlog-tiles` (hash tiles, entry bundles) and the
//!   checker with which a mirror rebuilds and verifies it;
//! * [`witness`]: C2SP `cosignature/v1` cosignatures and the `tlog-witness` add-checkpoint
//!   protocol (request format and the witness's decision).
//!
//! # Hashes
//!
//! All hashes are SHA-256 ([`Hash`](struct@crate::Hash)): lowercase hex in JSON, standard padded base64 inside
//! checkpoints. The Merkle tree follows RFC 6962 §2.1: the leaf hash of bytes `d` is
//! `SHA-256(0x00 || d)`, an interior node is `SHA-256(0x01 || left || right)`, the empty
//! tree's root is `SHA-256("")`, and a tree of `n > 1` leaves splits at the largest power
//! of two smaller than `n`. Leaf `i` of the tree is the leaf hash of the canonical bytes of
//! the entry with `seq == i`.
//!
//! # Canonical entry encoding (version 1)
//!
//! [`Entry::canonical_bytes`] is the concatenation of, in this order (all integers
//! big-endian; a "string" is a `u64` byte length followed by that many UTF-8 bytes):
//!
//! | # | field          | encoding                                                   |
//! |---|----------------|------------------------------------------------------------|
//! | 1 | magic          | the 4 ASCII bytes `VTLE` (`56 54 4c 45`)                    |
//! | 2 | version        | 1 byte, `0x01`                                              |
//! | 3 | `seq`          | `u64`                                                      |
//! | 4 | `kind`         | string: the dotted kind name, e.g. `consent.granted`        |
//! | 5 | `timestamp_ms` | `i64` two's complement: Unix milliseconds, UTC             |
//! | 6 | `actor_user`   | string                                                     |
//! | 7 | `actor_org`    | string                                                     |
//! | 8 | `subjects`     | `u64` count, then per pair key string, value string, pairs sorted by key in ascending byte order (keys unique) |
//! | 9 | `payload_hash` | 32 raw bytes                                               |
//! |10 | `prev_hash`    | `0x00` if absent (entry 0 only), else `0x01` and 32 raw bytes |
//!
//! Every variable-length field is length-prefixed and every fixed field has a fixed size, so
//! the encoding is injective: two different entries never share the same bytes.
//!
//! Worked example (checked by a unit test, and by an independent Python implementation
//! while writing it): the entry `seq 1`, kind `consent.granted`, `timestamp_ms
//! 1700000000000`, actor `u1` / `o1`, subjects `{"trial": "t1"}`, payload hash 32 × `0x11`,
//! prev hash 32 × `0x22` encodes as (hex, spaces between fields)
//!
//! ```text
//! 56544c45 01 0000000000000001 000000000000000f 636f6e73656e742e6772616e746564
//! 0000018bcfe56800 0000000000000002 7531 0000000000000002 6f31
//! 0000000000000001 0000000000000005 747269616c 0000000000000002 7431
//! 1111…11 (32 bytes) 01 2222…22 (32 bytes)
//! ```
//!
//! and its leaf hash is `c6d01e70fa5b44ad8efb056e1afe8535cceabfdf916d28f96799c0e5b596efc4`.
//!
//! The entry's hash is its RFC 6962 leaf hash `SHA-256(0x00 || canonical_bytes)`
//! ([`Entry::leaf_hash`]). The hash chain: `prev_hash` of entry `n` is the leaf hash of
//! entry `n - 1`.
//!
//! # Checkpoints
//!
//! See [`checkpoint`] for the exact note text: `origin\nsize\nbase64(root)\ntime <ms>\n`, an
//! empty line, and `— <key name> base64(key id || Ed25519 signature)`.
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use ledger::{Entry, EntryKind, merkle::{MemoryTree, verify_inclusion}, payload};
//!
//! let payload = payload::canonical_json(&serde_json::json!({"version": 1}));
//! let entry = Entry {
//!     seq: 0,
//!     kind: EntryKind::ProtocolPublished,
//!     timestamp_ms: 1_700_000_000_000,
//!     actor_user: "user-1".into(),
//!     actor_org: "org-1".into(),
//!     subjects: BTreeMap::from([("trial".into(), "trial-1".into())]),
//!     payload_hash: payload::payload_hash(&payload),
//!     prev_hash: None,
//! };
//! let mut tree = MemoryTree::new();
//! tree.append(entry.leaf_hash());
//! let proof = tree.inclusion_proof(0, 1)?;
//! verify_inclusion(&entry.leaf_hash(), 0, 1, &proof, &tree.root())?;
//! # Ok::<(), ledger::merkle::ProofError>(())
//! ```

#![deny(missing_docs)]

pub mod checkpoint;
pub mod entry;
pub mod export;
pub mod hash;
pub mod history;
pub mod merkle;
pub mod payload;
pub mod receipt;
pub mod tiles;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, Signer, TreeHead, Verifier};
pub use entry::{Entry, EntryKind};
pub use export::{
    ChainVerifier, ExportError, ExportHeader, ExportWriter, Problem, Report, verify_export,
};
pub use hash::{Hash, HashParseError};
pub use receipt::{Receipt, ReceiptError, verify_receipt};
