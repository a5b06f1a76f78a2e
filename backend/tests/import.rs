//! Real data in: 1,000 ClinicalTrials.gov studies and 40 Synthea FHIR R4 bundles, imported
//! through the CLI, idempotently, then found by trial search and cohort queries; and no name
//! or identifier from the bundles is stored.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Backend, TestServer, TestStore};
use serde_json::json;
use veritrial::domain::{OrgKind, Role};
use veritrial::http::HttpLimits;

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(path)
}

fn run(store: &TestStore, args: &[&str]) -> (Output, String) {
    let out = store.cli().args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn import_ctgov(store: &TestStore, file: &Path) -> (Output, String) {
    run(
        store,
        &[
            "import",
            "ctgov",
            file.to_str().unwrap(),
            "--sponsor",
            "Helix",
        ],
    )
}

fn import_fhir(store: &TestStore) -> (Output, String) {
    let dir = testdata("fhir-r4-synthea");
    run(
        store,
        &[
            "import",
            "fhir",
            dir.to_str().unwrap(),
            "--site",
            "St Mary's",
            "--consent-recruitment",
        ],
    )
}

/// The site's pseudonym of a local id, computed independently from the site's key file.
fn pseudonym(server: &TestServer, site_id: &str, local_id: &str) -> String {
    let secret = std::fs::read(
        server
            .data_dir()
            .join(format!("keys/pseudonym-{site_id}.key")),
    )
    .unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
    hex::encode(ring::hmac::sign(&key, local_id.as_bytes()))
}

async fn studies_and_patients_import_cleanly(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    store.org("Helix", OrgKind::Sponsor).await;
    let site_id = store.org("St Mary's", OrgKind::Site).await;
    store.org("TrialReach", OrgKind::Recruiter).await;
    let board_id = store.org("IRB", OrgKind::Ethics).await;
    store.user("s@helix.com", "Helix", Role::Sponsor).await;
    store.user("crc@stmarys.org", "St Mary's", Role::Site).await;
    store
        .user("r@trialreach.com", "TrialReach", Role::Recruiter)
        .await;

    // ClinicalTrials.gov: everything imports; the second time nothing changes.
    let studies = testdata("ctgov/studies.json.gz");
    let (out, stdout) = import_ctgov(&store, &studies);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "imported 1000, updated 0, unchanged 0, skipped 0, failed 0"
    );
    let (_, again) = import_ctgov(&store, &studies);
    assert_eq!(
        again.trim(),
        "imported 0, updated 0, unchanged 1000, skipped 0, failed 0"
    );

    // A changed record is an amendment.
    let all: serde_json::Value = serde_json::from_reader(flate2::read::GzDecoder::new(
        std::fs::File::open(&studies).unwrap(),
    ))
    .unwrap();
    let mut study = all["studies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["protocolSection"]["identificationModule"]["nctId"] == "NCT00001888")
        .unwrap()
        .clone();
    study["protocolSection"]["eligibilityModule"]["minimumAge"] = json!("21 Years");
    let changed = store.data_dir.path().join("changed.json");
    std::fs::write(&changed, study.to_string()).unwrap();
    let (_, updated) = import_ctgov(&store, &changed);
    assert_eq!(
        updated.trim(),
        "imported 0, updated 1, unchanged 0, skipped 0, failed 0"
    );

    // FHIR: 38 patients, 4 deceased skipped, 1 without a postal code and 1 empty file fail.
    let (out, stdout) = import_fhir(&store);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout.lines().last().unwrap(),
        "imported 33, updated 0, unchanged 0, skipped 4, failed 2"
    );
    let (_, again) = import_fhir(&store);
    assert_eq!(
        again.lines().last().unwrap(),
        "imported 0, updated 0, unchanged 33, skipped 4, failed 2"
    );

    let server = TestServer::start_on(store, HttpLimits::default()).await;
    let sponsor = server.login("s@helix.com").await;
    let site = server.login("crc@stmarys.org").await;
    let recruiter = server.login("r@trialreach.com").await;

    // One study checked field by field against its record, with its amendment.
    let trials = server
        .ok(Some(&sponsor), "{ trials { id nctId title status versions { reason phase primaryEndpoint targetEnrollment criteria conditions keywords } } }", json!({}))
        .await;
    let trials = trials["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 1000);
    let asthma = trials.iter().find(|t| t["nctId"] == "NCT00001888").unwrap();
    assert_eq!(
        asthma["title"],
        "Sample Collections From the Airways of Asthmatic Patients"
    );
    assert_eq!(asthma["status"], "RECRUITING");
    let v1 = &asthma["versions"][0];
    assert_eq!(v1["phase"], "NA");
    assert_eq!(v1["criteria"], "age >= 18");
    assert_eq!(v1["targetEnrollment"], 2000);
    assert_eq!(v1["conditions"], json!(["Asthma"]));
    assert_eq!(v1["keywords"][0], "Induced Sputum");
    assert_eq!(
        v1["primaryEndpoint"],
        "Assess the role of apolipoprotein and lipid pathways in asthmatic and non-asthmatic subjects."
    );
    assert_eq!(asthma["versions"][1]["criteria"], "age >= 21");
    assert_eq!(
        asthma["versions"][1]["reason"],
        "updated from the ClinicalTrials.gov record"
    );

    // A patient chosen by hand: her exact profile.
    let bundle = std::fs::read(testdata(
        "fhir-r4-synthea/Maida_Gerhold_40f86343-0170-40ca-b4ca-21ab9094da93.json.gz",
    ))
    .unwrap();
    let parsed = veritrial::import::fhir::parse_bundle(&bundle).unwrap();
    let maida = parsed.patients[0].1.as_ref().unwrap();
    let profile = server
        .ok(Some(&site), "query($p: String!) { patient(pseudonym: $p) { age sex zip3 conditions medications labs { code value unit year } recruitmentConsent } }", json!({ "p": pseudonym(&server, &site_id, &maida.local_id) }))
        .await["patient"]
        .clone();
    let age = veritrial::services::anonymise::age_in_years(
        maida.birth_date,
        chrono::Utc::now().date_naive(),
    )
    .unwrap();
    assert_eq!(profile["age"], age);
    assert_eq!(profile["sex"], "FEMALE");
    assert_eq!(profile["zip3"], maida.zip.as_deref().unwrap()[..3]);
    assert_eq!(profile["conditions"], json!(maida.conditions));
    assert_eq!(profile["recruitmentConsent"], true);
    let hba1c = profile["labs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "loinc:4548-4")
        .unwrap();
    assert_eq!(hba1c["value"], 6.069261311137464);
    assert_eq!(hba1c["unit"], "%");
    assert_eq!(hba1c["year"], 2019);

    // Imported patients are counted (exactly by their site, with noise for a recruiter);
    // an imported trial is found for an imported patient.
    let count = "{ cohort(criteria: \"age >= 0\") { count approximate } }";
    let own = server.ok(Some(&site), count, json!({})).await;
    assert_eq!(own["cohort"], json!({ "count": 33, "approximate": false }));
    let noisy = server.ok(Some(&recruiter), count, json!({})).await;
    assert_eq!(noisy["cohort"]["approximate"], true);
    let kermit_bundle = std::fs::read(testdata(
        "fhir-r4-synthea/Kermit_Trantow_f1a650a5-737e-4fd7-828e-03c3348b9524.json.gz",
    ))
    .unwrap();
    let kermit = veritrial::import::fhir::parse_bundle(&kermit_bundle)
        .unwrap()
        .patients[0]
        .1
        .clone()
        .unwrap();
    let matching = async || {
        server
            .ok(
                Some(&site),
                "query($p: String!) { matchingTrials(pseudonym: $p) { trial { nctId } score } }",
                json!({ "p": pseudonym(&server, &site_id, &kermit.local_id) }),
            )
            .await
    };
    // A registry study names no site: no site sees it until its sponsor names them.
    let unassigned = matching().await;
    assert_eq!(unassigned["matchingTrials"], json!([]), "{unassigned}");
    assign(&server, "NCT00001888", &site_id, &board_id).await;
    let found = matching().await;
    assert_eq!(
        found["matchingTrials"][0]["trial"]["nctId"], "NCT00001888",
        "{found}"
    );

    // No name, address or identifier from the bundles is anywhere in the database.
    let stored = common::scan::stored_text(&server, backend).await;
    for secret in ["Maida", "Gerhold", "Kermit", "Trantow", &maida.local_id] {
        assert!(!stored.contains(secret), "{secret:?} is stored");
    }
}

/// The sponsor amends the imported study `nct_id` to name `site` and `board`, keeping every
/// other field of its current version (as the web form does).
async fn assign(server: &TestServer, nct_id: &str, site: &str, board: &str) {
    let sponsor = server.login("s@helix.com").await;
    let trials = server
        .ok(Some(&sponsor), "{ trials { id nctId status } }", json!({}))
        .await["trials"]
        .clone();
    let trial = trials
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["nctId"] == nct_id)
        .unwrap()
        .clone();
    let fields = "title summary phase primaryEndpoint secondaryEndpoints targetEnrollment criteria eligibilityText conditions keywords";
    let mut input = server
        .ok(
            Some(&sponsor),
            &format!("query($t: ID!) {{ trial(id: $t) {{ versions {{ {fields} }} }} }}"),
            json!({ "t": trial["id"] }),
        )
        .await["trial"]["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    input["siteIds"] = json!([site]);
    input["ethicsBoardId"] = json!(board);
    input["status"] = trial["status"].clone();
    input["nctId"] = json!(nct_id);
    server
        .ok(
            Some(&sponsor),
            "mutation($t: ID!, $i: PublishProtocolInput!) { amendProtocol(trialId: $t, input: $i, reason: \"sites and board\", password: \"test-password-123\") { id } }",
            json!({ "t": trial["id"], "i": input }),
        )
        .await;
}

/// Every byte the database holds, as text.
async fn sponsors_import_through_the_api(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    server.org("TrialReach", OrgKind::Recruiter).await;
    let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let recruiter = server
        .user("r@trialreach.com", "TrialReach", Role::Recruiter)
        .await;
    let all: serde_json::Value = serde_json::from_reader(flate2::read::GzDecoder::new(
        std::fs::File::open(testdata("ctgov/studies.json.gz")).unwrap(),
    ))
    .unwrap();
    let mut two = json!({ "studies": [all["studies"][0].clone(), all["studies"][1].clone()] });
    two["studies"][1]["protocolSection"]["eligibilityModule"]["minimumAge"] = json!("18 Parsecs");
    let import = "mutation($j: String!) { importCtgov(json: $j) { imported updated unchanged failed problems } }";
    let first = server
        .ok(Some(&sponsor), import, json!({ "j": two.to_string() }))
        .await;
    assert_eq!(first["importCtgov"]["imported"], 1);
    assert_eq!(first["importCtgov"]["failed"], 1);
    assert!(
        first["importCtgov"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("position 1"),
        "{first}"
    );
    let again = server
        .ok(Some(&sponsor), import, json!({ "j": two.to_string() }))
        .await;
    assert_eq!(again["importCtgov"]["unchanged"], 1);
    assert_eq!(
        server
            .error_code(Some(&sponsor), import, json!({ "j": "not json" }))
            .await,
        "BAD_INPUT"
    );
    assert_eq!(
        server
            .error_code(Some(&recruiter), import, json!({ "j": "{}" }))
            .await,
        "FORBIDDEN"
    );
}

on_both_databases!(
    studies_and_patients_import_cleanly,
    sponsors_import_through_the_api
);
