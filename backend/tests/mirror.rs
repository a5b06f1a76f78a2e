//! The log served as tlog-tiles, and a ledger restored from such a copy: tiles agree with
//! the stored tree, bundles follow the readers' visibility, a tampered copy is refused, and
//! a restored store verifies with nothing lost.

mod common;

use common::{Backend, TestServer, TestStore};
use ledger::merkle::MemoryTree;
use ledger::tiles::{MirrorChecker, parse_hash_tile};
use ledger::{Hash, Verifier};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use std::time::Duration;

use serde_json::json;
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::mirror_entry;
use veritrial::entities::{checkpoint, ledger_entry, ledger_payload, merkle_node};
use veritrial::server::open_stores;
use veritrial::witness::mirror::{MirrorConfig, MirrorSource, Round, catch_up};
use veritrial::witness::mirror_http::origin_segment;
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
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(common::PgDatabase::create().await.expect("PostgreSQL")),
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let token_file = dir.path().join("log.token");
    std::fs::write(&token_file, &admin).expect("token");
    let serve_token = dir.path().join("serve.token");
    std::fs::write(&serve_token, "copy-reader-secret\n").expect("token");
    let key = open_stores(&server.store.config())
        .await
        .expect("stores")
        .ledger
        .verifier_key();
    let origin = veritrial::services::ledger::DEFAULT_ORIGIN;
    let config = WitnessConfig {
        data_dir: dir.path().join("witness"),
        database_url: pg.as_ref().map(|pg| pg.url.clone()),
        listen: "127.0.0.1:0".parse().expect("addr"),
        name: Some("witness.test/mirror".into()),
        logs: vec![
            format!("{origin}={key}={}", server.url(""))
                .parse()
                .expect("log"),
        ],
    };
    let mirror = MirrorConfig {
        tokens: vec![(origin.to_string(), token_file)],
        interval: Duration::from_millis(100),
        serve_token_file: Some(serve_token),
    };
    let bound = BoundWitness::bind(&config)
        .await
        .expect("binds")
        .mirroring(mirror);
    let witness = format!("http://{}", bound.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(bound.run(async {
        let _ = stopped.await;
    }));

    wait_for_mirrored(&server, &witness, ENTRIES).await;
    append(&server.store, 300);
    wait_for_mirrored(&server, &witness, ENTRIES + 300).await;
    leaves_only_without_a_token(&server, backend, &key).await;

    let copy = format!("{witness}/mirror/{}", origin_segment(origin));
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
    wait_for_mirrored(&server, &witness, ENTRIES + 400).await;
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
    let _ = stop.send(());
    running
        .await
        .expect("joins")
        .expect("the witness stops cleanly");
}

/// A witness without a token of the log holds every leaf hash (from the public hash tiles),
/// checked against the signed root, and no entry or payload.
async fn leaves_only_without_a_token(server: &TestServer, backend: Backend, key: &str) {
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(common::PgDatabase::create().await.expect("PostgreSQL")),
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = WitnessStore::open(dir.path(), pg.as_ref().map(|pg| pg.url.as_str()))
        .await
        .expect("witness store");
    let source = MirrorSource {
        origin: veritrial::services::ledger::DEFAULT_ORIGIN.to_string(),
        verifier: Verifier::from_key_string(key).expect("key"),
        prefix: server.url("/ledger"),
        token_file: None,
    };
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
    restore_rebuilds_a_verifying_ledger,
    a_tampered_copy_is_refused,
    a_witness_mirrors_the_log_and_a_lost_log_is_restored_from_it
);
