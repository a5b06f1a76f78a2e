//! Signed checkpoints: the C2SP `tlog-checkpoint` body inside a C2SP `signed-note`.
//!
//! The checkpoint body is exactly four lines, each ending in `\n`:
//!
//! ```text
//! <origin>
//! <size in decimal>
//! <base64 of the 32-byte root hash>
//! time <timestamp in Unix milliseconds, decimal>
//! ```
//!
//! The fourth line is a tlog-checkpoint extension line. The note appends an empty line and
//! one signature line per signer: `— <key name> <base64(4-byte key id || 64-byte Ed25519
//! signature over the body bytes)>\n` (the dash is U+2014 EM DASH followed by a space). The
//! key id is the first four bytes of `SHA-256(<key name> || "\n" || 0x01 || public key)`,
//! and the verifier key string is `<key name>+<key id as 8 hex digits>+<base64(0x01 ||
//! public key)>`.

mod body;
mod error;
pub(crate) mod key;
pub(crate) mod note;
mod signer;
mod verifier;

pub(crate) use body::parse_canonical;
pub use body::{Checkpoint, TreeHead};
pub use error::CheckpointError;
pub use signer::Signer;
pub use verifier::Verifier;
