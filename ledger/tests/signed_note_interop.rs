//! Interoperability with the reference signed-note implementation
//! (golang.org/x/mod/sumdb/note, whose test keys and signatures are used here).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ledger::{CheckpointError, Signer, Verifier};

const PETER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SEED_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_KEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// PKCS#8 v1 document for an Ed25519 seed (RFC 8410 fixed prefix).
fn pkcs8_from_seed(seed: &[u8]) -> Vec<u8> {
    let mut doc = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    doc.extend_from_slice(seed);
    doc
}

#[test]
fn verifier_keys_match_go() {
    let alg_seed = STANDARD.decode(PETER_SEED_B64).expect("base64");
    assert_eq!(alg_seed[0], 0x01);
    let signer =
        Signer::from_pkcs8("PeterNeumann", &pkcs8_from_seed(&alg_seed[1..])).expect("signer");
    assert_eq!(signer.verifier_key(), PETER_KEY);
    for key in [PETER_KEY, ENOCH_KEY] {
        assert_eq!(
            Verifier::from_key_string(key).expect("key").key_string(),
            key
        );
    }
    // Go's rejected manglings.
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
    ] {
        assert!(Verifier::from_key_string(bad).is_err(), "{bad}");
    }
    let bytes = PETER_KEY.as_bytes();
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] = b[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&b) {
            assert!(Verifier::from_key_string(s).is_err(), "{s}");
        }
    }
}

#[test]
fn go_signatures_verify() {
    let peter = Verifier::from_key_string(PETER_KEY).expect("key");
    let enoch = Verifier::from_key_string(ENOCH_KEY).expect("key");
    // The signature verifies; the text is simply not a checkpoint.
    for note in [
        format!("{TEXT}\n{PETER_SIG}"),
        format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}"),
    ] {
        assert!(matches!(
            peter.open(&note),
            Err(CheckpointError::MalformedCheckpoint(_))
        ));
        assert!(matches!(
            enoch.open(&note),
            Err(CheckpointError::MalformedCheckpoint(_) | CheckpointError::UnknownKey(_))
        ));
    }
    assert!(matches!(
        enoch.open(&format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}")),
        Err(CheckpointError::MalformedCheckpoint(_))
    ));
    assert!(matches!(
        enoch.open(&format!("{TEXT}\n{PETER_SIG}")),
        Err(CheckpointError::UnknownKey(_))
    ));
    let tampered = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(
        peter.open(&tampered),
        Err(CheckpointError::BadSignature(_))
    ));
    // Go's malformed notes.
    for bad in [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\u{1}{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
    ] {
        assert!(
            matches!(peter.open(&bad), Err(CheckpointError::MalformedNote(_))),
            "{bad:?}"
        );
    }
}
