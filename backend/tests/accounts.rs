//! Sign-in, tokens, roles and the HTTP surface, over HTTP on a running server.

mod common;

use common::{Backend, PASSWORD, TestServer};
use serde_json::json;
use veritrial::domain::{OrgKind, Role};
use veritrial::http::HttpLimits;

const ME: &str = "{ me { email role organization { name kind } } }";

async fn login_then_me(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("St Mary's Hospital", OrgKind::Site).await;
    let token = server
        .user("Coordinator@StMarys.org", "St Mary's Hospital", Role::Site)
        .await;
    let me = server.ok(Some(&token), ME, json!({})).await;
    assert_eq!(
        me["me"],
        json!({ "email": "coordinator@stmarys.org", "role": "SITE",
                "organization": { "name": "St Mary's Hospital", "kind": "SITE" } })
    );
}

async fn wrong_credentials_are_refused_alike(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    server
        .user("sponsor@helix.com", "Helix", Role::Sponsor)
        .await;
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let wrong_password = server
        .gql(
            None,
            login,
            json!({ "e": "sponsor@helix.com", "p": "not the password" }),
        )
        .await;
    let unknown_user = server
        .gql(
            None,
            login,
            json!({ "e": "nobody@helix.com", "p": PASSWORD }),
        )
        .await;
    for body in [&wrong_password, &unknown_user] {
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["message"],
            "the email or password is wrong"
        );
    }
}

async fn bad_tokens_are_unauthenticated(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    assert_eq!(
        server.error_code(None, ME, json!({})).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        server.error_code(Some("garbage"), ME, json!({})).await,
        "UNAUTHENTICATED"
    );

    // A well-formed token for a real user, signed with another key.
    server.org("Helix", OrgKind::Sponsor).await;
    let token = server
        .user("sponsor@helix.com", "Helix", Role::Sponsor)
        .await;
    let (header_and_claims, _) = token.rsplit_once('.').expect("three parts");
    let forged = format!("{header_and_claims}.{}", "A".repeat(43));
    assert_eq!(
        server.error_code(Some(&forged), ME, json!({})).await,
        "UNAUTHENTICATED"
    );

    // The same claims with `alg: none` and no signature.
    let claims = header_and_claims.split_once('.').expect("header.claims").1;
    let none_header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{claims}.");
    assert_eq!(
        server.error_code(Some(&unsigned), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
}

async fn roles_are_enforced(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Helix", OrgKind::Sponsor).await;
    let sponsor = server
        .user("sponsor@helix.com", "Helix", Role::Sponsor)
        .await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let orgs = "{ organizations { name kind } }";
    assert_eq!(
        server.error_code(Some(&sponsor), orgs, json!({})).await,
        "FORBIDDEN"
    );
    let data = server.ok(Some(&admin), orgs, json!({})).await;
    assert_eq!(
        data["organizations"],
        json!([{ "name": "Helix", "kind": "SPONSOR" }])
    );
}

async fn admins_manage_accounts_with_clear_errors(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let helix = server.org("Helix", OrgKind::Sponsor).await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let create_org = "mutation($n: String!, $k: OrgKind!) { createOrganization(name: $n, kind: $k) { id name } }";
    let create_user =
        "mutation($i: CreateUserInput!) { createUser(input: $i) { email displayName role } }";
    let named = |email: &str, name: &str, org: &str, role: &str, password: &str| json!({ "i": { "email": email, "displayName": name, "organization": org, "role": role, "password": password } });
    let user = |email: &str, org: &str, role: &str, password: &str| {
        named(email, "Dr Ana Lima", org, role, password)
    };

    server
        .ok(
            Some(&admin),
            create_org,
            json!({ "n": "Northside Clinic", "k": "SITE" }),
        )
        .await;
    let cases = [
        (create_org, json!({ "n": "Helix", "k": "SITE" }), "CONFLICT"),
        (create_org, json!({ "n": "  ", "k": "SITE" }), "BAD_INPUT"),
        (
            create_user,
            user("a@helix.com", "Helix", "SPONSOR", PASSWORD),
            "",
        ),
        (
            create_user,
            user("A@Helix.com", "Helix", "SPONSOR", PASSWORD),
            "CONFLICT",
        ),
        (
            create_user,
            user("b@helix.com", "Nowhere", "SPONSOR", PASSWORD),
            "NOT_FOUND",
        ),
        (
            create_user,
            user("c@helix.com", "Helix", "SITE", PASSWORD),
            "BAD_INPUT",
        ),
        (
            create_user,
            user("d@helix.com", "Helix", "SPONSOR", "short"),
            "BAD_INPUT",
        ),
        (
            create_user,
            user("not-an-email", "Helix", "SPONSOR", PASSWORD),
            "BAD_INPUT",
        ),
        (
            create_user,
            named("e@helix.com", "   ", "Helix", "SPONSOR", PASSWORD),
            "BAD_INPUT",
        ),
        (
            create_user,
            named("f@helix.com", "Ana\u{7}", "Helix", "SPONSOR", PASSWORD),
            "BAD_INPUT",
        ),
        (
            create_user,
            named(
                "g@helix.com",
                &"x".repeat(121),
                "Helix",
                "SPONSOR",
                PASSWORD,
            ),
            "BAD_INPUT",
        ),
    ];
    for (query, variables, want) in cases {
        let body = server.gql(Some(&admin), query, variables.clone()).await;
        let got = body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("");
        assert_eq!(got, want, "{variables} -> {body}");
    }
    // Only the one valid user was added; refused inputs stored nothing.
    let users = server
        .ok(
            Some(&admin),
            "query($o: ID!) { users(organizationId: $o) { email } }",
            json!({ "o": helix }),
        )
        .await;
    assert_eq!(
        users["users"],
        json!([{ "email": "a@helix.com" }, { "email": "admin@helix.com" }])
    );
}

async fn http_surface_has_limits(backend: Backend) {
    let limits = HttpLimits {
        max_body_bytes: 4096,
        ..HttpLimits::default()
    };
    let Some(server) = TestServer::start_with(backend, limits).await else {
        return;
    };
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );

    let graphiql = server
        .http
        .get(server.url("/graphql"))
        .send()
        .await
        .unwrap();
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
    let front = server.http.get(server.url("/")).send().await.unwrap();
    assert!(
        front
            .text()
            .await
            .unwrap()
            .contains("<title>Veritrial</title>")
    );

    let oversized = json!({ "query": format!("{{ me {{ email }} }} #{}", "x".repeat(5000)) });
    let response = server
        .http
        .post(server.url("/graphql"))
        .json(&oversized)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(10),
        "} ".repeat(10)
    );
    let body = server.gql(None, &deep, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("nested too deep") || message.contains("depth"),
        "{body}"
    );
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

on_both_databases!(
    login_then_me,
    wrong_credentials_are_refused_alike,
    bad_tokens_are_unauthenticated,
    roles_are_enforced,
    admins_manage_accounts_with_clear_errors,
    http_surface_has_limits,
);
