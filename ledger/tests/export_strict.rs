//! Strict reading of exports, payloads and their erasures, timestamps, checkpoints along the
//! chain, and verification resumed from a verified prefix.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ledger::entry::ERASED_SUBJECT;
use ledger::export::{ExportPayload, PayloadEvidence};
use ledger::merkle::{CompactRange, MemoryTree};
use ledger::payload::{canonical_json, payload_hash};
use ledger::{
    ChainVerifier, Checkpoint, Entry, EntryKind, ExportError, ExportHeader, ExportWriter, Report,
    Signer, verify_export,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let pkcs8 = Signer::generate_pkcs8().expect("keygen");
        Signer::from_pkcs8("veritrial.test", &pkcs8).expect("signer")
    })
}

fn key() -> String {
    signer().verifier_key()
}

/// One entry of a test chain: its kind, subjects, payload and timestamp.
struct Spec {
    kind: EntryKind,
    subjects: BTreeMap<String, String>,
    payload: Vec<u8>,
    timestamp_ms: i64,
}

fn data(seq: u64) -> Spec {
    Spec {
        kind: EntryKind::DataSubmitted,
        subjects: BTreeMap::from([("trial".into(), "t1".into())]),
        payload: canonical_json(&json!({ "visit": seq, "weightKg": 70.5, "note": "é" })),
        timestamp_ms: 1_700_000_000_000 + seq as i64,
    }
}

fn erasure_of(target: u64, seq: u64) -> Spec {
    Spec {
        kind: EntryKind::PayloadErased,
        subjects: BTreeMap::from([
            (ERASED_SUBJECT.into(), target.to_string()),
            ("trial".into(), "t1".into()),
        ]),
        payload: canonical_json(&json!({ "erasedSeq": target, "reason": "subject_request" })),
        timestamp_ms: 1_700_000_000_000 + seq as i64,
    }
}

/// Chains the specs into entries.
fn chain(specs: Vec<Spec>) -> Vec<(Entry, Vec<u8>)> {
    let mut prev = None;
    (0u64..)
        .zip(specs)
        .map(|(seq, spec)| {
            let entry = Entry {
                seq,
                kind: spec.kind,
                timestamp_ms: spec.timestamp_ms,
                actor_user: "u1".into(),
                actor_org: "o1".into(),
                subjects: spec.subjects,
                payload_hash: payload_hash(&spec.payload),
                prev_hash: prev,
            };
            prev = Some(entry.leaf_hash());
            (entry, spec.payload)
        })
        .collect()
}

fn note_for(entries: &[(Entry, Vec<u8>)], size: usize) -> String {
    let mut tree = CompactRange::new();
    for (e, _) in &entries[..size] {
        tree.append(e.leaf_hash());
    }
    signer()
        .sign(&Checkpoint {
            origin: "o".into(),
            size: size as u64,
            root: tree.root(),
            timestamp_ms: 0,
        })
        .expect("sign")
}

/// The export as lines; `erased` lists the entries whose payload is written as erased.
fn export(entries: &[(Entry, Vec<u8>)], erased: &[u64]) -> Vec<String> {
    let header = ExportHeader {
        origin: "o".into(),
        exported_at_ms: 0,
    };
    let mut w = ExportWriter::new(Vec::new(), &header).expect("header");
    for (e, payload) in entries {
        let payload = if erased.contains(&e.seq) {
            ExportPayload::Erased
        } else {
            ExportPayload::Json(payload)
        };
        w.write_entry_line(e, e.leaf_hash(), payload)
            .expect("entry");
    }
    let out = w
        .finish(&note_for(entries, entries.len()), &key())
        .expect("finish");
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn verify(lines: &[String]) -> Report {
    let text = lines.join("\n") + "\n";
    verify_export(text.as_bytes(), Some(&key())).expect("export")
}

fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&lines[i]).expect("json");
    f(&mut v);
    lines[i] = serde_json::to_string(&v).expect("json");
}

fn assert_names(report: &Report, seq: Option<u64>, needle: &str) {
    assert!(!report.ok, "{report:#?}");
    assert_eq!(report.first_bad_seq, seq, "{report:#?}");
    assert!(
        report.problems.iter().any(|p| p.message.contains(needle)),
        "no problem mentions {needle:?}: {report:#?}"
    );
}

fn five() -> Vec<(Entry, Vec<u8>)> {
    chain((0..5).map(data).collect())
}

#[test]
fn payloads_are_written_as_canonical_json_and_checked() {
    let entries = five();
    let lines = export(&entries, &[]);
    let payload = String::from_utf8(entries[2].1.clone()).expect("utf8");
    assert!(
        lines[3].contains(&format!(r#""payload":{payload}"#)),
        "{}",
        lines[3]
    );
    assert!(verify(&lines).ok);

    let mut changed = lines.clone();
    edit(&mut changed, 3, |v| v["payload"]["weightKg"] = json!(99));
    assert_names(
        &verify(&changed),
        Some(2),
        "entry 2: the payload does not match its payload hash",
    );
}

#[test]
fn unknown_missing_and_repeated_fields_are_errors() {
    let lines = export(&five(), &[]);
    let mut cases: Vec<(Vec<String>, &str)> = Vec::new();

    let mut injected = lines.clone();
    edit(&mut injected, 2, |v| v["note"] = json!("hello"));
    cases.push((injected, "unknown field `note`"));

    for field in ["subjects", "prevHash", "timestampMs", "leafHash"] {
        let mut missing = lines.clone();
        edit(&mut missing, 2, |v| {
            v.as_object_mut().map(|o| o.remove(field));
        });
        cases.push((missing, "missing field"));
    }

    // A repeated key, as a forger appending `"seq":…` would write it.
    let mut repeated = lines.clone();
    repeated[2] = repeated[2].replacen(r#""seq":1,"#, r#""seq":1,"seq":1,"#, 1);
    cases.push((repeated, "duplicate key \"seq\""));
    let mut nested = lines.clone();
    nested[2] = nested[2].replacen(r#""trial":"t1""#, r#""trial":"t1","trial":"t2""#, 1);
    cases.push((nested, "duplicate key \"trial\""));

    let mut both = lines.clone();
    edit(&mut both, 2, |v| v["payloadErased"] = json!(true));
    cases.push((both, "both a payload and the erasure marker"));

    for (case, needle) in cases {
        assert_names(&verify(&case), Some(1), needle);
    }

    // The checkpoint line and the header are read as strictly.
    let mut checkpoint = lines.clone();
    let last = checkpoint.len() - 1;
    edit(&mut checkpoint, last, |v| v["extra"] = json!(1));
    assert_names(&verify(&checkpoint), None, "unknown field `extra`");
    for header in [
        r#"{"type":"header","format":"veritrial-ledger/1","origin":"o","exportedAtMs":0,"x":1}"#,
        r#"{"type":"header","format":"veritrial-ledger/1","origin":"o"}"#,
        r#"{"type":"header","format":"veritrial-ledger/1","origin":"o","origin":"p","exportedAtMs":0}"#,
    ] {
        let mut bad = lines.clone();
        bad[0] = header.into();
        let text = bad.join("\n");
        let err = verify_export(text.as_bytes(), None).expect_err(header);
        assert!(
            matches!(err, ExportError::BadHeader { line: 1, .. }),
            "{err}"
        );
    }
}

#[test]
fn redacted_lines_are_read_strictly() {
    let entries = five();
    let header = ExportHeader {
        origin: "o".into(),
        exported_at_ms: 0,
    };
    let mut w = ExportWriter::new(Vec::new(), &header).expect("header");
    for (e, _) in &entries {
        w.write_redacted(e, e.leaf_hash()).expect("redacted");
    }
    let out = w.finish(&note_for(&entries, 5), &key()).expect("finish");
    let lines: Vec<String> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(verify(&lines).ok);
    let mut injected = lines.clone();
    edit(&mut injected, 3, |v| v["kind"] = json!("data.submitted"));
    assert_names(&verify(&injected), Some(2), "unknown field `kind`");
    let mut missing = lines;
    edit(&mut missing, 3, |v| {
        v.as_object_mut().map(|o| o.remove("prevHash"));
    });
    assert_names(&verify(&missing), Some(2), "missing field `prevHash`");
}

#[test]
fn an_erased_payload_needs_a_later_erasure_entry() {
    let mut specs: Vec<Spec> = (0..4).map(data).collect();
    specs.push(erasure_of(1, 4));
    let entries = chain(specs);
    // Erased and recorded: fine.
    let report = verify(&export(&entries, &[1]));
    assert!(report.ok, "{report:#?}");
    // Erased without a record: named.
    assert_names(
        &verify(&export(&entries, &[2])),
        Some(2),
        "entry 2: its payload is marked erased but no payload.erased entry records the erasure",
    );
    // The erasure entry comes after the entry it erases, never before.
    let mut specs: Vec<Spec> = vec![data(0), erasure_of(2, 1), data(2)];
    specs[1].subjects.insert(ERASED_SUBJECT.into(), "2".into());
    let entries = chain(specs);
    assert_names(
        &verify(&export(&entries, &[2])),
        Some(1),
        "entry 1: erases entry 2, which is not earlier in the chain",
    );
}

#[test]
fn timestamps_never_go_backwards() {
    let mut specs: Vec<Spec> = (0..5).map(data).collect();
    specs[3].timestamp_ms = specs[1].timestamp_ms - 1;
    let entries = chain(specs);
    assert_names(
        &verify(&export(&entries, &[])),
        Some(3),
        "entry 3: its timestamp (1700000000000 ms) is earlier than entry 2's (1700000000002 ms)",
    );
    // Equal timestamps (one batch) are fine.
    let mut specs: Vec<Spec> = (0..5).map(data).collect();
    for spec in &mut specs {
        spec.timestamp_ms = 5;
    }
    assert!(verify(&export(&chain(specs), &[])).ok);
}

#[test]
fn checkpoints_along_the_chain_are_checked() {
    let entries = five();
    let mut chain_verifier = ChainVerifier::new();
    for (i, (e, payload)) in entries.iter().enumerate() {
        chain_verifier.push(e, Some(e.leaf_hash()));
        chain_verifier.check_payload(e, PayloadEvidence::Bytes(payload));
        let size = i + 1;
        let checkpoint = chain_verifier.check_checkpoint(&note_for(&entries, size), &key());
        assert_eq!(checkpoint.map(|c| c.size), Some(size as u64));
    }
    assert!(chain_verifier.clone().finish_without_checkpoint().ok);

    // A note for another size, a note for another root, a forged signature.
    let other_root = signer()
        .sign(&Checkpoint {
            origin: "o".into(),
            size: 5,
            root: ledger::Hash::sha256(b"other"),
            timestamp_ms: 0,
        })
        .expect("sign");
    let forged = note_for(&entries, 5).replacen("\n5\n", "\n6\n", 1);
    for (note, needle) in [
        (
            note_for(&entries, 3),
            "the checkpoint of size 5: its signed note is for size 3",
        ),
        (other_root, "the checkpoint of size 5: its root"),
        (
            forged,
            "the checkpoint of size 5: the checkpoint signature by veritrial.test is invalid",
        ),
    ] {
        let mut v = chain_verifier.clone();
        v.check_checkpoint(&note, &key());
        assert_names(&v.finish_without_checkpoint(), None, needle);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Resuming after a verified prefix, from its compact range, reaches the same root and
    /// the same verdict as verifying everything, and still finds a bad link past the prefix.
    #[test]
    fn resumed_verification_matches_a_full_one(n in 1usize..70, cut in any::<prop::sample::Index>(),
                                               break_at in any::<Option<prop::sample::Index>>()) {
        let mut entries = chain((0..n as u64).map(data).collect());
        let cut = cut.index(n + 1);
        let broken = break_at.map(|i| i.index(n)).filter(|&i| i >= cut);
        if let Some(i) = broken {
            entries[i].0.actor_user = "mallory".into();
        }
        let mut full = ChainVerifier::new();
        let mut tree = MemoryTree::new();
        for (e, _) in &entries {
            full.push(e, None);
            tree.append(e.leaf_hash());
        }
        let mut prefix = CompactRange::new();
        for (e, _) in &entries[..cut] {
            prefix.append(e.leaf_hash());
        }
        let (last_leaf, last_ms) = cut
            .checked_sub(1)
            .map(|i| (entries[i].0.leaf_hash(), entries[i].0.timestamp_ms))
            .unwrap_or_default();
        let mut resumed = ChainVerifier::resume(prefix, last_leaf, last_ms);
        prop_assert_eq!(resumed.expected_seq(), cut as u64);
        for (e, _) in &entries[cut..] {
            resumed.push(e, None);
        }
        prop_assert_eq!(resumed.root(), full.root());
        prop_assert_eq!(resumed.root(), tree.root());
        let resumed = resumed.finish_without_checkpoint();
        let full = full.finish_without_checkpoint();
        prop_assert_eq!(resumed.resumed_at, cut as u64);
        prop_assert_eq!(resumed.entries_checked, n as u64);
        prop_assert_eq!(resumed.ok, full.ok);
        // A changed entry breaks the link to the next one (leaf hashes are not recorded here).
        let want = broken.filter(|&i| i + 1 < n).map(|i| i as u64 + 1);
        prop_assert_eq!(resumed.first_bad_seq, want);
        prop_assert_eq!(full.first_bad_seq, want);
    }
}
