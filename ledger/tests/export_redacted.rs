//! Exports with redacted lines verify over the whole log, count what was redacted, and a
//! redacted line never hides a change to a full entry.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ledger::merkle::CompactRange;
use ledger::payload::{canonical_json, payload_hash};
use ledger::{
    Checkpoint, Entry, EntryKind, ExportHeader, ExportWriter, Hash, Report, Signer, verify_export,
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

/// An export of `redacted.len()` entries, entry `i` written as a redacted line when
/// `redacted[i]`.
fn export_lines(redacted: &[bool]) -> Vec<String> {
    let header = ExportHeader {
        origin: "o".into(),
        exported_at_ms: 0,
    };
    let mut w = ExportWriter::new(Vec::new(), &header).expect("header");
    let mut range = CompactRange::new();
    let mut prev = None;
    for (seq, &hide) in (0u64..).zip(redacted) {
        let payload = canonical_json(&json!({ "seq": seq }));
        let e = Entry {
            seq,
            kind: EntryKind::DataSubmitted,
            timestamp_ms: seq as i64,
            actor_user: format!("user-{seq}"),
            actor_org: format!("org-{}", seq % 3),
            subjects: BTreeMap::from([("trial".into(), format!("trial-{}", seq % 3))]),
            payload_hash: payload_hash(&payload),
            prev_hash: prev,
        };
        let leaf = e.leaf_hash();
        if hide {
            w.write_redacted(&e, leaf).expect("redacted");
        } else {
            w.write_entry(&e, Some(&payload)).expect("entry");
        }
        range.append(leaf);
        prev = Some(leaf);
    }
    let n = redacted.len() as u64;
    let note = signer()
        .sign(&Checkpoint {
            origin: "o".into(),
            size: n,
            root: range.root(),
            timestamp_ms: 0,
        })
        .expect("sign");
    let out = w.finish(&note, &signer().verifier_key()).expect("finish");
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn verify(lines: &[String]) -> Report {
    let text = lines.join("\n") + "\n";
    verify_export(text.as_bytes(), Some(&signer().verifier_key())).expect("export")
}

fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&lines[i]).expect("json");
    f(&mut v);
    lines[i] = serde_json::to_string(&v).expect("json");
}

fn flip_hex(v: &mut Value, field: &str, byte: usize) {
    let mut h = v[field]
        .as_str()
        .and_then(|s| Hash::from_hex(s).ok())
        .unwrap_or(Hash::ZERO);
    h.0[byte % 32] ^= 0x80;
    v[field] = json!(h.to_hex());
}

/// Alters a full entry line and records the altered entry's own leaf hash with it, as a
/// forger who recomputes hashes would.
fn forge(v: &mut Value) {
    v["actorUser"] = json!("mallory");
    let mut bare = v.clone();
    if let Some(o) = bare.as_object_mut() {
        for field in ["type", "leafHash", "payload"] {
            o.remove(field);
        }
    }
    let entry: Entry = serde_json::from_value(bare).expect("entry");
    v["leafHash"] = json!(entry.leaf_hash().to_hex());
}

#[test]
fn redacted_lines_carry_only_seq_and_hashes() {
    let lines = export_lines(&[false, true, false]);
    let v: Value = serde_json::from_str(&lines[2]).expect("json");
    let mut keys: Vec<_> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["leafHash", "prevHash", "seq", "type"]);
    assert_eq!(v["type"], "redacted");
    assert!(!lines[2].contains("user-1") && !lines[2].contains("trial-1"));
}

#[test]
fn a_full_entry_hidden_as_redacted_still_verifies_but_is_counted() {
    let lines = export_lines(&[false; 5]);
    let mut hidden = lines.clone();
    edit(&mut hidden, 3, |v| {
        let keep = json!({"type": "redacted", "seq": v["seq"], "prevHash": v["prevHash"],
                          "leafHash": v["leafHash"]});
        *v = keep;
    });
    let report = verify(&hidden);
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.entries_redacted, 1);
    assert_eq!(report.entries_fully_checked(), 4);
}

#[test]
fn a_forged_entry_before_a_redacted_one_is_named_by_the_link() {
    let mut lines = export_lines(&[false, false, true, false]);
    edit(&mut lines, 2, forge);
    let report = verify(&lines);
    assert!(!report.ok);
    assert_eq!(report.first_bad_seq, Some(2), "{report:#?}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("does not match the checkpoint root"))
    );
}

#[test]
fn a_malformed_redacted_line_is_named() {
    let mut lines = export_lines(&[false, true, false]);
    edit(&mut lines, 2, |v| v["leafHash"] = json!("not hex"));
    let report = verify(&lines);
    assert!(!report.ok);
    assert_eq!(report.first_bad_seq, Some(1), "{report:#?}");
}

/// A redaction mask of `n` entries.
fn mask() -> impl Strategy<Value = Vec<bool>> {
    (1usize..50).prop_flat_map(|n| prop::collection::vec(any::<bool>(), n))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn redacted_exports_verify(redacted in mask()) {
        let report = verify(&export_lines(&redacted));
        prop_assert!(report.ok, "{:#?}", report);
        prop_assert_eq!(report.entries_checked, redacted.len() as u64);
        prop_assert_eq!(report.entries_redacted, redacted.iter().filter(|r| **r).count() as u64);
    }

    /// Whatever the redactions, tampering with one full entry is found, and named when the
    /// recorded hashes were left alone.
    #[test]
    fn tampering_with_a_full_entry_is_found(redacted in mask(), k in any::<prop::sample::Index>(),
                                            how in 0u8..4, byte in 0usize..32) {
        let full: Vec<usize> = (0..redacted.len()).filter(|i| !redacted[*i]).collect();
        prop_assume!(!full.is_empty());
        let k = full[k.index(full.len())];
        let mut lines = export_lines(&redacted);
        match how {
            0 => edit(&mut lines, k + 1, |v| v["actorUser"] = json!("mallory")),
            1 => edit(&mut lines, k + 1, |v| flip_hex(v, "payloadHash", byte)),
            2 => edit(&mut lines, k + 1, |v| flip_hex(v, "prevHash", byte)),
            _ => edit(&mut lines, k + 1, forge),
        }
        let report = verify(&lines);
        prop_assert!(!report.ok, "{:#?}", report);
        if how < 3 {
            prop_assert_eq!(report.first_bad_seq, Some(k as u64), "{:#?}", report);
        }
    }

    /// Tampering with a redacted line (its hashes, its place) is found too.
    #[test]
    fn tampering_with_a_redacted_line_is_found(redacted in mask(), k in any::<prop::sample::Index>(),
                                              how in 0u8..4, byte in 0usize..32) {
        let hidden: Vec<usize> = (0..redacted.len()).filter(|i| redacted[*i]).collect();
        prop_assume!(!hidden.is_empty());
        let k = hidden[k.index(hidden.len())];
        let mut lines = export_lines(&redacted);
        match how {
            0 => edit(&mut lines, k + 1, |v| flip_hex(v, "leafHash", byte)),
            1 => edit(&mut lines, k + 1, |v| flip_hex(v, "prevHash", byte)),
            2 => { lines.remove(k + 1); }
            _ => edit(&mut lines, k + 1, |v| v["seq"] = json!(k as u64 + 7)),
        }
        let report = verify(&lines);
        prop_assert!(!report.ok, "{:#?}", report);
    }
}
