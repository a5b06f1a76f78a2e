//! Clean edges: attachment names and how files are served, security headers on every
//! response, and request bodies that are not GraphQL requests.

mod common;

use common::{Backend, TestServer};
use reqwest::header;
use serde_json::{Value, json};
use veritrial::domain::Role;
use veritrial::http::HttpLimits;

async fn upload(
    server: &TestServer,
    site: &str,
    submission: &str,
    name: &str,
    content_type: &str,
    body: &'static [u8],
) -> reqwest::Response {
    let mut url = reqwest::Url::parse(&server.url("/attachments")).unwrap();
    url.query_pairs_mut()
        .append_pair("submissionId", submission)
        .append_pair("fileName", name);
    server
        .http
        .post(url)
        .bearer_auth(site)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn ledger_size(server: &TestServer, admin: &str) -> u64 {
    server
        .ok(Some(admin), "{ ledgerHead { size } }", json!({}))
        .await["ledgerHead"]["size"]
        .as_u64()
        .unwrap()
}

async fn attachment_names_and_serving(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (site, submission) = common::site_with_submission(&server).await;
    let admin = server.user("admin@helix.com", "Helix", Role::Admin).await;
    let before = ledger_size(&server, &admin).await;
    let long = "a".repeat(256);
    for bad in [
        "",
        "   ",
        "..",
        "../etc/passwd",
        "a\\b",
        "a\0b",
        "scan\r\n.pdf",
        "tab\there",
        "evil\u{202E}fdp.exe",
        &long,
    ] {
        let response = upload(&server, &site, &submission, bad, "text/plain", b"x").await;
        assert_eq!(response.status(), 400, "{bad:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "BAD_INPUT", "{bad:?}: {body}");
    }
    assert_eq!(
        ledger_size(&server, &admin).await,
        before,
        "nothing was ledgered"
    );
    let listed = server
        .ok(
            Some(&site),
            "query($s: ID!) { attachments(submissionId: $s) { id } }",
            json!({ "s": submission }),
        )
        .await;
    assert_eq!(listed["attachments"], json!([]));

    // A non-ASCII name comes back intact, with an ASCII fallback.
    let name = "Röntgen \"Thorax\" 胸部.png";
    let response = upload(&server, &site, &submission, name, "image/png", b"\x89PNG").await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"].clone();
    let download = server
        .http
        .get(server.url(&format!("/attachments/{}", id.as_str().unwrap())))
        .bearer_auth(&site)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let headers = download.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"R_ntgen _Thorax_ __.png\"; \
         filename*=UTF-8''R%C3%B6ntgen%20%22Thorax%22%20%E8%83%B8%E9%83%A8.png"
    );

    // Types that could run script in the app's origin are served as bytes, sandboxed.
    for risky in ["text/html", "image/svg+xml"] {
        let response = upload(
            &server,
            &site,
            &submission,
            "x.html",
            risky,
            b"<script>alert(1)</script>",
        )
        .await;
        assert_eq!(response.status(), 201);
        let id = response.json::<Value>().await.unwrap()["id"].clone();
        let download = server
            .http
            .get(server.url(&format!("/attachments/{}", id.as_str().unwrap())))
            .bearer_auth(&site)
            .send()
            .await
            .unwrap();
        let headers = download.headers();
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/octet-stream",
            "{risky}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
    }
}

async fn every_response_carries_security_headers(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let get = |path: &str| server.http.get(server.url(path)).send();
    for (path, status) in [
        ("/", 200),
        ("/app.js", 200),
        ("/healthz", 200),
        ("/nowhere", 404),
        ("/graphql", 200),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let h = response.headers();
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{path}");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        if path == "/graphql" {
            assert!(
                csp.contains("https://unpkg.com") && csp.contains("'sha256-"),
                "{csp}"
            );
        } else {
            assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        }
    }
    let posted = server.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(posted["data"]["__typename"], "Query");
}

/// Asserts a GraphQL-shaped BAD_INPUT answer with `status`.
async fn assert_bad_input(response: reqwest::Response, status: u16) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff"
    );
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_INPUT",
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.is_empty() && !message.contains("Error(") && !message.contains("{ "),
        "{message}"
    );
}

async fn bad_graphql_bodies_answer_in_graphql_shape(backend: Backend) {
    let Some(store) = common::TestStore::new(backend).await else {
        return;
    };
    let limits = HttpLimits {
        max_body_bytes: 4096,
        ..HttpLimits::default()
    };
    let server = TestServer::start_on(store, limits).await;
    let post = |body: Vec<u8>, content_type: &str| {
        server
            .http
            .post(server.url("/graphql"))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
    };
    for body in [
        &b"{not json"[..],
        b"",
        b"[1, 2",
        b"{\"query\": 42}",
        b"\"just a string\"",
    ] {
        assert_bad_input(
            post(body.to_vec(), "application/json")
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
    }
    assert_bad_input(
        post(b"{\"query\": \"{ __typename }\"}".to_vec(), "text/plain")
            .send()
            .await
            .unwrap(),
        415,
    )
    .await;
    let huge = format!(
        "{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}",
        "a".repeat(10_000)
    );
    assert_bad_input(
        post(huge.clone().into_bytes(), "application/json")
            .send()
            .await
            .unwrap(),
        413,
    )
    .await;
    // Without a Content-Length (chunked), the limit is met while streaming.
    let chunked = reqwest::Body::wrap_stream(tokio_stream::iter(
        huge.into_bytes()
            .chunks(1000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    ));
    let response = server
        .http
        .post(server.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(chunked)
        .send()
        .await
        .unwrap();
    assert_bad_input(response, 413).await;
}

on_both_databases!(
    attachment_names_and_serving,
    every_response_carries_security_headers,
    bad_graphql_bodies_answer_in_graphql_shape,
);
