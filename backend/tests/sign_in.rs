//! Sign-in under attack and revocable sessions, over HTTP on a running server: floods are
//! refused rather than queued, repeated failures lock an email out (known or not), tokens
//! stop working when signed out, deactivated, re-roled or deleted.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::{Backend, PASSWORD, TestServer, test_sign_in_policy};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use veritrial::auth::Principal;
use veritrial::auth::limiter::Rate;
use veritrial::auth::throttle::SignInPolicy;
use veritrial::auth::token::TokenKeys;
use veritrial::domain::{OrgKind, Role};
use veritrial::entities::user;
use veritrial::server::open_stores;

const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }";
const ME: &str = "{ me { email role } }";
const WRONG: &str = "the email or password is wrong";

/// `count` per hour: nothing comes back within a test.
fn per_hour(count: u32) -> Rate {
    Rate {
        count: NonZeroU32::new(count).expect("non-zero"),
        period: Duration::from_secs(3600),
    }
}

/// A login attempt's `(code, message)`, or `("", "")` when it succeeded.
async fn attempt(server: &TestServer, email: &str, password: &str) -> (String, String) {
    let body = server
        .gql(None, LOGIN, json!({ "e": email, "p": password }))
        .await;
    let error = &body["errors"][0];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&error["extensions"]["code"]), text(&error["message"]))
}

/// The error code of `query` by `token`, `""` when it went through (a service error such as
/// `BAD_INPUT` also means the caller was let through).
async fn refusal(server: &TestServer, token: &str, query: &str) -> String {
    let body = server.gql(Some(token), query, json!({})).await;
    let code = body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default();
    match code {
        "UNAUTHENTICATED" | "FORBIDDEN" | "NOT_FOUND" => code.to_string(),
        _ => String::new(),
    }
}

async fn id_of(server: &TestServer, token: &str) -> String {
    let me = server.ok(Some(token), "{ me { id } }", json!({})).await;
    me["me"]["id"].as_str().expect("id").to_string()
}

async fn a_login_flood_is_refused_not_queued(backend: Backend) {
    let policy = SignInPolicy {
        hash_permits: 1,
        hash_queue: 1,
        max_failures: 0,
        ..test_sign_in_policy()
    };
    let Some(server) = TestServer::start_with_sign_in(backend, policy).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let server = std::sync::Arc::new(server);
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..48 {
        let server = std::sync::Arc::clone(&server);
        flood.spawn(async move {
            attempt(
                &server,
                &format!("stranger{i}@example.org"),
                "guess-guess-guess",
            )
            .await
        });
    }
    let mut rate_limited = 0;
    while let Some(joined) = flood.join_next().await {
        let (code, message) = joined.expect("joined");
        match code.as_str() {
            "RATE_LIMITED" => {
                assert_eq!(
                    message,
                    "too many sign-in attempts in progress; try again in a moment"
                );
                rate_limited += 1;
            }
            "UNAUTHENTICATED" => assert_eq!(message, WRONG),
            other => panic!("unexpected answer {other}: {message}"),
        }
    }
    assert!(
        rate_limited > 0,
        "one hash at a time and a line of one must refuse some of 48"
    );
    // Once the flood is over, sign-in works again.
    server.login("s@helix.com").await;
}

/// The attack that found the bug: a flood of logins at concurrency 64. With the rate limits
/// lifted, only the hashing gate stands between the flood and memory.
async fn a_login_flood_keeps_memory_flat(backend: Backend) {
    let flags = [
        "--login-per-address-per-minute",
        "1000000",
        "--login-per-email-per-minute",
        "1000000",
        "--login-max-failures",
        "0",
    ];
    let Some(server) = TestServer::spawn_process_with(backend, &flags).await else {
        return;
    };
    let before = server.process_peak_rss_kib().expect("peak RSS");
    let server = std::sync::Arc::new(server);
    let mut flood = tokio::task::JoinSet::new();
    for worker in 0..64 {
        let server = std::sync::Arc::clone(&server);
        flood.spawn(async move {
            let mut codes = Vec::new();
            for i in 0..6 {
                let email = format!("w{worker}-{i}@example.org");
                codes.push(attempt(&server, &email, "guess-guess-guess").await.0);
            }
            codes
        });
    }
    while let Some(joined) = flood.join_next().await {
        for code in joined.expect("joined") {
            assert!(
                code == "UNAUTHENTICATED" || code == "RATE_LIMITED",
                "unexpected answer {code}"
            );
        }
    }
    let after = server.process_peak_rss_kib().expect("peak RSS");
    eprintln!("peak RSS: {before} KiB before the flood, {after} KiB after");
    // Unbounded, 64 hashes of 19 MiB each in flight would add well over 1 GiB; hashing on
    // the shared blocking pool left over 600 MiB; gated on two threads it adds 160-200 MiB.
    assert!(
        after < before + 384 * 1024,
        "peak RSS grew from {before} KiB to {after} KiB"
    );
}

async fn sign_ins_are_rate_limited_per_email_and_per_address(backend: Backend) {
    let policy = SignInPolicy {
        per_email: per_hour(3),
        per_address: per_hour(5),
        max_failures: 0,
        ..test_sign_in_policy()
    };
    let Some(server) = TestServer::start_with_sign_in(backend, policy).await else {
        return;
    };
    for _ in 0..3 {
        assert_eq!(
            attempt(&server, "a@x.org", "wrong-password").await.0,
            "UNAUTHENTICATED"
        );
    }
    // The fourth try at one email, then the sixth try from one address.
    assert_eq!(
        attempt(&server, "a@x.org", "wrong-password").await.0,
        "RATE_LIMITED"
    );
    assert_eq!(
        attempt(&server, "b@x.org", "wrong-password").await.0,
        "UNAUTHENTICATED"
    );
    let (code, message) = attempt(&server, "c@x.org", "wrong-password").await;
    assert_eq!(code, "RATE_LIMITED");
    assert!(message.contains("too many sign-in attempts"), "{message}");
    // The HTTP status of a rate-limited GraphQL request stays 200 (errors are in the body).
}

async fn repeated_failures_lock_out_known_and_unknown_emails_alike(backend: Backend) {
    let policy = SignInPolicy {
        max_failures: 3,
        ..test_sign_in_policy()
    };
    let Some(server) = TestServer::start_with_sign_in(backend, policy).await else {
        return;
    };
    server.org("St Mary's", OrgKind::Site).await;
    server.org("Helix", OrgKind::Sponsor).await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let site = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    let site_id = id_of(&server, &site).await;

    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        known.push(attempt(&server, "crc@stmarys.org", "wrong-password").await);
        unknown.push(attempt(&server, "nobody@stmarys.org", "wrong-password").await);
    }
    // Locked now: even the right password is refused, with one answer for both emails.
    known.push(attempt(&server, "crc@stmarys.org", PASSWORD).await);
    unknown.push(attempt(&server, "nobody@stmarys.org", PASSWORD).await);
    assert_eq!(known, unknown, "sign-in must not reveal who has an account");
    assert_eq!(known[0], ("UNAUTHENTICATED".to_string(), WRONG.to_string()));
    let locked = &known[3];
    assert_eq!(locked.0, "UNAUTHENTICATED");
    assert!(locked.1.contains("locked"), "{locked:?}");
    // Tokens issued before the lockout still work: lockout is about signing in.
    server.ok(Some(&site), ME, json!({})).await;

    // Only admins may unlock; then the right password works again.
    let unlock = "mutation($u: ID!) { unlockUser(userId: $u) { email } }";
    assert_eq!(
        server
            .error_code(Some(&site), unlock, json!({ "u": site_id }))
            .await,
        "FORBIDDEN"
    );
    server
        .ok(Some(&admin), unlock, json!({ "u": site_id }))
        .await;
    server.login("crc@stmarys.org").await;

    // Locked again, and unlocked from the command line.
    for _ in 0..3 {
        attempt(&server, "crc@stmarys.org", "wrong-password").await;
    }
    assert!(
        attempt(&server, "crc@stmarys.org", PASSWORD)
            .await
            .1
            .contains("locked")
    );
    let out = server
        .store
        .cli()
        .args(["user", "unlock", "--email", "CRC@stmarys.org"])
        .output()
        .expect("veritrial runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.login("crc@stmarys.org").await;

    // A success forgets earlier failures.
    for _ in 0..2 {
        attempt(&server, "crc@stmarys.org", "wrong-password").await;
    }
    server.login("crc@stmarys.org").await;
    for _ in 0..2 {
        attempt(&server, "crc@stmarys.org", "wrong-password").await;
    }
    server.login("crc@stmarys.org").await;
}

async fn signing_out_revokes_the_token(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    let first = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let second = server.login("s@helix.com").await;
    let logout = "mutation { logout }";
    assert_eq!(
        server.error_code(None, logout, json!({})).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        server.ok(Some(&first), logout, json!({})).await["logout"],
        true
    );
    let body = server.gql(Some(&first), ME, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["message"],
        "you have signed out: sign in again"
    );
    // Other sessions of the same user stand.
    server.ok(Some(&second), ME, json!({})).await;
    // Every route checks the session, not only /graphql.
    let export = server
        .http
        .get(server.url("/ledger/export"))
        .bearer_auth(&first)
        .send()
        .await
        .expect("request sent");
    assert_eq!(export.status(), 401);
}

async fn deactivated_users_are_refused_from_the_next_request(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let sponsor_id = id_of(&server, &sponsor).await;
    let admin_id = id_of(&server, &admin).await;
    let deactivate = "mutation($u: ID!) { deactivateUser(userId: $u) { active } }";
    let activate = "mutation($u: ID!) { activateUser(userId: $u) { active } }";

    let done = server
        .ok(Some(&admin), deactivate, json!({ "u": sponsor_id }))
        .await;
    assert_eq!(done["deactivateUser"]["active"], false);
    assert_eq!(
        server.error_code(Some(&sponsor), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
    let (code, message) = attempt(&server, "s@helix.com", PASSWORD).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(message.contains("deactivated"), "{message}");
    // A wrong password says no more than for anyone else.
    assert_eq!(
        attempt(&server, "s@helix.com", "wrong-password").await.1,
        WRONG
    );

    // Admins cannot shut themselves out.
    assert_eq!(
        server
            .error_code(Some(&admin), deactivate, json!({ "u": admin_id }))
            .await,
        "CONFLICT"
    );

    let done = server
        .ok(Some(&admin), activate, json!({ "u": sponsor_id }))
        .await;
    assert_eq!(done["activateUser"]["active"], true);
    // The old token stays revoked; signing in again works.
    assert_eq!(
        server.error_code(Some(&sponsor), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
    let fresh = server.login("s@helix.com").await;
    server.ok(Some(&fresh), ME, json!({})).await;

    // From the command line too.
    let out = server
        .store
        .cli()
        .args(["user", "deactivate", "--email", "s@helix.com"])
        .output()
        .expect("veritrial runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server.error_code(Some(&fresh), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
    let out = server
        .store
        .cli()
        .args(["user", "activate", "--email", "s@helix.com"])
        .output()
        .expect("veritrial runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.login("s@helix.com").await;
}

async fn a_role_change_takes_effect_on_the_next_request(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let id = id_of(&server, &sponsor).await;
    let sponsors_only = "mutation { importCtgov(json: \"{}\") { imported } }";
    let admins_only = "{ organizations { name } }";
    let set_role = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { role } }";
    assert_eq!(refusal(&server, &sponsor, sponsors_only).await, "");

    // A role that does not fit the organisation is refused and changes nothing.
    assert_eq!(
        server
            .error_code(Some(&admin), set_role, json!({ "u": id, "r": "SITE" }))
            .await,
        "BAD_INPUT"
    );
    assert_eq!(refusal(&server, &sponsor, sponsors_only).await, "");

    let changed = server
        .ok(Some(&admin), set_role, json!({ "u": id, "r": "ADMIN" }))
        .await;
    assert_eq!(changed["setUserRole"]["role"], "ADMIN");
    // The old role's operation is refused at once.
    assert_eq!(
        refusal(&server, &sponsor, sponsors_only).await,
        "UNAUTHENTICATED"
    );
    // Signed in again, the new role's operation is allowed and the old one forbidden.
    let promoted = server.login("s@helix.com").await;
    server.ok(Some(&promoted), admins_only, json!({})).await;
    assert_eq!(
        refusal(&server, &promoted, sponsors_only).await,
        "FORBIDDEN"
    );

    // From the command line too.
    let out = server
        .store
        .cli()
        .args([
            "user",
            "set-role",
            "--email",
            "s@helix.com",
            "--role",
            "sponsor",
        ])
        .output()
        .expect("veritrial runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server
            .error_code(Some(&promoted), admins_only, json!({}))
            .await,
        "UNAUTHENTICATED"
    );
    let demoted = server.login("s@helix.com").await;
    assert_eq!(refusal(&server, &demoted, sponsors_only).await, "");
}

async fn tokens_of_deleted_or_unknown_users_are_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let helix = server.org("Helix", OrgKind::Sponsor).await;
    let token = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let id = id_of(&server, &token).await;

    let stores = open_stores(&server.store.config()).await.expect("stores");
    user::Entity::delete_by_id(id)
        .exec(&stores.db)
        .await
        .expect("user row deleted");
    assert_eq!(
        server.error_code(Some(&token), ME, json!({})).await,
        "UNAUTHENTICATED"
    );

    // Correctly signed with the server's own key, for a user who never existed.
    let secret = std::fs::read(server.data_dir().join("keys").join("jwt.secret"))
        .expect("the server's JWT secret");
    let keys = TokenKeys::new(&secret, Duration::from_secs(600)).expect("keys");
    let ghost = Principal {
        user_id: "never-existed".into(),
        org_id: helix,
        role: Role::Admin,
    };
    let forged = keys.issue(&ghost, "no-such-session").expect("signed").token;
    let body = server
        .gql(Some(&forged), "{ organizations { name } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
}

on_both_databases!(
    a_login_flood_is_refused_not_queued,
    a_login_flood_keeps_memory_flat,
    sign_ins_are_rate_limited_per_email_and_per_address,
    repeated_failures_lock_out_known_and_unknown_emails_alike,
    signing_out_revokes_the_token,
    deactivated_users_are_refused_from_the_next_request,
    a_role_change_takes_effect_on_the_next_request,
    tokens_of_deleted_or_unknown_users_are_refused,
);
