//! Verifying `cosignature/v1` signatures and a quorum of them.

use ring::signature::{ED25519, UnparsedPublicKey};

use super::error::WitnessError;
use super::message::{check_timestamp, signed_message};
use crate::checkpoint::key::{ALG_COSIGNATURE_V1, format_verifier_key, parse_verifier_key};
use crate::checkpoint::note::{self, NoteSignature};
use crate::checkpoint::{Checkpoint, TreeHead, Verifier};

/// Verifies the `cosignature/v1` signatures of one cosigner (witness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
}

/// A verified cosignature: who made it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The cosigner's key name.
    pub name: String,
    /// The cosigner's verifier key.
    pub verifier_key: String,
    /// When it cosigned, POSIX seconds.
    pub timestamp: u64,
}

impl CosignatureVerifier {
    /// Parses a cosigner verifier key `<name>+<hex key id>+<base64(0x04 || key)>`.
    pub fn parse(vkey: &str) -> Result<Self, WitnessError> {
        let (name, key_id, public_key) = parse_verifier_key(vkey, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier {
            name,
            key_id,
            public_key,
        })
    }

    /// The cosigner's key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The canonical verifier key string.
    pub fn key_string(&self) -> String {
        format_verifier_key(&self.name, ALG_COSIGNATURE_V1, &self.public_key)
    }

    /// Finds this cosigner's line(s) among the note's signature lines and checks each over
    /// `cosignature/v1\ntime <t>\n` + the note text, which must be a checkpoint. Returns the
    /// latest timestamp. Lines of other keys are ignored; a failing line of this key is an
    /// error, as signed-note recommends.
    pub fn verify(&self, note_text: &str) -> Result<u64, WitnessError> {
        let parsed = note::parse(note_text)?;
        TreeHead::parse(parsed.text)?;
        let mut latest = None;
        for sig in parsed.signatures.iter().filter(|s| self.matches(s)) {
            let t = self.check(parsed.text, &sig.signature)?;
            latest = latest.max(Some(t));
        }
        latest.ok_or_else(|| WitnessError::MissingCosignature(self.name.clone()))
    }

    fn matches(&self, sig: &NoteSignature<'_>) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }

    /// Checks one `timestamp || signature` blob over `text`, returning the timestamp.
    fn check(&self, text: &str, blob: &[u8]) -> Result<u64, WitnessError> {
        let bad = || WitnessError::BadCosignature(self.name.clone());
        let (time, signature) = blob.split_at_checked(8).ok_or_else(bad)?;
        if signature.len() != 64 {
            return Err(bad());
        }
        let timestamp = u64::from_be_bytes(time.try_into().map_err(|_| bad())?);
        check_timestamp(timestamp).map_err(|_| bad())?;
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(&signed_message(text, timestamp), signature)
            .map_err(|_| bad())?;
        Ok(timestamp)
    }
}

/// The valid cosignatures on `note_text` by the given witnesses (each key counted once).
/// Witnesses without a line are left out; a witness line that fails to verify is an error.
pub fn verified_cosignatures(
    note_text: &str,
    witness_keys: &[String],
) -> Result<Vec<Cosignature>, WitnessError> {
    let mut verifiers = witness_keys
        .iter()
        .map(|k| CosignatureVerifier::parse(k))
        .collect::<Result<Vec<_>, _>>()?;
    verifiers.sort_by_key(CosignatureVerifier::key_string);
    verifiers.dedup();
    let mut found = Vec::new();
    for v in verifiers {
        match v.verify(note_text) {
            Ok(timestamp) => found.push(Cosignature {
                name: v.name.clone(),
                verifier_key: v.key_string(),
                timestamp,
            }),
            Err(WitnessError::MissingCosignature(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Opens a Veritrial checkpoint note: the log's signature must verify under
/// `log_verifier_key`, and at least `quorum` distinct witnesses of `witness_keys` must have
/// cosigned it validly.
pub fn verify_quorum(
    note_text: &str,
    log_verifier_key: &str,
    witness_keys: &[String],
    quorum: usize,
) -> Result<Checkpoint, WitnessError> {
    let checkpoint = Verifier::from_key_string(log_verifier_key)?.open(note_text)?;
    let got = verified_cosignatures(note_text, witness_keys)?.len();
    if got < quorum {
        return Err(WitnessError::QuorumNotMet { got, need: quorum });
    }
    Ok(checkpoint)
}
