//! Making `cosignature/v1` signatures with the witness's Ed25519 key.

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::error::WitnessError;
use super::message::{check_timestamp, signed_message};
use crate::checkpoint::key::{ALG_COSIGNATURE_V1, check_name, format_verifier_key, key_id};
use crate::checkpoint::note::signature_line;
use crate::checkpoint::{CheckpointError, TreeHead};

/// A cosigner: a key name and an Ed25519 key that signs `cosignature/v1` messages.
pub struct Cosigner {
    name: String,
    key_pair: Ed25519KeyPair,
    key_id: [u8; 4],
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// A fresh random 32-byte Ed25519 seed (store it with owner-only permissions).
    pub fn generate_seed() -> Result<[u8; 32], CheckpointError> {
        let mut seed = [0u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| CheckpointError::Rng)?;
        Ok(seed)
    }

    /// The cosigner `name` (non-empty, no whitespace, no `+`; a schema-less URL is
    /// recommended) with the Ed25519 key of this RFC 8032 seed.
    pub fn new(name: &str, seed: [u8; 32]) -> Result<Self, CheckpointError> {
        check_name(name)?;
        let key_pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| CheckpointError::InvalidPrivateKey(e.to_string()))?;
        let key_id = key_id(name, ALG_COSIGNATURE_V1, key_pair.public_key().as_ref());
        Ok(Cosigner {
            name: name.to_owned(),
            key_pair,
            key_id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8] {
        self.key_pair.public_key().as_ref()
    }

    /// The verifier key: `<name>+<hex key id>+<base64(0x04 || public key)>`.
    pub fn verifier_key(&self) -> String {
        format_verifier_key(&self.name, ALG_COSIGNATURE_V1, self.public_key())
    }

    /// Cosigns a checkpoint body (the note text, without the empty line and signatures) at
    /// `timestamp_secs` and returns the note signature line `— <name> base64(key id || u64
    /// BE timestamp || signature)\n`. The body must be a checkpoint (extension lines allowed).
    pub fn cosign(
        &self,
        checkpoint_body: &str,
        timestamp_secs: u64,
    ) -> Result<String, WitnessError> {
        TreeHead::parse(checkpoint_body)?;
        check_timestamp(timestamp_secs)?;
        let signature = self
            .key_pair
            .sign(&signed_message(checkpoint_body, timestamp_secs));
        let mut blob = Vec::with_capacity(8 + 64);
        blob.extend_from_slice(&timestamp_secs.to_be_bytes());
        blob.extend_from_slice(signature.as_ref());
        Ok(signature_line(&self.name, self.key_id, &blob))
    }
}
