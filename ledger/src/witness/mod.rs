//! Witnessing: C2SP `tlog-cosignature` (`cosignature/v1`, Ed25519) and the C2SP
//! `tlog-witness` add-checkpoint protocol, pure (no I/O, no async).
//!
//! # Cosignatures
//!
//! A cosignature is one more signed-note signature line on a checkpoint:
//!
//! ```text
//! — <cosigner name> base64(key id || u64 big-endian timestamp || Ed25519 signature)
//! ```
//!
//! where the key id is `SHA-256(<name> || "\n" || 0x04 || public key)[:4]`, the verifier key
//! is `<name>+<hex key id>+<base64(0x04 || public key)>`, the timestamp is POSIX seconds (1 to
//! 2^63 - 1), and the Ed25519 signature covers
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the checkpoint body, extension lines included>
//! ```
//!
//! * [`Cosigner::new`]`(name, seed)`, [`Cosigner::verifier_key`],
//!   [`Cosigner::cosign`]`(body, timestamp) -> line`;
//! * [`CosignatureVerifier::parse`]`(vkey)`, [`CosignatureVerifier::verify`]`(note) ->
//!   timestamp`;
//! * [`add_signature_lines`]`(note, lines)` (deduplicated by key name and id), [`note_body`],
//!   [`split_signature_lines`] for an add-checkpoint response body;
//! * [`verified_cosignatures`] and [`verify_quorum`]`(note, log key, witness keys, k) ->
//!   Checkpoint`.
//!
//! Since a cosignature line has its own key id (type `0x04`), a log [`Verifier`](crate::Verifier)
//! ignores it: a cosigned note still opens under the log key.
//!
//! # add-checkpoint
//!
//! [`AddCheckpointRequest`] is the request body (`old <size>`, up to 63 base64 proof lines, an
//! empty line, the signed checkpoint) with [`AddCheckpointRequest::to_body`] and a strict
//! [`AddCheckpointRequest::parse`]; [`size_body`] / [`parse_size_body`] are the 409 body
//! (`Content-Type:` [`SIZE_CONTENT_TYPE`]). [`claimed_origin`] finds the log to check against,
//! and [`check_add_checkpoint`] makes the witness's decision, each refusal a [`Rejection`]
//! with its status code (400, 403, 404, 409, 422); [`Rejection::contradiction`] says which
//! ones are evidence against the log ([`Rejection::Forked`], [`Rejection::Inconsistent`]).
//!
//! # Why not a crate
//!
//! The Rust implementations published from cloudflare/azul (`signed_note`, `tlog_tiles`)
//! sign and verify with `ed25519-dalek`, a second Ed25519 stack beside the `ring` this crate
//! already uses for the log key, and their note types would duplicate
//! [`checkpoint`](crate::checkpoint)'s. The formats are small, so they are written here on
//! the checkpoint module's note parser and key helpers, and checked byte for byte against
//! cosignatures made by an independent implementation (aics-tlog) and against the example
//! request and response of the C2SP tlog-witness text (see `testdata/c2sp/`).

mod check;
mod cosigner;
mod error;
mod lines;
mod message;
mod request;
mod verify;

#[cfg(test)]
mod tests;

pub use check::{CosignedHead, Rejection, check_add_checkpoint, claimed_origin};
pub use cosigner::Cosigner;
pub use error::WitnessError;
pub use lines::{add_signature_lines, note_body, split_signature_lines};
pub use request::{
    ADD_CHECKPOINT_PATH, AddCheckpointRequest, MAX_PROOF_LINES, SIZE_CONTENT_TYPE, parse_size_body,
    size_body,
};
pub use verify::{Cosignature, CosignatureVerifier, verified_cosignatures, verify_quorum};
