//! `veritrial demo`: a ready-made world of organisations and users to try every role.

use std::net::SocketAddr;

use sea_orm::DatabaseConnection;

use crate::domain::{OrgKind, Role};
use crate::error::AppError;
use crate::services::accounts::{self, NewUser};

/// The password of every demo account (the demo lives in its own data directory).
pub const DEMO_PASSWORD: &str = "veritrial-demo";

const ORGANIZATIONS: &[(&str, OrgKind)] = &[
    ("Helix Therapeutics", OrgKind::Sponsor),
    ("St Mary's Hospital", OrgKind::Site),
    ("Northside Clinic", OrgKind::Site),
    ("TrialReach Recruiting", OrgKind::Recruiter),
    ("Regional Ethics Board", OrgKind::Ethics),
];

const ACCOUNTS: &[(&str, &str, Role)] = &[
    (
        "admin@demo.veritrial.org",
        "Helix Therapeutics",
        Role::Admin,
    ),
    (
        "sponsor@demo.veritrial.org",
        "Helix Therapeutics",
        Role::Sponsor,
    ),
    ("site@demo.veritrial.org", "St Mary's Hospital", Role::Site),
    (
        "northside@demo.veritrial.org",
        "Northside Clinic",
        Role::Site,
    ),
    (
        "recruiter@demo.veritrial.org",
        "TrialReach Recruiting",
        Role::Recruiter,
    ),
    (
        "ethics@demo.veritrial.org",
        "Regional Ethics Board",
        Role::Ethics,
    ),
];

/// A demo account: email, organisation, role.
pub type DemoAccount = (&'static str, &'static str, Role);

/// Creates whatever part of the demo world is missing; running it twice changes nothing.
pub async fn ensure_world(db: &DatabaseConnection) -> anyhow::Result<Vec<DemoAccount>> {
    for (name, kind) in ORGANIZATIONS {
        match accounts::create_organization(db, name, *kind).await {
            Ok(_) | Err(AppError::Conflict(_)) => {}
            Err(err) => {
                return Err(anyhow::anyhow!(
                    "creating the demo organisation {name}: {err}"
                ));
            }
        }
    }
    for (email, org_name, role) in ACCOUNTS {
        let new = NewUser {
            email,
            org_name,
            role: *role,
            password: DEMO_PASSWORD,
        };
        match accounts::create_user(db, new).await {
            Ok(_) | Err(AppError::Conflict(_)) => {}
            Err(err) => return Err(anyhow::anyhow!("creating the demo user {email}: {err}")),
        }
    }
    Ok(ACCOUNTS.to_vec())
}

/// Prints where the demo runs and how to sign in.
pub fn print_welcome(addr: SocketAddr, accounts: &[DemoAccount]) {
    println!();
    println!("Veritrial demo is running.");
    println!("  Web app:  http://{addr}/");
    println!("  GraphiQL: http://{addr}/graphql");
    println!();
    println!("Sign in with any of these accounts (password: {DEMO_PASSWORD}):");
    for (email, org, role) in accounts {
        println!("  {:<10} {:<32} {}", role.as_str(), email, org);
    }
    println!();
    println!("In GraphiQL, run:");
    println!(
        "  mutation {{ login(email: \"sponsor@demo.veritrial.org\", password: \"{DEMO_PASSWORD}\") {{ token }} }}"
    );
    println!("then add the header {{\"Authorization\": \"Bearer <token>\"}} and run:");
    println!("  {{ me {{ email role organization {{ name kind }} }} }}");
    println!();
    println!("Press Ctrl-C to stop.");
}
