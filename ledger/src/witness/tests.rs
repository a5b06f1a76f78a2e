//! Tests of cosignatures, the add-checkpoint format and the witness's decision.

use proptest::prelude::*;

use super::*;
use crate::checkpoint::{Checkpoint, CheckpointError, Signer, Verifier};
use crate::hash::Hash;
use crate::merkle::{MemoryTree, empty_root};

const ORIGIN: &str = "veritrial.test/ledger";

fn log_signer() -> Signer {
    let pkcs8 = Signer::generate_pkcs8().expect("keygen");
    Signer::from_pkcs8(ORIGIN, &pkcs8).expect("signer")
}

fn cosigner(name: &str, byte: u8) -> Cosigner {
    Cosigner::new(name, [byte; 32]).expect("cosigner")
}

fn tree(size: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..size {
        t.append(Hash::sha256(&i.to_be_bytes()));
    }
    t
}

fn signed(log: &Signer, size: u64, root: Hash) -> String {
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root,
        timestamp_ms: 1_700_000_000_000 + size as i64,
    };
    log.sign(&cp).expect("sign")
}

fn body_of(note: &str) -> &str {
    note_body(note).expect("note")
}

fn cosigned(note: &str, witnesses: &[&Cosigner], t: u64) -> String {
    let lines: Vec<String> = witnesses
        .iter()
        .map(|w| w.cosign(body_of(note), t).expect("cosign"))
        .collect();
    add_signature_lines(note, &lines).expect("add")
}

#[test]
fn cosign_and_verify() {
    let log = log_signer();
    let w = cosigner("witness.test/w1", 7);
    let note = signed(&log, 3, tree(3).root());
    let line = w.cosign(body_of(&note), 1_700_000_123).expect("cosign");
    assert!(line.starts_with("\u{2014} witness.test/w1 ") && line.ends_with('\n'));
    let vkey = w.verifier_key();
    assert!(vkey.starts_with("witness.test/w1+"));
    let v = CosignatureVerifier::parse(&vkey).expect("vkey");
    assert_eq!(v.name(), "witness.test/w1");
    assert_eq!(v.key_string(), vkey);
    let both = add_signature_lines(&note, std::slice::from_ref(&line)).expect("add");
    assert_eq!(both, format!("{note}{line}"));
    assert_eq!(v.verify(&both), Ok(1_700_000_123));
    // Not cosigned yet, or by another witness.
    assert!(matches!(
        v.verify(&note),
        Err(WitnessError::MissingCosignature(_))
    ));
    let other =
        CosignatureVerifier::parse(&cosigner("witness.test/w1", 8).verifier_key()).expect("vkey");
    assert!(matches!(
        other.verify(&both),
        Err(WitnessError::MissingCosignature(_))
    ));
    // The cosignature covers the body and the timestamp.
    let tampered = both.replacen("\n3\n", "\n4\n", 1);
    assert!(matches!(
        v.verify(&tampered),
        Err(WitnessError::BadCosignature(_))
    ));
    // A cosigner key is not a log key, and the other way round.
    assert!(CosignatureVerifier::parse(&log.verifier_key()).is_err());
    assert!(Verifier::from_key_string(&vkey).is_err());
}

#[test]
fn a_note_with_extra_signature_lines_still_opens_under_the_log_key() {
    let log = log_signer();
    let cp_note = signed(&log, 5, tree(5).root());
    let (w1, w2) = (
        cosigner("witness.test/w1", 1),
        cosigner("witness.test/w2", 2),
    );
    let mut note = cosigned(&cp_note, &[&w1, &w2], 1_700_000_000);
    // And a line by a key nobody here knows.
    note.push_str("\u{2014} stranger.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    let v = Verifier::from_key_string(&log.verifier_key()).expect("key");
    assert_eq!(v.open(&note), v.open(&cp_note));
    assert!(v.open(&note).is_ok());
}

#[test]
fn cosign_refuses_bad_input() {
    let w = cosigner("witness.test/w1", 1);
    let body = "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert!(w.cosign(body, 1).is_ok());
    assert_eq!(w.cosign(body, 0), Err(WitnessError::TimestampOutOfRange(0)));
    assert!(w.cosign(body, 1 << 63).is_err());
    assert!(matches!(
        w.cosign("not a checkpoint\n", 1),
        Err(WitnessError::Checkpoint(_))
    ));
    assert!(Cosigner::new("bad name", [0; 32]).is_err());
    assert!(Cosigner::new("a+b", [0; 32]).is_err());
}

#[test]
fn quorum() {
    let log = log_signer();
    let note = signed(&log, 9, tree(9).root());
    let (w1, w2, w3) = (
        cosigner("witness.test/w1", 1),
        cosigner("witness.test/w2", 2),
        cosigner("witness.test/w3", 3),
    );
    let note = cosigned(&note, &[&w1, &w2], 1_700_000_000);
    let keys = [w1.verifier_key(), w2.verifier_key(), w3.verifier_key()];
    let lk = log.verifier_key();
    let cp = verify_quorum(&note, &lk, &keys, 2).expect("quorum 2");
    assert_eq!(cp.size, 9);
    assert_eq!(
        verify_quorum(&note, &lk, &keys, 3),
        Err(WitnessError::QuorumNotMet { got: 2, need: 3 })
    );
    // The same key listed twice counts once.
    let twice = [w1.verifier_key(), w1.verifier_key()];
    assert_eq!(
        verify_quorum(&note, &lk, &twice, 2),
        Err(WitnessError::QuorumNotMet { got: 1, need: 2 })
    );
    let found = verified_cosignatures(&note, &keys).expect("cosignatures");
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["witness.test/w1", "witness.test/w2"]);
    assert!(found.iter().all(|c| c.timestamp == 1_700_000_000));
    // Wrong log key, or a forged line by a configured witness.
    let other_log = log_signer().verifier_key();
    assert!(matches!(
        verify_quorum(&note, &other_log, &keys, 0),
        Err(WitnessError::Checkpoint(CheckpointError::UnknownKey(_)))
    ));
    let line = w3.cosign(body_of(&note), 5).expect("cosign");
    let three = add_signature_lines(&note, std::slice::from_ref(&line)).expect("add");
    assert!(verify_quorum(&three, &lk, &keys, 3).is_ok());
    // w3's line moved onto another checkpoint: a configured witness's line that fails.
    let bad = add_signature_lines(&signed(&log, 9, Hash::ZERO), &[line]).expect("add");
    assert!(matches!(
        verify_quorum(&bad, &lk, &keys, 0),
        Err(WitnessError::BadCosignature(_))
    ));
}

#[test]
fn signature_lines_are_deduplicated_and_checked() {
    let log = log_signer();
    let note = signed(&log, 2, tree(2).root());
    let w = cosigner("witness.test/w1", 1);
    let a = w.cosign(body_of(&note), 10).expect("cosign");
    let b = w.cosign(body_of(&note), 11).expect("cosign");
    let once = add_signature_lines(&note, &[a.clone(), b]).expect("add");
    assert_eq!(once, format!("{note}{a}"));
    assert_eq!(
        add_signature_lines(&once, std::slice::from_ref(&a)),
        Ok(once.clone())
    );
    for bad in [
        a.trim_end().to_owned(),
        format!("{a}{a}"),
        "- witness AAAAAAA=\n".to_owned(),
    ] {
        assert!(
            add_signature_lines(&note, std::slice::from_ref(&bad)).is_err(),
            "{bad:?}"
        );
    }
    let block = format!("{a}{}", w.cosign(body_of(&note), 12).expect("cosign"));
    assert_eq!(split_signature_lines(&block).map(|l| l.len()), Ok(2));
    assert!(split_signature_lines("").is_err());
    assert!(split_signature_lines(a.trim_end()).is_err());
}

/// The example request of C2SP tlog-witness, byte for byte (`testdata/c2sp/`).
const SPEC_REQUEST: &str = include_str!("../../../testdata/c2sp/tlog-witness-request.txt");

/// The example response of C2SP tlog-witness: three cosignature lines.
const SPEC_RESPONSE: &str = include_str!("../../../testdata/c2sp/tlog-witness-response.txt");

#[test]
fn the_spec_response_has_the_shape_of_ours() {
    let lines = split_signature_lines(SPEC_RESPONSE).expect("signature lines");
    assert_eq!(lines.len(), 3);
    let ours = cosigner("witness.example/w1", 7)
        .cosign(
            body_of(&signed(&log_signer(), 7, Hash::ZERO)),
            1_700_000_000,
        )
        .expect("cosign");
    for line in lines.iter().chain([&ours]) {
        let (name, signature) = line
            .trim_end()
            .strip_prefix("\u{2014} ")
            .and_then(|rest| rest.split_once(' '))
            .expect("a note signature line");
        assert!(name.starts_with("witness.example/w"), "{line}");
        // cosignature/v1: key id (4) || timestamp (8) || Ed25519 signature (64).
        let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, signature)
            .expect("base64");
        assert_eq!(decoded.len(), 76, "{line}");
    }
}

#[test]
fn the_spec_request_round_trips() {
    let req = AddCheckpointRequest::parse(SPEC_REQUEST).expect("parse");
    assert_eq!(req.old_size, 20_852_014);
    assert_eq!(req.consistency_proof.len(), 4);
    assert!(
        req.checkpoint
            .starts_with("example.com/behind-the-sofa\n20852163\n")
    );
    assert_eq!(req.to_body(), SPEC_REQUEST);
    assert_eq!(
        claimed_origin(&req),
        Ok("example.com/behind-the-sofa".to_owned())
    );
}

#[test]
fn request_parsing_is_strict() {
    let too_long = format!(
        "old 1\n{}\nx\n\n\u{2014} k AAAAAAA=\n",
        vec![Hash::ZERO.to_base64(); 64].join("\n")
    );
    for bad in [
        SPEC_REQUEST.replacen("old 20852014", "old 020852014", 1),
        SPEC_REQUEST.replacen("old 20852014", "old +20852014", 1),
        SPEC_REQUEST.replacen("old 20852014", "old  20852014", 1),
        SPEC_REQUEST.replacen("old 20852014", "Old 20852014", 1),
        SPEC_REQUEST.replacen(
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw",
            1,
        ),
        SPEC_REQUEST.replacen("=\n/6WV", "=\n\n/6WV", 1),
        "old 0\n".to_owned(),
        "old 0\n\n".to_owned(),
        too_long,
    ] {
        assert!(AddCheckpointRequest::parse(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(size_body(20_852_014), "20852014\n");
    assert_eq!(parse_size_body("20852014\n"), Ok(20_852_014));
    for bad in ["20852014", "020852014\n", "\n", "1 \n"] {
        assert!(parse_size_body(bad).is_err(), "{bad:?}");
    }
}

proptest! {
    #[test]
    fn requests_round_trip(old in any::<u64>(), proof in prop::collection::vec(any::<[u8; 32]>(), 0..=63), size in 0u64..1000) {
        let consistency_proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
        let checkpoint = format!("o\n{size}\n{}\n\n\u{2014} o AAAAAAA=\n", Hash::ZERO.to_base64());
        let req = AddCheckpointRequest { old_size: old, consistency_proof, checkpoint };
        prop_assert_eq!(AddCheckpointRequest::parse(&req.to_body()), Ok(req));
    }

    /// Every honest extension from any cosigned size is accepted, and any altered proof hash
    /// or root is refused as inconsistent.
    #[test]
    fn honest_extensions_are_accepted(old in 1u64..40, extra in 0u64..40, flip in any::<prop::sample::Index>()) {
        let log = log_signer();
        let v = Verifier::from_key_string(&log.verifier_key()).expect("key");
        let new = old + extra;
        let t = tree(new);
        let latest = Some(CosignedHead { size: old, root: t.root_at(old).expect("root") });
        let proof = t.consistency_proof(old, new).expect("proof");
        let req = AddCheckpointRequest { old_size: old, consistency_proof: proof.clone(), checkpoint: signed(&log, new, t.root()) };
        let head = check_add_checkpoint(&req, &v, latest).expect("accepted");
        prop_assert_eq!((head.size, head.root), (new, t.root()));
        if !proof.is_empty() {
            let mut bad = req.clone();
            bad.consistency_proof[flip.index(proof.len())].0[0] ^= 1;
            prop_assert!(matches!(check_add_checkpoint(&bad, &v, latest), Err(Rejection::Inconsistent(_))));
        }
        let mut forked = req;
        forked.checkpoint = signed(&log, new, Hash::sha256(b"fork"));
        let refused = check_add_checkpoint(&forked, &v, latest).expect_err("a fork is refused");
        prop_assert!(refused.contradiction().is_some(), "{:?}", refused);
        prop_assert_eq!(refused.status(), if extra == 0 { 409 } else { 422 });
    }
}

#[test]
fn rejections_carry_the_spec_status_codes() {
    let log = log_signer();
    let v = Verifier::from_key_string(&log.verifier_key()).expect("key");
    let t = tree(8);
    let req = |old: u64, size: u64, root: Hash, proof: Vec<Hash>| AddCheckpointRequest {
        old_size: old,
        consistency_proof: proof,
        checkpoint: signed(&log, size, root),
    };
    let at = |n: u64| t.root_at(n).expect("root");
    let head = |n: u64| {
        Some(CosignedHead {
            size: n,
            root: at(n),
        })
    };

    // First contact: old size 0, no proof.
    assert!(check_add_checkpoint(&req(0, 5, at(5), vec![]), &v, None).is_ok());
    // 403: another key signed it.
    let stranger = Verifier::from_key_string(&log_signer().verifier_key()).expect("key");
    let r = check_add_checkpoint(&req(0, 5, at(5), vec![]), &stranger, None).unwrap_err();
    assert_eq!(r.status(), 403);
    // 403: the log's line is there but its signature fails.
    let mut tampered = req(0, 5, at(5), vec![]);
    tampered.checkpoint = tampered.checkpoint.replacen("\n5\n", "\n6\n", 1);
    assert_eq!(
        check_add_checkpoint(&tampered, &v, None)
            .unwrap_err()
            .status(),
        403
    );
    // 400: old size above the checkpoint's size.
    let r = check_add_checkpoint(&req(6, 5, at(5), vec![]), &v, head(6)).unwrap_err();
    assert_eq!(r.status(), 400);
    // 409 with the known size.
    let r = check_add_checkpoint(&req(3, 5, at(5), vec![]), &v, head(4)).unwrap_err();
    assert_eq!(r, Rejection::Conflict { known_size: 4 });
    assert_eq!(r.status(), 409);
    let r = check_add_checkpoint(&req(3, 5, at(5), vec![]), &v, None).unwrap_err();
    assert_eq!(r, Rejection::Conflict { known_size: 0 });
    // 422: empty tree with another root; a proof from zero; equal sizes with a proof.
    let r = check_add_checkpoint(&req(0, 0, Hash::ZERO, vec![]), &v, None).unwrap_err();
    assert!(matches!(r, Rejection::Unprocessable(_)));
    assert!(check_add_checkpoint(&req(0, 0, empty_root(), vec![]), &v, None).is_ok());
    let r = check_add_checkpoint(&req(0, 5, at(5), vec![Hash::ZERO]), &v, None).unwrap_err();
    assert!(matches!(r, Rejection::Unprocessable(_)));
    let r = check_add_checkpoint(&req(5, 5, at(5), vec![Hash::ZERO]), &v, head(5)).unwrap_err();
    assert!(matches!(r, Rejection::Unprocessable(_)));
    // Same size, same root: cosigned again. Same size, other root: evidence.
    assert!(check_add_checkpoint(&req(5, 5, at(5), vec![]), &v, head(5)).is_ok());
    let r = check_add_checkpoint(&req(5, 5, at(6), vec![]), &v, head(5)).unwrap_err();
    assert!(
        matches!(r, Rejection::Forked { known_size: 5, .. }),
        "{r:?}"
    );
    assert_eq!((r.status(), r.known_size()), (409, Some(5)));
    assert!(r.contradiction().is_some());
    // A missing proof between different sizes is malformed, not evidence.
    let r = check_add_checkpoint(&req(5, 8, at(8), vec![]), &v, head(5)).unwrap_err();
    assert!(matches!(r, Rejection::Unprocessable(_)));
    // 400: not a note at all.
    let mut garbage = req(0, 5, at(5), vec![]);
    garbage.checkpoint = "hello\n".into();
    assert_eq!(
        check_add_checkpoint(&garbage, &v, None)
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(claimed_origin(&garbage).unwrap_err().status(), 400);
    assert_eq!(Rejection::UnknownLog("x".into()).status(), 404);
}

/// Cosignatures made by aics-tlog, an independent implementation of C2SP tlog-cosignature
/// (`testdata/c2sp/`): the same seed, name, time and body give the same verifier key and
/// the same signature line, byte for byte, and each verifies the other's.
#[test]
fn cosignatures_match_an_independent_implementation() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../../testdata/c2sp/cosignature-v1.json"))
            .expect("vectors");
    let vectors = file["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let text = |k: &str| v[k].as_str().expect(k).to_owned();
        let mut seed = [0u8; 32];
        hex::decode_to_slice(text("seedHex"), &mut seed).expect("seed");
        let timestamp = v["timestamp"].as_u64().expect("timestamp");
        let (body, line) = (text("checkpointBody"), text("signatureLine"));
        let cosigner = Cosigner::new(&text("name"), seed).expect("cosigner");
        assert_eq!(cosigner.verifier_key(), text("verifierKey"));
        assert_eq!(cosigner.cosign(&body, timestamp), Ok(line.clone()));
        let verifier = CosignatureVerifier::parse(&text("verifierKey")).expect("vkey");
        assert_eq!(verifier.verify(&format!("{body}\n{line}")), Ok(timestamp));
    }
}
