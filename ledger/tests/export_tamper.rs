//! Exports verify when intact, and every kind of tampering is reported with the first bad
//! entry.

use std::collections::BTreeMap;

use ledger::merkle::MemoryTree;
use ledger::payload::{canonical_json, commitment, payload_hash};
use ledger::{
    ChainVerifier, Checkpoint, Entry, EntryKind, ExportError, ExportHeader, ExportWriter, Hash,
    Report, Signer, verify_export,
};
use serde_json::{Value, json};

const ORIGIN: &str = "veritrial.test/ledger";
const N: u64 = 100;

struct Fixture {
    signer: Signer,
    entries: Vec<Entry>,
    payloads: Vec<Vec<u8>>,
    tree: MemoryTree,
}

fn fixture() -> Fixture {
    let pkcs8 = Signer::generate_pkcs8().expect("keygen");
    let signer = Signer::from_pkcs8("veritrial.test", &pkcs8).expect("signer");
    let mut entries = Vec::new();
    let mut payloads = Vec::new();
    let mut tree = MemoryTree::new();
    let mut prev = None;
    for seq in 0..N {
        let payload = canonical_json(&json!({"seq": seq, "answer": "yes", "note": "é"}));
        let kind = if seq % 2 == 0 {
            EntryKind::ConsentGranted
        } else {
            EntryKind::DataSubmitted
        };
        let entry = Entry {
            seq,
            kind,
            timestamp_ms: 1_700_000_000_000 + seq as i64,
            actor_user: format!("user-{}", seq % 7),
            actor_org: "org-1".into(),
            subjects: BTreeMap::from([
                ("trial".into(), "trial-1".into()),
                (
                    "participant".into(),
                    commitment(b"salt", &format!("patient-{seq}")).to_hex(),
                ),
            ]),
            payload_hash: payload_hash(&payload),
            prev_hash: prev,
        };
        prev = Some(entry.leaf_hash());
        tree.append(entry.leaf_hash());
        entries.push(entry);
        payloads.push(payload);
    }
    Fixture {
        signer,
        entries,
        payloads,
        tree,
    }
}

impl Fixture {
    fn checkpoint(&self, size: u64, root: Hash) -> String {
        self.signer
            .sign(&Checkpoint {
                origin: ORIGIN.into(),
                size,
                root,
                timestamp_ms: 1_800_000_000_000,
            })
            .expect("sign")
    }

    fn good_note(&self) -> String {
        self.checkpoint(N, self.tree.root())
    }

    /// The export as lines (header, entries, checkpoint).
    fn lines(&self) -> Vec<String> {
        let header = ExportHeader {
            origin: ORIGIN.into(),
            exported_at_ms: 1_800_000_000_001,
        };
        let mut w = ExportWriter::new(Vec::new(), &header).expect("header");
        for (e, p) in self.entries.iter().zip(&self.payloads) {
            w.write_entry(e, Some(p)).expect("entry");
        }
        let out = w
            .finish(&self.good_note(), &self.signer.verifier_key())
            .expect("finish");
        String::from_utf8(out)
            .expect("utf8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn key(&self) -> String {
        self.signer.verifier_key()
    }
}

fn verify(lines: &[String], trusted: Option<&str>) -> Report {
    let text = lines.join("\n") + "\n";
    verify_export(text.as_bytes(), trusted).expect("structurally valid export")
}

/// Edits the JSON of line `i` (entry `i - 1`).
fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&lines[i]).expect("json");
    f(&mut v);
    lines[i] = serde_json::to_string(&v).expect("json");
}

fn assert_first_bad(report: &Report, seq: u64, needle: &str) {
    assert!(!report.ok, "{report:#?}");
    assert_eq!(report.first_bad_seq, Some(seq), "{report:#?}");
    assert!(
        report.problems.iter().any(|p| p.message.contains(needle)),
        "no problem mentions {needle:?}: {report:#?}"
    );
}

fn assert_checkpoint_problem(report: &Report, needle: &str) {
    assert!(!report.ok, "{report:#?}");
    assert!(
        report.problems.iter().any(|p| p.message.contains(needle)),
        "no problem mentions {needle:?}: {report:#?}"
    );
}

#[test]
fn intact_export_verifies() {
    let f = fixture();
    let lines = f.lines();
    assert_eq!(lines.len() as u64, N + 2);
    assert!(lines[1].starts_with(r#"{"type":"entry","seq":0,"kind":"consent.granted""#));
    for trusted in [None, Some(f.key().as_str())] {
        let report = verify(&lines, trusted);
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.entries_checked, N);
        assert_eq!(report.first_bad_seq, None);
        assert_eq!(report.checkpoint.as_ref().map(|c| c.size), Some(N));
    }
    // Payloads are optional.
    let mut lines = lines;
    edit(&mut lines, 5, |v| {
        v.as_object_mut().map(|o| o.remove("payload"));
    });
    assert!(verify(&lines, Some(&f.key())).ok);
}

#[test]
fn changed_field_is_named() {
    let f = fixture();
    for field in ["actorUser", "kind", "timestampMs", "subjects"] {
        let mut lines = f.lines();
        edit(&mut lines, 42, |v| {
            v[field] = match field {
                "timestampMs" => json!(1),
                "subjects" => json!({"trial": "trial-2"}),
                "kind" => json!("consent.withdrawn"),
                _ => json!("mallory"),
            }
        });
        let report = verify(&lines, Some(&f.key()));
        assert_first_bad(
            &report,
            41,
            "entry 41: contents do not match its recorded leaf hash",
        );
        // The root no longer matches either.
        assert_checkpoint_problem(&report, "does not match the checkpoint root");
    }
}

#[test]
fn changed_payload_hash_byte_is_named() {
    let f = fixture();
    let mut lines = f.lines();
    edit(&mut lines, 42, |v| {
        let mut h = Hash::from_hex(v["payloadHash"].as_str().expect("hex")).expect("hash");
        h.0[0] ^= 1;
        v["payloadHash"] = json!(h.to_hex());
    });
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, 41, "entry 41: contents do not match");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("payload does not match"))
    );
}

#[test]
fn changed_entry_with_recomputed_leaf_hash_breaks_the_chain() {
    let f = fixture();
    let mut lines = f.lines();
    let mut e = f.entries[41].clone();
    e.actor_user = "mallory".into();
    edit(&mut lines, 42, |v| {
        v["actorUser"] = json!("mallory");
        v["leafHash"] = json!(e.leaf_hash().to_hex());
    });
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(
        &report,
        42,
        "entry 42: prev_hash does not match the hash of entry 41",
    );
}

#[test]
fn deleted_entry_is_named() {
    let f = fixture();
    let mut lines = f.lines();
    lines.remove(41);
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, 40, "entry 40 is missing");
    assert_checkpoint_problem(&report, "checkpoint covers 100 entries but only 99");
}

#[test]
fn deleted_last_entry_is_named() {
    let f = fixture();
    let mut lines = f.lines();
    lines.remove(N as usize);
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, N - 1, "only 99 are present");
}

#[test]
fn swapped_entries_are_named() {
    let f = fixture();
    let mut lines = f.lines();
    lines.swap(41, 42);
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, 40, "entry 40 is out of order");
}

#[test]
fn swapped_entries_with_renumbered_seq_are_named() {
    let f = fixture();
    let mut lines = f.lines();
    lines.swap(41, 42);
    edit(&mut lines, 41, |v| v["seq"] = json!(40));
    edit(&mut lines, 42, |v| v["seq"] = json!(41));
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, 40, "entry 40: contents do not match");
}

#[test]
fn wrong_payload_is_named() {
    let f = fixture();
    let mut lines = f.lines();
    edit(&mut lines, 42, |v| v["payload"] = json!("eyJ4IjoxfQ=="));
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(
        &report,
        41,
        "entry 41: the payload does not match its payload hash",
    );
    assert_eq!(report.problems.len(), 1, "{report:#?}");
}

#[test]
fn root_mismatch_is_reported() {
    let f = fixture();
    let mut lines = f.lines();
    let note = f.checkpoint(N, Hash::sha256(b"some other root"));
    edit(&mut lines, N as usize + 1, |v| v["note"] = json!(note));
    let report = verify(&lines, Some(&f.key()));
    assert_checkpoint_problem(&report, "does not match the checkpoint root");
    assert_eq!(report.first_bad_seq, None);
}

#[test]
fn checkpoint_size_mismatch_is_reported() {
    let f = fixture();
    let mut lines = f.lines();
    let note = f.checkpoint(N - 10, f.tree.root_at(N - 10).expect("root"));
    edit(&mut lines, N as usize + 1, |v| v["note"] = json!(note));
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(
        &report,
        90,
        "checkpoint covers only 90 entries but 100 are present",
    );
}

#[test]
fn bad_signature_is_reported() {
    let f = fixture();
    // A checkpoint whose size text was altered after signing.
    let mut lines = f.lines();
    let note = f.good_note().replacen("\n100\n", "\n101\n", 1);
    edit(&mut lines, N as usize + 1, |v| v["note"] = json!(note));
    let report = verify(&lines, Some(&f.key()));
    assert_checkpoint_problem(&report, "signature by veritrial.test is invalid");

    // A replaced signature.
    let mut lines = f.lines();
    let good = f.good_note();
    let (body, sig) = good.rsplit_once(' ').expect("signature line");
    let mut chars: Vec<char> = sig.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    let note = format!("{body} {}", chars.into_iter().collect::<String>());
    edit(&mut lines, N as usize + 1, |v| v["note"] = json!(note));
    let report = verify(&lines, Some(&f.key()));
    assert_checkpoint_problem(&report, "is invalid");

    // A malformed note.
    let mut lines = f.lines();
    edit(&mut lines, N as usize + 1, |v| v["note"] = json!("garbage"));
    let report = verify(&lines, None);
    assert_checkpoint_problem(&report, "cannot be read");
}

#[test]
fn unknown_key_and_key_mismatch_are_reported() {
    let f = fixture();
    let pkcs8 = Signer::generate_pkcs8().expect("keygen");
    let mallory = Signer::from_pkcs8("veritrial.test", &pkcs8).expect("signer");
    let forged = mallory
        .sign(&Checkpoint {
            origin: ORIGIN.into(),
            size: N,
            root: f.tree.root(),
            timestamp_ms: 0,
        })
        .expect("sign");
    let mut lines = f.lines();
    edit(&mut lines, N as usize + 1, |v| {
        v["note"] = json!(forged);
        v["publicKey"] = json!(mallory.verifier_key());
    });
    // Self-consistent without a trusted key...
    assert!(verify(&lines, None).ok);
    // ...but not with one.
    let report = verify(&lines, Some(&f.key()));
    assert_checkpoint_problem(&report, "is not the trusted key");
    assert_checkpoint_problem(&report, "is not signed by the key veritrial.test");

    // The file's key replaced, note untouched: signed by a key the verifier does not know.
    let mut lines = f.lines();
    edit(&mut lines, N as usize + 1, |v| {
        v["publicKey"] = json!(mallory.verifier_key())
    });
    let report = verify(&lines, None);
    assert_checkpoint_problem(&report, "is not signed by the key");
}

#[test]
fn broken_lines_are_attributed() {
    let f = fixture();
    let mut lines = f.lines();
    lines[42] = "{not json".into();
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, 41, "entry 41: line 43 is not a valid export line");

    let mut lines = f.lines();
    edit(&mut lines, 42, |v| v["payloadHash"] = json!("xyz"));
    let report = verify(&lines, Some(&f.key()));
    assert_first_bad(&report, 41, "entry 41: malformed entry line");

    let mut lines = f.lines();
    lines.pop();
    let report = verify(&lines, Some(&f.key()));
    assert_checkpoint_problem(&report, "no checkpoint line");
}

#[test]
fn structural_errors() {
    assert!(matches!(
        verify_export(&b""[..], None),
        Err(ExportError::Empty)
    ));
    assert!(matches!(
        verify_export(&b"hello\n"[..], None),
        Err(ExportError::BadHeader { line: 1, .. })
    ));
    assert!(matches!(
        verify_export(&br#"{"type":"header","format":"other/9"}"#[..], None),
        Err(ExportError::UnsupportedFormat(_))
    ));
    let f = fixture();
    let mut lines = f.lines();
    lines.insert(3, r#"{"type":"mystery"}"#.into());
    let text = lines.join("\n");
    assert!(matches!(
        verify_export(text.as_bytes(), None),
        Err(ExportError::UnknownLineType { line: 4, .. })
    ));
}

#[test]
fn chain_verifier_for_database_rows() {
    let f = fixture();
    let mut chain = ChainVerifier::new();
    for e in &f.entries {
        chain.push(e, Some(e.leaf_hash()));
    }
    chain.add_problem(
        7,
        "entry 7: the stored payload does not match its payload hash",
    );
    let report = chain.finish(&f.good_note(), &f.key(), Some(&f.key()));
    assert_eq!(report.first_bad_seq, Some(7));
    assert_eq!(report.problems.len(), 1);

    let mut chain = ChainVerifier::new();
    for e in &f.entries {
        chain.push(e, None);
    }
    assert_eq!(chain.root(), f.tree.root());
    let report = chain.finish(&f.good_note(), &f.key(), None);
    assert!(report.ok, "{report:#?}");

    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["entriesChecked"], N);
    assert_eq!(json["firstBadSeq"], Value::Null);
    assert_eq!(json["ok"], true);

    // Entry 0 must not link anywhere; later entries must.
    let mut chain = ChainVerifier::new();
    let mut e0 = f.entries[0].clone();
    e0.prev_hash = Some(Hash::ZERO);
    chain.push(&e0, None);
    let report = chain.finish_without_checkpoint();
    assert_eq!(report.first_bad_seq, Some(0));
}
