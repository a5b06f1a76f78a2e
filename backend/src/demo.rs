//! `veritrial demo`: a ready-made world to try every role at once: organisations of every
//! kind, one user per role, a few trials, and a few thousand synthetic consenting patients.

use std::net::SocketAddr;

use sea_orm::{EntityTrait, PaginatorTrait};

use crate::auth::Principal;
use crate::domain::{OrgKind, ReviewDecision, Role, TrialStatus, from_stored};
use crate::error::AppError;
use crate::forms::FormDefinition;
use crate::services::accounts::{self, NewUser};
use crate::services::patients;
use crate::services::protocols::{self, ProtocolInput};
use crate::services::reviews;
use crate::services::signatures::Attest;
use crate::state::AppState;

/// The password of every demo account (the demo lives in its own data directory).
pub const DEMO_PASSWORD: &str = "veritrial-demo";

/// Synthetic patients per demo site.
const PATIENTS_PER_SITE: usize = 1_500;

const ORGANIZATIONS: &[(&str, OrgKind)] = &[
    ("Helix Therapeutics", OrgKind::Sponsor),
    ("St Mary's Hospital", OrgKind::Site),
    ("Northside Clinic", OrgKind::Site),
    ("TrialReach Recruiting", OrgKind::Recruiter),
    ("Regional Ethics Board", OrgKind::Ethics),
];

const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "admin@demo.veritrial.org",
        name: "Alex Admin",
        org: "Helix Therapeutics",
        role: Role::Admin,
    },
    DemoAccount {
        email: "sponsor@demo.veritrial.org",
        name: "Dr Sofia Sponsor",
        org: "Helix Therapeutics",
        role: Role::Sponsor,
    },
    DemoAccount {
        email: "site@demo.veritrial.org",
        name: "Dr Samir Site",
        org: "St Mary's Hospital",
        role: Role::Site,
    },
    DemoAccount {
        email: "northside@demo.veritrial.org",
        name: "Nora North",
        org: "Northside Clinic",
        role: Role::Site,
    },
    DemoAccount {
        email: "recruiter@demo.veritrial.org",
        name: "Rita Recruiter",
        org: "TrialReach Recruiting",
        role: Role::Recruiter,
    },
    DemoAccount {
        email: "ethics@demo.veritrial.org",
        name: "Prof Eli Ethics",
        org: "Regional Ethics Board",
        role: Role::Ethics,
    },
];

/// A demo account.
#[derive(Clone, Copy, Debug)]
pub struct DemoAccount {
    /// Sign-in email.
    pub email: &'static str,
    /// Display name, printed on signatures.
    pub name: &'static str,
    /// Organisation name.
    pub org: &'static str,
    /// Role.
    pub role: Role,
}

/// Creates whatever part of the demo world is missing; running it twice changes nothing.
pub async fn ensure_world(state: &AppState) -> anyhow::Result<Vec<DemoAccount>> {
    for (name, kind) in ORGANIZATIONS {
        match accounts::create_organization(&state.db, name, *kind).await {
            Ok(_) | Err(AppError::Conflict(_)) => {}
            Err(err) => anyhow::bail!("creating the demo organisation {name}: {err}"),
        }
    }
    for account in ACCOUNTS {
        let email = account.email;
        let new = NewUser {
            email,
            display_name: account.name,
            org_name: account.org,
            role: account.role,
            password: DEMO_PASSWORD,
        };
        match accounts::create_user(&state.db, new).await {
            Ok(_) | Err(AppError::Conflict(_)) => {}
            Err(err) => anyhow::bail!("creating the demo user {email}: {err}"),
        }
    }
    let sites = [
        accounts::organization_by_name(&state.db, "St Mary's Hospital").await?,
        accounts::organization_by_name(&state.db, "Northside Clinic").await?,
    ];
    let board = accounts::organization_by_name(&state.db, "Regional Ethics Board").await?;
    if crate::entities::trial::Entity::find()
        .count(&state.db)
        .await?
        == 0
    {
        let sponsor = principal(state, "sponsor@demo.veritrial.org").await?;
        let ethics = principal(state, "ethics@demo.veritrial.org").await?;
        let site_ids: Vec<String> = sites.iter().map(|s| s.id.clone()).collect();
        for input in trials(&site_ids, &board.id) {
            let trial = protocols::publish(
                state,
                &sponsor,
                input,
                protocols::Assignment::Required,
                Attest::Password(DEMO_PASSWORD),
            )
            .await?;
            // The demo board has approved the demo trials, so sites can enroll at once.
            let decision = reviews::Decision {
                decision: ReviewDecision::Approved,
                comment: "Approved for the demo.",
                password: DEMO_PASSWORD,
            };
            reviews::review(state, &ethics, &trial.trial.id, 1, decision).await?;
        }
    }
    if crate::entities::patient::Entity::find()
        .count(&state.db)
        .await?
        == 0
    {
        for (i, (email, site)) in [
            ("site@demo.veritrial.org", &sites[0]),
            ("northside@demo.veritrial.org", &sites[1]),
        ]
        .into_iter()
        .enumerate()
        {
            let who = principal(state, email).await?;
            let profiles =
                matcher::synth::profiles(2026 + i as u64, PATIENTS_PER_SITE, &[site.id.as_str()]);
            patients::seed_consenting(state, &who, profiles.collect()).await?;
        }
    }
    Ok(ACCOUNTS.to_vec())
}

async fn principal(state: &AppState, email: &str) -> anyhow::Result<Principal> {
    let user = accounts::user_by_email(&state.db, email).await?;
    Ok(Principal {
        user_id: user.id,
        org_id: user.org_id,
        role: from_stored(&user.role)?,
    })
}

/// The case-report forms every demo trial defines: vital signs and laboratory results.
fn demo_forms() -> Vec<FormDefinition> {
    let forms = serde_json::json!([
        {"id": "vitals", "title": "Vital signs", "fields": [
            {"id": "visitDate", "label": "Visit date", "type": "date", "required": true},
            {"id": "systolic", "label": "Systolic blood pressure", "type": "integer",
             "unit": "mmHg", "required": true, "min": 60, "max": 250},
            {"id": "diastolic", "label": "Diastolic blood pressure", "type": "integer",
             "unit": "mmHg", "required": true, "min": 30, "max": 150},
            {"id": "weight", "label": "Weight", "type": "number", "unit": "kg", "min": 20, "max": 300},
            {"id": "smoker", "label": "Current smoker", "type": "yesno"}
        ]},
        {"id": "labs", "title": "Laboratory results", "fields": [
            {"id": "sampleDate", "label": "Sample date", "type": "date", "required": true},
            {"id": "hba1c", "label": "HbA1c", "type": "number", "unit": "%", "min": 3, "max": 20},
            {"id": "egfr", "label": "eGFR", "type": "number", "unit": "mL/min/1.73m2", "min": 0, "max": 200},
            {"id": "fasting", "label": "Fasting sample", "type": "choice", "choices": ["fasting", "non-fasting", "unknown"]}
        ]}
    ]);
    serde_json::from_value(forms).expect("the demo forms are well-formed")
}

fn trials(site_ids: &[String], board_id: &str) -> Vec<ProtocolInput> {
    let trial = |title: &str,
                 summary: &str,
                 endpoint: &str,
                 criteria: &str,
                 conditions: &[&str],
                 keywords: &[&str]| ProtocolInput {
        title: title.to_string(),
        summary: summary.to_string(),
        phase: "PHASE3".to_string(),
        primary_endpoint: endpoint.to_string(),
        secondary_endpoints: vec!["Serious adverse events".to_string()],
        target_enrollment: 240,
        criteria: criteria.to_string(),
        eligibility_text: String::new(),
        site_ids: Some(site_ids.to_vec()),
        ethics_board_id: Some(Some(board_id.to_string())),
        conditions: conditions.iter().map(|s| s.to_string()).collect(),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        status: TrialStatus::Recruiting,
        nct_id: None,
        forms: Some(demo_forms()),
    };
    vec![
        trial(
            "Extended-release metformin in poorly controlled type 2 diabetes",
            "Does extended-release metformin lower HbA1c more than standard release?",
            "Change in HbA1c at 24 weeks",
            "age between 40 and 75 and condition = icd10:E11* and lab loinc:4548-4 between 7.0 and 10.0 and not condition = icd10:N18*",
            &["Type 2 diabetes mellitus"],
            &["metformin", "HbA1c", "diabetes"],
        ),
        trial(
            "SGLT2 inhibition to slow chronic kidney disease",
            "Does an SGLT2 inhibitor slow the decline of kidney function in CKD stage 3?",
            "Annual eGFR slope",
            "age >= 18 and condition = icd10:N18* and lab loinc:2160-0 < 3.0",
            &["Chronic kidney disease"],
            &["CKD", "eGFR", "SGLT2"],
        ),
        trial(
            "Home blood-pressure telemonitoring in hypertension",
            "Does telemonitoring improve blood-pressure control in adults with hypertension?",
            "Systolic blood pressure at 12 months",
            "age between 30 and 80 and condition = icd10:I10*",
            &["Essential hypertension"],
            &["hypertension", "telemonitoring"],
        ),
    ]
}

/// Prints where the demo runs and how to sign in.
pub fn print_welcome(addr: SocketAddr, accounts: &[DemoAccount]) {
    println!();
    println!("Veritrial demo is running.");
    println!("  Web app:  http://{addr}/");
    println!("  GraphiQL: http://{addr}/graphql");
    println!();
    println!("Sign in with any of these accounts (password: {DEMO_PASSWORD}):");
    for account in accounts {
        println!(
            "  {:<10} {:<32} {:<18} {}",
            account.role.as_str(),
            account.email,
            account.name,
            account.org
        );
    }
    println!();
    println!("In GraphiQL, run:");
    println!(
        "  mutation {{ login(email: \"recruiter@demo.veritrial.org\", password: \"{DEMO_PASSWORD}\") {{ token }} }}"
    );
    println!("then add the header {{\"Authorization\": \"Bearer <token>\"}} and run:");
    println!("  {{ me {{ email role organization {{ name }} }} trials {{ id title }} }}");
    println!(
        "  {{ cohort(criteria: \"age >= 40 and condition = icd10:E11*\") {{ display funnel {{ clause remaining }} }} }}"
    );
    println!();
    println!("Press Ctrl-C to stop.");
}
