//! Three `veritrial serve` processes on one database, as behind a load balancer, with a
//! client spreading its requests over them: every process counts what any process wrote,
//! one key signs the ledger and makes the pseudonyms, races between processes enroll and
//! invite once, and a process killed in the middle of a burst resumes its index.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Backend, TestServer};
use futures::StreamExt;
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use veritrial::domain::{ConsentScope, OrgKind, Role};
use veritrial::entities::{consent, enrollment};
use veritrial::server::open_stores;
use veritrial::services::patients;

const PUBLISH: &str = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }";
const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $s: ConsentScope!, $t: ID, $g: Boolean!, $v: String, $d: NaiveDate) { recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: \"test-password-123\") { ledgerSeq } }";
const ENROLL: &str =
    "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }";
const INVITE: &str = "mutation($t: ID!) { inviteCohort(trialId: $t) { ledgerSeq } }";
const INVITATIONS: &str = "query($t: ID!) { invitations(trialId: $t) { pseudonym } }";
const COUNT: &str = "{ cohort(criteria: \"age >= 18\") { count approximate } }";
const VERIFY: &str = "{ verifyLedger { ok entriesChecked problems } ledgerHead { publicKey } }";

/// Three processes on one fresh database; a site, a recruiter, an ethics board and a
/// trial of the site for adults, each account signed in through a different process.
struct Cluster {
    servers: Vec<TestServer>,
    site: String,
    recruiter: String,
    ethics: String,
    trial: String,
}

impl Cluster {
    async fn start(backend: Backend) -> Option<Self> {
        let servers = TestServer::spawn_processes(backend, 3).await?;
        let site_id = servers[0].org("St Mary's", OrgKind::Site).await;
        servers[0].org("Helix", OrgKind::Sponsor).await;
        servers[0].org("TrialReach", OrgKind::Recruiter).await;
        let board_id = servers[0].org("IRB", OrgKind::Ethics).await;
        let sponsor = servers[0].user("s@helix.com", "Helix", Role::Sponsor).await;
        let site = servers[1]
            .user("crc@stmarys.org", "St Mary's", Role::Site)
            .await;
        let recruiter = servers[2]
            .user("r@trialreach.com", "TrialReach", Role::Recruiter)
            .await;
        let ethics = servers[0].user("e@irb.org", "IRB", Role::Ethics).await;
        let protocol = json!({
            "title": "Adults", "summary": "s", "phase": "PHASE2", "primaryEndpoint": "e",
            "secondaryEndpoints": [], "targetEnrollment": 10, "criteria": "age >= 18",
            "siteIds": [site_id], "ethicsBoardId": board_id, "conditions": [], "keywords": [],
        });
        let trial = servers[1]
            .ok(Some(&sponsor), PUBLISH, json!({ "i": protocol }))
            .await["publishProtocol"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        servers[2].approve(&ethics, &trial, 1).await;
        Some(Self {
            servers,
            site,
            recruiter,
            ethics,
            trial,
        })
    }

    /// The process that takes request `i` (round robin).
    fn via(&self, i: usize) -> &TestServer {
        &self.servers[i % self.servers.len()]
    }

    /// Registers an adult patient of the site through process `i`; returns the pseudonym.
    async fn register(&self, i: usize, local_id: &str) -> String {
        let input = json!({ "localId": local_id, "birthDate": "1970-01-01", "sex": "FEMALE", "zip": "02139" });
        self.via(i)
            .ok(Some(&self.site), REGISTER, json!({ "i": input }))
            .await["registerPatient"]["pseudonym"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Records the patient's consent to be contacted (or its withdrawal) through process `i`.
    async fn contact_consent(&self, i: usize, pseudonym: &str, granted: bool) {
        let consent = json!({ "p": pseudonym, "s": "RECRUITMENT_CONTACT", "t": null, "g": granted, "v": granted.then_some("v1"), "d": granted.then_some("2026-12-01") });
        self.via(i).ok(Some(&self.site), CONSENT, consent).await;
    }

    /// Records the patient's consent to take part in the trial through process `i`.
    async fn trial_consent(&self, i: usize, pseudonym: &str) {
        let consent = json!({ "p": pseudonym, "s": "TRIAL_PARTICIPATION", "t": self.trial, "g": true, "v": "v1", "d": "2026-12-01" });
        self.via(i).ok(Some(&self.site), CONSENT, consent).await;
    }

    /// Registers `n` patients who consent to be contacted, spread over the processes.
    async fn consenting_patients(&self, n: usize) -> Vec<String> {
        let mut patients = Vec::new();
        for i in 0..n {
            let pseudonym = self.register(i, &format!("MRN-{i}")).await;
            self.contact_consent(i + 1, &pseudonym, true).await;
            patients.push(pseudonym);
        }
        patients
    }

    /// The site's exact count of its consenting adults, as each process answers it.
    async fn counts(&self) -> Vec<u64> {
        let mut counts = Vec::new();
        for server in &self.servers {
            counts.push(site_count(server, &self.site).await);
        }
        counts
    }

    /// The number of consenting patients by the database itself (every patient of these
    /// tests is an adult of the one site, so it is the site's exact count).
    async fn consenting_in_database(&self) -> u64 {
        let stores = open_stores(&self.servers[0].store.config())
            .await
            .expect("stores");
        patients::consenting_count(&stores.db)
            .await
            .expect("consenting patients counted")
    }
}

async fn site_count(server: &TestServer, site: &str) -> u64 {
    let data = server.ok(Some(site), COUNT, json!({})).await;
    assert_eq!(data["cohort"]["approximate"], false, "{data}");
    data["cohort"]["count"].as_u64().expect("an exact count")
}

/// Patients registered and consented through all three processes are counted alike by all
/// three after every write, and a withdrawal through one is out of the next count on each.
async fn every_process_counts_what_any_process_wrote(backend: Backend) {
    let Some(c) = Cluster::start(backend).await else {
        return;
    };
    let mut patients = Vec::new();
    for i in 0..6 {
        let pseudonym = c.register(i, &format!("MRN-{i}")).await;
        assert_eq!(c.counts().await, [i as u64; 3], "after registering #{i}");
        c.contact_consent(i + 1, &pseudonym, true).await;
        assert_eq!(c.counts().await, [i as u64 + 1; 3], "after consent #{i}");
        patients.push(pseudonym);
    }
    c.contact_consent(1, &patients[0], false).await;
    assert_eq!(
        c.counts().await,
        [5; 3],
        "after a withdrawal through process 1"
    );
}

/// Entries signed by every process verify on every process, under one public key.
async fn the_ledger_verifies_on_every_process_with_one_key(backend: Backend) {
    let Some(c) = Cluster::start(backend).await else {
        return;
    };
    c.consenting_patients(3).await;
    let mut keys = Vec::new();
    for (i, server) in c.servers.iter().enumerate() {
        let data = server.ok(Some(&c.ethics), VERIFY, json!({})).await;
        assert_eq!(data["verifyLedger"]["ok"], true, "process {i}: {data}");
        keys.push(data["ledgerHead"]["publicKey"].clone());
    }
    assert!(keys.iter().all(|k| *k == keys[0]), "public keys: {keys:?}");
}

/// The same local id registered through each process is one patient with one pseudonym.
async fn a_patient_has_one_pseudonym_whichever_process_registers_them(backend: Backend) {
    let Some(c) = Cluster::start(backend).await else {
        return;
    };
    let mut pseudonyms = Vec::new();
    for i in 0..3 {
        pseudonyms.push(c.register(i, "MRN-same").await);
    }
    assert!(
        pseudonyms.iter().all(|p| *p == pseudonyms[0]),
        "one local id, a pseudonym per process: {pseudonyms:?}"
    );
}

/// 200 concurrent enrollments of one patient in one trial, spread over the processes:
/// exactly one succeeds, every other answers CONFLICT, and one row is stored.
async fn two_hundred_concurrent_enrollments_enroll_once(backend: Backend) {
    let Some(c) = Cluster::start(backend).await else {
        return;
    };
    let patient = c.consenting_patients(1).await.remove(0);
    c.trial_consent(2, &patient).await;
    let attempts = (0..200).map(|i| {
        c.via(i)
            .gql(Some(&c.site), ENROLL, json!({ "t": c.trial, "p": patient }))
    });
    let replies = join_all(attempts).await;
    let enrolled = replies.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = replies
        .iter()
        .filter(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    let unexpected: Vec<&Value> = replies
        .iter()
        .filter(|r| r.get("errors").is_some() && r["errors"][0]["extensions"]["code"] != "CONFLICT")
        .collect();
    assert_eq!(
        (enrolled, conflicts),
        (1, 199),
        "other replies: {unexpected:?}"
    );
    let stores = open_stores(&c.servers[0].store.config()).await.unwrap();
    let rows = enrollment::Entity::find()
        .filter(enrollment::Column::Pseudonym.eq(&patient))
        .all(&stores.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// Withdrawals of trial consent race enrollments of the same patients through other
/// processes: whichever commits first, no enrollment in the database was made without the
/// patient's consent in force.
async fn a_withdrawal_racing_enrollments_never_leaves_an_enrollment_without_consent(
    backend: Backend,
) {
    let Some(c) = Cluster::start(backend).await else {
        return;
    };
    let patients = c.consenting_patients(8).await;
    for (i, p) in patients.iter().enumerate() {
        c.trial_consent(i, p).await;
    }
    let races = patients.iter().enumerate().flat_map(|(i, p)| {
        let withdraw = json!({ "p": p, "s": "TRIAL_PARTICIPATION", "t": c.trial, "g": false });
        let enroll = json!({ "t": c.trial, "p": p });
        [
            c.via(i).gql(Some(&c.site), CONSENT, withdraw),
            c.via(i + 1).gql(Some(&c.site), ENROLL, enroll),
        ]
    });
    for reply in join_all(races).await {
        let code = &reply["errors"][0]["extensions"]["code"];
        assert!(
            reply.get("errors").is_none() || code == "CONFLICT",
            "{reply}"
        );
    }
    let stores = open_stores(&c.servers[0].store.config()).await.unwrap();
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::TrialId.eq(&c.trial))
        .all(&stores.db)
        .await
        .unwrap();
    for enrolled in enrollments {
        let in_force = consent::Entity::find()
            .filter(consent::Column::Pseudonym.eq(&enrolled.pseudonym))
            .filter(consent::Column::Scope.eq(ConsentScope::TrialParticipation.as_str()))
            .filter(consent::Column::TrialId.eq(&c.trial))
            .filter(consent::Column::LedgerSeq.lt(enrolled.ledger_seq))
            .order_by_desc(consent::Column::LedgerSeq)
            .one(&stores.db)
            .await
            .unwrap();
        assert!(
            in_force.as_ref().is_some_and(|row| row.granted),
            "enrolled without consent in force: {enrolled:?}, consent before it: {in_force:?}"
        );
    }
}

/// Concurrent invitation rounds through all three processes invite each patient once, and
/// none fails.
async fn concurrent_invitation_rounds_invite_each_patient_once(backend: Backend) {
    let Some(c) = Cluster::start(backend).await else {
        return;
    };
    let mut patients = c.consenting_patients(12).await;
    let rounds = (0..6).map(|i| {
        c.via(i)
            .gql(Some(&c.recruiter), INVITE, json!({ "t": c.trial }))
    });
    for reply in join_all(rounds).await {
        assert!(reply.get("errors").is_none(), "{reply}");
    }
    let list = c.servers[0]
        .ok(Some(&c.site), INVITATIONS, json!({ "t": c.trial }))
        .await;
    let mut invited: Vec<&str> = list["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pseudonym"].as_str().unwrap())
        .collect();
    invited.sort_unstable();
    patients.sort_unstable();
    assert_eq!(invited, patients);
}

/// Registers and consents a patient through processes `i` and `i + 1`; `None` when either
/// request could not be answered (its process was killed).
async fn try_consenting_patient(c: &Cluster, i: usize) -> Option<()> {
    let input = json!({ "localId": format!("BURST-{i}"), "birthDate": "1970-01-01", "sex": "MALE", "zip": "02139" });
    let registered = try_gql(c.via(i), &c.site, REGISTER, json!({ "i": input })).await?;
    let Some(pseudonym) = registered["data"]["registerPatient"]["pseudonym"].as_str() else {
        panic!("registration failed: {registered}");
    };
    let consent = json!({ "p": pseudonym, "s": "RECRUITMENT_CONTACT", "t": null, "g": true, "v": "v1", "d": "2026-12-01" });
    let consented = try_gql(c.via(i + 1), &c.site, CONSENT, consent).await?;
    assert!(consented.get("errors").is_none(), "{consented}");
    Some(())
}

/// A GraphQL request whose connection may fail (its process is being killed): `None` then.
async fn try_gql(server: &TestServer, token: &str, query: &str, variables: Value) -> Option<Value> {
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// A process killed with SIGKILL in the middle of a burst of consents, then restarted,
/// resumes its index: its count equals the database's.
async fn a_process_killed_mid_burst_resumes_its_index(backend: Backend) {
    let Some(mut c) = Cluster::start(backend).await else {
        return;
    };
    let acknowledged = AtomicUsize::new(0);
    let burst = futures::stream::iter(0..90)
        .map(|i| {
            let acknowledged = &acknowledged;
            let c = &c;
            async move {
                if try_consenting_patient(c, i).await.is_some() {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .buffer_unordered(12)
        .collect::<Vec<()>>();
    let kill = async {
        let thirty = async {
            while acknowledged.load(Ordering::Relaxed) < 30 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), thirty)
            .await
            .expect("30 consents acknowledged");
        c.servers[2].kill_hard();
    };
    tokio::join!(burst, kill);
    let done = acknowledged.load(Ordering::Relaxed);
    assert!((30..90).contains(&done), "{done} of 90 acknowledged");
    c.servers[2].restart().await;
    let in_database = c.consenting_in_database().await;
    assert!(in_database >= done as u64, "{in_database} < {done}");
    assert_eq!(site_count(&c.servers[2], &c.site).await, in_database);
}

on_both_databases!(
    every_process_counts_what_any_process_wrote,
    the_ledger_verifies_on_every_process_with_one_key,
    a_patient_has_one_pseudonym_whichever_process_registers_them,
    two_hundred_concurrent_enrollments_enroll_once,
    a_withdrawal_racing_enrollments_never_leaves_an_enrollment_without_consent,
    concurrent_invitation_rounds_invite_each_patient_once,
    a_process_killed_mid_burst_resumes_its_index,
);
