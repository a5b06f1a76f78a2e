//! Electronic signatures (21 CFR Part 11): every act with legal meaning is signed with the
//! actor's password re-entered; a wrong password signs and changes nothing and counts toward
//! lockout; each signature is a ledger entry bound to the signed record, shown wherever the
//! record is; an edited signed record is named by `verifyLedger`; a deactivated signer's
//! signatures stay readable.

mod common;

use common::{Backend, PASSWORD, TestServer, code_of as code};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::server::open_stores;

const SIGNATURE: &str = "signature { signerName signerRole meaning signedAt ledgerSeq }";
const CONSENT: &str = "mutation($p: String!, $t: ID, $g: Boolean!, $v: String, $d: NaiveDate, $pw: String!) { recordConsent(pseudonym: $p, scope: TRIAL_PARTICIPATION, trialId: $t, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: $pw) { ledgerSeq consentFormVersion patientSignedOn signature { signerName meaning } } }";
const CORRECT: &str = "mutation($s: ID!, $pw: String!) { correctTrialData(submissionId: $s, data: {modality: \"CT\"}, reason: \"wrong modality\", password: $pw) { version signature { signerName meaning } } }";
const SIGN_OFF: &str = "mutation($e: ID!, $pw: String!) { signOffCaseReport(enrollmentId: $e, password: $pw) { ledgerSeq current records { version } signature { signerName meaning } } }";
const HEAD: &str = "{ ledgerHead { size } }";

/// A trial at St Mary's with one enrolled participant and one record (see
/// [`common::site_with_submission`]), and the tokens of everyone involved.
struct World {
    server: TestServer,
    site: String,
    sponsor: String,
    admin: String,
    trial: String,
    enrollment: String,
    submission: String,
    pseudonym: String,
}

impl World {
    async fn start(backend: Backend) -> Option<Self> {
        let server = TestServer::start(backend).await?;
        let (site, submission) = common::site_with_submission(&server).await;
        let sponsor = server.login("s@helix.com").await;
        server.org("Operators", OrgKind::Sponsor).await;
        let admin = server.user("root@ops.test", "Operators", Role::Admin).await;
        let enrollment = server.ok(Some(&site), "{ trials { id } }", json!({})).await["trials"][0]
            ["id"]
            .as_str()
            .expect("a trial")
            .to_string();
        let trial = enrollment;
        let enrolled = server
            .ok(
                Some(&site),
                "query($t: ID!) { enrollments(trialId: $t) { id pseudonym } }",
                json!({ "t": trial }),
            )
            .await["enrollments"][0]
            .clone();
        Some(Self {
            server,
            site,
            sponsor,
            admin,
            trial,
            enrollment: enrolled["id"].as_str().expect("an enrollment").to_string(),
            submission,
            pseudonym: enrolled["pseudonym"]
                .as_str()
                .expect("a pseudonym")
                .to_string(),
        })
    }

    async fn ledger_size(&self) -> u64 {
        self.server.ok(Some(&self.admin), HEAD, json!({})).await["ledgerHead"]["size"]
            .as_u64()
            .expect("a size")
    }

    async fn consent(&self, granted: bool, form: Option<(&str, &str)>, password: &str) -> Value {
        let vars = json!({ "p": self.pseudonym, "t": self.trial, "g": granted,
                           "v": form.map(|f| f.0), "d": form.map(|f| f.1), "pw": password });
        self.server.gql(Some(&self.site), CONSENT, vars).await
    }

    async fn sign_off(&self, password: &str) -> Value {
        let vars = json!({ "e": self.enrollment, "pw": password });
        self.server.gql(Some(&self.site), SIGN_OFF, vars).await
    }

    async fn verify(&self) -> Value {
        self.server
            .ok(
                Some(&self.admin),
                "{ verifyLedger(full: true) { ok firstBadSeq problems } }",
                json!({}),
            )
            .await["verifyLedger"]
            .clone()
    }
}

/// Publication, amendment, the ethics decision, consent, correction and sign-off are each
/// followed by their `record.signed` entry, and the API shows each signature with the
/// signer's printed name, role and meaning.
async fn every_act_with_legal_meaning_is_signed(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let versions = format!(
        "query($t: ID!) {{ trial(id: $t) {{ versions {{ ledgerSeq {SIGNATURE} review {{ {SIGNATURE} }} }} }} }}"
    );
    let trial = w
        .server
        .ok(Some(&w.sponsor), &versions, json!({ "t": w.trial }))
        .await;
    let v1 = &trial["trial"]["versions"][0];
    assert_eq!(v1["signature"]["signerName"], "S", "{v1}");
    assert_eq!(v1["signature"]["signerRole"], "SPONSOR", "{v1}");
    assert_eq!(
        v1["signature"]["ledgerSeq"],
        json!(v1["ledgerSeq"].as_i64().expect("a seq") + 1),
        "the signature is the entry right after the version: {v1}"
    );
    assert!(
        v1["signature"]["meaning"]
            .as_str()
            .is_some_and(|m| m.contains("approve this protocol version")),
        "{v1}"
    );
    assert_eq!(v1["review"]["signature"]["signerName"], "Board", "{v1}");
    assert_eq!(v1["review"]["signature"]["meaning"], "approved", "{v1}");

    let granted = w
        .consent(true, Some(("v2.1", "2026-12-01")), PASSWORD)
        .await;
    assert_eq!(code(&granted), "none", "{granted}");
    let consent = &granted["data"]["recordConsent"];
    assert_eq!(consent["consentFormVersion"], "v2.1", "{consent}");
    assert_eq!(consent["patientSignedOn"], "2026-12-01", "{consent}");
    assert_eq!(consent["signature"]["signerName"], "Crc", "{consent}");
    assert!(
        consent["signature"]["meaning"]
            .as_str()
            .is_some_and(|m| m.contains("consent form v2.1") && m.contains("2026-12-01")),
        "{consent}"
    );

    let corrected = w
        .server
        .gql(
            Some(&w.site),
            CORRECT,
            json!({ "s": w.submission, "pw": PASSWORD }),
        )
        .await;
    let correction = &corrected["data"]["correctTrialData"];
    assert_eq!(correction["version"], 2, "{corrected}");
    assert_eq!(
        correction["signature"]["meaning"],
        "I attest that this correction is accurate"
    );

    let signed_off = w.sign_off(PASSWORD).await;
    let sign_off = &signed_off["data"]["signOffCaseReport"];
    assert_eq!(sign_off["current"], true, "{signed_off}");
    assert_eq!(
        sign_off["records"],
        json!([{ "version": 2 }]),
        "{signed_off}"
    );
    assert_eq!(sign_off["signature"]["signerName"], "Crc", "{signed_off}");

    // The audit trail names each signature, and the whole ledger verifies.
    let trail = w
        .server
        .ok(
            Some(&w.sponsor),
            "query($t: ID!) { auditTrail(trialId: $t) { events { kind description actorName actorRole actorOrgName subjects { key value } } } }",
            json!({ "t": w.trial }),
        )
        .await;
    let events = trail["auditTrail"]["events"].as_array().expect("events");
    let signed: Vec<&str> = events
        .windows(2)
        .filter(|pair| pair[1]["kind"] == "record.signed")
        .map(|pair| pair[0]["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(
        signed,
        [
            "protocol.published",
            "protocol.reviewed",
            "consent.granted",
            "consent.granted",
            "data.corrected",
            "casereport.signed-off"
        ]
    );
    let signature = events
        .iter()
        .find(|e| e["kind"] == "record.signed")
        .expect("a signature");
    assert_eq!(signature["description"], "Electronic signature");
    assert_eq!(signature["actorName"], "S", "{signature}");
    assert_eq!(signature["actorRole"], "SPONSOR", "{signature}");
    assert_eq!(signature["actorOrgName"], "Helix", "{signature}");
    assert_eq!(w.verify().await["ok"], true);
}

/// A wrong password signs nothing and changes nothing, for every signed act, and each failure
/// counts toward the account's lockout; a missing consent form is a clear `BAD_INPUT`.
async fn a_wrong_password_changes_nothing(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let before = w.ledger_size().await;
    let wrong = "not-the-password";
    let protocol = json!({ "title": "T2", "primaryEndpoint": "E", "targetEnrollment": 5 });
    let publish = w
        .server
        .gql(
            Some(&w.sponsor),
            "mutation($i: PublishProtocolInput!, $pw: String!) { publishProtocol(input: $i, password: $pw) { id } }",
            json!({ "i": protocol, "pw": wrong }),
        )
        .await;
    // A protocol naming neither sites nor board is refused before any password is checked.
    assert_eq!(code(&publish), "BAD_INPUT", "{publish}");
    let amend = w
        .server
        .gql(
            Some(&w.sponsor),
            "mutation($t: ID!, $i: PublishProtocolInput!, $pw: String!) { amendProtocol(trialId: $t, input: $i, reason: \"r\", password: $pw) { id } }",
            json!({ "t": w.trial, "i": { "title": "T", "primaryEndpoint": "E2", "targetEnrollment": 5 }, "pw": wrong }),
        )
        .await;
    assert_eq!(code(&amend), "SIGNATURE_REFUSED", "{amend}");
    let consent = w.consent(true, Some(("v2", "2026-12-01")), wrong).await;
    assert_eq!(code(&consent), "SIGNATURE_REFUSED", "{consent}");
    let correct = w
        .server
        .gql(
            Some(&w.site),
            CORRECT,
            json!({ "s": w.submission, "pw": wrong }),
        )
        .await;
    assert_eq!(code(&correct), "SIGNATURE_REFUSED", "{correct}");
    let sign_off = w.sign_off(wrong).await;
    assert_eq!(code(&sign_off), "SIGNATURE_REFUSED", "{sign_off}");
    assert!(
        sign_off
            .to_string()
            .contains("nothing was signed or changed"),
        "{sign_off}"
    );
    assert_eq!(w.ledger_size().await, before, "nothing was appended");

    // Bad consent forms are refused, whatever the password.
    for (granted, form) in [
        (true, None),
        (false, Some(("v2", "2026-12-01"))),
        (true, Some(("v2", "2999-01-01"))),
        (true, Some(("  ", "2026-12-01"))),
    ] {
        let refused = w.consent(granted, form, PASSWORD).await;
        assert_eq!(code(&refused), "BAD_INPUT", "{granted} {form:?}: {refused}");
    }
    assert_eq!(w.ledger_size().await, before, "nothing was appended");

    // Three failures so far at the site: two more lock the account (five in all).
    for _ in 0..2 {
        let refused = w.sign_off(wrong).await;
        assert_eq!(code(&refused), "SIGNATURE_REFUSED", "{refused}");
    }
    let locked = w.sign_off(PASSWORD).await;
    assert_eq!(code(&locked), "SIGNATURE_REFUSED", "{locked}");
    assert!(locked.to_string().contains("locked"), "{locked}");
    assert_eq!(w.ledger_size().await, before, "nothing was appended");
}

/// The latest sign-off of the first participant's case report.
async fn latest(w: &World) -> Value {
    w.server
        .ok(
            Some(&w.site),
            "query($t: ID!) { enrollments(trialId: $t) { caseReportSignOff { current records { version } } } }",
            json!({ "t": w.trial }),
        )
        .await["enrollments"][0]["caseReportSignOff"]
        .clone()
}

/// A sign-off covers each record at the version signed: a correction makes it stale until
/// the next sign-off, and a case report with no data has nothing to sign.
async fn a_sign_off_goes_stale_when_a_record_changes(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    assert_eq!(latest(&w).await, Value::Null, "not signed off yet");
    assert_eq!(code(&w.sign_off(PASSWORD).await), "none");
    assert_eq!(latest(&w).await["current"], true);
    w.server
        .ok(
            Some(&w.site),
            CORRECT,
            json!({ "s": w.submission, "pw": PASSWORD }),
        )
        .await;
    let stale = latest(&w).await;
    assert_eq!(stale["current"], false, "{stale}");
    assert_eq!(stale["records"], json!([{ "version": 1 }]), "{stale}");
    assert_eq!(code(&w.sign_off(PASSWORD).await), "none");
    let fresh = latest(&w).await;
    assert_eq!(fresh["current"], true, "{fresh}");
    assert_eq!(fresh["records"], json!([{ "version": 2 }]), "{fresh}");

    // A second participant with no data yet.
    let p = w
        .server
        .ok(Some(&w.site), "mutation { registerPatient(input: {localId: \"B\", birthDate: \"1970-01-01\", sex: FEMALE, zip: \"10001\"}) { pseudonym } }", json!({}))
        .await["registerPatient"]["pseudonym"]
        .clone();
    let other = World {
        pseudonym: p.as_str().expect("a pseudonym").to_string(),
        ..w
    };
    assert_eq!(
        code(
            &other
                .consent(true, Some(("v1", "2026-12-01")), PASSWORD)
                .await
        ),
        "none"
    );
    let enrolled = other
        .server
        .ok(
            Some(&other.site),
            "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }",
            json!({ "t": other.trial, "p": other.pseudonym }),
        )
        .await["enrollParticipant"]["id"]
        .as_str()
        .expect("an enrollment")
        .to_string();
    let empty = World {
        enrollment: enrolled,
        ..other
    };
    let nothing = empty.sign_off(PASSWORD).await;
    assert_eq!(code(&nothing), "BAD_INPUT", "{nothing}");
}

/// Someone edits a signed correction's content in the database: `verifyLedger` names the
/// entry, and the signature still names what was signed.
async fn an_edited_signed_record_is_named(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let corrected = w
        .server
        .ok(
            Some(&w.site),
            "mutation($s: ID!, $pw: String!) { correctTrialData(submissionId: $s, data: {modality: \"CT\"}, reason: \"wrong modality\", password: $pw) { ledgerSeq } }",
            json!({ "s": w.submission, "pw": PASSWORD }),
        )
        .await;
    let seq = corrected["correctTrialData"]["ledgerSeq"]
        .as_i64()
        .expect("a seq");
    assert_eq!(w.verify().await["ok"], true);
    let stores = open_stores(&w.server.store.config()).await.expect("stores");
    stores
        .db
        .execute_unprepared(&format!(
            "UPDATE ledger_payloads SET body = replace(body, '\"CT\"', '\"PET\"') WHERE seq = {seq}"
        ))
        .await
        .expect("the payload is edited");
    let verdict = w.verify().await;
    assert_eq!(verdict["ok"], false, "{verdict}");
    assert_eq!(verdict["firstBadSeq"], seq, "{verdict}");
}

/// A deactivated member can no longer sign in or sign, and every signature they made stays
/// valid and readable, with their name.
async fn a_deactivated_signers_signatures_stay_readable(backend: Backend) {
    let Some(w) = World::start(backend).await else {
        return;
    };
    let site_user = w
        .server
        .ok(Some(&w.site), "{ me { id displayName } }", json!({}))
        .await["me"]
        .clone();
    assert_eq!(site_user["displayName"], "Crc");
    let signed = w.sign_off(PASSWORD).await;
    assert_eq!(code(&signed), "none", "{signed}");
    w.server
        .ok(
            Some(&w.admin),
            "mutation($u: ID!) { deactivateUser(userId: $u) { active } }",
            json!({ "u": site_user["id"] }),
        )
        .await;
    let refused = w.sign_off(PASSWORD).await;
    assert_eq!(
        code(&refused),
        "UNAUTHENTICATED",
        "the old token is refused: {refused}"
    );
    let sign_in = w
        .server
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": "crc@stmarys.org", "p": PASSWORD }),
        )
        .await;
    assert_ne!(code(&sign_in), "none", "{sign_in}");

    let board = w.server.login("board@irb.test").await;
    let shown = w
        .server
        .ok(
            Some(&board),
            "query($e: ID!) { submissions(enrollmentId: $e) { version } }",
            json!({ "e": w.enrollment }),
        )
        .await;
    assert_eq!(shown["submissions"][0]["version"], 1, "{shown}");
    let trail = w
        .server
        .ok(
            Some(&board),
            "query($t: ID!) { auditTrail(trialId: $t) { events { kind actorName } } }",
            json!({ "t": w.trial }),
        )
        .await;
    let sign_offs: Vec<&Value> = trail["auditTrail"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "casereport.signed-off")
        .collect();
    assert_eq!(sign_offs.len(), 1, "{trail}");
    assert_eq!(sign_offs[0]["actorName"], "Crc", "{trail}");
    assert_eq!(w.verify().await["ok"], true);
}

on_both_databases!(
    every_act_with_legal_meaning_is_signed,
    a_wrong_password_changes_nothing,
    a_sign_off_goes_stale_when_a_record_changes,
    an_edited_signed_record_is_named,
    a_deactivated_signers_signatures_stay_readable,
);
