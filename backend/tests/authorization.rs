//! Every operation, tried by every role from its own and from a foreign organisation:
//! who gets through and who is refused (UNAUTHENTICATED, FORBIDDEN or NOT_FOUND).

mod common;

use std::collections::BTreeMap;

use common::{Backend, TestServer};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};

/// Everyone who tries: the first organisation of each kind owns the fixture; the second
/// is foreign to it.
const ACTORS: &[&str] = &[
    "anonymous",
    "admin",
    "sponsor",
    "foreign_sponsor",
    "site",
    "foreign_site",
    "recruiter",
    "ethics",
    "foreign_ethics",
];

/// Every actor but the anonymous one.
const SIGNED_IN: &[&str] = ACTORS.split_at(1).1;

struct Fixture {
    tokens: BTreeMap<&'static str, String>,
    vars: Value,
}

async fn fixture(server: &TestServer) -> Fixture {
    let helix = "Helix";
    server.org(helix, OrgKind::Sponsor).await;
    server.org("Other Pharma", OrgKind::Sponsor).await;
    let site = server.org("St Mary's", OrgKind::Site).await;
    server.org("Elsewhere Clinic", OrgKind::Site).await;
    server.org("TrialReach", OrgKind::Recruiter).await;
    let board = server.org("Board One", OrgKind::Ethics).await;
    server.org("Board Two", OrgKind::Ethics).await;
    let mut tokens = BTreeMap::new();
    for (actor, email, org, role) in [
        ("admin", "admin@helix.com", helix, Role::Admin),
        ("sponsor", "s@helix.com", helix, Role::Sponsor),
        (
            "foreign_sponsor",
            "s@other.com",
            "Other Pharma",
            Role::Sponsor,
        ),
        ("site", "crc@stmarys.org", "St Mary's", Role::Site),
        (
            "foreign_site",
            "crc@elsewhere.org",
            "Elsewhere Clinic",
            Role::Site,
        ),
        (
            "recruiter",
            "r@trialreach.com",
            "TrialReach",
            Role::Recruiter,
        ),
        ("ethics", "irb@one.org", "Board One", Role::Ethics),
        ("foreign_ethics", "irb@two.org", "Board Two", Role::Ethics),
    ] {
        tokens.insert(actor, server.user(email, org, role).await);
    }
    // The user that account administration acts on; not one of the actors.
    let target_token = server.user("target@helix.com", helix, Role::Sponsor).await;
    let target = server
        .ok(Some(&target_token), "{ me { id } }", json!({}))
        .await["me"]["id"]
        .clone();
    let t = |actor: &str| tokens[actor].clone();
    let protocol = json!({ "title": "T", "primaryEndpoint": "E", "targetEnrollment": 10, "criteria": "age >= 18", "siteIds": [site], "ethicsBoardId": board });
    let trial = server
        .ok(
            Some(&t("sponsor")),
            "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }",
            json!({ "i": protocol.clone() }),
        )
        .await["publishProtocol"]["id"]
        .clone();
    server.approve(&t("ethics"), &trial, 1).await;
    let patient =
        json!({ "localId": "MRN-1", "birthDate": "1970-01-01", "sex": "FEMALE", "zip": "02139" });
    let pseudonym = server
        .ok(
            Some(&t("site")),
            "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }",
            json!({ "i": patient.clone() }),
        )
        .await["registerPatient"]["pseudonym"]
        .clone();
    let consent = "mutation($p: String!, $s: ConsentScope!, $t: ID) { recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }";
    server
        .ok(
            Some(&t("site")),
            consent,
            json!({ "p": pseudonym, "s": "RECRUITMENT_CONTACT" }),
        )
        .await;
    server
        .ok(
            Some(&t("site")),
            consent,
            json!({ "p": pseudonym, "s": "TRIAL_PARTICIPATION", "t": trial }),
        )
        .await;
    let enrollment = server
        .ok(Some(&t("site")), "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }", json!({ "t": trial, "p": pseudonym }))
        .await["enrollParticipant"]["id"]
        .clone();
    let submission = server
        .ok(Some(&t("site")), "mutation($e: ID!) { submitTrialData(enrollmentId: $e, form: \"f\", visit: \"v\", data: {a: 1}) { id } }", json!({ "e": enrollment }))
        .await["submitTrialData"]["id"]
        .clone();
    server
        .ok(
            Some(&t("sponsor")),
            "mutation($t: ID!) { inviteCohort(trialId: $t) { trialId } }",
            json!({ "t": trial }),
        )
        .await;
    let invitation = server
        .ok(
            Some(&t("site")),
            "query($t: ID!) { worklist(trialId: $t) { items { id } } }",
            json!({ "t": trial }),
        )
        .await["worklist"]["items"][0]["id"]
        .clone();
    let query = server
        .ok(
            Some(&t("sponsor")),
            "mutation($s: ID!) { raiseDataQuery(submissionId: $s, field: \"a\", question: \"sure?\") { id } }",
            json!({ "s": submission }),
        )
        .await["raiseDataQuery"]["id"]
        .clone();
    let vars = json!({
        "trial": trial, "pseudonym": pseudonym, "enrollment": enrollment, "submission": submission,
        "protocol": protocol, "patient": patient, "target": target, "invitation": invitation,
        "query": query,
    });
    Fixture { tokens, vars }
}

/// (operation, document, actors allowed through).
const MATRIX: &[(&str, &str, &[&str])] = &[
    ("me", "{ me { email } }", SIGNED_IN),
    ("organizations", "{ organizations { id } }", &["admin"]),
    (
        "directory",
        "{ directory { id } }",
        &["admin", "sponsor", "foreign_sponsor"],
    ),
    (
        "createOrganization",
        "mutation { createOrganization(name: \"New Org\", kind: SITE) { id } }",
        &["admin"],
    ),
    (
        "trial",
        "query($trial: ID!) { trial(id: $trial) { id } }",
        &["admin", "sponsor", "site", "recruiter", "ethics"],
    ),
    ("trials", "{ trials { id } }", SIGNED_IN),
    (
        "publishProtocol",
        "mutation($protocol: PublishProtocolInput!) { publishProtocol(input: $protocol, password: \"test-password-123\") { id } }",
        &["sponsor", "foreign_sponsor"],
    ),
    (
        "amendProtocol",
        "mutation($trial: ID!, $protocol: PublishProtocolInput!) { amendProtocol(trialId: $trial, input: $protocol, reason: \"r\", password: \"test-password-123\") { id } }",
        &["sponsor"],
    ),
    (
        "reviewProtocol",
        "mutation($trial: ID!) { reviewProtocol(trialId: $trial, version: 1, decision: APPROVED, password: \"test-password-123\") { id } }",
        &["ethics"],
    ),
    (
        "importCtgov",
        "mutation { importCtgov(json: \"{}\") { imported } }",
        &["sponsor", "foreign_sponsor"],
    ),
    (
        "registerPatient",
        "mutation($patient: RegisterPatientInput!) { registerPatient(input: $patient) { pseudonym } }",
        &["site", "foreign_site"],
    ),
    (
        "patient",
        "query($pseudonym: String!) { patient(pseudonym: $pseudonym) { age } }",
        &["site"],
    ),
    (
        "recordConsent",
        "mutation($pseudonym: String!) { recordConsent(pseudonym: $pseudonym, scope: RECRUITMENT_CONTACT, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }",
        &["site"],
    ),
    (
        "patientByLocalId",
        "{ patientByLocalId(localId: \"MRN-1\") { pseudonym } }",
        // Each site finds its own MRN-1 (registered earlier in the matrix), never the other's.
        &["site", "foreign_site"],
    ),
    (
        "sitePatients",
        "{ sitePatients { total patients { pseudonym consents { id } invitations { id } enrollments { id } } } }",
        &["site", "foreign_site"],
    ),
    (
        "consentReceipt",
        "query($pseudonym: String!) { consentReceipt(pseudonym: $pseudonym, scope: RECRUITMENT_CONTACT) { seq } }",
        &["site"],
    ),
    (
        "cohort",
        "{ cohort(criteria: \"age >= 18\") { display } }",
        &[
            "admin",
            "sponsor",
            "foreign_sponsor",
            "recruiter",
            "site",
            "foreign_site",
        ],
    ),
    (
        "cohortOfTrial",
        "query($trial: ID!) { cohort(trialId: $trial) { display } }",
        &["admin", "sponsor", "recruiter", "site"],
    ),
    (
        "checkCriteria",
        "{ checkCriteria(criteria: \"age >= 18\") { canonical } }",
        SIGNED_IN,
    ),
    (
        "privacyBudget",
        "{ privacyBudget { remaining } }",
        &["admin", "sponsor", "foreign_sponsor", "recruiter"],
    ),
    (
        "cohortReleases",
        "{ cohortReleases { outcome } }",
        &[
            "admin",
            "sponsor",
            "foreign_sponsor",
            "recruiter",
            "ethics",
            "foreign_ethics",
        ],
    ),
    (
        "inviteCohort",
        "mutation($trial: ID!) { inviteCohort(trialId: $trial) { trialId } }",
        &["sponsor", "recruiter"],
    ),
    (
        "invitations",
        "query($trial: ID!) { invitations(trialId: $trial) { id } }",
        &["site"],
    ),
    (
        "worklist",
        "query($trial: ID!) { worklist(trialId: $trial) { total counts { status count } } }",
        &["site"],
    ),
    (
        "recordInvitationOutcome",
        "mutation($invitation: ID!) { recordInvitationOutcome(invitationId: $invitation, outcome: CONTACTED) { status } }",
        &["site"],
    ),
    (
        "codes",
        "{ codes(query: \"E11\") { code } codeNames(codes: [\"icd10:E11\"]) { name } }",
        SIGNED_IN,
    ),
    (
        "enrollment",
        "query($enrollment: ID!) { enrollment(id: $enrollment) { id } }",
        &["site"],
    ),
    (
        "trialRecords",
        "query($trial: ID!) { trialRecords(trialId: $trial) { total } }",
        &["admin", "sponsor", "site", "ethics"],
    ),
    (
        "dataQueries",
        "{ dataQueries { id } }",
        &["sponsor", "foreign_sponsor", "site", "foreign_site"],
    ),
    (
        "raiseDataQuery",
        "mutation($submission: ID!) { raiseDataQuery(submissionId: $submission, field: \"a\", question: \"why?\") { id } }",
        &["sponsor"],
    ),
    // Answered, then closed: each by the one party that may.
    (
        "answerDataQuery",
        "mutation($query: ID!) { answerDataQuery(queryId: $query, answer: \"checked\") { id } }",
        &["site"],
    ),
    (
        "closeDataQuery",
        "mutation($query: ID!) { closeDataQuery(queryId: $query) { id } }",
        &["sponsor"],
    ),
    (
        "explainMatch",
        "query($pseudonym: String!) { explainMatch(pseudonym: $pseudonym, criteria: \"age >= 18\") { matched } }",
        &["site"],
    ),
    (
        "matchingTrials",
        "query($pseudonym: String!) { matchingTrials(pseudonym: $pseudonym) { score } }",
        &["site"],
    ),
    (
        "enrollParticipant",
        "mutation($trial: ID!, $pseudonym: String!) { enrollParticipant(trialId: $trial, pseudonym: $pseudonym) { id } }",
        &["site"],
    ),
    (
        "enrollments",
        "query($trial: ID!) { enrollments(trialId: $trial) { id } }",
        &["site", "foreign_site"],
    ),
    (
        "submitTrialData",
        "mutation($enrollment: ID!) { submitTrialData(enrollmentId: $enrollment, form: \"f\", visit: \"v2\", data: {b: 2}) { id } }",
        &["site"],
    ),
    (
        "correctTrialData",
        "mutation($submission: ID!) { correctTrialData(submissionId: $submission, data: {a: 2}, reason: \"typo\", password: \"test-password-123\") { id } }",
        &["site"],
    ),
    (
        "submissions",
        "query($enrollment: ID!) { submissions(enrollmentId: $enrollment) { id } }",
        &["admin", "site", "ethics"],
    ),
    (
        "signOffCaseReport",
        "mutation($enrollment: ID!) { signOffCaseReport(enrollmentId: $enrollment, password: \"test-password-123\") { ledgerSeq } }",
        &["site"],
    ),
    (
        "auditTrail",
        "query($trial: ID!) { auditTrail(trialId: $trial) { events { seq } } }",
        &["admin", "sponsor", "ethics"],
    ),
    (
        "ledgerHead",
        "{ ledgerHead { size } }",
        &["admin", "ethics", "foreign_ethics"],
    ),
    (
        "ledgerEntries",
        "{ ledgerEntries { seq } }",
        &["admin", "ethics", "foreign_ethics"],
    ),
    (
        "verifyLedger",
        "{ verifyLedger { ok } }",
        &["admin", "ethics", "foreign_ethics"],
    ),
    (
        "withdrawParticipant",
        "mutation($enrollment: ID!) { withdrawParticipant(enrollmentId: $enrollment, reason: \"moved\") { id } }",
        &["site"],
    ),
    (
        "unlockUser",
        "mutation($target: ID!) { unlockUser(userId: $target) { id } }",
        &["admin"],
    ),
    (
        "deactivateUser",
        "mutation($target: ID!) { deactivateUser(userId: $target) { active } }",
        &["admin"],
    ),
    (
        "activateUser",
        "mutation($target: ID!) { activateUser(userId: $target) { active } }",
        &["admin"],
    ),
    (
        "setUserRole",
        "mutation($target: ID!) { setUserRole(userId: $target, role: SPONSOR) { role } }",
        &["admin"],
    ),
    // Last: it revokes the token it is called with.
    ("logout", "mutation { logout }", SIGNED_IN),
];

const REFUSALS: &[&str] = &["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"];

/// What each ledger reader sees of the fixture's entries, in `ledgerEntries` and in the
/// export: (reader, entries of the trial (Helix's, assigned to Board One) in full?, entries
/// of no trial (recruitment-contact consent) in full?). Anything not in full is redacted.
const LEDGER_VIEW: &[(&str, bool, bool)] = &[
    ("admin", true, true),
    ("ethics", true, false),
    ("foreign_ethics", false, false),
];

async fn every_operation_checks_role_and_organisation(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let fixture = fixture(&server).await;
    let mut wrong = Vec::new();
    for (operation, document, allowed) in MATRIX {
        for actor in ACTORS {
            let token = fixture.tokens.get(actor).map(String::as_str);
            let body = server.gql(token, document, fixture.vars.clone()).await;
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("");
            let refused = REFUSALS.contains(&code);
            let should_pass = allowed.contains(actor);
            if refused == should_pass {
                wrong.push(format!(
                    "{operation} by {actor}: expected {}, got {body}",
                    if should_pass { "access" } else { "refusal" }
                ));
            }
            if *actor == "anonymous" {
                assert_eq!(code, "UNAUTHENTICATED", "{operation}: {body}");
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "authorization matrix violated:\n{}",
        wrong.join("\n")
    );
}

async fn ledger_readers_see_only_their_trials(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let fixture = fixture(&server).await;
    let trial = fixture.vars["trial"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let query =
        "{ ledgerEntries(first: 1000) { seq redacted kind actorOrg subjects { key value } } }";
    let mut wrong = Vec::new();
    for (reader, sees_trial, sees_untied) in LEDGER_VIEW {
        let token = fixture.tokens.get(reader).map(String::as_str);
        let admin = fixture.tokens.get("admin").map(String::as_str);
        let full = server.ok(admin, query, json!({})).await["ledgerEntries"].clone();
        let seen = server.ok(token, query, json!({})).await["ledgerEntries"].clone();
        let export = server
            .http
            .get(server.url("/ledger/export"))
            .bearer_auth(token.unwrap_or_default())
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("export text");
        let lines: Vec<Value> = export
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|v: &Value| v["type"] == "entry" || v["type"] == "redacted")
            .collect();
        let (Some(full), Some(seen)) = (full.as_array(), seen.as_array()) else {
            wrong.push(format!("{reader}: no entries"));
            continue;
        };
        for ((all, mine), line) in full.iter().zip(seen).zip(&lines) {
            let of_trial = all["subjects"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["key"] == "trial" && s["value"] == trial.as_str());
            let want_full = if of_trial { *sees_trial } else { *sees_untied };
            let api_full = mine["redacted"] == false && mine["kind"] == all["kind"];
            let export_full = line["type"] == "entry" && line.get("actorOrg").is_some();
            if api_full != want_full || export_full != want_full {
                wrong.push(format!(
                    "{reader}, entry {} ({}): expected {}, got {mine} / {line}",
                    all["seq"],
                    all["kind"],
                    if want_full { "full" } else { "redacted" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ledger view violated:\n{}",
        wrong.join("\n")
    );
}

on_both_databases!(
    every_operation_checks_role_and_organisation,
    ledger_readers_see_only_their_trials
);
