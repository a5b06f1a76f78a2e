//! A protocol names its participating sites and its ethics board, chosen from the directory:
//! a protocol that names neither is refused, only the named sites enroll, only the named board
//! reads, an amendment keeps them unless it names others, and a study imported from a registry
//! enrolls nobody until its sponsor names them.

mod common;

use common::{Backend, TestServer, code_of as code};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};

const PUBLISH: &str = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }";
const AMEND: &str = "mutation($t: ID!, $i: PublishProtocolInput!) { amendProtocol(trialId: $t, input: $i, reason: \"sites\", password: \"test-password-123\") { currentVersion versions { siteIds ethicsBoardId } } }";
const TRIAL: &str = "query($t: ID!) { trial(id: $t) { id } }";
const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $t: ID) { recordConsent(pseudonym: $p, scope: TRIAL_PARTICIPATION, trialId: $t, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }";
const ENROLL: &str =
    "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }";

struct World {
    server: TestServer,
    sponsor: String,
    site_a: (String, String),
    site_b: (String, String),
    board_x: (String, String),
    board_y: (String, String),
}

impl World {
    async fn start(backend: Backend) -> Option<Self> {
        let server = TestServer::start(backend).await?;
        server.org("Helix", OrgKind::Sponsor).await;
        let member = async |name: &str, kind: OrgKind, email: &str, role: Role| {
            let id = server.org(name, kind).await;
            (id, server.user(email, name, role).await)
        };
        let site_a = member("St Mary's", OrgKind::Site, "a@stmarys.org", Role::Site).await;
        let site_b = member("Northside", OrgKind::Site, "b@northside.org", Role::Site).await;
        let board_x = member("Board X", OrgKind::Ethics, "x@irb.org", Role::Ethics).await;
        let board_y = member("Board Y", OrgKind::Ethics, "y@irb.org", Role::Ethics).await;
        let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
        Some(Self {
            server,
            sponsor,
            site_a,
            site_b,
            board_x,
            board_y,
        })
    }

    fn protocol(&self, sites: &[&str], board: Option<&str>) -> Value {
        let mut protocol = json!({ "title": "T", "primaryEndpoint": "E", "targetEnrollment": 10 });
        protocol["siteIds"] = json!(sites);
        if let Some(board) = board {
            protocol["ethicsBoardId"] = json!(board);
        }
        protocol
    }

    /// Publishes a protocol naming `site` and `board`; returns the trial id.
    async fn publish(&self, site: &str, board: &str) -> String {
        let protocol = self.protocol(&[site], Some(board));
        self.server
            .ok(Some(&self.sponsor), PUBLISH, json!({ "i": protocol }))
            .await["publishProtocol"]["id"]
            .as_str()
            .expect("a trial id")
            .to_string()
    }

    /// Whether the holder of `token` sees the trial.
    async fn sees(&self, token: &str, trial: &str) -> bool {
        let response = self
            .server
            .gql(Some(token), TRIAL, json!({ "t": trial }))
            .await;
        match code(&response) {
            "none" => true,
            "NOT_FOUND" => false,
            other => panic!("{other}: {response}"),
        }
    }

    /// A consenting patient of `site` enrolled into `trial`: the enrollment's answer.
    async fn enroll(&self, site: &str, trial: &str, local_id: &str) -> Value {
        let patient = json!({ "localId": local_id, "birthDate": "1970-01-01", "sex": "FEMALE", "zip": "02139" });
        let pseudonym = self
            .server
            .ok(Some(site), REGISTER, json!({ "i": patient }))
            .await["registerPatient"]["pseudonym"]
            .clone();
        self.server
            .ok(Some(site), CONSENT, json!({ "p": pseudonym, "t": trial }))
            .await;
        self.server
            .gql(Some(site), ENROLL, json!({ "t": trial, "p": pseudonym }))
            .await
    }
}

/// The directory lists the sites and boards a sponsor may name, and nothing else.
async fn the_directory_lists_sites_and_boards(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let directory = w
        .server
        .ok(
            Some(&w.sponsor),
            "{ directory { id name kind } }",
            json!({}),
        )
        .await["directory"]
        .clone();
    let names: Vec<(&str, &str)> = directory
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("Board X", "ETHICS"),
            ("Board Y", "ETHICS"),
            ("Northside", "SITE"),
            ("St Mary's", "SITE"),
        ]
    );
    let refused = w
        .server
        .gql(Some(&w.site_a.1), "{ directory { id } }", json!({}))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
}

/// Publication and amendment refuse a protocol without sites or a board, and change nothing.
async fn a_protocol_without_sites_or_board_is_refused(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let (a, x) = (w.site_a.0.as_str(), w.board_x.0.as_str());
    let mut without_sites = w.protocol(&[], Some(x));
    for protocol in [w.protocol(&[], Some(x)), w.protocol(&[a], None), {
        without_sites.as_object_mut().unwrap().remove("siteIds");
        without_sites
    }] {
        let refused = w
            .server
            .gql(Some(&w.sponsor), PUBLISH, json!({ "i": protocol }))
            .await;
        assert_eq!(code(&refused), "BAD_INPUT", "{protocol}: {refused}");
    }
    let not_a_board = w.protocol(&[a], Some(a));
    let refused = w
        .server
        .gql(Some(&w.sponsor), PUBLISH, json!({ "i": not_a_board }))
        .await;
    assert_eq!(code(&refused), "BAD_INPUT", "{refused}");
    let trials = w
        .server
        .ok(Some(&w.sponsor), "{ trials { id } }", json!({}))
        .await;
    assert_eq!(trials["trials"], json!([]), "nothing was published");

    let trial = w.publish(a, x).await;
    let mut no_board = w.protocol(&[a], None);
    no_board["ethicsBoardId"] = Value::Null;
    for protocol in [w.protocol(&[], Some(x)), no_board] {
        let refused = w
            .server
            .gql(
                Some(&w.sponsor),
                AMEND,
                json!({ "t": trial, "i": protocol }),
            )
            .await;
        assert_eq!(code(&refused), "BAD_INPUT", "{protocol}: {refused}");
    }
    let versions = w
        .server
        .ok(
            Some(&w.sponsor),
            "query($t: ID!) { trial(id: $t) { currentVersion } }",
            json!({ "t": trial }),
        )
        .await;
    assert_eq!(versions["trial"]["currentVersion"], 1, "{versions}");
}

/// Only the named sites see the trial and enroll; only the named board reads it; changing
/// them is an amendment that names the new ones.
async fn only_the_named_sites_and_board_take_part(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let (a, b) = (w.site_a.0.as_str(), w.site_b.0.as_str());
    let (x, y) = (w.board_x.0.as_str(), w.board_y.0.as_str());
    let trial = w.publish(a, x).await;
    assert!(w.sees(&w.site_a.1, &trial).await);
    assert!(!w.sees(&w.site_b.1, &trial).await, "site B is not named");
    assert!(w.sees(&w.board_x.1, &trial).await);
    assert!(!w.sees(&w.board_y.1, &trial).await, "board Y is not named");
    w.server.approve(&w.board_x.1, &trial, 1).await;
    let enrolled = w.enroll(&w.site_a.1, &trial, "A-1").await;
    assert_eq!(code(&enrolled), "none", "{enrolled}");
    let refused = w.enroll(&w.site_b.1, &trial, "B-1").await;
    assert_eq!(code(&refused), "NOT_FOUND", "{refused}");

    let amended = w
        .server
        .ok(
            Some(&w.sponsor),
            AMEND,
            json!({ "t": trial, "i": w.protocol(&[a, b], Some(y)) }),
        )
        .await["amendProtocol"]
        .clone();
    assert_eq!(
        amended["versions"][1]["siteIds"],
        json!([a, b]),
        "{amended}"
    );
    assert_eq!(
        amended["versions"][1]["ethicsBoardId"],
        json!(y),
        "{amended}"
    );
    assert!(w.sees(&w.site_b.1, &trial).await);
    assert!(w.sees(&w.board_y.1, &trial).await);
    assert!(!w.sees(&w.board_x.1, &trial).await, "board X was replaced");
    w.server.approve(&w.board_y.1, &trial, 2).await;
    let enrolled = w.enroll(&w.site_b.1, &trial, "B-2").await;
    assert_eq!(code(&enrolled), "none", "{enrolled}");
}

/// A study imported from ClinicalTrials.gov names no site and no board: no site enrolls into
/// it and no board reads it until the sponsor amends it to name them.
async fn an_imported_study_enrolls_nobody_until_assigned(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let study = json!({ "protocolSection": {
        "identificationModule": { "nctId": "NCT00000001", "briefTitle": "Imported" },
        "statusModule": { "overallStatus": "RECRUITING" },
    } });
    let summary = w
        .server
        .ok(
            Some(&w.sponsor),
            "mutation($j: String!) { importCtgov(json: $j) { imported problems } }",
            json!({ "j": study.to_string() }),
        )
        .await;
    assert_eq!(summary["importCtgov"]["imported"], 1, "{summary}");
    let trial = w
        .server
        .ok(Some(&w.sponsor), "{ trials { id } }", json!({}))
        .await["trials"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!w.sees(&w.site_a.1, &trial).await);
    assert!(!w.sees(&w.board_x.1, &trial).await);
    let refused = w.enroll(&w.site_a.1, &trial, "A-1").await;
    assert_eq!(code(&refused), "NOT_FOUND", "{refused}");

    let (a, x) = (w.site_a.0.as_str(), w.board_x.0.as_str());
    let mut protocol = w.protocol(&[a], Some(x));
    protocol["title"] = json!("Imported");
    protocol["nctId"] = json!("NCT00000001");
    w.server
        .ok(
            Some(&w.sponsor),
            AMEND,
            json!({ "t": trial, "i": protocol }),
        )
        .await;
    assert!(w.sees(&w.board_x.1, &trial).await);
    w.server.approve(&w.board_x.1, &trial, 2).await;
    let enrolled = w.enroll(&w.site_a.1, &trial, "A-2").await;
    assert_eq!(code(&enrolled), "none", "{enrolled}");
}

on_both_databases!(
    the_directory_lists_sites_and_boards,
    a_protocol_without_sites_or_board_is_refused,
    only_the_named_sites_and_board_take_part,
    an_imported_study_enrolls_nobody_until_assigned,
);
