//! The search index is a projection of the database: every server's index follows the
//! outbox, so a change committed through one server is in the next query on another; an
//! index that does not match its database is rebuilt, and a restarted server resumes.

mod common;

use common::{Backend, TestServer, TestStore};
use matcher::IndexConfig;
use matcher::Watermark;
use matcher::criteria::parse;
use matcher::index::{IndexChange, ProfileIndex};
use matcher::profile::{Profile, Sex};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::http::HttpLimits;
use veritrial::server::open_stores;
use veritrial::services::{cohort_sql, outbox, patients};

const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $g: Boolean!, $v: String, $d: NaiveDate) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: \"test-password-123\") { ledgerSeq } }";
const COHORT: &str = "{ cohort(criteria: \"age >= 50\") { count } }";
const SITE_EMAIL: &str = "crc@stmarys.org";

/// A site and its token on `server`; returns (site org id, token).
async fn site(server: &TestServer) -> (String, String) {
    let id = server.org("St Mary's", OrgKind::Site).await;
    let token = server.user(SITE_EMAIL, "St Mary's", Role::Site).await;
    (id, token)
}

/// Registers an adult patient through `server` and grants recruitment contact; returns the
/// pseudonym.
async fn consenting_patient(server: &TestServer, token: &str, local_id: &str) -> String {
    let input = json!({
        "localId": local_id, "birthDate": "1960-01-01", "sex": "FEMALE", "zip": "02139",
        "conditions": [], "medications": [], "labs": [], "terms": [],
    });
    let pseudonym = server
        .ok(Some(token), REGISTER, json!({ "i": input }))
        .await["registerPatient"]["pseudonym"]
        .as_str()
        .unwrap()
        .to_string();
    consent(server, token, &pseudonym, true).await;
    pseudonym
}

async fn consent(server: &TestServer, token: &str, pseudonym: &str, granted: bool) {
    server
        .ok(
            Some(token),
            CONSENT,
            json!({ "p": pseudonym, "g": granted, "v": granted.then_some("v1"), "d": granted.then_some("2026-12-01") }),
        )
        .await;
}

/// The site's exact count of its own patients aged 50 or more, on `server`.
async fn count(server: &TestServer, token: &str) -> u64 {
    let data = server.ok(Some(token), COHORT, json!({})).await;
    data["cohort"]["count"].as_u64().expect("an exact count")
}

async fn healthz(server: &TestServer) -> Value {
    let response = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.json().await.unwrap()
}

/// What the database says: patients aged 50 or more (by plain SQL), those of them whose
/// recruitment consent is in force (every test patient is over 50), and the outbox head.
async fn database_truth(store: &TestStore) -> (u64, u64, u64) {
    let stores = open_stores(&store.config()).await.expect("stores");
    let expr = parse("age >= 50").unwrap();
    (
        cohort_sql::count(&stores.db, &expr).await.unwrap(),
        patients::consenting_count(&stores.db).await.unwrap(),
        outbox::head(&stores.db).await.unwrap(),
    )
}

/// Writes to a stopped server's profile index directly, as a bug or an operator might.
fn tamper(store: &TestStore, f: impl FnOnce(&ProfileIndex)) {
    let dir = store.config().data_dir.join("index").join("profiles");
    let (index, _) = ProfileIndex::open(dir, IndexConfig::default()).expect("index opens");
    f(&index);
}

/// A consenting profile of `site` aged 55 that the database has never heard of.
fn stranger(site: &str) -> Profile {
    Profile {
        pseudonym: "not-in-the-database".into(),
        site_id: site.into(),
        age: 55,
        sex: Sex::Male,
        zip3: "021".into(),
        conditions: vec![],
        medications: vec![],
        procedures: vec![],
        labs: vec![],
        terms: vec![],
    }
}

/// A consent through server A is counted by the next query on server B, and a withdrawal
/// through A is out of B's next count: no waiting, no retries.
async fn changes_through_one_server_are_in_the_next_query_on_another(backend: Backend) {
    let Some(a) = TestServer::start(backend).await else {
        return;
    };
    let (_, token) = site(&a).await;
    let b = a.second_on_same_database().await;
    let token_b = b.login(SITE_EMAIL).await;
    assert_eq!(count(&b, &token_b).await, 0);
    let mut patients = Vec::new();
    for i in 0..3 {
        patients.push(consenting_patient(&a, &token, &format!("MRN-{i}")).await);
        assert_eq!(
            count(&b, &token_b).await,
            i + 1,
            "consent {i} through A, counted on B"
        );
    }
    consent(&a, &token, &patients[1], false).await;
    assert_eq!(
        count(&b, &token_b).await,
        2,
        "a withdrawal through A is out on B"
    );
    consent(&b, &token_b, &patients[1], true).await;
    assert_eq!(count(&a, &token).await, 3, "and the other way round");

    assert_eq!(count(&b, &token_b).await, 3);
    let (_, _, head) = database_truth(&a.store).await;
    let health = healthz(&b).await;
    assert_eq!(health["index"]["watermark"], head, "{health}");
}

/// An index whose watermark names another database is rebuilt from this one on start.
async fn an_index_of_another_database_is_rebuilt(backend: Backend) {
    let Some(a) = TestServer::start(backend).await else {
        return;
    };
    let (site_id, token) = site(&a).await;
    consenting_patient(&a, &token, "MRN-1").await;
    assert_eq!(count(&a, &token).await, 1);
    let store = a.stop().await;
    tamper(&store, |index| {
        let other = Watermark::new("another-database", 1_000);
        index
            .apply_at(&[IndexChange::Upsert(stranger(&site_id))], &other)
            .unwrap();
        assert_eq!(index.len(), 2);
    });
    let a = TestServer::start_on(store, HttpLimits::default()).await;
    let token = a.login(SITE_EMAIL).await;
    assert_eq!(count(&a, &token).await, 1, "the stranger is gone");
    let (_, _, head) = database_truth(&a.store).await;
    assert_eq!(healthz(&a).await["index"]["watermark"], head);
}

/// An index with the right number of documents and the wrong ones is corrected: written
/// without a watermark, it is rebuilt on start; with a watermark that hides the damage,
/// `veritrial reindex --full` rebuilds it.
async fn an_index_with_the_right_count_and_wrong_contents_is_corrected(backend: Backend) {
    let Some(a) = TestServer::start(backend).await else {
        return;
    };
    let (site_id, token) = site(&a).await;
    let p = consenting_patient(&a, &token, "MRN-1").await;
    assert_eq!(count(&a, &token).await, 1);
    let swap = [
        IndexChange::Remove {
            pseudonym: p.clone(),
        },
        IndexChange::Upsert(Profile {
            age: 20,
            ..stranger(&site_id)
        }),
    ];

    let store = a.stop().await;
    tamper(&store, |index| {
        index.apply(&swap).unwrap();
        assert_eq!(index.len(), 1, "the same count");
    });
    let a = TestServer::start_on(store, HttpLimits::default()).await;
    let token = a.login(SITE_EMAIL).await;
    assert_eq!(count(&a, &token).await, 1, "rebuilt: the patient is back");

    let store = a.stop().await;
    tamper(&store, |index| {
        let at = index.watermark().expect("a watermark");
        index.apply_at(&swap, &at).unwrap();
    });
    let reindex = store.cli().args(["reindex", "--full"]).output().unwrap();
    assert!(reindex.status.success(), "{reindex:?}");
    let a = TestServer::start_on(store, HttpLimits::default()).await;
    let token = a.login(SITE_EMAIL).await;
    assert_eq!(count(&a, &token).await, 1, "reindex --full rebuilt it");
}

/// A server stopped while others write resumes from its watermark on restart, and its counts
/// equal the database's.
async fn a_restarted_server_resumes_from_its_watermark(backend: Backend) {
    let Some(a) = TestServer::start(backend).await else {
        return;
    };
    let (_, token) = site(&a).await;
    let first = consenting_patient(&a, &token, "MRN-0").await;
    let b = a.second_on_same_database().await;
    let token_b = b.login(SITE_EMAIL).await;
    let store = a.stop().await;
    let (_, _, stopped_at) = database_truth(&store).await;
    for i in 1..4 {
        consenting_patient(&b, &token_b, &format!("MRN-{i}")).await;
    }
    let (all, consenting, _) = database_truth(&store).await;
    assert_eq!((all, consenting), (4, 4));
    consent(&b, &token_b, &first, false).await;
    let (_, expected, head) = database_truth(&store).await;
    assert!(head > stopped_at);
    assert_eq!(expected, 3);

    let a = TestServer::start_on(store, HttpLimits::default()).await;
    let health = healthz(&a).await;
    assert_eq!(
        health["index"]["watermark"], head,
        "caught up on start: {health}"
    );
    let token = a.login(SITE_EMAIL).await;
    assert_eq!(count(&a, &token).await, expected);
    assert_eq!(count(&b, &token_b).await, expected);
}

/// An outbox pruned past a stopped server's watermark: the server cannot resume from it, so
/// it rebuilds its index on start, and its counts equal the database's.
async fn a_server_behind_the_pruned_outbox_rebuilds(backend: Backend) {
    let Some(a) = TestServer::start(backend).await else {
        return;
    };
    let (_, token) = site(&a).await;
    let first = consenting_patient(&a, &token, "MRN-0").await;
    let b = a.second_on_same_database_with(2).await;
    let token_b = b.login(SITE_EMAIL).await;
    let store = a.stop().await;
    let (_, _, stopped_at) = database_truth(&store).await;
    for i in 1..6 {
        consenting_patient(&b, &token_b, &format!("MRN-{i}")).await;
    }
    consent(&b, &token_b, &first, false).await;
    assert_eq!(count(&b, &token_b).await, 5);

    let stores = open_stores(&store.config()).await.expect("stores");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pruned = loop {
        let pruned = outbox::pruned_through(&stores.db).await.unwrap();
        if pruned > stopped_at || std::time::Instant::now() > deadline {
            break pruned;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        pruned > stopped_at,
        "b pruned past a's watermark ({pruned} <= {stopped_at})"
    );
    let kept = outbox::after(&stores.db, 0, 1_000).await.unwrap();
    assert!(!kept.is_empty(), "the last row is kept");
    assert!(
        kept.iter()
            .all(|row| outbox::position(row.position) > pruned),
        "every row up to {pruned} is gone"
    );

    drop(stores);

    let (_, expected, head) = database_truth(&store).await;
    assert_eq!(expected, 5);
    let a = TestServer::start_on(store, HttpLimits::default()).await;
    let health = healthz(&a).await;
    assert_eq!(
        health["index"]["watermark"], head,
        "rebuilt at the head: {health}"
    );
    let token = a.login(SITE_EMAIL).await;
    assert_eq!(count(&a, &token).await, expected);
}

on_both_databases!(
    a_server_behind_the_pruned_outbox_rebuilds,
    changes_through_one_server_are_in_the_next_query_on_another,
    an_index_of_another_database_is_rebuilt,
    an_index_with_the_right_count_and_wrong_contents_is_corrected,
    a_restarted_server_resumes_from_its_watermark,
);
