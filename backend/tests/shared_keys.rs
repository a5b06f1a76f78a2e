//! Several servers on one database and one key directory act as one: one pseudonym per
//! patient, tokens accepted everywhere, checkpoints verifiable everywhere, and a rotated
//! ledger key leaves every checkpoint verifiable.

mod common;

use common::{Backend, TestServer, TestStore};
use ledger::Verifier;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::{checkpoint, ledger_entry};
use veritrial::server::open_stores;

const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { ledgerSeq } }";
const HEAD: &str = "{ ledgerHead { checkpoint publicKey size } }";
const VERIFY: &str = "{ verifyLedger { ok entriesChecked problems } }";

/// A server with a site user and an ethics user; returns (server, site token, ethics token).
async fn site_and_ethics(backend: Backend) -> Option<(TestServer, String, String)> {
    let server = TestServer::start(backend).await?;
    server.org("St Mary's", OrgKind::Site).await;
    server.org("IRB", OrgKind::Ethics).await;
    let site = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    let ethics = server.user("e@irb.org", "IRB", Role::Ethics).await;
    Some((server, site, ethics))
}

async fn register(server: &TestServer, token: &str, local_id: &str) -> String {
    let input = json!({
        "localId": local_id, "birthDate": "1970-01-01", "sex": "FEMALE",
        "zip": "02139", "conditions": [], "medications": [], "labs": [], "terms": [],
    });
    server
        .ok(Some(token), REGISTER, json!({ "i": input }))
        .await["registerPatient"]["pseudonym"]
        .as_str()
        .expect("pseudonym")
        .to_string()
}

/// Registers a patient and records a consent: one more ledger entry and checkpoint.
/// Two entries: the consent and the staff member's signature of it.
async fn ledgered_write(server: &TestServer, site: &str, local_id: &str) {
    let pseudonym = register(server, site, local_id).await;
    server
        .ok(Some(site), CONSENT, json!({ "p": pseudonym }))
        .await;
}

async fn head(server: &TestServer, ethics: &str) -> Value {
    server.ok(Some(ethics), HEAD, json!({})).await["ledgerHead"].clone()
}

/// Checks `head`'s note with its own key (and returns that key).
fn opens_with_its_key(head: &Value) -> String {
    let key = head["publicKey"].as_str().expect("key").to_string();
    let note = head["checkpoint"].as_str().expect("note");
    let checkpoint = Verifier::from_key_string(&key)
        .expect("verifier key")
        .open(note)
        .expect("the checkpoint verifies with the key named beside it");
    assert_eq!(Some(checkpoint.size), head["size"].as_u64());
    key
}

async fn assert_verifies(server: &TestServer, ethics: &str, entries: u64) {
    let report = server.ok(Some(ethics), VERIFY, json!({})).await["verifyLedger"].clone();
    assert_eq!(report["ok"], json!(true), "{report}");
    assert_eq!(report["entriesChecked"], json!(entries), "{report}");
}

/// The same local id through two servers is one patient, and a token signed on one server
/// is accepted by the other.
async fn one_pseudonym_and_one_sign_in_across_servers(backend: Backend) {
    let Some((a, site_on_a, _)) = site_and_ethics(backend).await else {
        return;
    };
    let b = a.second_on_same_database().await;
    let site_on_b = b.login("crc@stmarys.org").await;
    let via_a = register(&a, &site_on_a, "MRN-1").await;
    // The token signed by A, used on B (and B's on A).
    let via_b = register(&b, &site_on_a, "MRN-1").await;
    assert_eq!(via_a, via_b);
    assert_eq!(register(&a, &site_on_b, "MRN-1").await, via_a);
    assert_ne!(register(&b, &site_on_b, "MRN-2").await, via_a);
}

/// A checkpoint signed through A is verified through B, with the key recorded beside it.
async fn a_checkpoint_signed_via_one_server_verifies_via_another(backend: Backend) {
    let Some((a, site, ethics)) = site_and_ethics(backend).await else {
        return;
    };
    let b = a.second_on_same_database().await;
    ledgered_write(&a, &site, "MRN-1").await;
    let seen_by_b = head(&b, &ethics).await;
    assert_eq!(seen_by_b, head(&a, &ethics).await);
    assert_eq!(seen_by_b["size"], json!(2));
    opens_with_its_key(&seen_by_b);
    assert_verifies(&b, &ethics, 2).await;
    ledgered_write(&b, &site, "MRN-2").await;
    assert_verifies(&a, &ethics, 4).await;
}

/// After `keys rotate-ledger`, old checkpoints verify with the old key, new ones with the
/// new key; a server still holding the old key keeps signing verifiable checkpoints until
/// it is restarted; the hand-over entry is in the ledger, its checkpoint cosigned.
async fn a_rotated_key_leaves_every_checkpoint_verifiable(backend: Backend) {
    let Some((a, site, ethics)) = site_and_ethics(backend).await else {
        return;
    };
    ledgered_write(&a, &site, "MRN-1").await;
    let before = head(&a, &ethics).await;
    let old_key = opens_with_its_key(&before);

    let rotated = a
        .store
        .cli()
        .args(["keys", "rotate-ledger"])
        .output()
        .expect("runs");
    assert!(rotated.status.success(), "{rotated:?}");
    let shown = a.store.cli().args(["keys", "show"]).output().expect("runs");
    let shown = String::from_utf8(shown.stdout).expect("UTF-8");
    let new_key = shown
        .lines()
        .find_map(|line| line.strip_prefix("current: "))
        .expect("the current key is shown")
        .to_string();
    assert_ne!(new_key, old_key);
    assert!(
        shown.contains(&format!("retired: {old_key} (ledger.ed25519.pk8.")),
        "{shown}"
    );

    // The hand-over entry (seq 2), its checkpoint signed by the new key, cosigned by the old.
    let stores = open_stores(&a.store.config()).await.expect("stores");
    let rotation = ledger_entry::Entity::find_by_id(2)
        .one(&stores.db)
        .await
        .expect("read")
        .expect("the hand-over entry");
    assert_eq!(rotation.kind, "ledger.key_rotated");
    let subjects: Value = serde_json::from_str(&rotation.subjects).expect("JSON");
    assert_eq!(subjects, json!({ "new_key": new_key, "old_key": old_key }));
    let hand_over = checkpoint::Entity::find_by_id(3)
        .one(&stores.db)
        .await
        .expect("read")
        .expect("the hand-over's checkpoint");
    assert_eq!(hand_over.verifier_key.as_deref(), Some(new_key.as_str()));
    for key in [&old_key, &new_key] {
        let cp = Verifier::from_key_string(key)
            .expect("key")
            .open(&hand_over.note);
        assert_eq!(cp.expect("signed by both keys").size, 3);
    }

    // A was not restarted: it still signs with the old key, and says so.
    ledgered_write(&a, &site, "MRN-2").await;
    let stale = head(&a, &ethics).await;
    assert_eq!(opens_with_its_key(&stale), old_key);
    // An export made now (by a CLI process holding the new key) carries the key that signed
    // its checkpoint: the old one.
    let export = a.store.data_dir.path().join("ledger.jsonl");
    let exported = a
        .store
        .cli()
        .args(["ledger", "export", "--out"])
        .arg(&export)
        .output();
    assert!(exported.expect("runs").status.success());
    let verified = a
        .store
        .cli()
        .arg("verify")
        .arg(&export)
        .args(["--public-key", &old_key])
        .output();
    let verified = verified.expect("runs");
    assert!(verified.status.success(), "{verified:?}");
    // B starts after the rotation: it verifies A's checkpoint, then signs with the new key.
    let b = a.second_on_same_database().await;
    assert_verifies(&b, &ethics, 5).await;
    ledgered_write(&b, &site, "MRN-3").await;
    let fresh = head(&a, &ethics).await;
    assert_eq!(opens_with_its_key(&fresh), new_key);
    assert_verifies(&a, &ethics, 7).await;
    assert_verifies(&b, &ethics, 7).await;
    // The checkpoint handed out before the rotation still verifies with the old key.
    assert_eq!(opens_with_its_key(&before), old_key);
}

/// A checkpoint naming a key that is none of this node's is reported, not trusted.
async fn a_checkpoint_signed_by_a_stranger_fails_verification(backend: Backend) {
    let Some((a, site, ethics)) = site_and_ethics(backend).await else {
        return;
    };
    ledgered_write(&a, &site, "MRN-1").await;
    let pkcs8 = ledger::Signer::generate_pkcs8().expect("key");
    let stranger = ledger::Signer::from_pkcs8(veritrial::services::ledger::DEFAULT_ORIGIN, &pkcs8)
        .expect("signer");
    let stores = open_stores(&a.store.config()).await.expect("stores");
    let row = checkpoint::Entity::find_by_id(2)
        .one(&stores.db)
        .await
        .expect("read")
        .expect("checkpoint");
    let ours = Verifier::from_key_string(row.verifier_key.as_deref().expect("key recorded"))
        .expect("key")
        .open(&row.note)
        .expect("ours");
    let mut forged: checkpoint::ActiveModel = row.into();
    forged.note = sea_orm::ActiveValue::Set(stranger.sign(&ours).expect("sign"));
    forged.verifier_key = sea_orm::ActiveValue::Set(Some(stranger.verifier_key()));
    checkpoint::Entity::update(forged)
        .exec(&stores.db)
        .await
        .expect("forged");
    let report = a.ok(Some(&ethics), VERIFY, json!({})).await["verifyLedger"].clone();
    assert_eq!(report["ok"], json!(false), "{report}");
    assert!(
        report["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains(&stranger.verifier_key())),
        "{report}"
    );
}

/// A key file that is empty is an error naming it, never replaced; `keys show` before the
/// first start says there is no key yet.
async fn an_empty_key_file_is_an_error_naming_it(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let keys = store.data_dir.path().join("shared-keys");
    std::fs::create_dir_all(&keys).expect("key directory");
    let show = store
        .cli()
        .args(["keys", "show", "--keys-dir"])
        .arg(&keys)
        .output();
    let show = show.expect("runs");
    assert!(!show.status.success());
    assert!(
        String::from_utf8_lossy(&show.stderr).contains("no ledger key"),
        "{show:?}"
    );
    std::fs::write(keys.join("ledger.ed25519.pk8"), b"").expect("empty key");
    let migrate = store
        .cli()
        .args(["migrate", "--keys-dir"])
        .arg(&keys)
        .output();
    let migrate = migrate.expect("runs");
    assert!(!migrate.status.success());
    let stderr = String::from_utf8_lossy(&migrate.stderr);
    assert!(
        stderr.contains("ledger.ed25519.pk8") && stderr.contains("empty"),
        "{stderr}"
    );
    assert!(
        std::fs::read(keys.join("ledger.ed25519.pk8"))
            .expect("kept")
            .is_empty()
    );
}

on_both_databases!(
    an_empty_key_file_is_an_error_naming_it,
    one_pseudonym_and_one_sign_in_across_servers,
    a_checkpoint_signed_via_one_server_verifies_via_another,
    a_rotated_key_leaves_every_checkpoint_verifiable,
    a_checkpoint_signed_by_a_stranger_fails_verification
);
