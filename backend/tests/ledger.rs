//! The stored ledger: appends, proofs, export, concurrent appenders, tampering and crashes.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{Backend, TestServer, TestStore};
use ledger::merkle::{MemoryTree, verify_consistency, verify_inclusion};
use ledger::{EntryKind, Hash};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::{checkpoint, ledger_entry};
use veritrial::server::{Stores, open_stores};
use veritrial::services::ledger::{self as service, Actor, NewEntry};

fn new_entry(i: usize) -> NewEntry {
    let mut subjects = BTreeMap::new();
    subjects.insert("trial".to_string(), format!("trial-{}", i % 3));
    NewEntry {
        kind: EntryKind::DataSubmitted,
        actor: Actor {
            user_id: "user-1".into(),
            org_id: "org-1".into(),
        },
        subjects,
        payload: json!({ "visit": i, "data": { "weightKg": 70 + i % 9 } }),
    }
}

/// Appends one transaction per batch size; returns every appended sequence number.
async fn append_batches(stores: &Stores, sizes: &[usize]) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut i = 0;
    for &n in sizes {
        let entries: Vec<NewEntry> = (i..i + n).map(new_entry).collect();
        let appended = stores
            .writer
            .run(move |work| Box::pin(async move { work.append(entries) }))
            .await
            .unwrap();
        seqs.extend(appended.iter().map(|a| a.seq));
        i += n;
    }
    seqs
}

async fn ethics_token(server: &TestServer) -> String {
    server.org("Regional Ethics Board", OrgKind::Ethics).await;
    server
        .user("board@ethics.org", "Regional Ethics Board", Role::Ethics)
        .await
}

const HEAD: &str = "{ ledgerHead { size rootHash checkpoint publicKey } }";
const VERIFY: &str = "{ verifyLedger { ok entriesChecked firstBadSeq problems } }";

fn hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().expect("hex string")).expect("hash")
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().expect("array").iter().map(hash).collect()
}

async fn appends_verify_and_prove(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ethics = ethics_token(&server).await;
    let empty = server.ok(Some(&ethics), HEAD, json!({})).await;
    assert_eq!(empty["ledgerHead"]["size"], 0);

    let stores = open_stores(&server.store.config()).await.unwrap();
    let seqs = append_batches(&stores, &[1, 4, 21]).await;
    assert_eq!(seqs, (0..26).collect::<Vec<_>>());

    let head = server.ok(Some(&ethics), HEAD, json!({})).await["ledgerHead"].clone();
    assert_eq!(head["size"], 26);
    let note = head["checkpoint"].as_str().unwrap();
    assert!(note.starts_with("veritrial.local/ledger\n26\n"), "{note}");
    let verifier = ledger::Verifier::from_key_string(head["publicKey"].as_str().unwrap()).unwrap();
    let checkpoint = verifier
        .open(note)
        .expect("the checkpoint's signature verifies");
    assert_eq!(checkpoint.root, hash(&head["rootHash"]));

    let verified = server.ok(Some(&ethics), VERIFY, json!({})).await;
    assert_eq!(
        verified["verifyLedger"],
        json!({ "ok": true, "entriesChecked": 26, "firstBadSeq": null, "problems": [] })
    );

    // The hash chain, as the API shows it, and a tree rebuilt from the leaves. The entries
    // name trials that no board reads, so the board sees them redacted: hashes only.
    let listed = server
        .ok(
            Some(&ethics),
            "{ ledgerEntries(first: 1000) { seq redacted kind leafHash prevHash payloadHash subjects { key value } } }",
            json!({}),
        )
        .await["ledgerEntries"]
        .clone();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 26);
    let mut tree = MemoryTree::new();
    for (i, entry) in listed.iter().enumerate() {
        assert_eq!(entry["seq"], i);
        assert_eq!(entry["redacted"], true);
        assert!(entry["kind"].is_null() && entry["subjects"].is_null());
        assert!(entry["payloadHash"].is_null());
        if i == 0 {
            assert!(entry["prevHash"].is_null());
        } else {
            assert_eq!(entry["prevHash"], listed[i - 1]["leafHash"]);
        }
        tree.append(hash(&entry["leafHash"]));
    }
    assert_eq!(tree.root(), checkpoint.root);
    let page = server
        .ok(
            Some(&ethics),
            "{ ledgerEntries(after: 20, first: 3) { seq } }",
            json!({}),
        )
        .await;
    assert_eq!(
        page["ledgerEntries"],
        json!([{ "seq": 21 }, { "seq": 22 }, { "seq": 23 }])
    );

    // Proofs served from stored nodes verify against independently computed roots.
    let inclusion = "query($s: Int!, $n: Int!) { inclusionProof(seq: $s, treeSize: $n) { leafIndex treeSize hashes } }";
    for (seq, size) in [(0u64, 26u64), (13, 26), (25, 26), (2, 5), (0, 1)] {
        let proof = server
            .ok(Some(&ethics), inclusion, json!({ "s": seq, "n": size }))
            .await["inclusionProof"]
            .clone();
        let leaf = hash(&listed[seq as usize]["leafHash"]);
        let root = tree.root_at(size).unwrap();
        verify_inclusion(&leaf, seq, size, &hashes(&proof["hashes"]), &root)
            .unwrap_or_else(|e| panic!("inclusion {seq}/{size}: {e}"));
    }
    let consistency =
        "query($a: Int!, $b: Int!) { consistencyProof(fromSize: $a, toSize: $b) { hashes } }";
    for (a, b) in [(1u64, 26u64), (5, 26), (7, 13), (26, 26)] {
        let proof = server
            .ok(Some(&ethics), consistency, json!({ "a": a, "b": b }))
            .await["consistencyProof"]
            .clone();
        verify_consistency(
            a,
            b,
            &hashes(&proof["hashes"]),
            &tree.root_at(a).unwrap(),
            &tree.root_at(b).unwrap(),
        )
        .unwrap_or_else(|e| panic!("consistency {a}->{b}: {e}"));
    }
    let beyond = server
        .error_code(Some(&ethics), inclusion, json!({ "s": 3, "n": 27 }))
        .await;
    assert_eq!(beyond, "BAD_INPUT");
    let out_of_range = server
        .error_code(Some(&ethics), inclusion, json!({ "s": 26, "n": 26 }))
        .await;
    assert_eq!(out_of_range, "BAD_INPUT");

    // The HTTP export verifies offline against the key from ledgerHead.
    let export = server
        .http
        .get(server.url("/ledger/export"))
        .bearer_auth(&ethics)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let bytes = export.bytes().await.unwrap();
    let report = ledger::export::verify_export(&bytes[..], head["publicKey"].as_str()).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 26);
    assert_eq!(report.entries_redacted, 26);
}

async fn only_ethics_and_admins_read_the_ledger(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    let sponsor = server
        .user("sponsor@helix.com", "Helix", Role::Sponsor)
        .await;
    for query in [HEAD, VERIFY, "{ ledgerEntries { seq } }"] {
        assert_eq!(
            server.error_code(Some(&sponsor), query, json!({})).await,
            "FORBIDDEN"
        );
        assert_eq!(
            server.error_code(None, query, json!({})).await,
            "UNAUTHENTICATED"
        );
    }
    let anonymous = server
        .http
        .get(server.url("/ledger/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let forbidden = server
        .http
        .get(server.url("/ledger/export"))
        .bearer_auth(&sponsor)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
}

async fn concurrent_appenders_never_fork(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    // Two connection pools stand for two server processes sharing one database.
    let first = open_stores(&store.config()).await.unwrap();
    let second = open_stores(&store.config()).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..8usize {
        let stores = if task % 2 == 0 { &first } else { &second };
        let writer = stores.writer.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for round in 0..15usize {
                let n = 1 + (task + round) % 3;
                let entries: Vec<NewEntry> = (0..n).map(new_entry).collect();
                let appended = writer
                    .run(move |work| Box::pin(async move { work.append(entries) }))
                    .await
                    .unwrap();
                seqs.extend(appended.iter().map(|a| a.seq));
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let total = all.len() as u64;
    assert_eq!(
        all,
        (0..total).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
    let report = service::verify(&first.db, &first.ledger).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, total);
}

/// One way of editing the database behind the application's back.
struct Tamper {
    name: &'static str,
    sql: fn(&[ledger_entry::Model], &checkpoint::Model) -> Vec<String>,
    /// The entry `verifyLedger` must name first (`None`: the checkpoint itself is bad).
    first_bad: Option<u64>,
}

/// The text with its 11th character changed (a valid hex or base64 digit either way).
fn flip_hex(hex: &str) -> String {
    let mut chars: Vec<char> = hex.chars().collect();
    chars[10] = if chars[10] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

fn swap_rows(a: &ledger_entry::Model, b: &ledger_entry::Model) -> Vec<String> {
    let set = |to: i64, from: &ledger_entry::Model| {
        format!(
            "UPDATE ledger_entries SET kind = '{}', timestamp_ms = {}, subjects = '{}', payload_hash = '{}', prev_hash = '{}', leaf_hash = '{}' WHERE seq = {to}",
            from.kind,
            from.timestamp_ms,
            from.subjects,
            from.payload_hash,
            from.prev_hash.clone().unwrap_or_default(),
            from.leaf_hash
        )
    };
    vec![set(a.seq, b), set(b.seq, a)]
}

const TAMPERS: &[Tamper] = &[
    Tamper {
        name: "one byte of an entry's payload hash",
        sql: |rows, _| {
            vec![format!(
                "UPDATE ledger_entries SET payload_hash = '{}' WHERE seq = 4",
                flip_hex(&rows[4].payload_hash)
            )]
        },
        first_bad: Some(4),
    },
    Tamper {
        name: "a stored payload",
        sql: |_, _| {
            vec!["UPDATE ledger_payloads SET body = '{\"data\":{\"weightKg\":99},\"visit\":6}' WHERE seq = 6".into()]
        },
        first_bad: Some(6),
    },
    Tamper {
        name: "a deleted entry",
        sql: |_, _| vec!["DELETE FROM ledger_entries WHERE seq = 3".into()],
        first_bad: Some(3),
    },
    Tamper {
        name: "two entries swapped",
        sql: |rows, _| swap_rows(&rows[2], &rows[7]),
        first_bad: Some(2),
    },
    Tamper {
        name: "a replaced checkpoint signature",
        sql: |_, cp| {
            let (body, signature_line) = cp.note.rsplit_once("— ").unwrap();
            let (name, sig) = signature_line.trim_end().split_once(' ').unwrap();
            let forged = format!("{body}— {name} {}\n", flip_hex(sig));
            vec![format!(
                "UPDATE checkpoints SET note = '{forged}' WHERE size = {}",
                cp.size
            )]
        },
        first_bad: None,
    },
];

async fn tampering_is_named(backend: Backend) {
    for tamper in TAMPERS {
        let Some(server) = TestServer::start(backend).await else {
            return;
        };
        let ethics = ethics_token(&server).await;
        let stores = open_stores(&server.store.config()).await.unwrap();
        append_batches(&stores, &[5, 5]).await;
        let rows = ledger_entry::Entity::find().all(&stores.db).await.unwrap();
        let latest = checkpoint::Entity::find_by_id(10)
            .one(&stores.db)
            .await
            .unwrap()
            .unwrap();
        for sql in (tamper.sql)(&rows, &latest) {
            stores.db.execute_unprepared(&sql).await.unwrap();
        }

        let verified = server.ok(Some(&ethics), VERIFY, json!({})).await["verifyLedger"].clone();
        assert_eq!(verified["ok"], false, "{}: {verified}", tamper.name);
        assert_eq!(
            verified["firstBadSeq"],
            json!(tamper.first_bad),
            "{}: {verified}",
            tamper.name
        );
        assert!(!verified["problems"].as_array().unwrap().is_empty());

        let file = server.store.data_dir.path().join("export.jsonl");
        let export = server
            .store
            .cli()
            .args(["ledger", "export", "--with-payloads", "--out"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            export.status.success(),
            "{}",
            String::from_utf8_lossy(&export.stderr)
        );
        let offline = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"))
            .arg("verify")
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&offline.stderr);
        // The export carries the payloads, so every tampering shows offline too.
        assert_eq!(offline.status.code(), Some(1), "{}: {stderr}", tamper.name);
        match tamper.first_bad {
            Some(seq) => assert!(
                stderr.contains(&format!("first bad entry is {seq}")),
                "{}: {stderr}",
                tamper.name
            ),
            None => assert!(stderr.contains("NOT intact"), "{}: {stderr}", tamper.name),
        }
    }
}

async fn a_crash_loses_no_acknowledged_entry(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let mut child = store
        .cli()
        .args([
            "bench",
            "ledger",
            "--entries",
            "1000000",
            "--batch",
            "25",
            "--echo-commits",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = 0u64;
    for line in lines.by_ref() {
        acknowledged = line
            .unwrap()
            .trim_start_matches("committed ")
            .parse()
            .unwrap();
        if acknowledged >= 500 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL, in the middle of appends
    child.wait().unwrap();
    for line in lines {
        if let Some(n) = line
            .ok()
            .and_then(|l| l.trim_start_matches("committed ").parse().ok())
        {
            acknowledged = n;
        }
    }

    let out = store.cli().args(["ledger", "verify"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: u64 = stdout
        .trim_start_matches("OK: ")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output {stdout}"));
    assert!(
        verified >= acknowledged,
        "{verified} entries, {acknowledged} acknowledged"
    );
}

/// Board B reads the whole ledger's hashes, but nothing of trial A, which is board A's.
async fn boards_see_only_their_trials(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let helix = server.org("Helix", OrgKind::Sponsor).await;
    let other = server.org("Other Pharma", OrgKind::Sponsor).await;
    let site = server.org("St Mary's", OrgKind::Site).await;
    let board_a = server.org("Board A", OrgKind::Ethics).await;
    let board_b = server.org("Board B", OrgKind::Ethics).await;
    let sponsor_a = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let sponsor_b = server
        .user("s@other.com", "Other Pharma", Role::Sponsor)
        .await;
    let site_user = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    let ethics_a = server.user("irb@a.org", "Board A", Role::Ethics).await;
    let ethics_b = server.user("irb@b.org", "Board B", Role::Ethics).await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let publish = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }";
    let protocol = |board: &str| {
        json!({ "i": { "title": "T", "primaryEndpoint": "E", "targetEnrollment": 10,
                       "criteria": "age >= 18", "siteIds": [site], "ethicsBoardId": board } })
    };
    let trial_a = server
        .ok(Some(&sponsor_a), publish, protocol(&board_a))
        .await["publishProtocol"]["id"]
        .clone();
    let trial_b = server
        .ok(Some(&sponsor_b), publish, protocol(&board_b))
        .await["publishProtocol"]["id"]
        .clone();
    server.approve(&ethics_a, &trial_a, 1).await;
    let patient = json!({ "i": { "localId": "MRN-1", "birthDate": "1970-01-01", "sex": "FEMALE", "zip": "02139" } });
    let pseudonym = server
        .ok(
            Some(&site_user),
            "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }",
            patient,
        )
        .await["registerPatient"]["pseudonym"]
        .clone();
    server
        .ok(
            Some(&site_user),
            "mutation($p: String!, $t: ID) { recordConsent(pseudonym: $p, scope: TRIAL_PARTICIPATION, trialId: $t, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }",
            json!({ "p": pseudonym, "t": trial_a }),
        )
        .await;
    server
        .ok(
            Some(&site_user),
            "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }",
            json!({ "t": trial_a, "p": pseudonym }),
        )
        .await;

    // What each reader sees in ledgerEntries, entry by entry.
    let query = "{ ledgerEntries(first: 1000) { seq redacted kind actorUser actorOrg subjects { key value } leafHash } }";
    let full = server.ok(Some(&admin), query, json!({})).await["ledgerEntries"].clone();
    let full = full.as_array().unwrap().clone();
    let trial_of = |e: &Value| {
        e["subjects"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["key"] == "trial"))
            .map(|s| s["value"].clone())
    };
    let of_a = full
        .iter()
        .filter(|e| trial_of(e) == Some(trial_a.clone()))
        .count();
    let of_b = full
        .iter()
        .filter(|e| trial_of(e) == Some(trial_b.clone()))
        .count();
    // Trial B has its publication and the sponsor's signature of it.
    assert!(of_a >= 3 && of_b == 2, "{full:#?}");
    let untied = full.len() - of_a - of_b;
    for (token, sees_a, sees_b) in [(&ethics_a, true, false), (&ethics_b, false, true)] {
        let seen = server.ok(Some(token), query, json!({})).await["ledgerEntries"].clone();
        let seen = seen.as_array().unwrap();
        assert_eq!(seen.len(), full.len());
        for (mine, all) in seen.iter().zip(&full) {
            assert_eq!(mine["leafHash"], all["leafHash"]);
            let shown = match trial_of(all) {
                Some(t) if t == trial_a => sees_a,
                Some(t) if t == trial_b => sees_b,
                _ => false,
            };
            if shown {
                assert_eq!(mine, all);
            } else {
                assert_eq!(mine["redacted"], true, "{mine}");
                for field in ["kind", "actorUser", "actorOrg", "subjects"] {
                    assert!(mine[field].is_null(), "{field} of {mine}");
                }
            }
        }
    }

    // Board B's export verifies offline and names nothing of trial A.
    let export = server
        .http
        .get(server.url("/ledger/export"))
        .bearer_auth(&ethics_b)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let text = export.text().await.unwrap();
    let key = server.ok(Some(&admin), HEAD, json!({})).await["ledgerHead"]["publicKey"].clone();
    let report = ledger::export::verify_export(text.as_bytes(), key.as_str()).unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.entries_checked, full.len() as u64);
    assert_eq!(report.entries_redacted, (of_a + untied) as u64);
    let a_entries: Vec<&Value> = full
        .iter()
        .filter(|e| trial_of(e) == Some(trial_a.clone()))
        .collect();
    for needle in [trial_a.as_str().unwrap(), &helix, &site] {
        assert!(!text.contains(needle), "board B's export names {needle}");
    }
    for e in &a_entries {
        assert!(!text.contains(e["actorUser"].as_str().unwrap()));
    }
    assert!(text.contains(trial_b.as_str().unwrap()) && text.contains(&other));

    // `veritrial verify` says how much it could check fully.
    let file = server.store.data_dir.path().join("board-b.jsonl");
    std::fs::write(&file, &text).unwrap();
    let out = server
        .store
        .cli()
        .args([
            "verify",
            file.to_str().unwrap(),
            "--public-key",
            key.as_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "{} entries checked fully; {} redacted",
            full.len() - of_a - untied,
            of_a + untied
        )),
        "{stdout}"
    );
}

/// Only the witnesses a process trusts count toward its quorum: `latest_cosigned` and the
/// checkpoint a receipt is proved against ignore cosignatures by any other key (a witness
/// removed from the configuration, or one another process trusts), and a quorum below the
/// number of witnesses is met by any that many of them.
async fn only_trusted_witnesses_count_toward_the_quorum(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let out = store
        .cli()
        .args(["bench", "ledger", "--entries", "30", "--batch", "10"])
        .output()
        .expect("bench runs");
    assert!(out.status.success(), "{out:?}");
    let Stores { db, ledger, .. } = open_stores(&store.config()).await.expect("stores");
    let cosign = |witness: &'static str, size: u64| service::NewCosignature {
        checkpoint_size: size,
        cosigner: service::Cosigner {
            name: witness.into(),
            key: format!("{witness}+key"),
            timestamp_secs: 1,
        },
        line: format!("\u{2014} {witness} c2lnbmF0dXJl\n"),
    };
    for (witness, size) in [
        ("a", 10),
        ("a", 20),
        ("a", 30),
        ("b", 10),
        ("b", 20),
        ("c", 30),
    ] {
        service::store_cosignature(&db, cosign(witness, size))
            .await
            .expect("stored");
    }
    let quorum = |keys: &[&str], needed: usize| service::Quorum {
        keys: keys.iter().map(|k| format!("{k}+key")).collect(),
        needed,
    };
    let latest = async |q: service::Quorum| {
        service::latest_cosigned(&db, &ledger, 0, &q)
            .await
            .expect("read")
            .map(|c| (c.head.size, c.cosigners.len()))
    };
    assert_eq!(latest(quorum(&["a", "b"], 2)).await, Some((20, 2)));
    assert_eq!(
        latest(quorum(&["a", "b"], 1)).await,
        Some((30, 2)),
        "a alone"
    );
    assert_eq!(latest(quorum(&["a", "b", "c"], 2)).await, Some((30, 2)));
    assert_eq!(latest(quorum(&["b", "c"], 2)).await, None, "never both");
    assert_eq!(latest(quorum(&[], 1)).await, None, "no witness trusted");

    let for_entry = async |seq: u64, q: service::Quorum| {
        service::checkpoint_for_entry(&db, &ledger, seq, &q)
            .await
            .expect("a checkpoint")
            .size
    };
    assert_eq!(for_entry(5, quorum(&["a", "b"], 2)).await, 20);
    assert_eq!(
        for_entry(25, quorum(&["a", "b"], 2)).await,
        30,
        "then a alone"
    );
    assert_eq!(
        for_entry(25, quorum(&["b"], 1)).await,
        30,
        "then the latest"
    );
}

on_both_databases!(
    boards_see_only_their_trials,
    appends_verify_and_prove,
    only_ethics_and_admins_read_the_ledger,
    concurrent_appenders_never_fork,
    tampering_is_named,
    a_crash_loses_no_acknowledged_entry,
    only_trusted_witnesses_count_toward_the_quorum,
);
