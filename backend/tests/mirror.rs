//! The log served as tlog-tiles, and a ledger restored from such a copy: tiles agree with
//! the stored tree, bundles follow the readers' visibility, a tampered copy is refused, and
//! a restored store verifies with nothing lost.

mod common;

use common::rewrite::truncate_ledger;
use common::{Backend, TestServer, TestStore};
use ledger::merkle::MemoryTree;
use ledger::tiles::{MirrorChecker, parse_hash_tile};
use ledger::witness::AddCheckpointRequest;
use ledger::{Hash, Verifier};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use std::time::Duration;

use serde_json::json;
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::mirror_entry;
use veritrial::entities::{checkpoint, ledger_entry, ledger_payload, merkle_node};
use veritrial::server::open_stores;
use veritrial::services::ledger::DEFAULT_ORIGIN;
use veritrial::witness::mirror::{MirrorConfig, MirrorSource, Round, catch_up};
use veritrial::witness::mirror_http::origin_segment;
use veritrial::witness::mirror_store::root_at;
use veritrial::witness::store::WitnessStore;
use veritrial::witness::{BoundWitness, WitnessConfig};

/// Entries seeded: two full bundles and a partial one of 188.
const ENTRIES: u64 = 700;

const HEAD: &str = "{ ledgerHead { publicKey size } }";

/// A server on a store seeded with [`ENTRIES`] entries; returns it with an admin's and an
/// ethics board's tokens.
async fn seeded(backend: Backend) -> Option<(TestServer, String, String)> {
    let store = TestStore::new(backend).await?;
    append(&store, ENTRIES);
    let server = TestServer::start_on(store, Default::default()).await;
    server.org("Operator", OrgKind::Sponsor).await;
    server.org("IRB", OrgKind::Ethics).await;
    let admin = server.user("admin@op.org", "Operator", Role::Admin).await;
    let ethics = server.user("e@irb.org", "IRB", Role::Ethics).await;
    Some((server, admin, ethics))
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = server.http.get(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

async fn bytes(server: &TestServer, path: &str, token: Option<&str>) -> Vec<u8> {
    let response = get(server, path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.bytes().await.expect("body").to_vec()
}

/// The latest checkpoint, opened with the key the log names.
async fn checkpoint(server: &TestServer, admin: &str) -> ledger::Checkpoint {
    let key = server.ok(Some(admin), HEAD, json!({})).await["ledgerHead"]["publicKey"]
        .as_str()
        .expect("key")
        .to_string();
    let note = String::from_utf8(bytes(server, "/ledger/checkpoint", None).await).expect("text");
    Verifier::from_key_string(&key)
        .expect("key")
        .open(&note)
        .expect("the public checkpoint is signed by the log")
}

/// The tree recomputed from the stored entries' contents.
async fn recomputed_tree(server: &TestServer) -> MemoryTree {
    let stores = open_stores(&server.store.config()).await.expect("stores");
    let rows = ledger_entry::Entity::find()
        .order_by_asc(ledger_entry::Column::Seq)
        .all(&stores.db)
        .await
        .expect("entries");
    let mut tree = MemoryTree::new();
    for row in &rows {
        let stored = veritrial::services::ledger::StoredEntry::from_row(row).expect("entry");
        tree.append(stored.entry.leaf_hash());
    }
    tree
}

/// Follows the log through its entry bundles with `token` and checks the checkpoint.
async fn follow(server: &TestServer, token: &str, cp: &ledger::Checkpoint) -> (u64, u64) {
    let mut checker = MirrorChecker::new();
    let (mut full, mut redacted) = (0, 0);
    for tile in checker.bundles_to(cp.size) {
        let body = bytes(server, &format!("/ledger/{tile}"), Some(token)).await;
        for v in checker
            .push_bundle(&tile, &body, |_, _| {})
            .expect("an honest bundle")
        {
            if v.entry.is_some() {
                full += 1
            } else {
                redacted += 1
            }
        }
    }
    checker
        .check(cp)
        .expect("the bundles hash up to the checkpoint");
    (full, redacted)
}

/// Hash tiles are the tree's nodes, public, immutable when full; bundles need a reader and
/// are cut to what that reader may see; anything else is refused with a stable code.
async fn tiles_serve_the_stored_tree(backend: Backend) {
    let Some((server, admin, ethics)) = seeded(backend).await else {
        return;
    };
    let cp = checkpoint(&server, &admin).await;
    assert_eq!(cp.size, ENTRIES);
    let tree = recomputed_tree(&server).await;
    assert_eq!(tree.root(), cp.root);

    for (path, level, first, width) in [
        ("tile/0/000", 0u8, 0u64, 256u64),
        ("tile/0/002.p/188", 0, 512, 188),
        ("tile/0/002.p/5", 0, 512, 5),
        ("tile/1/000.p/2", 8, 0, 2),
    ] {
        let response = get(&server, &format!("/ledger/{path}"), None).await;
        assert_eq!(response.status(), 200, "{path}");
        let cache = response.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert_eq!(cache.contains("immutable"), width == 256, "{path}: {cache}");
        let hashes = parse_hash_tile(&response.bytes().await.expect("body"), width).expect("tile");
        let want: Vec<Hash> = (first..first + width)
            .map(|i| {
                tree.node(ledger::merkle::NodeId::new(level, i))
                    .expect("node")
            })
            .collect();
        assert_eq!(hashes, want, "{path}");
    }
    for (path, token, status, code) in [
        ("tile/0/002", None, 404, "NOT_FOUND"),
        ("tile/0/002.p/189", None, 404, "NOT_FOUND"),
        ("tile/1/000", None, 404, "NOT_FOUND"),
        ("tile/0/2", None, 400, "BAD_INPUT"),
        ("tile/entries/000", None, 401, "UNAUTHENTICATED"),
        ("payloads/000", None, 401, "UNAUTHENTICATED"),
        ("tile/entries/003", Some(admin.as_str()), 404, "NOT_FOUND"),
    ] {
        let response = get(&server, &format!("/ledger/{path}"), token).await;
        assert_eq!(response.status(), status, "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON error");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
    }
    let site = {
        server.org("Clinic", OrgKind::Site).await;
        server.user("s@clinic.org", "Clinic", Role::Site).await
    };
    let response = get(&server, "/ledger/tile/entries/000", Some(&site)).await;
    assert_eq!(response.status(), 403);

    // An admin reads every entry; the board, assigned to none of the seeded trials, reads
    // none, yet both rebuild the signed root.
    assert_eq!(follow(&server, &admin, &cp).await, (ENTRIES, 0));
    assert_eq!(follow(&server, &ethics, &cp).await, (0, ENTRIES));
    let payloads = bytes(&server, "/ledger/payloads/002.p/188", Some(&ethics)).await;
    assert_eq!(
        payloads,
        vec![0u8; 188],
        "every payload withheld from the board"
    );
}

/// A store restored from the copy holds the same rows and verifies; restoring again, or
/// from a copy that redacts, is refused.
async fn restore_rebuilds_a_verifying_ledger(backend: Backend) {
    let Some((server, admin, ethics)) = seeded(backend).await else {
        return;
    };
    let Some(target) = restore_target(&server, backend).await else {
        return;
    };
    let restore = |token: &str| restore_from(&target, &server, token);
    let refused = restore(&ethics);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("redacted"),
        "{refused:?}"
    );

    let restored = restore(&admin);
    assert!(restored.status.success(), "{restored:?}");
    assert!(
        String::from_utf8_lossy(&restored.stdout)
            .contains(&format!("restored {ENTRIES} entries ({ENTRIES} payloads")),
        "{restored:?}"
    );
    assert_verifies(&target, ENTRIES);
    assert_same_ledger(&server.store, &target).await;

    let again = restore(&admin);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a ledger"),
        "{again:?}"
    );
}

/// A copy whose entry was changed after signing is refused, and the store stays empty.
async fn a_tampered_copy_is_refused(backend: Backend) {
    let Some((server, admin, _)) = seeded(backend).await else {
        return;
    };
    let stores = open_stores(&server.store.config()).await.expect("stores");
    stores
        .db
        .execute_unprepared("UPDATE ledger_entries SET actor_user = 'someone-else' WHERE seq = 300")
        .await
        .expect("tampered");
    let Some(target) = restore_target(&server, backend).await else {
        return;
    };
    let refused = restore_from(&target, &server, &admin);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("entry 301: its previous hash"),
        "{refused:?}"
    );
    let stores = open_stores(&target.config()).await.expect("stores");
    assert!(
        ledger_entry::Entity::find()
            .all(&stores.db)
            .await
            .expect("rows")
            .is_empty()
    );
}

/// Appends `entries` entries to the ledger of `store` (`veritrial bench ledger`).
fn append(store: &TestStore, entries: u64) {
    let out = store
        .cli()
        .args(["bench", "ledger", "--entries", &entries.to_string()])
        .args(["--batch", "100"])
        .output()
        .expect("bench runs");
    assert!(out.status.success(), "{out:?}");
}

/// Runs `veritrial ledger verify` on `store` and checks that it passes with `entries`.
fn assert_verifies(store: &TestStore, entries: u64) {
    let verify = store
        .cli()
        .args(["ledger", "verify"])
        .output()
        .expect("verify runs");
    assert!(verify.status.success(), "{verify:?}");
    assert!(
        String::from_utf8_lossy(&verify.stdout)
            .contains(&format!("OK: {entries} entries verified")),
        "{verify:?}"
    );
}

/// An empty store on `backend` with the log's key directory (as the operator would restore
/// its keys from their backup).
async fn restore_target(server: &TestServer, backend: Backend) -> Option<TestStore> {
    let mut target = TestStore::new(backend).await?;
    target.shared_keys_dir = Some(server.store.config().keys_dir());
    Some(target)
}

/// Runs `veritrial ledger restore` into `target` from the tiles of `server`, with `token`.
fn restore_from(target: &TestStore, server: &TestServer, token: &str) -> std::process::Output {
    let file = target.data_dir.path().join("token");
    std::fs::write(&file, token).expect("token file");
    target
        .cli()
        .args([
            "ledger",
            "restore",
            "--from-witness",
            &server.url("/ledger"),
        ])
        .arg("--token-file")
        .arg(&file)
        .output()
        .expect("restore runs")
}

async fn assert_same_ledger(a: &TestStore, b: &TestStore) {
    let a = open_stores(&a.config()).await.expect("stores");
    let b = open_stores(&b.config()).await.expect("stores");
    macro_rules! same_rows {
        ($entity:ident, $($order:ident),+) => {{
            let query = || $entity::Entity::find()$(.order_by_asc($entity::Column::$order))+;
            let left = query().all(&a.db).await.expect("rows");
            let right = query().all(&b.db).await.expect("rows");
            assert!(!left.is_empty());
            assert_eq!(left, right, stringify!($entity));
        }};
    }
    same_rows!(ledger_entry, Seq);
    same_rows!(ledger_payload, Seq);
    same_rows!(merkle_node, Level, Idx);
    assert_eq!(
        latest_checkpoint(&a.db).await,
        latest_checkpoint(&b.db).await
    );
}

async fn latest_checkpoint(db: &sea_orm::DatabaseConnection) -> Option<checkpoint::Model> {
    checkpoint::Entity::find()
        .order_by_desc(checkpoint::Column::Size)
        .one(db)
        .await
        .expect("checkpoint")
}

/// A witness started on the log follows it, keeps a verified copy as the log grows (through
/// partial bundles), serves it with the same tiles, and a lost log is restored from it.
async fn a_witness_mirrors_the_log_and_a_lost_log_is_restored_from_it(backend: Backend) {
    let Some((server, admin, _)) = seeded(backend).await else {
        return;
    };
    let running = MirroringWitness::start(&server, backend, &admin).await;
    let witness = running.url.as_str();
    wait_for_mirrored(&server, witness, ENTRIES).await;
    append(&server.store, 300);
    wait_for_mirrored(&server, witness, ENTRIES + 300).await;
    leaves_only_without_a_token(&server, backend).await;

    let copy = format!("{witness}/mirror/{}", origin_segment(DEFAULT_ORIGIN));
    for path in ["tile/0/000", "tile/0/003.p/232", "tile/1/000.p/3"] {
        let from_copy = server
            .http
            .get(format!("{copy}/{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(from_copy.status(), 200, "{path}");
        let from_copy = from_copy.bytes().await.expect("body");
        assert_eq!(
            from_copy.to_vec(),
            bytes(&server, &format!("/ledger/{path}"), None).await,
            "{path}"
        );
    }
    let unauthorized = server
        .http
        .get(format!("{copy}/tile/entries/000"))
        .send()
        .await
        .expect("GET");
    assert_eq!(unauthorized.status(), 401);

    // The log's disk dies: a new store, with the log's keys from their backup, from the copy.
    let Some(target) = restore_target(&server, backend).await else {
        return;
    };
    let file = target.data_dir.path().join("token");
    std::fs::write(&file, "copy-reader-secret").expect("token file");
    let restored = target
        .cli()
        .args(["ledger", "restore", "--from-witness", &copy, "--token-file"])
        .arg(&file)
        .output()
        .expect("restore runs");
    assert!(restored.status.success(), "{restored:?}");
    assert_verifies(&target, ENTRIES + 300);
    assert_same_ledger(&server.store, &target).await;

    // The log's database is edited under an entry the witness holds, and the log grows: the
    // tree (built from the leaves as appended) still extends what the witness verified, so
    // the witness follows, and its copy keeps the entry as it was signed.
    let stores = open_stores(&server.store.config()).await.expect("stores");
    stores
        .db
        .execute_unprepared("UPDATE ledger_entries SET actor_org = 'rewritten' WHERE seq = 950")
        .await
        .expect("tampered");
    append(&server.store, 100);
    wait_for_mirrored(&server, witness, ENTRIES + 400).await;
    let actor_org_950 = |bundle: Vec<u8>| {
        let items = ledger::tiles::bundle::decode_bundle(&bundle).expect("bundle");
        match ledger::tiles::bundle::BundleItem::parse(items[950 - 768]).expect("item") {
            ledger::tiles::bundle::BundleItem::Entry(entry) => entry.actor_org,
            other => panic!("entry 950 is {other:?}"),
        }
    };
    let from_log = actor_org_950(bytes(&server, "/ledger/tile/entries/003", Some(&admin)).await);
    assert_eq!(from_log, "rewritten");
    let from_copy = server
        .http
        .get(format!("{copy}/tile/entries/003"))
        .bearer_auth("copy-reader-secret")
        .send()
        .await
        .expect("GET");
    assert_eq!(from_copy.status(), 200);
    let from_copy = actor_org_950(from_copy.bytes().await.expect("body").to_vec());
    assert_ne!(from_copy, "rewritten");
    running.stop().await;
}

/// A witness without a token of the log holds every leaf hash (from the public hash tiles),
/// checked against the signed root, and no entry or payload.
async fn leaves_only_without_a_token(server: &TestServer, backend: Backend) {
    let (store, _keep) = witness_store(backend).await;
    let source = leaves_only_source(server).await;
    let round = catch_up(store.db(), &source).await.expect("a round");
    assert_eq!(round, Round::Grew(0, ENTRIES + 300));
    let rows = mirror_entry::Entity::find()
        .all(store.db())
        .await
        .expect("rows");
    assert_eq!(rows.len() as u64, ENTRIES + 300);
    assert!(
        rows.iter()
            .all(|row| row.item.starts_with(b"VTLR") && row.payload_state == 0)
    );
    assert_eq!(
        catch_up(store.db(), &source).await.expect("a round"),
        Round::UpToDate(ENTRIES + 300)
    );
    // The copy's root at any size it holds is the log's (leaves, and kept level-8 nodes).
    let tree = recomputed_tree(server).await;
    for size in [
        1,
        2,
        255,
        256,
        257,
        511,
        512,
        700,
        767,
        768,
        ENTRIES + 299,
        ENTRIES + 300,
    ] {
        assert_eq!(
            root_at(store.db(), DEFAULT_ORIGIN, size)
                .await
                .expect("a root"),
            tree.root_at(size).expect("a root"),
            "size {size}"
        );
    }
}

/// A witness of the log `server` runs, in this process, mirroring it every 100 ms with
/// `token` (the log's bundles) and serving its copy's bundles to `copy-reader-secret`.
struct MirroringWitness {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
    _pg: Option<common::PgDatabase>,
}

impl MirroringWitness {
    async fn start(server: &TestServer, backend: Backend, token: &str) -> Self {
        Self::start_every(server, backend, token, Duration::from_millis(100)).await
    }

    /// Like [`MirroringWitness::start`], its follower's rounds `interval` apart (the first
    /// at once).
    async fn start_every(
        server: &TestServer,
        backend: Backend,
        token: &str,
        interval: Duration,
    ) -> Self {
        let pg = pg_database(backend).await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let token_file = dir.path().join("log.token");
        std::fs::write(&token_file, token).expect("token");
        let serve_token = dir.path().join("serve.token");
        std::fs::write(&serve_token, "copy-reader-secret\n").expect("token");
        let key = log_key(server).await;
        let config = WitnessConfig {
            data_dir: dir.path().join("witness"),
            database_url: pg.as_ref().map(|pg| pg.url.clone()),
            listen: "127.0.0.1:0".parse().expect("addr"),
            name: Some("witness.test/mirror".into()),
            logs: vec![
                format!("{DEFAULT_ORIGIN}={key}={}", server.url(""))
                    .parse()
                    .expect("log"),
            ],
        };
        let mirror = MirrorConfig {
            tokens: vec![(DEFAULT_ORIGIN.to_string(), token_file)],
            interval,
            serve_token_file: Some(serve_token),
        };
        let bound = BoundWitness::bind(&config)
            .await
            .expect("binds")
            .mirroring(mirror);
        let url = format!("http://{}", bound.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(bound.run(async {
            let _ = stopped.await;
        }));
        Self {
            url,
            stop,
            running,
            _dir: dir,
            _pg: pg,
        }
    }

    /// The file the witness reads the log's token from before every round.
    fn token_file(&self) -> std::path::PathBuf {
        self._dir.path().join("log.token")
    }

    /// Asks the witness to cosign the log's latest checkpoint, from `old` (the proof from
    /// the stored tree); returns the status and the body.
    async fn add_checkpoint(&self, server: &TestServer, old: u64) -> (u16, String) {
        let note =
            String::from_utf8(bytes(server, "/ledger/checkpoint", None).await).expect("UTF-8");
        let size = Verifier::from_key_string(&log_key(server).await)
            .expect("key")
            .open(&note)
            .expect("signed")
            .size;
        let consistency_proof = if old == 0 {
            Vec::new()
        } else {
            recomputed_tree(server)
                .await
                .consistency_proof(old, size)
                .expect("proof")
        };
        let body = AddCheckpointRequest {
            old_size: old,
            consistency_proof,
            checkpoint: note,
        }
        .to_body();
        let response = reqwest::Client::new()
            .post(format!("{}/add-checkpoint", self.url))
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Checks the sizes `/status` shows the witness cosigned and mirrored; returns it.
    async fn assert_sizes(&self, cosigned: u64, mirrored: u64) -> serde_json::Value {
        let status = self.status().await;
        let log = &status["logs"][0];
        assert_eq!(
            (&log["size"], &log["mirroredSize"]),
            (&json!(cosigned), &json!(mirrored)),
            "{status}"
        );
        status
    }

    async fn status(&self) -> serde_json::Value {
        reqwest::get(format!("{}/status", self.url))
            .await
            .expect("status")
            .json()
            .await
            .expect("JSON")
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.running
            .await
            .expect("joins")
            .expect("the witness stops cleanly");
    }
}

/// A PostgreSQL database of its own for a witness on `backend`, or none for SQLite.
async fn pg_database(backend: Backend) -> Option<common::PgDatabase> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(common::PgDatabase::create().await.expect("PostgreSQL")),
    }
}

/// An empty witness store on `backend`, with what must outlive it.
async fn witness_store(
    backend: Backend,
) -> (
    WitnessStore,
    (tempfile::TempDir, Option<common::PgDatabase>),
) {
    let pg = pg_database(backend).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = WitnessStore::open(dir.path(), pg.as_ref().map(|pg| pg.url.as_str()))
        .await
        .expect("witness store");
    (store, (dir, pg))
}

/// The log's verifier key.
async fn log_key(server: &TestServer) -> String {
    open_stores(&server.store.config())
        .await
        .expect("stores")
        .ledger
        .verifier_key()
}

/// The log of `server`, followed without a token (leaf hashes only).
async fn leaves_only_source(server: &TestServer) -> MirrorSource {
    MirrorSource {
        origin: DEFAULT_ORIGIN.to_string(),
        verifier: Verifier::from_key_string(&log_key(server).await).expect("key"),
        prefix: server.url("/ledger"),
        token_file: None,
    }
}

/// The operator stops asking a witness to cosign and rewrites history from entry 650 on.
/// The witness's mirror, which follows the log on its own, finds that the new checkpoint
/// does not extend its copy: it keeps both signed checkpoints as evidence, raises the alarm
/// once, and keeps its copy as it was. A follower that holds leaf hashes only finds the same.
async fn a_mirror_catches_a_rewrite_the_log_hides_from_it(backend: Backend) {
    let Some((server, admin, _)) = seeded(backend).await else {
        return;
    };
    let witness = MirroringWitness::start(&server, backend, &admin).await;
    let (leaves_only, _keep) = witness_store(backend).await;
    let source = leaves_only_source(&server).await;
    wait_for_mirrored(&server, &witness.url, ENTRIES).await;
    assert_eq!(
        catch_up(leaves_only.db(), &source).await.expect("a round"),
        Round::Grew(0, ENTRIES)
    );
    let held = String::from_utf8(bytes(&server, "/ledger/checkpoint", None).await).expect("UTF-8");

    truncate_ledger(&server.store, ENTRIES - 50).await;
    append(&server.store, 100);
    let rewritten = ENTRIES + 50;
    let mut status = witness.status().await;
    for _ in 0..300 {
        if status["alarm"] == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = witness.status().await;
    }
    assert_eq!(status["alarm"], json!(true), "{status}");
    let evidence = &status["evidence"][0];
    assert_eq!(evidence["cosignedSize"], json!(ENTRIES), "{status}");
    assert_eq!(evidence["presentedSize"], json!(rewritten), "{status}");
    assert!(
        evidence["reason"]
            .as_str()
            .is_some_and(|r| r.contains("does not chain")),
        "{status}"
    );
    assert_eq!(evidence["cosignedCheckpoint"], json!(held), "{status}");
    // Both notes verify under the log's key: proof that the log signed both.
    let log = Verifier::from_key_string(&log_key(&server).await).expect("key");
    for note in [
        &evidence["cosignedCheckpoint"],
        &evidence["presentedCheckpoint"],
    ] {
        log.open(note.as_str().expect("a note"))
            .expect("signed by the log");
    }
    let metrics = reqwest::get(format!("{}/metrics", witness.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("\nveritrial_witness_evidence 1\n"),
        "{metrics}"
    );

    // Later rounds find the same contradiction and keep it once; the copy is as it was.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = witness.status().await;
    assert_eq!(status["evidenceCount"], json!(1), "{status}");
    assert_eq!(
        status["logs"][0]["mirroredSize"],
        json!(ENTRIES),
        "{status}"
    );

    match catch_up(leaves_only.db(), &source).await.expect("a round") {
        Round::Contradicted(c) => {
            assert_eq!((c.held_size, c.presented_size), (ENTRIES, rewritten));
            assert!(c.reason.contains("do not lead to the root"), "{}", c.reason);
        }
        other => panic!("the leaves-only follower saw {other:?}"),
    }
    witness.stop().await;
}

/// A witness that mirrors the log cosigns only what it holds. Asked to cosign a checkpoint
/// past its copy (its follower's next round an hour away), it mirrors up to it first; when
/// it cannot (the log refuses it the bundles), it answers 503, cosigns nothing, and does
/// once it can.
async fn a_mirroring_witness_cosigns_only_what_it_holds(backend: Backend) {
    let Some((server, admin, _)) = seeded(backend).await else {
        return;
    };
    let witness =
        MirroringWitness::start_every(&server, backend, &admin, Duration::from_secs(3600)).await;
    wait_for_mirrored(&server, &witness.url, ENTRIES).await;
    append(&server.store, 300);
    let (code, body) = witness.add_checkpoint(&server, 0).await;
    assert_eq!(code, 200, "{body}");
    witness.assert_sizes(ENTRIES + 300, ENTRIES + 300).await;

    std::fs::write(witness.token_file(), "not-a-token-of-the-log").expect("token");
    append(&server.store, 100);
    let (code, body) = witness.add_checkpoint(&server, ENTRIES + 300).await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("cosigns only entries it holds"), "{body}");
    witness.assert_sizes(ENTRIES + 300, ENTRIES + 300).await;

    std::fs::write(witness.token_file(), &admin).expect("token");
    let (code, body) = witness.add_checkpoint(&server, ENTRIES + 300).await;
    assert_eq!(code, 200, "{body}");
    let status = witness.assert_sizes(ENTRIES + 400, ENTRIES + 400).await;
    assert_eq!(status["evidenceCount"], json!(0), "{status}");
    witness.stop().await;
}

/// Waits until the witness's `/status` shows `size` entries mirrored, and the log's
/// checkpoint is of that size.
async fn wait_for_mirrored(server: &TestServer, witness: &str, size: u64) {
    for _ in 0..300 {
        if mirrored_size(server, witness).await == json!(size) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the witness did not mirror {size} entries in 30 s");
}

async fn mirrored_size(server: &TestServer, witness: &str) -> serde_json::Value {
    let status: serde_json::Value = server
        .http
        .get(format!("{witness}/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("JSON");
    status["logs"][0]["mirroredSize"].clone()
}

on_both_databases!(
    tiles_serve_the_stored_tree,
    a_mirror_catches_a_rewrite_the_log_hides_from_it,
    a_mirroring_witness_cosigns_only_what_it_holds,
    restore_rebuilds_a_verifying_ledger,
    a_tampered_copy_is_refused,
    a_witness_mirrors_the_log_and_a_lost_log_is_restored_from_it
);
