//! Holding under attack: expensive queries multiplied by aliases, oversized criteria and a
//! saturated index pool are refused early, and `/healthz` keeps answering meanwhile.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, TestServer, TestStore};
use serde_json::{Value, json};
use veritrial::domain::{OrgKind, Role};
use veritrial::error::AppError;
use veritrial::server::{BoundServer, ServeConfig, load_state};

/// `n` aliases of `field` in one query.
fn aliases(n: usize, field: &str) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

/// The messages of a response's errors.
fn messages(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn verify_ledger_aliases_are_refused_by_complexity(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Regional Ethics Board", OrgKind::Ethics).await;
    let token = server
        .user("board@ethics.org", "Regional Ethics Board", Role::Ethics)
        .await;
    let flood = aliases(
        500,
        "verifyLedger { ok entriesChecked firstBadSeq problems }",
    );
    let body = server.gql(Some(&token), &flood, json!({})).await;
    assert!(body["data"].is_null(), "nothing ran: {body}");
    assert!(
        messages(&body).iter().any(|m| m.contains("too complex")),
        "{body}"
    );
    // One verification, as the web app asks for it, still runs.
    let data = server
        .ok(Some(&token), "{ verifyLedger { ok } }", json!({}))
        .await;
    assert_eq!(data["verifyLedger"]["ok"], true);
}

async fn oversized_criteria_are_bad_criteria(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.org("Acme Recruiting", OrgKind::Recruiter).await;
    let token = server
        .user("r@acme.org", "Acme Recruiting", Role::Recruiter)
        .await;
    let query = "query($c: String!) { cohort(criteria: $c) { count } }";
    let many = vec!["age >= 18"; 2_000].join(" and ");
    let body = server.gql(Some(&token), query, json!({ "c": many })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_CRITERIA",
        "{body}"
    );
    let short = vec!["age=1"; 800].join(" or ");
    let body = server.gql(Some(&token), query, json!({ "c": short })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_CRITERIA");
    assert!(
        messages(&body)[0].contains("the criteria have 800 clauses; at most 64 are allowed"),
        "{body}"
    );
    let deep = format!("{}age > 1{}", "(".repeat(500), ")".repeat(500));
    let code = server
        .error_code(Some(&token), query, json!({ "c": deep }))
        .await;
    assert_eq!(code, "BAD_CRITERIA");
}

async fn healthz_answers_while_the_index_pool_is_full(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let config = ServeConfig::for_tools(store.config());
    let state = load_state(&config).await.expect("state loads");
    let matching = state.matching.clone();
    let bound = BoundServer::bind_with(state, &config)
        .await
        .expect("server binds");
    let addr = bound.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.run(async {
        let _ = stopped.await;
    }));

    // Every worker and every queue place is taken by work that waits for the gate.
    let gate = Arc::new(tokio::sync::RwLock::new(()));
    let closed = gate.clone().write_owned().await;
    let pool = matching.pool().clone();
    let mut held = Vec::new();
    for _ in 0..pool.capacity() {
        let matching = matching.clone();
        let gate = gate.clone();
        held.push(tokio::spawn(async move {
            matching
                .run_profiles(move |index| {
                    let _open = gate.blocking_read();
                    index.len()
                })
                .await
        }));
    }
    while pool.in_use() < pool.capacity() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = matching.run_profiles(|index| index.len()).await;
    assert!(matches!(refused, Err(AppError::RateLimited(_))));

    let http = common::http_client();
    for path in ["/healthz", "/livez"] {
        let response = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 200, "{path}");
    }

    drop(closed);
    for task in held {
        assert!(matches!(task.await, Ok(Ok(0))));
    }
    assert_eq!(pool.in_use(), 0);
    let _ = stop.send(());
}

on_both_databases!(
    verify_ledger_aliases_are_refused_by_complexity,
    oversized_criteria_are_bad_criteria,
    healthz_answers_while_the_index_pool_is_full,
);
