//! A witnessed ledger, end to end with real processes: a log (`veritrial serve`) and two
//! witnesses (`veritrial witness`), each with its own data directory.
//!
//! * consent receipts carry cosigned checkpoints that verify with a quorum of 2; a witness
//!   that is down delays no append, and quorum-2 verification of a new receipt fails until
//!   it is back and has caught up;
//! * a ledger rewritten with the same key is refused by both witnesses, `verify --since` an
//!   old checkpoint names where the histories part, and two same-size checkpoints shown to
//!   different witnesses are caught by `verify --compare` (a split view);
//! * two `serve` processes on one database share the witnesses without being refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::rewrite::truncate_ledger;
use common::{Backend, TestServer, TestStore};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::server::open_stores;
use veritrial::services::ledger::LedgerKeys;

const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $g: Boolean!, $v: String, $d: NaiveDate) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: \"test-password-123\") { ledgerSeq } }";
const RECEIPT: &str = "query($p: String!) { consentReceipt(pseudonym: $p, scope: RECRUITMENT_CONTACT) { receipt treeSize } }";
const HEAD: &str = "{ ledgerHead { size checkpoint publicKey cosigned { size checkpoint cosigners { name key timestamp } } witnesses { name cosignedSize refusals lastError } } }";

/// How long a test waits for cosigning to catch up.
const PATIENCE: Duration = Duration::from_secs(30);

/// A `veritrial witness` process with its own data directory, on a fixed port (so that it
/// can be stopped and started again where the log expects it).
struct Witness {
    dir: tempfile::TempDir,
    port: u16,
    log: String,
    child: Option<Child>,
    /// The witness's cosignature/v1 verifier key.
    key: String,
}

impl Witness {
    /// A witness of the log `origin` with verifier key `log_key`, started.
    async fn start(origin: &str, log_key: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let shown = Command::new(env!("CARGO_BIN_EXE_veritrial"))
            .args(["witness", "--show-key", "--data-dir"])
            .arg(dir.path())
            .output()
            .expect("veritrial witness --show-key runs");
        assert!(shown.status.success(), "{}", text(&shown));
        let key = String::from_utf8(shown.stdout)
            .expect("UTF-8")
            .trim()
            .to_string();
        let mut witness = Self {
            dir,
            port,
            log: format!("{origin}={log_key}"),
            child: None,
            key,
        };
        witness.resume().await;
        witness
    }

    /// `--witness` for the log: `KEY=URL`.
    fn flag(&self) -> String {
        format!("{}=http://127.0.0.1:{}/", self.key, self.port)
    }

    fn name(&self) -> &str {
        self.key.split('+').next().expect("a key name")
    }

    /// The witness's `GET /status`.
    async fn status(&self) -> Value {
        common::http_client()
            .get(format!("http://127.0.0.1:{}/status", self.port))
            .send()
            .await
            .expect("status answered")
            .json()
            .await
            .expect("status JSON")
    }

    /// Starts the process (again) and waits until it accepts connections.
    async fn resume(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_veritrial"))
            .env_remove("DATABASE_URL")
            .args(["witness", "--data-dir"])
            .arg(self.dir.path())
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--log", &self.log])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("veritrial witness starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the witness did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the process (SIGKILL).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A log's store with its ledger key created, and that key.
async fn log_store(backend: Backend) -> Option<(TestStore, LedgerKeys)> {
    let store = TestStore::new(backend).await?;
    let stores = open_stores(&store.config()).await.expect("stores");
    Some((store, stores.ledger))
}

/// `--witness` flags for `witnesses`.
fn witness_flags(witnesses: &[&Witness]) -> Vec<String> {
    witnesses
        .iter()
        .flat_map(|w| ["--witness".to_string(), w.flag()])
        .collect()
}

/// Starts `veritrial serve` on `store` with `witnesses`.
async fn start_log(store: TestStore, witnesses: &[&Witness]) -> TestServer {
    let flags = witness_flags(witnesses);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestServer::spawn_process_on(store, &flags).await
}

/// A site user and an ethics user on `server`: (site token, ethics token).
async fn users(server: &TestServer) -> (String, String) {
    server.org("St Mary's", OrgKind::Site).await;
    server.org("IRB", OrgKind::Ethics).await;
    let site = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    let ethics = server.user("e@irb.org", "IRB", Role::Ethics).await;
    (site, ethics)
}

async fn register(server: &TestServer, site: &str, local_id: &str) -> String {
    let input = json!({
        "localId": local_id, "birthDate": "1970-01-01", "sex": "FEMALE",
        "zip": "02139", "conditions": [], "medications": [], "labs": [], "terms": [],
    });
    server.ok(Some(site), REGISTER, json!({ "i": input })).await["registerPatient"]["pseudonym"]
        .as_str()
        .expect("pseudonym")
        .to_string()
}

/// Records a consent (one ledger entry) and returns its sequence number.
async fn consent(server: &TestServer, site: &str, pseudonym: &str, granted: bool) -> u64 {
    server
        .ok(Some(site), CONSENT, json!({ "p": pseudonym, "g": granted, "v": granted.then_some("v1"), "d": granted.then_some("2026-12-01") }))
        .await["recordConsent"]["ledgerSeq"]
        .as_u64()
        .expect("ledger seq")
}

async fn head(server: &TestServer, ethics: &str) -> Value {
    server.ok(Some(ethics), HEAD, json!({})).await["ledgerHead"].clone()
}

/// Waits until the latest checkpoint is cosigned by `count` witnesses; returns the head.
async fn wait_cosigned(server: &TestServer, ethics: &str, count: usize) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let head = head(server, ethics).await;
        let cosigners = head["cosigned"]["cosigners"].as_array().map_or(0, Vec::len);
        if head["cosigned"]["size"] == head["size"] && cosigners >= count {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "the head was not cosigned by {count} witnesses: {head}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `veritrial` with `args` (no database needed).
fn veritrial(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veritrial"))
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .expect("veritrial runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Exports `server`'s ledger with `veritrial ledger export` to `path`.
fn export_ledger(server: &TestServer, path: &Path) {
    let out = server
        .store
        .cli()
        .args(["ledger", "export", "--out"])
        .arg(path)
        .output()
        .expect("export runs");
    assert!(out.status.success(), "{}", text(&out));
}

/// Writes `contents` to `name` in `dir`.
fn save(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("file written");
    path
}

/// Verifies a file with the log key and the witnesses' keys, requiring `quorum`.
fn verify_with_quorum(file: &Path, log_key: &str, witnesses: &[&Witness], quorum: usize) -> Output {
    let file = file.to_str().expect("UTF-8 path");
    let quorum = quorum.to_string();
    let mut args = vec!["verify", file, "--public-key", log_key, "--quorum", &quorum];
    for w in witnesses {
        args.extend(["--witness-key", w.key.as_str()]);
    }
    veritrial(&args)
}

/// The receipt of `pseudonym`'s recruitment consent, saved to a file.
async fn receipt(server: &TestServer, site: &str, pseudonym: &str, dir: &Path) -> PathBuf {
    let data = server
        .ok(Some(site), RECEIPT, json!({ "p": pseudonym }))
        .await;
    let receipt = data["consentReceipt"]["receipt"].as_str().expect("receipt");
    save(dir, &format!("receipt-{pseudonym}.json"), receipt)
}

/// Consent receipts verify with a quorum of two witnesses; with one witness down, appends go
/// on and a new receipt has one cosignature (quorum 2 fails, naming the missing witness)
/// until the witness is back and has caught up.
async fn receipts_verify_with_a_quorum_and_survive_a_witness_outage(backend: Backend) {
    let Some((store, keys)) = log_store(backend).await else {
        return;
    };
    let log_key = keys.verifier_key();
    let w1 = Witness::start(keys.origin(), &log_key).await;
    let mut w2 = Witness::start(keys.origin(), &log_key).await;
    let server = start_log(store, &[&w1, &w2]).await;
    let (site, ethics) = users(&server).await;
    let files = tempfile::tempdir().expect("temporary directory");

    let first = register(&server, &site, "p-1").await;
    consent(&server, &site, &first, true).await;
    let cosigned = wait_cosigned(&server, &ethics, 2).await;
    let names: Vec<&str> = cosigned["cosigned"]["cosigners"]
        .as_array()
        .expect("cosigners")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&w1.name()) && names.contains(&w2.name()),
        "{cosigned}"
    );
    let file = receipt(&server, &site, &first, files.path()).await;
    let out = verify_with_quorum(&file, &log_key, &[&w1, &w2], 2);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 of 2 witnesses cosigned"),
        "{}",
        text(&out)
    );

    // One witness down: appends go on, promptly.
    w2.stop();
    let second = register(&server, &site, "p-2").await;
    let started = Instant::now();
    for granted in [true, false, true] {
        consent(&server, &site, &second, granted).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "appends waited for the witness that is down: {:?}",
        started.elapsed()
    );
    let deadline = Instant::now() + PATIENCE;
    let file = loop {
        // Once w1 has cosigned a checkpoint covering the new consent, the receipt carries it.
        let file = receipt(&server, &site, &second, files.path()).await;
        if verify_with_quorum(&file, &log_key, &[&w1], 1)
            .status
            .success()
        {
            break file;
        }
        assert!(
            Instant::now() < deadline,
            "w1 never cosigned the new checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = verify_with_quorum(&file, &log_key, &[&w1, &w2], 2);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("no cosignature by {}", w2.name())),
        "{}",
        text(&out)
    );
    // With --witness-quorum 2 (the default for two witnesses), ledgerHead still names the
    // last checkpoint both cosigned, not the newer one only w1 cosigned.
    let during = head(&server, &ethics).await;
    assert_eq!(
        during["cosigned"]["size"], cosigned["cosigned"]["size"],
        "{during}"
    );
    assert_eq!(
        during["cosigned"]["cosigners"].as_array().map(Vec::len),
        Some(2),
        "{during}"
    );
    let witnesses = during["witnesses"].clone();
    assert!(
        witnesses
            .as_array()
            .expect("witnesses")
            .iter()
            .any(|w| w["name"] == w2.name() && !w["lastError"].is_null()),
        "{witnesses}"
    );

    // Back: it catches up and the new receipt verifies with quorum 2.
    w2.resume().await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let file = receipt(&server, &site, &second, files.path()).await;
        let out = verify_with_quorum(&file, &log_key, &[&w1, &w2], 2);
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the witness did not catch up: {}",
            text(&out)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // An export carries the cosigned checkpoint too.
    let cosigned = wait_cosigned(&server, &ethics, 2).await;
    let file = files.path().join("ledger.jsonl");
    export_ledger(&server, &file);
    let out = verify_with_quorum(&file, &log_key, &[&w1, &w2], 2);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("size {}", cosigned["size"])),
        "{}",
        text(&out)
    );
}

/// Appends consents (two entries each: the consent and its signature) until the ledger has
/// exactly `size` entries.
async fn grow_to(server: &TestServer, site: &str, pseudonym: &str, ethics: &str, size: u64) {
    let mut granted = false;
    loop {
        let now = head(server, ethics).await["size"].as_u64().expect("size");
        assert!(now <= size, "the ledger overshot {size}: {now}");
        if now == size {
            return;
        }
        consent(server, site, pseudonym, granted).await;
        granted = !granted;
    }
}

/// The operator rebuilds the ledger with the same key from entry `k` on. A fresh witness
/// cosigns the rewritten tree at the size the others cosigned the original: comparing the
/// two cosigned checkpoints shows the split view. Shown the rewritten ledger, both original
/// witnesses refuse, and `verify --since` an old checkpoint says where the histories part.
async fn a_rewritten_ledger_is_refused_and_detected(backend: Backend) {
    let Some((store, keys)) = log_store(backend).await else {
        return;
    };
    let log_key = keys.verifier_key();
    let origin = keys.origin().to_string();
    let w1 = Witness::start(&origin, &log_key).await;
    let w2 = Witness::start(&origin, &log_key).await;
    let server = start_log(store, &[&w1, &w2]).await;
    let (site, ethics) = users(&server).await;
    let files = tempfile::tempdir().expect("temporary directory");
    let patient = register(&server, &site, "p-1").await;
    grow_to(&server, &site, &patient, &ethics, 12).await;
    let original = wait_cosigned(&server, &ethics, 2).await;
    let old_note = save(
        files.path(),
        "old.note",
        original["cosigned"]["checkpoint"].as_str().expect("note"),
    );
    let old_export = files.path().join("old.jsonl");
    export_ledger(&server, &old_export);

    // Rewrite from entry 6 on, and have a fresh witness cosign the same size.
    let store = server.stop().await;
    truncate_ledger(&store, 6).await;
    let w3 = Witness::start(&origin, &log_key).await;
    let server = start_log(store, &[&w3]).await;
    let site = server.login("crc@stmarys.org").await;
    let ethics = server.login("e@irb.org").await;
    let other = register(&server, &site, "p-2").await;
    grow_to(&server, &site, &other, &ethics, 12).await;
    let forked = wait_cosigned(&server, &ethics, 1).await;
    assert_ne!(forked["checkpoint"], original["checkpoint"]);
    let forked_note = save(
        files.path(),
        "forked.note",
        forked["cosigned"]["checkpoint"].as_str().expect("note"),
    );
    let compare = |a: &Path, b: &Path| {
        veritrial(&[
            "verify",
            "--compare",
            a.to_str().expect("path"),
            b.to_str().expect("path"),
            "--public-key",
            &log_key,
        ])
    };
    let out = compare(&old_note, &forked_note);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("SPLIT VIEW"), "{}", text(&out));
    assert!(text(&out).contains("12 entries"), "{}", text(&out));
    let out = compare(&old_note, &old_note);
    assert!(out.status.success(), "{}", text(&out));

    // Shown the rewritten ledger (grown past what they cosigned), both witnesses refuse.
    let store = server.stop().await;
    let server = start_log(store, &[&w1, &w2]).await;
    let site = server.login("crc@stmarys.org").await;
    let ethics = server.login("e@irb.org").await;
    grow_to(&server, &site, &other, &ethics, 16).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let head = head(&server, &ethics).await;
        let refused = head["witnesses"]
            .as_array()
            .expect("witnesses")
            .iter()
            .filter(|w| w["refusals"].as_u64() > Some(0))
            .count();
        if refused == 2 {
            // No checkpoint of the rewritten part has a quorum (two) of cosignatures: only w3,
            // which this log no longer trusts, cosigned one. A checkpoint of the 6 entries
            // both histories share may have been cosigned by w1 and w2 before the rewrite.
            assert!(
                head["cosigned"]["size"]
                    .as_u64()
                    .is_none_or(|size| size <= 6),
                "{head}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the witnesses did not refuse: {head}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Each kept its cosigned checkpoint and the contradicting one as evidence, and raised
    // its alarm.
    for witness in [&w1, &w2] {
        let status = witness.status().await;
        assert_eq!(status["alarm"], json!(true), "{status}");
        assert_eq!(status["logs"][0]["size"], json!(12), "{status}");
        let evidence = &status["evidence"][0];
        assert_eq!(evidence["cosignedSize"], json!(12), "{status}");
        let body = original["checkpoint"]
            .as_str()
            .and_then(|note| note.split("\n\n").next())
            .expect("the original checkpoint's text");
        assert!(
            evidence["cosignedCheckpoint"]
                .as_str()
                .is_some_and(|kept| kept.starts_with(body)),
            "{status}"
        );
    }

    // `verify --since`: the rewritten ledger does not extend the old checkpoint.
    let new_export = files.path().join("new.jsonl");
    export_ledger(&server, &new_export);
    let new_export = new_export.to_str().expect("path");
    let since = |old: &Path| {
        veritrial(&[
            "verify",
            new_export,
            "--public-key",
            &log_key,
            "--since",
            old.to_str().expect("path"),
        ])
    };
    let out = since(&old_note);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("at or before size 12"),
        "{}",
        text(&out)
    );
    let out = since(&old_export);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("part at size 6"), "{}", text(&out));
    // The rewritten ledger does extend its own earlier checkpoint.
    let out = since(&forked_note);
    assert!(out.status.success(), "{}", text(&out));
}

/// Two `serve` processes on one database and key directory, with the same witnesses: each
/// asks only for checkpoints not yet cosigned, neither is refused, and both publish the same
/// cosigned checkpoint.
async fn several_processes_share_the_witnesses(backend: Backend) {
    let Some((store, keys)) = log_store(backend).await else {
        return;
    };
    let log_key = keys.verifier_key();
    let w1 = Witness::start(keys.origin(), &log_key).await;
    let w2 = Witness::start(keys.origin(), &log_key).await;
    let first = start_log(store, &[&w1, &w2]).await;
    let database_url = first.store.database_url().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            first.data_dir().join("veritrial.db").display()
        )
    });
    let other = TestStore {
        data_dir: tempfile::tempdir().expect("temporary directory"),
        pg: None,
        shared_database_url: Some(database_url),
        shared_keys_dir: Some(first.store.config().keys_dir()),
        attachments: first.store.shared_attachments(),
        s3: None,
    };
    let second = start_log(other, &[&w1, &w2]).await;
    let (site, ethics) = users(&first).await;
    let patient = register(&first, &site, "p-1").await;
    for round in 0..6 {
        let server = if round % 2 == 0 { &first } else { &second };
        consent(server, &site, &patient, round % 3 != 0).await;
    }
    let on_first = wait_cosigned(&first, &ethics, 2).await;
    let on_second = wait_cosigned(&second, &ethics, 2).await;
    assert_eq!(
        on_first["cosigned"]["checkpoint"],
        on_second["cosigned"]["checkpoint"]
    );
    for head in [&on_first, &on_second] {
        for witness in head["witnesses"].as_array().expect("witnesses") {
            assert_eq!(witness["refusals"], json!(0), "{head}");
        }
    }
    let files = tempfile::tempdir().expect("temporary directory");
    let file = receipt(&second, &site, &patient, files.path()).await;
    let out = verify_with_quorum(&file, &log_key, &[&w1, &w2], 2);
    assert!(out.status.success(), "{}", text(&out));
}

on_both_databases!(
    several_processes_share_the_witnesses,
    receipts_verify_with_a_quorum_and_survive_a_witness_outage,
    a_rewritten_ledger_is_refused_and_detected,
);
