//! Verification that deserves the name: one snapshot under concurrent appends and erasures,
//! every stored checkpoint, timestamps, ledgered erasures, exports with payloads read
//! strictly, and incremental verification from a watermark.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Backend, TestServer, TestStore, site_with_submission};
use ledger::EntryKind;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use veritrial::auth::Principal;
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::{checkpoint, ledger_payload};
use veritrial::server::{Stores, open_stores};
use veritrial::services::ledger::{self as service, Actor, ErasureReason, NewEntry, Scope};

fn new_entry(i: usize) -> NewEntry {
    NewEntry {
        kind: EntryKind::DataSubmitted,
        actor: Actor {
            user_id: "user-1".into(),
            org_id: "org-1".into(),
        },
        subjects: BTreeMap::from([("trial".to_string(), format!("trial-{}", i % 3))]),
        payload: json!({ "visit": i, "data": { "weightKg": 70 + i % 9 } }),
    }
}

async fn append_batches(stores: &Stores, sizes: &[usize]) {
    for (round, &n) in sizes.iter().enumerate() {
        let entries: Vec<NewEntry> = (0..n).map(|i| new_entry(round * 100 + i)).collect();
        stores
            .writer
            .run(move |work| Box::pin(async move { work.append(entries) }))
            .await
            .unwrap();
    }
}

/// The admin of `org-1`, the organisation that recorded the entries of [`new_entry`].
fn org_admin() -> Principal {
    Principal {
        user_id: "admin-1".into(),
        org_id: "org-1".into(),
        role: Role::Admin,
    }
}

async fn verify(stores: &Stores, scope: Scope) -> ledger::Report {
    service::verify_scoped(&stores.db, &stores.ledger, scope)
        .await
        .unwrap()
}

fn mentions(report: &ledger::Report, needle: &str) -> bool {
    report.problems.iter().any(|p| p.message.contains(needle))
}

/// The text with its 11th character changed (a valid hex or base64 digit either way).
fn flip(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    chars[10] = if chars[10] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// Verifications, full and incremental, while one task appends and another erases payloads:
/// every report is clean, because each verifies exactly the snapshot it read first.
async fn verify_while_appending_and_erasing(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let stores = open_stores(&store.config()).await.unwrap();
    append_batches(&stores, &[20]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let writer = stores.writer.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut rounds = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let entries: Vec<NewEntry> = (0..1 + rounds % 4).map(new_entry).collect();
                writer
                    .run(move |work| Box::pin(async move { work.append(entries) }))
                    .await
                    .unwrap();
                rounds += 1;
            }
            rounds
        })
    };
    let eraser = {
        let writer = stores.writer.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut erased = 0u64;
            // Entries 0..20 exist from the start; erase one payload after another.
            for seq in (0..20u64).step_by(2) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                service::erase_payload(&writer, &org_admin(), seq, ErasureReason::SubjectRequest)
                    .await
                    .unwrap();
                erased += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            erased
        })
    };
    for round in 0..12 {
        let scope = if round % 3 == 0 {
            Scope::Full
        } else {
            Scope::Incremental
        };
        let report = verify(&stores, scope).await;
        assert!(report.ok, "round {round} ({scope:?}): {report:#?}");
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = appender.await.unwrap();
    let erased = eraser.await.unwrap();
    assert!(
        rounds > 0 && erased > 0,
        "{rounds} appends, {erased} erasures"
    );
    let report = verify(&stores, Scope::Full).await;
    assert!(report.ok, "{report:#?}");
}

/// Every stored checkpoint is checked against the tree at its size, not only the latest.
async fn every_stored_checkpoint_is_checked(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let stores = open_stores(&store.config()).await.unwrap();
    append_batches(&stores, &[3, 3, 3]).await;
    assert!(verify(&stores, Scope::Full).await.ok);
    let rows = checkpoint::Entity::find().all(&stores.db).await.unwrap();
    let row = |size: i64| rows.iter().find(|r| r.size == size).unwrap().clone();
    let foreign = {
        let pkcs8 = ledger::Signer::generate_pkcs8().unwrap();
        ledger::Signer::from_pkcs8("veritrial.local/ledger", &pkcs8).unwrap()
    };
    let forged_note = foreign
        .sign(&ledger::Checkpoint {
            origin: "veritrial.local/ledger".into(),
            size: 3,
            root: ledger::Hash::from_hex(&row(3).root_hash).unwrap(),
            timestamp_ms: row(3).timestamp_ms,
        })
        .unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "UPDATE checkpoints SET root_hash = '{}' WHERE size = 3",
                flip(&row(3).root_hash)
            ),
            "the checkpoint of size 3: its recorded root",
        ),
        (
            format!(
                "UPDATE checkpoints SET note = '{}' WHERE size = 6",
                row(3).note
            ),
            "the checkpoint of size 6: its signed note is for size 3",
        ),
        (
            format!(
                "UPDATE checkpoints SET note = '{}' WHERE size = 3",
                row(3).note.replacen("\n3\n", "\n4\n", 1)
            ),
            "the checkpoint of size 3: the checkpoint signature by veritrial.local/ledger is invalid",
        ),
        (
            format!(
                "UPDATE checkpoints SET note = '{forged_note}', verifier_key = '{}' WHERE size = 3",
                foreign.verifier_key()
            ),
            "the checkpoint of size 3 names a key that is not one of this node's",
        ),
    ];
    for (sql, needle) in cases {
        stores.db.execute_unprepared(&sql).await.unwrap();
        let report = verify(&stores, Scope::Full).await;
        assert!(
            !report.ok && mentions(&report, needle),
            "{sql}: {report:#?}"
        );
        // Put the row back.
        let original = if sql.contains("size = 6") {
            row(6)
        } else {
            row(3)
        };
        checkpoint::Entity::update(checkpoint::ActiveModel::from(original).reset_all())
            .exec(&stores.db)
            .await
            .unwrap();
        assert!(
            verify(&stores, Scope::Full).await.ok,
            "restored after {sql}"
        );
    }
}

/// An entry whose timestamp is below its predecessor's is named.
async fn a_timestamp_going_backwards_is_named(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let stores = open_stores(&store.config()).await.unwrap();
    append_batches(&stores, &[3, 3]).await;
    stores
        .db
        .execute_unprepared(
            "UPDATE ledger_entries SET timestamp_ms = timestamp_ms - 60000 WHERE seq = 4",
        )
        .await
        .unwrap();
    let report = verify(&stores, Scope::Full).await;
    assert_eq!(report.first_bad_seq, Some(4), "{report:#?}");
    assert!(
        mentions(&report, "entry 4: its timestamp") && mentions(&report, "earlier than entry 3's"),
        "{report:#?}"
    );
}

const ERASE: &str = "mutation($s: Int!, $r: ErasureReason!) { erasePayload(seq: $s, reason: $r) { erasedSeq erasureSeq leafHash } }";
const VERIFY_FULL: &str =
    "{ verifyLedger(full: true) { ok entriesChecked resumedAt firstBadSeq problems } }";

/// Exports the ledger with payloads through the CLI and verifies it offline; returns the
/// export's text and `veritrial verify`'s exit code and output.
fn export_and_verify(server: &TestServer) -> (String, Option<i32>, String) {
    let file = server.store.data_dir.path().join("with-payloads.jsonl");
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
    let (code, out) = verify_file(&file);
    (std::fs::read_to_string(&file).unwrap(), code, out)
}

fn verify_file(file: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"))
        .arg("verify")
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// An erasure through `erasePayload` is ledgered and verifies, online and offline; a bare
/// `erased` flag set in the database does not.
async fn erasures_are_ledgered(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, _submission) = site_with_submission(&server).await;
    let site_admin = server
        .user("admin@stmarys.org", "St Mary's", Role::Admin)
        .await;
    let sponsor_admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let entries = server
        .ok(
            Some(&site_admin),
            "{ ledgerEntries(first: 1000) { seq kind actorOrg } }",
            json!({}),
        )
        .await["ledgerEntries"]
        .clone();
    let seq_of = |kind: &str| {
        entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap()["seq"]
            .as_u64()
            .unwrap()
    };
    let submitted = seq_of("data.submitted");
    let published = seq_of("protocol.published");

    // Who may erase: an admin of the organisation that recorded the entry.
    let vars = |seq: u64| json!({ "s": seq, "r": "SUBJECT_REQUEST" });
    assert_eq!(
        server
            .error_code(Some(&sponsor_admin), ERASE, vars(submitted))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        server
            .error_code(Some(&site_admin), ERASE, vars(9_999))
            .await,
        "NOT_FOUND"
    );
    let erased = server.ok(Some(&site_admin), ERASE, vars(submitted)).await["erasePayload"].clone();
    assert_eq!(erased["erasedSeq"], submitted);
    let erasure_seq = erased["erasureSeq"].as_u64().unwrap();
    assert!(erasure_seq > submitted);
    assert_eq!(
        server
            .error_code(Some(&site_admin), ERASE, vars(submitted))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        server
            .error_code(Some(&site_admin), ERASE, vars(erasure_seq))
            .await,
        "BAD_INPUT"
    );
    let stores = open_stores(&server.store.config()).await.unwrap();
    let row = ledger_payload::Entity::find_by_id(submitted as i64)
        .one(&stores.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.erased && row.body.is_none(), "{row:?}");
    let record = server
        .ok(
            Some(&site_admin),
            "query($a: Int!) { ledgerEntries(after: $a, first: 1) { kind actorOrg subjects { key value } } }",
            json!({ "a": erasure_seq - 1 }),
        )
        .await["ledgerEntries"][0]
        .clone();
    assert_eq!(record["kind"], "payload.erased");
    let subjects: BTreeMap<String, String> = record["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().into(),
                s["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(subjects["erased"], submitted.to_string());
    assert!(subjects.contains_key("trial"), "{subjects:?}");

    let verified =
        server.ok(Some(&site_admin), VERIFY_FULL, json!({})).await["verifyLedger"].clone();
    assert_eq!(verified["ok"], true, "{verified}");
    let (text, code, out) = export_and_verify(&server);
    assert_eq!(code, Some(0), "{out}");
    let line_of = |seq: u64| {
        text.lines()
            .find(|l| l.starts_with(&format!(r#"{{"type":"entry","seq":{seq},"#)))
            .unwrap()
            .to_string()
    };
    assert!(
        line_of(submitted).ends_with(r#""payloadErased":true}"#),
        "{}",
        line_of(submitted)
    );
    assert!(
        line_of(published).contains(r#""payload":{"#),
        "{}",
        line_of(published)
    );

    // A bare flag: the payload blanked and marked erased with no erasure entry.
    stores
        .db
        .execute_unprepared(&format!(
            "UPDATE ledger_payloads SET erased = TRUE, body = NULL WHERE seq = {published}"
        ))
        .await
        .unwrap();
    let needle = format!(
        "entry {published}: its payload is marked erased but no payload.erased entry records the erasure"
    );
    let verified =
        server.ok(Some(&site_admin), VERIFY_FULL, json!({})).await["verifyLedger"].clone();
    assert_eq!(verified["ok"], false);
    assert_eq!(verified["firstBadSeq"], published);
    assert!(
        verified["problems"].to_string().contains(&needle),
        "{verified}"
    );
    let (_, code, out) = export_and_verify(&server);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&needle), "{out}");
}

/// An export with payloads catches a changed stored payload offline, and reading an export
/// is strict: an injected field, a repeated key or a missing field fails `veritrial verify`.
async fn exports_carry_payloads_and_are_read_strictly(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let stores = open_stores(&server.store.config()).await.unwrap();
    append_batches(&stores, &[4, 4]).await;
    let (text, code, out) = export_and_verify(&server);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("OK: 8 entries verified"), "{out}");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let file = server.store.data_dir.path().join("edited.jsonl");
    let edited = |i: usize, f: &dyn Fn(&str) -> String| {
        let mut copy = lines.clone();
        copy[i] = f(&copy[i]);
        std::fs::write(&file, copy.join("\n") + "\n").unwrap();
        verify_file(&file)
    };
    let add_field =
        |line: &str| line.replacen(r#"{"type":"entry","#, r#"{"type":"entry","note":"hi","#, 1);
    let repeat_key = |line: &str| line.replacen(r#""seq":2,"#, r#""seq":2,"seq":2,"#, 1);
    let drop_field = |line: &str| {
        let mut v: Value = serde_json::from_str(line).unwrap();
        v.as_object_mut().unwrap().remove("actorOrg");
        v.to_string()
    };
    for (f, needle) in [
        (
            &add_field as &dyn Fn(&str) -> String,
            "unknown field `note`",
        ),
        (&repeat_key, "duplicate key \"seq\""),
        (&drop_field, "missing field `actorOrg`"),
    ] {
        let (code, out) = edited(3, f);
        assert_eq!(code, Some(1), "{needle}: {out}");
        assert!(
            out.contains(needle) && out.contains("first bad entry is 2"),
            "{needle}: {out}"
        );
    }

    // A stored payload changed behind the application's back is caught offline.
    stores
        .db
        .execute_unprepared("UPDATE ledger_payloads SET body = '{\"data\":{\"weightKg\":99},\"visit\":5}' WHERE seq = 5")
        .await
        .unwrap();
    let (_, code, out) = export_and_verify(&server);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("entry 5: the payload does not match its payload hash"),
        "{out}"
    );
}

/// After a clean verification only what is new is read; a full verification reads
/// everything and still finds a change below the watermark.
async fn verification_is_incremental(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Board", OrgKind::Ethics).await;
    let ethics = server.user("irb@board.org", "Board", Role::Ethics).await;
    let stores = open_stores(&server.store.config()).await.unwrap();
    let incremental = "{ verifyLedger { ok entriesChecked resumedAt firstBadSeq problems } }";
    let verify_gql = |query: &'static str| {
        let server = &server;
        let ethics = ethics.clone();
        async move { server.ok(Some(&ethics), query, json!({})).await["verifyLedger"].clone() }
    };
    append_batches(&stores, &[5, 5]).await;
    let first = verify_gql(incremental).await;
    assert_eq!(
        first,
        json!({ "ok": true, "entriesChecked": 10, "resumedAt": 0, "firstBadSeq": null, "problems": [] })
    );
    append_batches(&stores, &[5]).await;
    let second = verify_gql(incremental).await;
    assert_eq!(
        second,
        json!({ "ok": true, "entriesChecked": 15, "resumedAt": 10, "firstBadSeq": null, "problems": [] })
    );

    // Below the watermark: unseen by an incremental check, found by a full one.
    stores
        .db
        .execute_unprepared("UPDATE ledger_entries SET actor_user = 'mallory' WHERE seq = 2")
        .await
        .unwrap();
    let third = verify_gql(incremental).await;
    assert_eq!(third["ok"], true, "{third}");
    assert_eq!(third["resumedAt"], 15);
    let full = verify_gql(VERIFY_FULL).await;
    assert_eq!(full["ok"], false, "{full}");
    assert_eq!(full["firstBadSeq"], 2);
    assert_eq!(full["resumedAt"], 0);
    let cli = server
        .store
        .cli()
        .args(["ledger", "verify", "--full"])
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&cli.stderr).contains("first bad entry is 2"));
    let cli = server
        .store
        .cli()
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{stdout}");
    assert!(
        stdout.contains("entries 0 to 14 were verified before"),
        "{stdout}"
    );

    // The stored tree must still give the watermark's root: a changed frontier node at the
    // watermark sends the incremental check back to the start, which finds entry 2.
    stores
        .db
        .execute_unprepared("UPDATE merkle_nodes SET hash = '0000000000000000000000000000000000000000000000000000000000000000' WHERE level = 3 AND idx = 0")
        .await
        .unwrap();
    let fallback = verify_gql(incremental).await;
    assert_eq!(fallback["ok"], false, "{fallback}");
    assert_eq!(fallback["resumedAt"], 0);
    assert_eq!(fallback["firstBadSeq"], 2);
    assert!(
        fallback["problems"]
            .to_string()
            .contains("the stored Merkle tree no longer gives the root verified at size 15"),
        "{fallback}"
    );
}

on_both_databases!(
    verify_while_appending_and_erasing,
    every_stored_checkpoint_is_checked,
    a_timestamp_going_backwards_is_named,
    erasures_are_ledgered,
    exports_carry_payloads_and_are_read_strictly,
    verification_is_incremental,
);
