//! The index proposes, the database decides: a stale index never acts on a withdrawn
//! consent. (Concurrent enrollments and invitations through several processes:
//! `many_servers.rs`.)

mod common;

use common::{Backend, TestServer};
use matcher::IndexConfig;
use matcher::index::{IndexChange, ProfileIndex};
use matcher::profile::{Profile, Sex};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::http::HttpLimits;

const PUBLISH: &str = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }";
const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $s: ConsentScope!, $t: ID, $g: Boolean!, $v: String, $d: NaiveDate) { recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: \"test-password-123\") { ledgerSeq } }";
const INVITE: &str = "mutation($t: ID!) { inviteCohort(trialId: $t) { ledgerSeq } }";
const INVITATIONS: &str = "query($t: ID!) { invitations(trialId: $t) { pseudonym } }";

struct Trial {
    server: TestServer,
    trial: String,
    site_id: String,
    site: String,
    patients: Vec<String>,
}

/// A recruiting trial at one site, and `n` adult patients of that site who consented to be
/// contacted.
async fn trial_with_patients(backend: Backend, n: usize) -> Option<Trial> {
    let server = TestServer::start(backend).await?;
    let site_id = server.org("St Mary's", OrgKind::Site).await;
    server.org("Helix", OrgKind::Sponsor).await;
    server.org("TrialReach", OrgKind::Recruiter).await;
    let board_id = server.org("IRB", OrgKind::Ethics).await;
    let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let site = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    server
        .user("r@trialreach.com", "TrialReach", Role::Recruiter)
        .await;
    let protocol = json!({
        "title": "Adults", "summary": "s", "phase": "PHASE2", "primaryEndpoint": "e",
        "secondaryEndpoints": [], "targetEnrollment": 10, "criteria": "age >= 18",
        "siteIds": [site_id], "ethicsBoardId": board_id, "conditions": [], "keywords": [],
    });
    let trial = server
        .ok(Some(&sponsor), PUBLISH, json!({ "i": protocol }))
        .await["publishProtocol"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let board = server.user("board@irb.test", "IRB", Role::Ethics).await;
    server.approve(&board, &trial, 1).await;
    let mut patients = Vec::new();
    for i in 0..n {
        let input = json!({
            "localId": format!("MRN-{i}"), "birthDate": "1970-01-01", "sex": "FEMALE",
            "zip": "02139", "conditions": [], "medications": [], "labs": [], "terms": [],
        });
        let pseudonym = server
            .ok(Some(&site), REGISTER, json!({ "i": input }))
            .await["registerPatient"]["pseudonym"]
            .as_str()
            .unwrap()
            .to_string();
        let contact = json!({ "p": pseudonym, "s": "RECRUITMENT_CONTACT", "t": null, "g": true, "v": "v1", "d": "2026-12-01" });
        server.ok(Some(&site), CONSENT, contact).await;
        patients.push(pseudonym);
    }
    Some(Trial {
        server,
        trial,
        site_id,
        site,
        patients,
    })
}

fn invited(data: &Value) -> Vec<String> {
    let mut out: Vec<String> = data["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pseudonym"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// An index that still holds a patient who withdrew (its directory was written to behind the
/// indexer's back, with a watermark that hides it) still invites only the patients whose
/// consent is in force.
async fn a_stale_index_never_invites_a_withdrawn_patient(backend: Backend) {
    let Some(t) = trial_with_patients(backend, 3).await else {
        return;
    };
    let leaving = t.patients[0].clone();
    let withdraw = json!({ "p": leaving, "s": "RECRUITMENT_CONTACT", "t": null, "g": false });
    t.server.ok(Some(&t.site), CONSENT, withdraw).await;
    let cohort = "{ cohort(criteria: \"age >= 18\") { count } }";
    let fresh = t.server.ok(Some(&t.site), cohort, json!({})).await;
    assert_eq!(fresh["cohort"]["count"], 2, "the index saw the withdrawal");
    let site_id = t.site_id.clone();
    let store = t.server.stop().await;
    let dir = store.config().data_dir.join("index").join("profiles");
    {
        let (index, _) = ProfileIndex::open(dir, IndexConfig::default()).unwrap();
        let at = index.watermark().expect("a watermark");
        let stale = Profile {
            pseudonym: leaving,
            site_id,
            age: 56,
            sex: Sex::Female,
            zip3: "021".into(),
            conditions: vec![],
            medications: vec![],
            procedures: vec![],
            labs: vec![],
            terms: vec![],
        };
        index.apply_at(&[IndexChange::Upsert(stale)], &at).unwrap();
    }
    let server = TestServer::start_on(store, HttpLimits::default()).await;
    let site = server.login("crc@stmarys.org").await;
    let recruiter = server.login("r@trialreach.com").await;
    // The index still holds the patient who left...
    let stale = server.ok(Some(&site), cohort, json!({})).await;
    assert_eq!(stale["cohort"]["count"], 3, "the index is stale");
    // ...but the invitation goes by the database.
    server
        .ok(Some(&recruiter), INVITE, json!({ "t": t.trial }))
        .await;
    let list = server
        .ok(Some(&site), INVITATIONS, json!({ "t": t.trial }))
        .await;
    let mut expected = t.patients[1..].to_vec();
    expected.sort();
    assert_eq!(invited(&list), expected);
}

on_both_databases!(a_stale_index_never_invites_a_withdrawn_patient);
