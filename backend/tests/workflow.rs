//! The whole story over GraphQL on a running server: a sponsor publishes, a site registers
//! patients and consents, a recruiter counts and invites, the site enrolls and submits and
//! corrects, an ethics board verifies and reads the audit trail, then finds a tampered record.

mod common;

use common::{Backend, TestServer};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::server::open_stores;

const CRITERIA: &str =
    "age between 40 and 75 and condition = icd10:E11* and lab loinc:4548-4 between 7.0 and 10.0";

const PUBLISH: &str = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id currentVersion versions { version ledgerSeq hash flags } } }";
const REGISTER: &str = "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym age zip3 conditions } }";
const CONSENT: &str = "mutation($p: String!, $s: ConsentScope!, $t: ID, $g: Boolean!, $v: String, $d: NaiveDate) { recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: \"test-password-123\") { ledgerSeq granted } }";
const COHORT: &str = "query($t: ID) { cohort(trialId: $t) { count suppressed display approximate margin95 privacyCost funnel { clause remaining suppressed } sites { siteName count suppressed display } } }";
/// A site's exact count of its own consenting patients who fit the trial.
const OWN_COUNT: &str = "query($t: ID) { cohort(trialId: $t) { count approximate } }";
/// Six standard deviations of the default noise: a noisy count is never farther from the truth.
const NOISE_BOUND: i64 = 6 * 20;

fn near(released: &Value, exact: u64) -> bool {
    released
        .as_i64()
        .is_some_and(|n| (n - exact as i64).abs() <= NOISE_BOUND)
}

/// Patient `i` of a site: who fits the criteria is known by construction.
struct Synthetic {
    local_id: String,
    birth_year: i32,
    diabetic: bool,
    hba1c: f64,
}

fn synthetic(prefix: &str, i: usize) -> Synthetic {
    Synthetic {
        local_id: format!("{prefix}-MRN-{i:04}"),
        birth_year: 1940 + (i as i32 * 7) % 60,
        diabetic: !i.is_multiple_of(3),
        hba1c: 5.5 + (i % 7) as f64 * 0.8,
    }
}

impl Synthetic {
    fn eligible(&self) -> bool {
        let age = veritrial::services::anonymise::age_in_years(
            self.birth(),
            chrono::Utc::now().date_naive(),
        )
        .unwrap();
        (40..=75).contains(&age) && self.diabetic && (7.0..=10.0).contains(&self.hba1c)
    }

    fn birth(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.birth_year, 7, 1).unwrap()
    }

    fn input(&self) -> Value {
        let conditions = if self.diabetic {
            vec!["icd10:E11.9", "icd10:I10"]
        } else {
            vec!["icd10:I10"]
        };
        json!({
            "localId": self.local_id,
            "birthDate": self.birth().to_string(),
            "sex": if self.birth_year % 2 == 0 { "FEMALE" } else { "MALE" },
            "zip": "02139-4307",
            "conditions": conditions,
            "medications": ["atc:A10BA02"],
            "labs": [{ "code": "loinc:4548-4", "value": self.hba1c, "unit": "%", "date": "2025-10-12" }],
            "terms": ["Type 2 diabetes mellitus"],
        })
    }
}

async fn register_all(
    server: &TestServer,
    token: &str,
    prefix: &str,
    n: usize,
) -> Vec<(Synthetic, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let patient = synthetic(prefix, i);
        let data = server
            .ok(Some(token), REGISTER, json!({ "i": patient.input() }))
            .await;
        let pseudonym = data["registerPatient"]["pseudonym"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(data["registerPatient"]["zip3"], "021");
        out.push((patient, pseudonym));
    }
    out
}

async fn consent(
    server: &TestServer,
    token: &str,
    pseudonym: &str,
    scope: &str,
    trial: Option<&str>,
    granted: bool,
) -> Value {
    server
        .ok(
            Some(token),
            CONSENT,
            json!({ "p": pseudonym, "s": scope, "t": trial, "g": granted, "v": granted.then_some("v1"), "d": granted.then_some("2026-12-01") }),
        )
        .await["recordConsent"]
        .clone()
}

async fn the_whole_story(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix Therapeutics", OrgKind::Sponsor).await;
    let st_marys = server.org("St Mary's Hospital", OrgKind::Site).await;
    let northside = server.org("Northside Clinic", OrgKind::Site).await;
    server.org("TrialReach", OrgKind::Recruiter).await;
    let board = server.org("Regional Ethics Board", OrgKind::Ethics).await;
    let sponsor = server
        .user("sponsor@helix.com", "Helix Therapeutics", Role::Sponsor)
        .await;
    let site = server
        .user("crc@stmarys.org", "St Mary's Hospital", Role::Site)
        .await;
    let north = server
        .user("crc@northside.org", "Northside Clinic", Role::Site)
        .await;
    let recruiter = server
        .user("rec@trialreach.com", "TrialReach", Role::Recruiter)
        .await;
    let ethics = server
        .user("irb@board.org", "Regional Ethics Board", Role::Ethics)
        .await;

    // The sponsor publishes; bad criteria are refused with their position.
    let mut protocol = json!({
        "title": "Metformin XR in poorly controlled type 2 diabetes",
        "summary": "Does extended-release metformin lower HbA1c more than standard release?",
        "phase": "PHASE3",
        "primaryEndpoint": "Change in HbA1c at 24 weeks",
        "secondaryEndpoints": ["Fasting glucose at 24 weeks"],
        "targetEnrollment": 120,
        "criteria": "age >= 40 and condition == icd10:E11",
        "siteIds": [st_marys, northside],
        "ethicsBoardId": board,
        "conditions": ["Type 2 diabetes mellitus"],
        "keywords": ["metformin", "HbA1c"],
    });
    let bad = server
        .gql(Some(&sponsor), PUBLISH, json!({ "i": protocol }))
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_CRITERIA",
        "{bad}"
    );
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 1, column"),
        "{bad}"
    );
    protocol["criteria"] = json!(CRITERIA);
    let trial = server
        .ok(Some(&sponsor), PUBLISH, json!({ "i": protocol }))
        .await["publishProtocol"]
        .clone();
    let trial_id = trial["id"].as_str().unwrap().to_string();
    assert_eq!(trial["versions"][0]["version"], 1);

    // Sites register patients and record recruitment consent for most of them.
    let mine = register_all(&server, &site, "SM", 50).await;
    let theirs = register_all(&server, &north, "NS", 12).await;
    let consenting: Vec<&(Synthetic, String)> = mine
        .iter()
        .filter(|(p, _)| !p.local_id.ends_with('7'))
        .collect();
    for (_, pseudonym) in &consenting {
        consent(&server, &site, pseudonym, "RECRUITMENT_CONTACT", None, true).await;
    }
    for (_, pseudonym) in &theirs {
        consent(
            &server,
            &north,
            pseudonym,
            "RECRUITMENT_CONTACT",
            None,
            true,
        )
        .await;
    }

    // The recruiter's counts are noisy (within the noise's range of the truth), every
    // participating site is listed, and asking again shows the same numbers for free.
    let expected_mine = consenting.iter().filter(|(p, _)| p.eligible()).count() as u64;
    let expected_theirs = theirs.iter().filter(|(p, _)| p.eligible()).count() as u64;
    assert!(
        expected_mine >= 11 && expected_theirs < 11,
        "{expected_mine} {expected_theirs}"
    );
    let cohort = server
        .ok(Some(&recruiter), COHORT, json!({ "t": trial_id }))
        .await["cohort"]
        .clone();
    assert_eq!(cohort["approximate"], true);
    assert_eq!(cohort["margin95"], 39);
    assert!(cohort["privacyCost"].as_f64().unwrap() > 0.0, "{cohort}");
    assert!(
        cohort["suppressed"] == true || near(&cohort["count"], expected_mine + expected_theirs),
        "{cohort}"
    );
    assert_eq!(cohort["funnel"].as_array().unwrap().len(), 3);
    let sites = cohort["sites"].as_array().unwrap();
    let names: Vec<&str> = sites
        .iter()
        .map(|s| s["siteName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Northside Clinic"), "{cohort}");
    let again = server
        .ok(Some(&recruiter), COHORT, json!({ "t": trial_id }))
        .await["cohort"]
        .clone();
    assert_eq!(again["count"], cohort["count"]);
    assert_eq!(again["funnel"], cohort["funnel"]);
    assert_eq!(again["sites"], cohort["sites"]);
    assert_eq!(again["privacyCost"], 0.0);
    // The trial's board audits the recruiter's queries about it; another board does not.
    server.org("Other Board", OrgKind::Ethics).await;
    let other_board = server
        .user("irb@other.org", "Other Board", Role::Ethics)
        .await;
    let trail = "{ cohortReleases { trialId outcome } }";
    let board_view = server.ok(Some(&ethics), trail, json!({})).await["cohortReleases"].clone();
    assert!(
        board_view
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["trialId"] == trial_id.as_str()),
        "{board_view}"
    );
    let other_view =
        server.ok(Some(&other_board), trail, json!({})).await["cohortReleases"].clone();
    assert_eq!(
        other_view,
        json!([]),
        "another board sees nothing of this trial's queries"
    );
    let pseudonyms_leak = server
        .gql(
            Some(&recruiter),
            "{ invitations(trialId: \"x\") { pseudonym } }",
            json!({}),
        )
        .await;
    assert_eq!(
        pseudonyms_leak["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    // Withdrawing consent takes a patient out of the very next count (the site's own,
    // exact count).
    let own_before = server
        .ok(Some(&site), OWN_COUNT, json!({ "t": trial_id }))
        .await["cohort"]
        .clone();
    assert_eq!(
        own_before,
        json!({ "count": expected_mine, "approximate": false })
    );
    let (_, leaving) = consenting.iter().find(|(p, _)| p.eligible()).unwrap();
    consent(&server, &site, leaving, "RECRUITMENT_CONTACT", None, false).await;
    let own_after = server
        .ok(Some(&site), OWN_COUNT, json!({ "t": trial_id }))
        .await["cohort"]
        .clone();
    assert_eq!(own_after["count"], expected_mine - 1);

    // Nobody is invited before the ethics board approves the protocol.
    let invite =
        "mutation($t: ID!) { inviteCohort(trialId: $t) { invited { count display } ledgerSeq } }";
    let early = server
        .gql(Some(&recruiter), invite, json!({ "t": trial_id }))
        .await;
    assert_eq!(
        early["errors"][0]["extensions"]["code"], "CONFLICT",
        "{early}"
    );
    assert!(
        early["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("approval")),
        "{early}"
    );
    server.approve(&ethics, &trial_id, 1).await;

    // Invitations: each site sees only its own patients.
    let invited = server
        .ok(Some(&recruiter), invite, json!({ "t": trial_id }))
        .await;
    let shown = &invited["inviteCohort"]["invited"];
    assert!(
        shown["count"].is_null() || near(&shown["count"], expected_mine + expected_theirs - 1),
        "{invited}"
    );
    let invitations = "query($t: ID!) { invitations(trialId: $t) { pseudonym } }";
    let own = server
        .ok(Some(&site), invitations, json!({ "t": trial_id }))
        .await["invitations"]
        .clone();
    assert_eq!(own.as_array().unwrap().len() as u64, expected_mine - 1);
    let theirs_seen = server
        .ok(Some(&north), invitations, json!({ "t": trial_id }))
        .await["invitations"]
        .clone();
    assert_eq!(
        theirs_seen.as_array().unwrap().len() as u64,
        expected_theirs
    );
    let own_pseudonyms: Vec<&str> = own
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pseudonym"].as_str().unwrap())
        .collect();
    assert!(
        theirs
            .iter()
            .all(|(_, p)| !own_pseudonyms.contains(&p.as_str()))
    );

    // Enrollment needs trial consent and eligibility, re-checked now.
    let enroll = "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id protocolVersion status ledgerSeq } }";
    let (_, alice) = mine
        .iter()
        .find(|(p, ps)| p.eligible() && ps != leaving)
        .unwrap();
    let no_consent = server
        .gql(Some(&site), enroll, json!({ "t": trial_id, "p": alice }))
        .await;
    assert_eq!(
        no_consent["errors"][0]["extensions"]["code"], "CONFLICT",
        "{no_consent}"
    );
    consent(
        &server,
        &site,
        alice,
        "TRIAL_PARTICIPATION",
        Some(&trial_id),
        true,
    )
    .await;
    let enrolled = server
        .ok(Some(&site), enroll, json!({ "t": trial_id, "p": alice }))
        .await["enrollParticipant"]
        .clone();
    assert_eq!(enrolled["protocolVersion"], 1);
    let enrollment_id = enrolled["id"].as_str().unwrap().to_string();
    let (_, bob) = mine.iter().find(|(p, _)| !p.eligible()).unwrap();
    consent(
        &server,
        &site,
        bob,
        "TRIAL_PARTICIPATION",
        Some(&trial_id),
        true,
    )
    .await;
    let ineligible = server
        .gql(Some(&site), enroll, json!({ "t": trial_id, "p": bob }))
        .await;
    assert_eq!(ineligible["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(
        ineligible["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fails"),
        "{ineligible}"
    );
    let foreign = server
        .gql(Some(&north), enroll, json!({ "t": trial_id, "p": alice }))
        .await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");

    // Data: submitted, corrected (a new version), refused after withdrawal.
    let submit = "mutation($e: ID!, $d: JSON!) { submitTrialData(enrollmentId: $e, form: \"vitals\", visit: \"week-4\", data: $d) { id version contentHash ledgerSeq } }";
    let first = server
        .ok(
            Some(&site),
            submit,
            json!({ "e": enrollment_id, "d": { "hba1c": 8.1, "weightKg": 92.4 } }),
        )
        .await["submitTrialData"]
        .clone();
    assert_eq!(first["version"], 1);
    let not_object = server
        .gql(
            Some(&site),
            submit,
            json!({ "e": enrollment_id, "d": [1, 2] }),
        )
        .await;
    assert_eq!(not_object["errors"][0]["extensions"]["code"], "BAD_INPUT");
    let correct = "mutation($s: ID!, $d: JSON!, $r: String!) { correctTrialData(submissionId: $s, data: $d, reason: $r, password: \"test-password-123\") { version contentHash ledgerSeq reason } }";
    let second = server
        .ok(Some(&site), correct, json!({ "s": first["id"], "d": { "hba1c": 8.0, "weightKg": 92.4 }, "r": "transcription error" }))
        .await["correctTrialData"]
        .clone();
    assert_eq!(second["version"], 2);
    assert_ne!(second["contentHash"], first["contentHash"]);
    let history = server
        .ok(
            Some(&site),
            "query($e: ID!) { submissions(enrollmentId: $e) { version data reason } }",
            json!({ "e": enrollment_id }),
        )
        .await;
    assert_eq!(
        history["submissions"],
        json!([
            { "version": 1, "data": { "hba1c": 8.1, "weightKg": 92.4 }, "reason": null },
            { "version": 2, "data": { "hba1c": 8.0, "weightKg": 92.4 }, "reason": "transcription error" },
        ])
    );

    // Outcome switching after enrollment is allowed but flagged.
    protocol["primaryEndpoint"] = json!("Change in body weight at 24 weeks");
    let amended = server
        .ok(
            Some(&sponsor),
            "mutation($t: ID!, $i: PublishProtocolInput!) { amendProtocol(trialId: $t, input: $i, reason: \"weight matters\", password: \"test-password-123\") { currentVersion versions { version flags changes { field before after } } } }",
            json!({ "t": trial_id, "i": protocol }),
        )
        .await["amendProtocol"]
        .clone();
    assert_eq!(amended["currentVersion"], 2);
    let flags = amended["versions"][1]["flags"].as_array().unwrap();
    assert!(
        flags.contains(&json!("primary_endpoint_changed_after_enrollment")),
        "{amended}"
    );
    assert!(
        flags.contains(&json!("amended_after_data_submission")),
        "{amended}"
    );
    assert_eq!(
        amended["versions"][1]["changes"][0]["field"],
        "primaryEndpoint"
    );

    // An amendment that leaves out the sites and the board keeps them: changing who takes
    // part must be explicit.
    let mut without_assignment = protocol.clone();
    let fields = without_assignment.as_object_mut().unwrap();
    fields.remove("siteIds");
    fields.remove("ethicsBoardId");
    fields.insert("targetEnrollment".into(), json!(321));
    let kept = server
        .ok(
            Some(&sponsor),
            "mutation($t: ID!, $i: PublishProtocolInput!) { amendProtocol(trialId: $t, input: $i, reason: \"more power\", password: \"test-password-123\") { currentVersion versions { targetEnrollment siteIds ethicsBoardId } } }",
            json!({ "t": trial_id, "i": without_assignment }),
        )
        .await["amendProtocol"]
        .clone();
    assert_eq!(kept["currentVersion"], 3);
    assert_eq!(kept["versions"][2]["targetEnrollment"], 321);
    assert_eq!(
        kept["versions"][2]["siteIds"],
        json!([st_marys, northside]),
        "{kept}"
    );
    assert_eq!(kept["versions"][2]["ethicsBoardId"], json!(board), "{kept}");

    // A criteria change says whether it widens or narrows the cohort of registered patients
    // (the direction only, never the counts).
    for (criteria, direction) in [
        ("age >= 18", "criteria_widened"),
        (CRITERIA, "criteria_narrowed"),
    ] {
        let mut changed = protocol.clone();
        changed["criteria"] = json!(criteria);
        let versions = server
            .ok(
                Some(&sponsor),
                "mutation($t: ID!, $i: PublishProtocolInput!) { amendProtocol(trialId: $t, input: $i, reason: \"scope\", password: \"test-password-123\") { versions { flags criteriaClausesAdded criteriaClausesRemoved } } }",
                json!({ "t": trial_id, "i": changed }),
            )
            .await["amendProtocol"]["versions"]
            .clone();
        let latest = versions.as_array().unwrap().last().unwrap();
        let flags = latest["flags"].as_array().unwrap();
        assert!(
            flags.contains(&json!(direction)) && flags.contains(&json!("criteria_changed")),
            "{criteria}: {latest}"
        );
        // The clause-level difference: the one broad clause in and the three specific ones
        // out, or the other way round.
        let (gained, lost) = if direction == "criteria_widened" {
            ("criteriaClausesAdded", "criteriaClausesRemoved")
        } else {
            ("criteriaClausesRemoved", "criteriaClausesAdded")
        };
        assert_eq!(latest[gained], json!(["age >= 18"]), "{latest}");
        assert_eq!(latest[lost].as_array().map(Vec::len), Some(3), "{latest}");
    }

    server
        .ok(Some(&site), "mutation($e: ID!) { withdrawParticipant(enrollmentId: $e, reason: \"moved away\") { status } }", json!({ "e": enrollment_id }))
        .await;
    let after_withdrawal = server
        .gql(
            Some(&site),
            submit,
            json!({ "e": enrollment_id, "d": { "hba1c": 7.7 } }),
        )
        .await;
    assert_eq!(
        after_withdrawal["errors"][0]["extensions"]["code"],
        "CONFLICT"
    );

    // The patient's consent receipt verifies offline.
    let receipt = server
        .ok(
            Some(&site),
            "query($p: String!, $t: ID) { consentReceipt(pseudonym: $p, scope: TRIAL_PARTICIPATION, trialId: $t) { receipt } }",
            json!({ "p": alice, "t": trial_id }),
        )
        .await["consentReceipt"]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !receipt.contains(alice.as_str()),
        "the receipt carries a commitment, not the pseudonym"
    );
    let file = server.store.data_dir.path().join("receipt.json");
    std::fs::write(&file, &receipt).unwrap();
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"))
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // The ethics board: the ledger verifies; the audit trail tells the story in order.
    let ok = server
        .ok(
            Some(&ethics),
            "{ verifyLedger { ok firstBadSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ok["verifyLedger"],
        json!({ "ok": true, "firstBadSeq": null })
    );
    let trail = server
        .ok(Some(&ethics), "query($t: ID!) { auditTrail(trialId: $t) { events { seq kind } trial { versions { version } } } }", json!({ "t": trial_id }))
        .await["auditTrail"]
        .clone();
    let kinds: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        // Every signed act is followed by its signature.
        [
            "protocol.published",
            "record.signed",
            "cohort.released",
            "protocol.reviewed",
            "record.signed",
            "invitation.created",
            "consent.granted",
            "record.signed",
            "enrollment.created",
            "consent.granted",
            "record.signed",
            "data.submitted",
            "data.corrected",
            "record.signed",
            "protocol.amended",
            "record.signed",
            "protocol.amended",
            "record.signed",
            "protocol.amended",
            "record.signed",
            "protocol.amended",
            "record.signed",
            "enrollment.withdrawn",
        ]
    );
    let sponsors_trail = server
        .gql(
            Some(&recruiter),
            "query($t: ID!) { auditTrail(trialId: $t) { events { seq } } }",
            json!({ "t": trial_id }),
        )
        .await;
    assert_eq!(
        sponsors_trail["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    // The audit report, as the ethics board downloads it.
    let report = |token: String| {
        let url = server.url(&format!("/trials/{trial_id}/report"));
        let http = server.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let intact = report(ethics.clone()).await;
    assert_eq!(intact.status(), 200);
    let html = intact.text().await.unwrap();
    assert!(html.contains("Intact:"), "{html}");
    assert!(html.contains("primary_endpoint_changed_after_enrollment"));
    assert!(html.contains(trial["versions"][0]["hash"].as_str().unwrap()));
    assert!(
        html.contains("enrollments (1)") && html.contains("data submissions (1)"),
        "{html}"
    );
    assert!(
        html.contains("— veritrial.local/ledger "),
        "the signed note is in the report"
    );
    assert_eq!(report(recruiter.clone()).await.status(), 403);

    // Someone edits the stored submission behind the application's back.
    let stores = open_stores(&server.store.config()).await.unwrap();
    let seq = first["ledgerSeq"].as_i64().unwrap();
    stores
        .db
        .execute_unprepared(&format!(
            "UPDATE ledger_payloads SET body = REPLACE(body, '8.1', '7.1') WHERE seq = {seq}"
        ))
        .await
        .unwrap();
    // Below the verified watermark: a full verification finds it.
    let tampered = server
        .ok(
            Some(&ethics),
            "{ verifyLedger(full: true) { ok firstBadSeq problems } }",
            json!({}),
        )
        .await;
    assert_eq!(tampered["verifyLedger"]["ok"], false);
    assert_eq!(tampered["verifyLedger"]["firstBadSeq"], seq, "{tampered}");
    let html = report(ethics.clone()).await.text().await.unwrap();
    assert!(
        html.contains(&format!("NOT intact (first bad entry {seq})")),
        "{html}"
    );

    // No local patient id reached the database.
    if matches!(backend, Backend::Sqlite) {
        drop(stores);
        for file in ["veritrial.db", "veritrial.db-wal"] {
            let path = server.data_dir().join(file);
            let bytes = std::fs::read(&path).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("SM-MRN-") && !text.contains("NS-MRN-"),
                "a local id is stored in {file}"
            );
        }
    }
}

on_both_databases!(the_whole_story);
