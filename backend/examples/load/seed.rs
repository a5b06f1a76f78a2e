//! The world a leg measures, made through the first process's GraphQL API: a recruiting
//! trial at the site and one enrolled participant per client (whose `submitTrialData` calls
//! are the ledgered writes).

use futures::StreamExt;
use serde_json::json;

use crate::client::Client;

/// The password of the load's accounts.
pub const PASSWORD: &str = "load-password-123";
/// The sponsor that publishes the trial.
pub const SPONSOR: &str = "sponsor@load.test";
/// The site user that registers, consents, enrolls, submits and counts.
pub const SITE: &str = "site@load.test";
/// A member of the ethics board that reviews the trial.
pub const BOARD: &str = "board@load.test";
/// Every seeded patient fits it, so a site's count is the number of consenting patients.
pub const CRITERIA: &str = "age >= 18";

const ME: &str = "{ me { organization { id } } }";
const DIRECTORY: &str = "{ directory { id kind } }";
const APPROVE: &str = "mutation($t: ID!, $pw: String!) { reviewProtocol(trialId: $t, version: 1, decision: APPROVED, password: $pw) { id } }";
const PUBLISH: &str = "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"load-password-123\") { id } }";
const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!, $s: ConsentScope!, $t: ID, $g: Boolean!, $v: String, $d: NaiveDate) { recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: \"load-password-123\") { id } }";
const ENROLL: &str =
    "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }";
/// How many participants are seeded at once.
const SEED_CONCURRENCY: usize = 8;

/// What the phases act on.
pub struct World {
    /// The site user's token.
    pub site: String,
    /// One enrollment per client.
    pub enrollments: Vec<String>,
    /// Consenting patients: the site's exact count.
    pub consenting: u64,
}

/// Seeds the world through `client` with `participants` enrolled participants.
pub async fn world(client: &Client, participants: usize) -> Result<World, String> {
    let sponsor = client.login(SPONSOR, PASSWORD).await?;
    let site = client.login(SITE, PASSWORD).await?;
    let me = client.field(Some(&site), ME, json!({}), "me").await?;
    let directory = client
        .field(Some(&sponsor), DIRECTORY, json!({}), "directory")
        .await?;
    let board = directory
        .as_array()
        .and_then(|orgs| orgs.iter().find(|o| o["kind"] == "ETHICS"))
        .ok_or("the directory lists no ethics board")?["id"]
        .clone();
    let protocol = json!({
        "title": "Load", "summary": "load generator", "phase": "PHASE2", "primaryEndpoint": "e",
        "secondaryEndpoints": [], "targetEnrollment": participants.max(1), "criteria": CRITERIA,
        "siteIds": [me["organization"]["id"]], "ethicsBoardId": board, "conditions": [],
        "keywords": [],
        // Each write is checked against this form, as real case-report data are.
        "forms": [{ "id": "vitals", "title": "Vital signs", "fields": [
            { "id": "heartRate", "label": "Heart rate", "type": "INTEGER", "unit": "beats/min",
              "required": true, "min": 30, "max": 220 },
        ]}],
    });
    let trial = client
        .field(
            Some(&sponsor),
            PUBLISH,
            json!({ "i": protocol }),
            "publishProtocol",
        )
        .await?["id"]
        .clone();
    let trial = trial.as_str().ok_or("publishProtocol: no id")?.to_string();
    let board = client.login(BOARD, PASSWORD).await?;
    client
        .field(
            Some(&board),
            APPROVE,
            json!({ "t": trial, "pw": PASSWORD }),
            "reviewProtocol",
        )
        .await?;
    let enrollments: Vec<Result<String, String>> = futures::stream::iter(0..participants)
        .map(|i| participant(client, &site, &trial, i))
        .buffered(SEED_CONCURRENCY)
        .collect()
        .await;
    let enrollments = enrollments.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(World {
        site,
        enrollments,
        consenting: participants as u64,
    })
}

/// Registers a patient with recruitment-contact consent; returns the pseudonym once the
/// consent is acknowledged.
pub async fn consenting_patient(
    client: &Client,
    site: &str,
    local_id: &str,
) -> Result<String, String> {
    let input =
        json!({ "localId": local_id, "birthDate": "1970-01-01", "sex": "FEMALE", "zip": "02139" });
    let patient = client
        .field(
            Some(site),
            REGISTER,
            json!({ "i": input }),
            "registerPatient",
        )
        .await?;
    let pseudonym = patient["pseudonym"]
        .as_str()
        .ok_or("registerPatient: no pseudonym")?
        .to_string();
    let contact = json!({ "p": pseudonym, "s": "RECRUITMENT_CONTACT", "t": null, "g": true, "v": "v1", "d": "2026-12-01" });
    client
        .field(Some(site), CONSENT, contact, "recordConsent")
        .await?;
    Ok(pseudonym)
}

/// Participant `i`: registered, consenting to contact and to the trial, enrolled; returns
/// the enrollment's id.
async fn participant(client: &Client, site: &str, trial: &str, i: usize) -> Result<String, String> {
    let pseudonym = consenting_patient(client, site, &format!("LOAD-{i}")).await?;
    let consent = json!({ "p": pseudonym, "s": "TRIAL_PARTICIPATION", "t": trial, "g": true, "v": "v1", "d": "2026-12-01" });
    client
        .field(Some(site), CONSENT, consent, "recordConsent")
        .await?;
    let enrollment = client
        .field(
            Some(site),
            ENROLL,
            json!({ "t": trial, "p": pseudonym }),
            "enrollParticipant",
        )
        .await?;
    enrollment["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "enrollParticipant: no id".to_string())
}
