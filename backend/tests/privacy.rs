//! Counts that cannot be differenced: the attacks of issue 10 against the running service.

mod common;

use std::process::Stdio;

use common::{Backend, TestServer, TestStore};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};

/// A register-and-consent round trip for one patient of a site.
const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { ledgerSeq } }";
const COHORT: &str = "query($c: String!) { cohort(criteria: $c) { count suppressed approximate margin95 privacyCost funnel { remaining } sites { siteName count display } budget { limit spent remaining windowHours } } }";

/// The differencing attack over many one-patient cells (`veritrial bench privacy`, which
/// drives the real cohort service): with exact counts it is always right; through the
/// mechanism each attacker is cut off by its budget and its accuracy stays within the
/// guarantee's bound.
async fn differencing_attack_is_held_to_the_bound(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let mut cmd = store.cli();
    cmd.args(["bench", "privacy", "--cells", "120", "--background", "500"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().expect("veritrial runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    eprintln!("differencing attack ({backend:?}): {report}");
    let f = |key: &str| report[key].as_f64().expect(key);
    assert_eq!(
        f("baselineAccuracy"),
        1.0,
        "the attack works on exact counts"
    );
    // Each attack query releases two funnel steps and the site list: ρ = 3 / (2·20²).
    let affordable = (0.1_f64 / (3.0 / 800.0)).floor();
    assert_eq!(f("maxAnswered"), affordable, "{report}");
    assert!(f("attemptsAllowed") >= 1_000.0);
    // The bound Φ(√(ρ/2)) holds for any attacker; allow three standard errors of sampling.
    let cells = f("cells");
    let slack = 3.0 * (f("bound") * (1.0 - f("bound")) / cells).sqrt();
    assert!(f("accuracy") <= f("bound") + slack, "{report}");
}

struct World {
    server: TestServer,
    recruiter: String,
    site: String,
    ethics: String,
    admin: String,
}

async fn world(backend: Backend) -> Option<World> {
    let server = TestServer::start(backend).await?;
    server.org("St Mary's", OrgKind::Site).await;
    server.org("Quiet Clinic", OrgKind::Site).await;
    server.org("TrialReach", OrgKind::Recruiter).await;
    server.org("Board", OrgKind::Ethics).await;
    server.org("Ops", OrgKind::Sponsor).await;
    server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    server
        .user("r@trialreach.com", "TrialReach", Role::Recruiter)
        .await;
    server.user("irb@board.org", "Board", Role::Ethics).await;
    server.user("admin@ops.org", "Ops", Role::Admin).await;
    let site = server.login("crc@stmarys.org").await;
    for i in 0..14 {
        let input = json!({
            "localId": format!("MRN-{i}"),
            "birthDate": format!("{}-03-01", 1950 + i),
            "sex": "FEMALE",
            "zip": "02139",
            "conditions": if i % 2 == 0 { vec!["icd10:E11.9"] } else { vec!["icd10:I10"] },
            "medications": [],
            "labs": [],
            "terms": [],
        });
        let p = server
            .ok(Some(&site), REGISTER, json!({ "i": input }))
            .await["registerPatient"]["pseudonym"]
            .as_str()
            .unwrap()
            .to_string();
        server.ok(Some(&site), CONSENT, json!({ "p": p })).await;
    }
    Some(World {
        recruiter: server.login("r@trialreach.com").await,
        ethics: server.login("irb@board.org").await,
        admin: server.login("admin@ops.org").await,
        site,
        server,
    })
}

/// Repeats are free and identical, every site is listed, the budget runs out with a clear
/// error, every query is audited for the ethics board and each release is on the ledger.
async fn releases_are_repeatable_budgeted_and_audited(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let s = &w.server;
    let ask = |criteria: String| {
        let token = w.recruiter.clone();
        async move { s.gql(Some(&token), COHORT, json!({ "c": criteria })).await }
    };

    let first = ask("age >= 0 and condition = icd10:E11*".into()).await;
    let cohort = &first["data"]["cohort"];
    assert_eq!(cohort["approximate"], true, "{first}");
    assert_eq!(cohort["margin95"], 39);
    let cost = cohort["privacyCost"].as_f64().unwrap();
    assert!(
        (cost - 3.0 / 800.0).abs() < 1e-9,
        "two steps and the sites: {cost}"
    );
    let sites: Vec<&str> = cohort["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["siteName"].as_str().unwrap())
        .collect();
    assert_eq!(
        sites,
        ["Quiet Clinic", "St Mary's"],
        "a site without patients is listed"
    );

    let repeat = ask("age >= 0 and condition = icd10:E11*".into()).await;
    assert_eq!(repeat["data"]["cohort"]["funnel"], cohort["funnel"]);
    assert_eq!(repeat["data"]["cohort"]["sites"], cohort["sites"]);
    assert_eq!(repeat["data"]["cohort"]["privacyCost"], 0.0);

    // The site counts its own patients exactly and for free.
    let own = s
        .ok(
            Some(&w.site),
            COHORT,
            json!({ "c": "condition = icd10:E11*" }),
        )
        .await;
    assert_eq!(own["cohort"]["count"], 7);
    assert_eq!(own["cohort"]["approximate"], false);

    // Rewordings are fresh questions: they are paid for until the budget is spent.
    let mut answered = 1;
    let refusal = loop {
        let reply = ask(format!(
            "age <= {} and condition = icd10:E11*",
            100 + answered
        ))
        .await;
        if reply["errors"].is_array() {
            break reply;
        }
        answered += 1;
        assert!(answered <= 30, "the budget never ran out");
    };
    assert_eq!(answered, 26, "ρ 0.1 pays for 26 queries of cost 3/800");
    assert_eq!(
        refusal["errors"][0]["extensions"]["code"],
        "PRIVACY_BUDGET_EXHAUSTED"
    );
    let message = refusal["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("costs nothing"), "{message}");
    // A repeat is still answered: it reveals nothing new.
    let again = ask("age >= 0 and condition = icd10:E11*".into()).await;
    assert_eq!(again["data"]["cohort"]["funnel"], cohort["funnel"]);

    // The ethics board audits every query, refusals included; the recruiter sees its own;
    // a site has nothing to audit.
    let trail =
        "{ cohortReleases(first: 1000) { userEmail criteria outcome privacyCost ledgerSeq } }";
    let rows = s.ok(Some(&w.ethics), trail, json!({})).await["cohortReleases"].clone();
    let rows = rows.as_array().unwrap();
    let count = |outcome: &str| rows.iter().filter(|r| r["outcome"] == outcome).count();
    assert_eq!(count("released"), 26);
    assert_eq!(count("repeated"), 2);
    assert_eq!(count("refused"), 1);
    assert!(rows.iter().all(|r| r["userEmail"] == "r@trialreach.com"));
    assert!(
        rows.iter()
            .filter(|r| r["outcome"] == "released")
            .all(|r| r["ledgerSeq"].is_i64())
    );
    let own_trail = s.ok(Some(&w.recruiter), trail, json!({})).await;
    assert_eq!(
        own_trail["cohortReleases"].as_array().unwrap().len(),
        rows.len()
    );
    assert_eq!(
        s.error_code(Some(&w.site), trail, json!({})).await,
        "FORBIDDEN"
    );

    // Each release is a `cohort.released` ledger entry.
    let entries = s
        .ok(
            Some(&w.admin),
            "{ ledgerEntries(first: 1000) { kind } }",
            json!({}),
        )
        .await;
    let released = entries["ledgerEntries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "cohort.released")
        .count();
    assert_eq!(released, 26);

    let budget = s
        .ok(
            Some(&w.recruiter),
            "{ privacyBudget { limit spent remaining windowHours } }",
            json!({}),
        )
        .await;
    assert_eq!(budget["privacyBudget"]["windowHours"], 24);
    assert!(budget["privacyBudget"]["remaining"].as_f64().unwrap() < 3.0 / 800.0);
}

on_both_databases!(
    differencing_attack_is_held_to_the_bound,
    releases_are_repeatable_budgeted_and_audited
);
