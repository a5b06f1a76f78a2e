//! Verifying signed checkpoints.

use ring::signature::{ED25519, UnparsedPublicKey};

use super::body::Checkpoint;
use super::error::CheckpointError;
use super::key::{ALG_ED25519, format_verifier_key, parse_verifier_key};
use super::note;

/// Verifies checkpoints signed by one Ed25519 key.
#[derive(Debug, Clone)]
pub struct Verifier {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
}

impl Verifier {
    /// Parses a signed-note verifier key `<name>+<hex key id>+<base64(0x01 || key)>`.
    pub fn from_key_string(key: &str) -> Result<Self, CheckpointError> {
        let (name, key_id, public_key) = parse_verifier_key(key, ALG_ED25519)?;
        Ok(Verifier {
            name,
            key_id,
            public_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The canonical verifier key string.
    pub fn key_string(&self) -> String {
        format_verifier_key(&self.name, ALG_ED25519, &self.public_key)
    }

    /// Parses a signed note strictly, checks this key's signature over its text, and parses
    /// the text as a checkpoint. Signatures by other keys are ignored, as signed-note allows.
    pub fn open(&self, note_text: &str) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::parse_body(self.verify_note(note_text)?)
    }

    /// Parses a signed note strictly and checks this key's signature over its text, which it
    /// returns (any text: a checkpoint of another log, say). Signatures by other keys,
    /// cosignatures among them, are ignored; a line with this key's name and id whose
    /// signature fails is an error, as signed-note recommends.
    pub fn verify_note<'a>(&self, note_text: &'a str) -> Result<&'a str, CheckpointError> {
        let parsed = note::parse(note_text)?;
        let mut signed = false;
        for sig in &parsed.signatures {
            if sig.name != self.name || sig.key_id != self.key_id {
                continue;
            }
            UnparsedPublicKey::new(&ED25519, &self.public_key)
                .verify(parsed.text.as_bytes(), &sig.signature)
                .map_err(|_| CheckpointError::BadSignature(self.name.clone()))?;
            signed = true;
        }
        if !signed {
            return Err(CheckpointError::UnknownKey(self.name.clone()));
        }
        Ok(parsed.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Signer;
    use crate::hash::Hash;

    fn signer(name: &str) -> Signer {
        let pkcs8 = Signer::generate_pkcs8().expect("keygen");
        Signer::from_pkcs8(name, &pkcs8).expect("signer")
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "veritrial.test/ledger".into(),
            size: 7,
            root: Hash::sha256(b"root"),
            timestamp_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn sign_and_open() {
        let s = signer("veritrial.test");
        let note = s.sign(&checkpoint()).expect("sign");
        assert!(note.contains("\n\n\u{2014} veritrial.test "));
        let key = s.verifier_key();
        assert!(key.starts_with("veritrial.test+"));
        let v = Verifier::from_key_string(&key).expect("key");
        assert_eq!(v.key_string(), key);
        assert_eq!(v.open(&note), Ok(checkpoint()));
    }

    #[test]
    fn a_cosigned_note_opens_with_either_key() {
        let (new, old) = (signer("veritrial.test"), signer("veritrial.test"));
        let note = new.sign(&checkpoint()).expect("sign");
        let cosigned = old.cosign(&note).expect("cosign");
        assert!(cosigned.starts_with(&note));
        assert_eq!(cosigned.matches('\u{2014}').count(), 2);
        for key in [new.verifier_key(), old.verifier_key()] {
            let v = Verifier::from_key_string(&key).expect("key");
            assert_eq!(v.open(&cosigned), Ok(checkpoint()));
        }
        assert!(matches!(
            old.cosign("not a note"),
            Err(CheckpointError::MalformedNote(_))
        ));
    }

    #[test]
    fn errors_are_distinguished() {
        let s = signer("veritrial.test");
        let note = s.sign(&checkpoint()).expect("sign");
        let v = Verifier::from_key_string(&s.verifier_key()).expect("key");

        let other = signer("veritrial.test");
        let v_other = Verifier::from_key_string(&other.verifier_key()).expect("key");
        assert!(matches!(
            v_other.open(&note),
            Err(CheckpointError::UnknownKey(_))
        ));

        let tampered = note.replacen("\n7\n", "\n8\n", 1);
        assert!(matches!(
            v.open(&tampered),
            Err(CheckpointError::BadSignature(_))
        ));

        // A valid signature over a body that is not a checkpoint.
        let forged = format!("hello\n\n{}", note.rsplit("\n\n").next().unwrap_or(""));
        assert!(matches!(
            v.open(&forged),
            Err(CheckpointError::BadSignature(_))
        ));

        for bad in [
            "",
            "no signatures\n",
            "text\n\n- name AAAA\n",
            "text\n\n\u{2014} x !!\n",
        ] {
            assert!(
                matches!(v.open(bad), Err(CheckpointError::MalformedNote(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Verifier::from_key_string("name+00000000+AQ=="),
            Err(CheckpointError::MalformedKey(_))
        ));
        let key = s.verifier_key();
        let wrong_id = format!("other{}", &key[key.find('+').unwrap_or(0)..]);
        assert!(Verifier::from_key_string(&wrong_id).is_err());
    }
}
