//! Signing checkpoints with an Ed25519 key.

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::body::Checkpoint;
use super::error::CheckpointError;
use super::key::{ALG_ED25519, check_name, format_verifier_key, key_id};
use super::note::{self, signature_line};

/// Signs checkpoints as a C2SP signed note under a key name.
pub struct Signer {
    name: String,
    key_pair: Ed25519KeyPair,
    key_id: [u8; 4],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Generates a new Ed25519 key and returns it as a PKCS#8 v2 document (store it with
    /// owner-only permissions).
    pub fn generate_pkcs8() -> Result<Vec<u8>, CheckpointError> {
        let rng = SystemRandom::new();
        Ed25519KeyPair::generate_pkcs8(&rng)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| CheckpointError::Rng)
    }

    /// Loads a PKCS#8 Ed25519 key to sign under `name` (non-empty, no whitespace, no `+`).
    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, CheckpointError> {
        check_name(name)?;
        let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|e| CheckpointError::InvalidPrivateKey(e.to_string()))?;
        let key_id = key_id(name, ALG_ED25519, key_pair.public_key().as_ref());
        Ok(Signer {
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

    /// The signed-note verifier key: `<name>+<hex key id>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        format_verifier_key(&self.name, ALG_ED25519, self.public_key())
    }

    /// Signs `checkpoint` and returns the complete signed note text.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        Ok(self.sign_text(&checkpoint.to_body()?))
    }

    /// Cosigns a signed note: adds this key's signature line over the note's text after the
    /// signatures already there (C2SP signed-note allows several). Verifiers of either key
    /// accept the result; the note must parse.
    pub fn cosign(&self, note_text: &str) -> Result<String, CheckpointError> {
        let parsed = note::parse(note_text)?;
        let signature = self.key_pair.sign(parsed.text.as_bytes());
        let line = signature_line(&self.name, self.key_id, signature.as_ref());
        Ok(format!("{note_text}{line}"))
    }

    /// Signs an arbitrary note text (which must end in a newline and contain no empty line).
    pub(crate) fn sign_text(&self, text: &str) -> String {
        let signature = self.key_pair.sign(text.as_bytes());
        let line = signature_line(&self.name, self.key_id, signature.as_ref());
        format!("{text}\n{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ed25519 signatures are deterministic, so a note signed here must be byte-for-byte the
    /// one golang.org/x/mod/sumdb/note produces for the same key (its TestSign).
    #[test]
    fn signs_exactly_like_go() {
        let mut pkcs8 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        // Seed of Go's "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz".
        let seed = hex::decode("810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173")
            .expect("hex");
        pkcs8.extend_from_slice(&seed);
        let signer = Signer::from_pkcs8("PeterNeumann", &pkcs8).expect("signer");
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let want = format!(
            "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(signer.sign_text(text), want);
    }
}
