//! The witness's own Ed25519 cosigning key, kept in its data directory.

use std::path::Path;

use anyhow::Context;
use ledger::witness::Cosigner;

use crate::keys_dir::{KeysDir, SecretFormat};

/// The seed file under `DIR/keys`: 32 random bytes, owner-only, created on first start.
pub const SEED_FILE: &str = "witness.seed";

/// Loads (or creates) the witness key under `data_dir/keys` and names it `name`, or by
/// default `witness-<8 hex digits of the key>.veritrial`, stable for that key.
pub fn load_cosigner(data_dir: &Path, name: Option<&str>) -> anyhow::Result<Cosigner> {
    let keys = KeysDir::open(&data_dir.join("keys"))?;
    let bytes = keys.load_or_create(SEED_FILE, SecretFormat::Random32)?;
    let seed: [u8; 32] = bytes[..32]
        .try_into()
        .context("the witness seed holds fewer than 32 bytes")?;
    let name = match name {
        Some(name) => name.to_owned(),
        None => default_name(seed)?,
    };
    Cosigner::new(&name, seed).with_context(|| format!("invalid witness name {name:?}"))
}

/// `witness-<first 4 bytes of SHA-256 of the public key, hex>.veritrial`.
fn default_name(seed: [u8; 32]) -> anyhow::Result<String> {
    let probe = Cosigner::new("witness", seed)?;
    let digest = ledger::Hash::sha256(probe.public_key());
    Ok(format!("witness-{}.veritrial", hex::encode(&digest.0[..4])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_kept_and_the_default_name_follows_it() {
        let tmp = tempfile::tempdir().unwrap();
        let a = load_cosigner(tmp.path(), None).unwrap();
        let b = load_cosigner(tmp.path(), None).unwrap();
        assert_eq!(a.verifier_key(), b.verifier_key());
        assert!(a.name().starts_with("witness-") && a.name().ends_with(".veritrial"));
        let named = load_cosigner(tmp.path(), Some("witness.example/w1")).unwrap();
        assert!(named.verifier_key().starts_with("witness.example/w1+"));
        let other = tempfile::tempdir().unwrap();
        assert_ne!(load_cosigner(other.path(), None).unwrap().name(), a.name());
        assert!(load_cosigner(tmp.path(), Some("bad name")).is_err());
    }
}
