//! Property test: whatever single entry of an export is tampered with, and however, the
//! verifier names exactly that entry as the first bad one.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ledger::merkle::CompactRange;
use ledger::payload::{canonical_json, payload_hash};
use ledger::{
    Checkpoint, Entry, EntryKind, ExportHeader, ExportWriter, Hash, Signer, verify_export,
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

fn export_lines(n: u64) -> Vec<String> {
    let header = ExportHeader {
        origin: "o".into(),
        exported_at_ms: 0,
    };
    let mut w = ExportWriter::new(Vec::new(), &header).expect("header");
    let mut range = CompactRange::new();
    let mut prev = None;
    for seq in 0..n {
        let payload = canonical_json(&json!({ "seq": seq }));
        let e = Entry {
            seq,
            kind: EntryKind::DataSubmitted,
            timestamp_ms: seq as i64,
            actor_user: "u".into(),
            actor_org: "o".into(),
            subjects: BTreeMap::from([("trial".into(), "t".into())]),
            payload_hash: payload_hash(&payload),
            prev_hash: prev,
        };
        let leaf = w.write_entry(&e, Some(&payload)).expect("entry");
        range.append(leaf);
        prev = Some(leaf);
    }
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn first_bad_entry_is_named(n in 2u64..60, k in any::<prop::sample::Index>(),
                                how in 0u8..9, byte in 0usize..32) {
        let mut lines = export_lines(n);
        let k = k.index(n as usize);
        let line = k + 1;
        match how {
            0 => edit(&mut lines, line, |v| v["actorUser"] = json!("mallory")),
            1 => edit(&mut lines, line, |v| flip_hex(v, "payloadHash", byte)),
            2 => { lines.remove(line); }
            3 => {
                if k + 1 < n as usize { lines.swap(line, line + 1) } else { lines.swap(line - 1, line) }
            }
            4 => edit(&mut lines, line, |v| v["timestampMs"] = json!(-1)),
            5 => edit(&mut lines, line, |v| flip_hex(v, "prevHash", byte)),
            6 => edit(&mut lines, line, |v| v["seq"] = json!(k as u64 + 5)),
            7 => edit(&mut lines, line, |v| flip_hex(v, "leafHash", byte)),
            _ => edit(&mut lines, line, |v| v["payload"] = json!("AAAA")),
        }
        let want = if how == 3 && k + 1 == n as usize { k - 1 } else { k } as u64;
        let text = lines.join("\n");
        let report = verify_export(text.as_bytes(), Some(&signer().verifier_key())).expect("export");
        prop_assert!(!report.ok);
        prop_assert_eq!(report.first_bad_seq, Some(want), "{:#?}", report);
    }

    #[test]
    fn intact_exports_verify(n in 0u64..80) {
        let text = export_lines(n).join("\n");
        let report = verify_export(text.as_bytes(), Some(&signer().verifier_key())).expect("export");
        prop_assert!(report.ok, "{:#?}", report);
        prop_assert_eq!(report.entries_checked, n);
    }
}
