//! A site's invitations as a work list: statuses from what the site recorded and from the
//! consent and enrollment records, counts per status, paging, and ledgered outcomes that name
//! no one.

use crate::common::{Backend, PASSWORD, TestServer, code_of as code};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};

const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $s: ConsentScope!, $t: ID, $pw: String!) { recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: $pw) { id } }";
const WORKLIST: &str = "query($t: ID!, $s: InvitationStatus, $n: Int, $o: Int) { worklist(trialId: $t, status: $s, first: $n, offset: $o) { total counts { status count } items { id pseudonym status outcome outcomeBy outcomeLedgerSeq } } }";
const OUTCOME: &str = "mutation($i: ID!, $o: ContactOutcome!) { recordInvitationOutcome(invitationId: $i, outcome: $o) { status outcome outcomeBy outcomeLedgerSeq } }";
const PATIENTS: usize = 6;

struct World {
    server: TestServer,
    site: String,
    other_site: String,
    trial: Value,
    /// Pseudonyms, in registration order.
    pseudonyms: Vec<String>,
}

async fn world(backend: Backend) -> Option<World> {
    let server = TestServer::start(backend).await?;
    server.org("Helix", OrgKind::Sponsor).await;
    let site_id = server.org("St Mary's", OrgKind::Site).await;
    let other_id = server.org("Northside", OrgKind::Site).await;
    let board_id = server.org("IRB", OrgKind::Ethics).await;
    let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let site = server
        .user("ana.lima@stmarys.org", "St Mary's", Role::Site)
        .await;
    let other_site = server
        .user("crc@northside.org", "Northside", Role::Site)
        .await;
    let board = server.user("board@irb.test", "IRB", Role::Ethics).await;
    let protocol = json!({ "title": "T", "primaryEndpoint": "E", "targetEnrollment": 10,
                           "criteria": "age >= 18", "siteIds": [site_id, other_id],
                           "ethicsBoardId": board_id });
    let trial = server
        .ok(
            Some(&sponsor),
            "mutation($i: PublishProtocolInput!, $pw: String!) { publishProtocol(input: $i, password: $pw) { id } }",
            json!({ "i": protocol, "pw": PASSWORD }),
        )
        .await["publishProtocol"]["id"]
        .clone();
    server.approve(&board, &trial, 1).await;
    let mut pseudonyms = Vec::new();
    for i in 0..PATIENTS {
        let input = json!({ "localId": format!("W-{i}"), "birthDate": "1970-01-01",
                            "sex": "FEMALE", "zip": "10001" });
        let p = server
            .ok(Some(&site), REGISTER, json!({ "i": input }))
            .await["registerPatient"]["pseudonym"]
            .as_str()
            .expect("a pseudonym")
            .to_string();
        server
            .ok(
                Some(&site),
                CONSENT,
                json!({ "p": p, "s": "RECRUITMENT_CONTACT", "pw": PASSWORD }),
            )
            .await;
        pseudonyms.push(p);
    }
    let invited = server
        .ok(
            Some(&sponsor),
            "mutation($t: ID!) { inviteCohort(trialId: $t) { trialId } }",
            json!({ "t": trial }),
        )
        .await;
    assert_eq!(invited["inviteCohort"]["trialId"], trial);
    Some(World {
        server,
        site,
        other_site,
        trial,
        pseudonyms,
    })
}

impl World {
    async fn list(&self, status: Option<&str>, first: u64, offset: u64) -> Value {
        self.server
            .ok(
                Some(&self.site),
                WORKLIST,
                json!({ "t": self.trial, "s": status, "n": first, "o": offset }),
            )
            .await["worklist"]
            .clone()
    }

    /// The invitation id of patient `i`.
    async fn invitation(&self, i: usize) -> String {
        let all = self.list(None, 200, 0).await;
        all["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|item| item["pseudonym"] == self.pseudonyms[i])
            .and_then(|item| item["id"].as_str())
            .expect("an invitation")
            .to_string()
    }

    async fn record(&self, token: &str, i: usize, outcome: &str) -> Value {
        let id = self.invitation(i).await;
        self.server
            .gql(Some(token), OUTCOME, json!({ "i": id, "o": outcome }))
            .await
    }
}

/// Each status comes from the right source and is counted; the list filters and pages.
async fn the_work_list_tells_where_each_invitation_stands(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let fresh = w.list(None, 25, 0).await;
    assert_eq!(fresh["total"], PATIENTS as u64, "{fresh}");
    assert!(
        fresh["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["status"] == "NEW" && i["outcomeBy"].is_null()),
        "{fresh}"
    );

    for (i, outcome) in [(0, "CONTACTED"), (1, "DECLINED"), (2, "SCREEN_FAILED")] {
        let recorded = w.record(&w.site, i, outcome).await;
        let shown = &recorded["data"]["recordInvitationOutcome"];
        assert_eq!(shown["status"], outcome, "{recorded}");
        assert_eq!(shown["outcomeBy"], "Ana Lima", "{recorded}");
        assert!(shown["outcomeLedgerSeq"].is_i64(), "{recorded}");
    }
    // Patient 3 consents to the trial; patient 4 consents and is enrolled (after being
    // contacted: the records overtake what the site recorded).
    assert_eq!(code(&w.record(&w.site, 4, "CONTACTED").await), "none");
    for i in [3, 4] {
        w.server
            .ok(
                Some(&w.site),
                CONSENT,
                json!({ "p": w.pseudonyms[i], "s": "TRIAL_PARTICIPATION", "t": w.trial, "pw": PASSWORD }),
            )
            .await;
    }
    w.server
        .ok(
            Some(&w.site),
            "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }",
            json!({ "t": w.trial, "p": w.pseudonyms[4] }),
        )
        .await;

    let all = w.list(None, 25, 0).await;
    let status_of = |i: usize| {
        all["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|item| item["pseudonym"] == w.pseudonyms[i])
            .map(|item| item["status"].clone())
            .expect("listed")
    };
    let want = [
        "CONTACTED",
        "DECLINED",
        "SCREEN_FAILED",
        "CONSENTED",
        "ENROLLED",
        "NEW",
    ];
    for (i, status) in want.iter().enumerate() {
        assert_eq!(status_of(i), *status, "patient {i}: {all}");
    }
    assert_eq!(
        all["counts"],
        json!([
            { "status": "NEW", "count": 1 },
            { "status": "CONTACTED", "count": 1 },
            { "status": "CONSENTED", "count": 1 },
            { "status": "ENROLLED", "count": 1 },
            { "status": "DECLINED", "count": 1 },
            { "status": "SCREEN_FAILED", "count": 1 },
        ])
    );

    // A status filter keeps the counts of every status; pages cut the matching list.
    let declined = w.list(Some("DECLINED"), 25, 0).await;
    assert_eq!(declined["total"], 1);
    assert_eq!(declined["items"][0]["pseudonym"], w.pseudonyms[1].as_str());
    assert_eq!(declined["counts"], all["counts"]);
    let pages = [w.list(None, 4, 0).await, w.list(None, 4, 4).await];
    let paged: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["items"].as_array().expect("items").clone())
        .collect();
    assert_eq!(pages[1]["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(Value::Array(paged), all["items"]);
}

/// Outcomes are ledgered with no personal data, only by the invitation's own site, and never
/// back to new.
async fn outcomes_are_ledgered_guarded_and_name_no_one(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let recorded = w.record(&w.site, 0, "CONTACTED").await;
    let seq = recorded["data"]["recordInvitationOutcome"]["outcomeLedgerSeq"]
        .as_u64()
        .expect("a seq");
    let admin_org = w.server.org("Ops", OrgKind::Sponsor).await;
    assert!(!admin_org.is_empty());
    let admin = w.server.user("root@ops.test", "Ops", Role::Admin).await;
    let entry = w
        .server
        .ok(
            Some(&admin),
            "query($a: Int) { ledgerEntries(after: $a, first: 1) { seq kind description subjects { key value } } }",
            json!({ "a": seq - 1 }),
        )
        .await["ledgerEntries"][0]
        .clone();
    assert_eq!(entry["kind"], "invitation.updated", "{entry}");
    assert_eq!(entry["description"], "Invitation followed up by the site");
    let text = entry.to_string();
    for p in &w.pseudonyms {
        assert!(
            !text.contains(p.as_str()),
            "the entry names no patient: {entry}"
        );
    }

    let back = w.record(&w.site, 0, "NEW").await;
    assert_eq!(code(&back), "BAD_INPUT", "{back}");
    let foreign = w.record(&w.other_site, 1, "DECLINED").await;
    assert_eq!(code(&foreign), "NOT_FOUND", "{foreign}");
    let other_list = w
        .server
        .ok(
            Some(&w.other_site),
            WORKLIST,
            json!({ "t": w.trial, "n": 25, "o": 0 }),
        )
        .await;
    assert_eq!(other_list["worklist"]["total"], 0, "{other_list}");
    for (first, offset) in [(0, 0), (201, 0)] {
        let refused = w
            .server
            .gql(
                Some(&w.site),
                WORKLIST,
                json!({ "t": w.trial, "n": first, "o": offset }),
            )
            .await;
        assert_eq!(code(&refused), "BAD_INPUT", "{refused}");
    }
    let verified = w
        .server
        .ok(
            Some(&admin),
            "{ verifyLedger(full: true) { ok } }",
            json!({}),
        )
        .await;
    assert_eq!(verified["verifyLedger"]["ok"], true);
}

on_both_databases!(
    the_work_list_tells_where_each_invitation_stands,
    outcomes_are_ledgered_guarded_and_name_no_one,
);
