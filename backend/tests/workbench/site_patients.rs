//! A site finds its own patients: by its local number (MRN), which never leaves the request,
//! and as a paged, searchable list with each patient's consents, invitations and enrollments.

use crate::common::{Backend, TestServer, code_of as code};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};

const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const BY_LOCAL_ID: &str =
    "query($l: String!) { patientByLocalId(localId: $l) { pseudonym age sex conditions } }";
const LIST: &str = "query($f: PatientFilter, $n: Int, $o: Int) { sitePatients(filter: $f, first: $n, offset: $o) { total patients { pseudonym age sex conditions consents { granted consentFormVersion } enrollments { id } invitations { id } } } }";
const CONSENT: &str = "mutation($p: String!) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: true, consentFormVersion: \"v4\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }";

/// Patient `i` of the test site: born 1940 + i (so ages fall as `i` grows), female when `i`
/// is even, diabetic (E11.9) when `i` is a multiple of 3, hypertensive (I10) otherwise.
fn patient(i: usize) -> Value {
    let code = if i.is_multiple_of(3) {
        "icd10:E11.9"
    } else {
        "icd10:I10"
    };
    json!({
        "localId": format!("SM-MRN-{i:05}"),
        "birthDate": format!("{}-03-01", 1940 + i),
        "sex": if i.is_multiple_of(2) { "FEMALE" } else { "MALE" },
        "zip": "02139",
        "conditions": [code],
    })
}

struct World {
    server: TestServer,
    site: String,
    other_site: String,
    /// Pseudonym of patient `i`, by `i`.
    pseudonyms: Vec<String>,
}

const PATIENTS: usize = 30;

async fn world(backend: Backend) -> Option<World> {
    let server = TestServer::start(backend).await?;
    server.org("St Mary's", OrgKind::Site).await;
    server.org("Northside", OrgKind::Site).await;
    let site = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    let other_site = server
        .user("crc@northside.org", "Northside", Role::Site)
        .await;
    let mut pseudonyms = Vec::new();
    for i in 0..PATIENTS {
        let registered = server
            .ok(Some(&site), REGISTER, json!({ "i": patient(i) }))
            .await;
        pseudonyms.push(
            registered["registerPatient"]["pseudonym"]
                .as_str()
                .expect("a pseudonym")
                .to_string(),
        );
    }
    Some(World {
        server,
        site,
        other_site,
        pseudonyms,
    })
}

impl World {
    async fn list(&self, token: &str, filter: Value, first: u64, offset: u64) -> Value {
        self.server
            .gql(
                Some(token),
                LIST,
                json!({ "f": filter, "n": first, "o": offset }),
            )
            .await
    }

    /// The pseudonyms of one page, in order.
    async fn page(&self, filter: Value, first: u64, offset: u64) -> (u64, Vec<String>) {
        let body = self.list(&self.site, filter, first, offset).await;
        let page = &body["data"]["sitePatients"];
        let total = page["total"].as_u64().unwrap_or_else(|| panic!("{body}"));
        let pseudonyms = page["patients"]
            .as_array()
            .expect("patients")
            .iter()
            .map(|p| p["pseudonym"].as_str().expect("pseudonym").to_string())
            .collect();
        (total, pseudonyms)
    }

    /// The pseudonyms of the patients `i` for which `keep` holds, sorted as the list is.
    fn expected(&self, keep: impl Fn(usize) -> bool) -> Vec<String> {
        let mut kept: Vec<String> = (0..PATIENTS)
            .filter(|i| keep(*i))
            .map(|i| self.pseudonyms[i].clone())
            .collect();
        kept.sort();
        kept
    }
}

/// The local id finds the patient registered with it, at its own site only; an unknown one
/// is `NOT_FOUND` without repeating it.
async fn a_site_finds_a_patient_by_local_id(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let found = w
        .server
        .ok(Some(&w.site), BY_LOCAL_ID, json!({ "l": "SM-MRN-00003" }))
        .await;
    assert_eq!(found["patientByLocalId"]["pseudonym"], w.pseudonyms[3]);
    assert_eq!(
        found["patientByLocalId"]["conditions"],
        json!(["icd10:E11.9"])
    );
    // Spaces around the number do not matter, as at registration.
    let spaced = w
        .server
        .ok(
            Some(&w.site),
            BY_LOCAL_ID,
            json!({ "l": "  SM-MRN-00003 " }),
        )
        .await;
    assert_eq!(spaced, found);

    let unknown = w
        .server
        .gql(Some(&w.site), BY_LOCAL_ID, json!({ "l": "SM-MRN-99999" }))
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND", "{unknown}");
    assert!(!unknown.to_string().contains("99999"), "{unknown}");
    // Another site's key makes another pseudonym: the same number finds nobody there.
    let elsewhere = w
        .server
        .gql(
            Some(&w.other_site),
            BY_LOCAL_ID,
            json!({ "l": "SM-MRN-00003" }),
        )
        .await;
    assert_eq!(code(&elsewhere), "NOT_FOUND", "{elsewhere}");
    let empty = w
        .server
        .gql(Some(&w.site), BY_LOCAL_ID, json!({ "l": " " }))
        .await;
    assert_eq!(code(&empty), "BAD_INPUT", "{empty}");
}

/// The list pages through the site's own patients by pseudonym and filters by pseudonym
/// prefix, age, sex and code (exact or prefix), with each patient's records.
async fn a_site_pages_and_searches_its_patients(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let all = w.expected(|_| true);
    let (total, first) = w.page(json!({}), 25, 0).await;
    let (_, second) = w.page(json!({}), 25, 25).await;
    assert_eq!(total, PATIENTS as u64);
    assert_eq!(
        [first, second].concat(),
        all,
        "every patient once, in order"
    );

    let this_year = i64::from(chrono::Datelike::year(&chrono::Utc::now().date_naive()));
    let age = |i: usize| {
        let born = 1940 + i as i64;
        // Born on 1 March: a birthday not yet reached this year counts one year less.
        let march = chrono::NaiveDate::from_ymd_opt(this_year as i32, 3, 1).expect("date");
        this_year - born - i64::from(chrono::Utc::now().date_naive() < march)
    };
    let cases = [
        (json!({ "sex": "FEMALE" }), w.expected(|i| i % 2 == 0)),
        (
            json!({ "minAge": 70, "maxAge": 80 }),
            w.expected(|i| (70..=80).contains(&age(i).min(90))),
        ),
        (json!({ "code": "icd10:E11.9" }), w.expected(|i| i % 3 == 0)),
        (json!({ "code": "icd10:E11*" }), w.expected(|i| i % 3 == 0)),
        (json!({ "code": "icd10:I*" }), w.expected(|i| i % 3 != 0)),
        (
            json!({ "sex": "MALE", "code": "icd10:E11*" }),
            w.expected(|i| i % 2 == 1 && i % 3 == 0),
        ),
        (
            json!({ "pseudonymPrefix": &w.pseudonyms[7][..6] }),
            w.expected(|i| w.pseudonyms[i].starts_with(&w.pseudonyms[7][..6])),
        ),
    ];
    for (filter, want) in cases {
        let (total, got) = w.page(filter.clone(), 100, 0).await;
        assert_eq!(got, want, "{filter}");
        assert_eq!(total, want.len() as u64, "{filter}");
    }

    // Records come with each patient.
    w.server
        .ok(Some(&w.site), CONSENT, json!({ "p": w.pseudonyms[0] }))
        .await;
    let body = w
        .list(&w.site, json!({ "pseudonymPrefix": w.pseudonyms[0] }), 1, 0)
        .await;
    let shown = &body["data"]["sitePatients"]["patients"][0];
    assert_eq!(
        shown["consents"],
        json!([{ "granted": true, "consentFormVersion": "v4" }]),
        "{body}"
    );
    // A whole page loads its records in one batch: each patient gets its own, and only those.
    w.server
        .ok(Some(&w.site), CONSENT, json!({ "p": w.pseudonyms[2] }))
        .await;
    let page = w.list(&w.site, json!({}), 100, 0).await;
    let patients = page["data"]["sitePatients"]["patients"].as_array().unwrap();
    assert_eq!(patients.len(), PATIENTS, "{page}");
    for patient in patients {
        let consented = [&w.pseudonyms[0], &w.pseudonyms[2]]
            .iter()
            .any(|p| patient["pseudonym"] == p.as_str());
        let consents = patient["consents"].as_array().unwrap().len();
        assert_eq!(consents, usize::from(consented), "{patient}");
    }

    // Another site sees none of them; bad pages and prefixes are refused.
    let other = w.list(&w.other_site, json!({}), 25, 0).await;
    assert_eq!(other["data"]["sitePatients"]["total"], 0, "{other}");
    for (filter, first) in [
        (json!({}), 0),
        (json!({}), 101),
        (json!({ "pseudonymPrefix": "xyz" }), 10),
    ] {
        let refused = w.list(&w.site, filter.clone(), first, 0).await;
        assert_eq!(code(&refused), "BAD_INPUT", "{filter} {first}: {refused}");
    }
}

/// Local ids used to register and to look patients up are nowhere in what the node stored:
/// not in the database (every table), not in the data directory (indexes, keys, files).
async fn local_ids_are_never_stored(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    for i in [0, 11, 29] {
        w.server
            .ok(
                Some(&w.site),
                BY_LOCAL_ID,
                json!({ "l": format!("SM-MRN-{i:05}") }),
            )
            .await;
    }
    w.server
        .gql(
            Some(&w.site),
            BY_LOCAL_ID,
            json!({ "l": "LOOKED-UP-ONLY-4242" }),
        )
        .await;
    let stored = crate::common::scan::stored_text(&w.server, backend).await;
    assert!(stored.len() > 10_000, "the scan read the stores");
    assert!(
        stored.contains(&w.pseudonyms[11]),
        "the scan sees what is stored"
    );
    for secret in ["SM-MRN-", "LOOKED-UP-ONLY-4242"] {
        assert!(!stored.contains(secret), "{secret:?} is stored");
    }
}

/// Codes have names (ICD-10-CM), found by code or by words, for anyone signed in.
async fn codes_have_names_and_can_be_searched(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let s = &w.server;
    let named = s
        .ok(Some(&w.site), "{ codeNames(codes: [\"icd10:E11.9\", \"icd10:I10\", \"icd10:E11.65\", \"atc:A10BA02\"]) { code name exact } }", json!({}))
        .await["codeNames"]
        .clone();
    assert_eq!(
        named,
        json!([
            { "code": "icd10:E11.9", "name": "Type 2 diabetes mellitus without complications", "exact": true },
            { "code": "icd10:I10", "name": "Essential (primary) hypertension", "exact": true },
            { "code": "icd10:E11.65", "name": "Type 2 diabetes mellitus with other specified complications", "exact": false },
        ]),
        "named by the code itself or by its subcategory; ATC has no table"
    );
    let found = s
        .ok(
            Some(&w.site),
            "{ codes(query: \"essential hypertension\", first: 3) { code name } }",
            json!({}),
        )
        .await["codes"]
        .clone();
    assert_eq!(found[0]["code"], "icd10:I10", "{found}");
    let by_code = s
        .ok(
            Some(&w.site),
            "{ codes(query: \"icd10:E11.\") { code } }",
            json!({}),
        )
        .await["codes"]
        .clone();
    let codes: Vec<&str> = by_code
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(
        codes.iter().all(|c| c.starts_with("icd10:E11")),
        "{codes:?}"
    );
    assert!(codes.contains(&"icd10:E11.9"), "{codes:?}");
    let anonymous = s
        .gql(None, "{ codes(query: \"E11\") { code } }", json!({}))
        .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
}

/// A consent receipt's check link names the entry and its leaf hash; the public proof
/// endpoint gives an inclusion proof of that leaf in a signed checkpoint, to anyone.
async fn a_receipt_check_link_proves_the_entry_publicly(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let s = &w.server;
    s.ok(Some(&w.site), "mutation($p: String!) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: true, consentFormVersion: \"v4\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }", json!({ "p": w.pseudonyms[0] }))
        .await;
    let receipt = s
        .ok(Some(&w.site), "query($p: String!) { consentReceipt(pseudonym: $p, scope: RECRUITMENT_CONTACT) { seq leafHash checkLink } }", json!({ "p": w.pseudonyms[0] }))
        .await["consentReceipt"]
        .clone();
    let seq = receipt["seq"].as_u64().unwrap();
    let leaf = receipt["leafHash"].as_str().unwrap();
    let link = receipt["checkLink"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("#/check/{seq}/{leaf}/")),
        "{link}"
    );
    assert!(
        !link.contains(&w.pseudonyms[0]),
        "the link names no patient"
    );
    // No token: the proof is public (hashes only).
    let proof: Value = s
        .http
        .get(s.url(&format!("/ledger/proof/{seq}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let note = proof["checkpoint"].as_str().unwrap();
    let body = &note[..note.find("\n\n").unwrap() + 1];
    let checkpoint = ledger::Checkpoint::parse_body(body).unwrap();
    assert_eq!(proof["treeSize"].as_u64(), Some(checkpoint.size));
    let hashes: Vec<ledger::Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| ledger::Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf = ledger::Hash::from_hex(leaf).unwrap();
    ledger::merkle::verify_inclusion(&leaf, seq, checkpoint.size, &hashes, &checkpoint.root)
        .expect("the receipt's leaf is in the signed tree");
    let wrong = ledger::Hash::from_hex(&"0".repeat(64)).unwrap();
    assert!(
        ledger::merkle::verify_inclusion(&wrong, seq, checkpoint.size, &hashes, &checkpoint.root)
            .is_err()
    );
    for (path, status) in [
        ("/ledger/proof/not-a-number", 400),
        ("/ledger/proof/99999999", 404),
    ] {
        let got = s.http.get(s.url(path)).send().await.unwrap().status();
        assert_eq!(got, status, "{path}");
    }
}

on_both_databases!(
    a_receipt_check_link_proves_the_entry_publicly,
    codes_have_names_and_can_be_searched,
    a_site_finds_a_patient_by_local_id,
    a_site_pages_and_searches_its_patients,
    local_ids_are_never_stored,
);
