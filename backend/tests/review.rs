//! Ethics review of every protocol version: a new trial enrolls and invites nobody until its
//! named board approves it; an amendment goes back to review while enrolled participants go
//! on; each decision is a ledger entry, made once, by the named board only.

mod common;

use common::{Backend, TestServer, code_of as code};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::ledger_payload;
use veritrial::server::open_stores;

const PUBLISH: &str = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }";
const AMEND: &str = "mutation($t: ID!, $i: PublishProtocolInput!) { amendProtocol(trialId: $t, input: $i, reason: \"r\", password: \"test-password-123\") { currentVersion } }";
const REVIEW: &str = "mutation($t: ID!, $v: Int!, $d: ReviewDecision!, $c: String, $pw: String!) { reviewProtocol(trialId: $t, version: $v, decision: $d, comment: $c, password: $pw) { id } }";
const VERSIONS: &str = "query($t: ID!) { trial(id: $t) { versions { version reviewStatus review { decision comment reviewerOrgId signedBy ledgerSeq } } } }";
const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $t: ID) { recordConsent(pseudonym: $p, scope: TRIAL_PARTICIPATION, trialId: $t, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }";
const ENROLL: &str =
    "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }";
const SUBMIT: &str = "mutation($e: ID!) { submitTrialData(enrollmentId: $e, form: \"f\", visit: \"v\", data: {a: 1}) { id } }";

struct World {
    server: TestServer,
    sponsor: String,
    site: String,
    board: String,
    other_board: String,
    trial: String,
    protocol: Value,
}

impl World {
    /// A trial of Helix at St Mary's, reviewed by Board X (Board Y reviews other trials).
    async fn start(backend: Backend) -> Option<Self> {
        let server = TestServer::start(backend).await?;
        server.org("Helix", OrgKind::Sponsor).await;
        let site_id = server.org("St Mary's", OrgKind::Site).await;
        let board_id = server.org("Board X", OrgKind::Ethics).await;
        server.org("Board Y", OrgKind::Ethics).await;
        let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
        let site = server
            .user("crc@stmarys.org", "St Mary's", Role::Site)
            .await;
        let board = server.user("x@irb.org", "Board X", Role::Ethics).await;
        let other_board = server.user("y@irb.org", "Board Y", Role::Ethics).await;
        let protocol = json!({ "title": "T", "primaryEndpoint": "E", "targetEnrollment": 10,
                               "siteIds": [site_id], "ethicsBoardId": board_id });
        let trial = server
            .ok(Some(&sponsor), PUBLISH, json!({ "i": protocol }))
            .await["publishProtocol"]["id"]
            .as_str()
            .expect("a trial id")
            .to_string();
        Some(Self {
            server,
            sponsor,
            site,
            board,
            other_board,
            trial,
            protocol,
        })
    }

    /// A decision signed with the harness password.
    async fn review(&self, token: &str, version: i32, decision: &str, comment: &str) -> Value {
        self.signed_review(token, version, decision, comment, common::PASSWORD)
            .await
    }

    async fn signed_review(
        &self,
        token: &str,
        version: i32,
        decision: &str,
        comment: &str,
        password: &str,
    ) -> Value {
        let vars =
            json!({ "t": self.trial, "v": version, "d": decision, "c": comment, "pw": password });
        self.server.gql(Some(token), REVIEW, vars).await
    }

    async fn versions(&self) -> Value {
        self.server
            .ok(Some(&self.sponsor), VERSIONS, json!({ "t": self.trial }))
            .await["trial"]["versions"]
            .clone()
    }

    /// Registers a patient with participation consent; returns the pseudonym.
    async fn patient(&self, local_id: &str) -> Value {
        let patient = json!({ "localId": local_id, "birthDate": "1970-01-01", "sex": "FEMALE", "zip": "02139" });
        let pseudonym = self
            .server
            .ok(Some(&self.site), REGISTER, json!({ "i": patient }))
            .await["registerPatient"]["pseudonym"]
            .clone();
        self.server
            .ok(
                Some(&self.site),
                CONSENT,
                json!({ "p": pseudonym, "t": self.trial }),
            )
            .await;
        pseudonym
    }

    async fn enroll(&self, pseudonym: &Value) -> Value {
        let vars = json!({ "t": self.trial, "p": pseudonym });
        self.server.gql(Some(&self.site), ENROLL, vars).await
    }

    async fn amend(&self, target: u32) {
        let mut protocol = self.protocol.clone();
        protocol["targetEnrollment"] = json!(target);
        self.server
            .ok(
                Some(&self.sponsor),
                AMEND,
                json!({ "t": self.trial, "i": protocol }),
            )
            .await;
    }
}

/// Before approval nobody is enrolled; only the named board decides, on the current
/// version, once; a refusal needs a reason; the decision is a ledger entry.
async fn enrollment_waits_for_the_boards_approval(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    assert_eq!(w.versions().await[0]["reviewStatus"], "SUBMITTED");
    let alice = w.patient("A-1").await;
    let early = w.enroll(&alice).await;
    assert_eq!(code(&early), "CONFLICT", "{early}");
    assert!(early.to_string().contains("approval"), "{early}");

    for (token, expected) in [
        (&w.sponsor, "FORBIDDEN"),
        (&w.site, "FORBIDDEN"),
        (&w.other_board, "NOT_FOUND"),
    ] {
        let refused = w.review(token, 1, "APPROVED", "").await;
        assert_eq!(code(&refused), expected, "{refused}");
    }
    let no_reason = w.review(&w.board, 1, "REJECTED", "  ").await;
    assert_eq!(code(&no_reason), "BAD_INPUT", "{no_reason}");
    let wrong_version = w.review(&w.board, 2, "APPROVED", "").await;
    assert_eq!(code(&wrong_version), "CONFLICT", "{wrong_version}");
    assert_eq!(w.versions().await[0]["reviewStatus"], "SUBMITTED");

    let approved = w.review(&w.board, 1, "APPROVED", "Fine.").await;
    assert_eq!(code(&approved), "none", "{approved}");
    let again = w.review(&w.board, 1, "REJECTED", "Second thoughts").await;
    assert_eq!(code(&again), "CONFLICT", "{again}");
    let version = &w.versions().await[0];
    assert_eq!(version["reviewStatus"], "APPROVED");
    assert_eq!(version["review"]["decision"], "APPROVED");
    assert_eq!(version["review"]["comment"], "Fine.");
    assert_eq!(version["review"]["signedBy"], "X");
    let seq = version["review"]["ledgerSeq"].as_i64().expect("a seq");
    let entries = w
        .server
        .ok(
            Some(&w.board),
            "{ ledgerEntries(first: 100) { seq kind subjects { key value } } }",
            json!({}),
        )
        .await["ledgerEntries"]
        .clone();
    let entry = entries
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["seq"] == seq)
        .expect("the decision's entry");
    assert_eq!(entry["kind"], "protocol.reviewed", "{entry}");
    assert!(entry["subjects"].to_string().contains(&w.trial), "{entry}");

    let enrolled = w.enroll(&alice).await;
    assert_eq!(code(&enrolled), "none", "{enrolled}");
}

/// An amendment goes back to review: new enrollments wait for its approval, while the
/// participant already enrolled goes on submitting data; changes requested keep it closed.
async fn an_amendment_waits_for_review_while_participants_go_on(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    w.server.approve(&w.board, &w.trial, 1).await;
    let alice = w.patient("A-1").await;
    let enrollment = w.enroll(&alice).await["data"]["enrollParticipant"]["id"].clone();
    assert!(enrollment.is_string());

    w.amend(20).await;
    assert_eq!(w.versions().await[1]["reviewStatus"], "SUBMITTED");
    let bob = w.patient("B-1").await;
    let waiting = w.enroll(&bob).await;
    assert_eq!(code(&waiting), "CONFLICT", "{waiting}");
    let submitted = w
        .server
        .gql(Some(&w.site), SUBMIT, json!({ "e": enrollment }))
        .await;
    assert_eq!(code(&submitted), "none", "alice goes on: {submitted}");
    let superseded = w.review(&w.board, 1, "REJECTED", "too late").await;
    assert_eq!(code(&superseded), "CONFLICT", "{superseded}");

    let changes = w
        .review(&w.board, 2, "CHANGES_REQUESTED", "Justify the new target")
        .await;
    assert_eq!(code(&changes), "none", "{changes}");
    assert_eq!(w.versions().await[1]["reviewStatus"], "CHANGES_REQUESTED");
    let still = w.enroll(&bob).await;
    assert_eq!(code(&still), "CONFLICT", "{still}");
    assert!(still.to_string().contains("changes"), "{still}");

    w.amend(18).await;
    w.server.approve(&w.board, &w.trial, 3).await;
    let enrolled = w.enroll(&bob).await;
    assert_eq!(code(&enrolled), "none", "{enrolled}");
}

/// A decision is an electronic signature: a wrong password is refused, changes nothing, and
/// counts toward the account's lockout, after which the member can neither sign nor sign in;
/// the signature (who, when, meaning) is the ledger entry right after the decision.
async fn a_decision_is_signed_with_the_members_password(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    for attempt in 1..=4 {
        let refused = w
            .signed_review(&w.board, 1, "APPROVED", "", "not-my-password")
            .await;
        assert_eq!(
            code(&refused),
            "SIGNATURE_REFUSED",
            "attempt {attempt}: {refused}"
        );
    }
    assert_eq!(w.versions().await[0]["reviewStatus"], "SUBMITTED");
    let signed = w
        .review(&w.board, 1, "CHANGES_REQUESTED", "Add a DSMB")
        .await;
    assert_eq!(code(&signed), "none", "{signed}");
    let seq = w.versions().await[0]["review"]["ledgerSeq"]
        .as_i64()
        .expect("a seq");
    let stores = open_stores(&w.server.store.config()).await.expect("stores");
    // The signature is the entry right after the decision's.
    let body = ledger_payload::Entity::find_by_id(seq + 1)
        .one(&stores.db)
        .await
        .expect("read")
        .and_then(|p| p.body)
        .expect("the signature's payload");
    let signature: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(signature["signerName"], "X", "{signature}");
    assert_eq!(signature["signerRole"], "ethics", "{signature}");
    assert_eq!(signature["meaning"], "changes requested", "{signature}");
    assert!(signature["signedAt"].is_string(), "{signature}");

    // Four failures before, one more after: the fifth locks the account.
    w.amend(12).await;
    let fifth = w
        .signed_review(&w.board, 2, "APPROVED", "", "not-my-password")
        .await;
    assert_eq!(code(&fifth), "SIGNATURE_REFUSED", "{fifth}");
    let locked = w.review(&w.board, 2, "APPROVED", "").await;
    assert_eq!(code(&locked), "SIGNATURE_REFUSED", "{locked}");
    assert!(locked.to_string().contains("locked"), "{locked}");
    let sign_in = w
        .server
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": "x@irb.org", "p": common::PASSWORD }),
        )
        .await;
    assert_ne!(code(&sign_in), "none", "the account is locked: {sign_in}");
    assert_eq!(w.versions().await[1]["reviewStatus"], "SUBMITTED");
}

/// Two board members deciding at once: one decision is kept, the other is a `CONFLICT`.
async fn concurrent_decisions_keep_one(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let second = w.server.user("x2@irb.org", "Board X", Role::Ethics).await;
    let (a, b) = tokio::join!(
        w.review(&w.board, 1, "APPROVED", ""),
        w.review(&second, 1, "REJECTED", "No"),
    );
    let mut codes = [code(&a), code(&b)];
    codes.sort_unstable();
    assert_eq!(codes, ["CONFLICT", "none"], "{a} {b}");
    let kept = &w.versions().await[0];
    let expected = if code(&a) == "none" {
        "APPROVED"
    } else {
        "REJECTED"
    };
    assert_eq!(kept["reviewStatus"], expected, "{kept}");
}

on_both_databases!(
    enrollment_waits_for_the_boards_approval,
    an_amendment_waits_for_review_while_participants_go_on,
    concurrent_decisions_keep_one,
    a_decision_is_signed_with_the_members_password,
);
