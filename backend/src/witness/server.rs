//! The witness's HTTP surface: `POST /add-checkpoint` (C2SP tlog-witness), `GET /status`
//! (JSON), `GET /metrics` (Prometheus text) and `GET /<hex SHA-256 of origin>/checkpoint`
//! (the spec's monitor retrieval: the latest cosigned checkpoint of a log).

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ledger::witness::{ADD_CHECKPOINT_PATH, Rejection, SIZE_CONTENT_TYPE, size_body};
use serde_json::{Value, json};
use tower_http::trace::TraceLayer;

use super::WitnessNode;
use super::submit::{Outcome, add_checkpoint};

/// Largest add-checkpoint body accepted: a note of up to 100 signatures and 63 proof lines
/// fits with room to spare.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The witness node's routes.
pub fn router(node: Arc<WitnessNode>) -> Router {
    Router::new()
        .route(ADD_CHECKPOINT_PATH, post(add))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(node)
}

const TEXT: &str = "text/plain; charset=utf-8";

async fn add(State(node): State<Arc<WitnessNode>>, body: String) -> Response {
    match add_checkpoint(&node, &body).await {
        Ok(Outcome::Cosigned(line)) => ([(header::CONTENT_TYPE, TEXT)], line).into_response(),
        Ok(Outcome::Refused(rejection)) => {
            node.alarm.refused(rejection.status());
            refusal(&rejection)
        }
        Ok(Outcome::NotMirrored(reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, TEXT), (header::RETRY_AFTER, "1")],
            format!("{reason}\n"),
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "add-checkpoint failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

fn refusal(rejection: &Rejection) -> Response {
    let status =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match rejection.known_size() {
        Some(size) => (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            size_body(size),
        )
            .into_response(),
        None => (
            status,
            [(header::CONTENT_TYPE, TEXT)],
            format!("{rejection}\n"),
        )
            .into_response(),
    }
}

async fn status(State(node): State<Arc<WitnessNode>>) -> Response {
    match status_json(&node).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(err) => internal(&err),
    }
}

/// `{ name, verifierKey, alarm, logs: [...], evidenceCount, evidence: [...] }`.
async fn status_json(node: &WitnessNode) -> anyhow::Result<Value> {
    let stored = node.store.logs().await?;
    let mirrored = super::mirror_store::sizes(node.store.db()).await?;
    let logs: Vec<Value> = node
        .logs
        .iter()
        .map(|log| {
            let row = stored.iter().find(|r| r.origin == log.origin);
            json!({
                "origin": log.origin,
                "verifierKey": log.verifier.key_string(),
                "url": log.url,
                "size": row.map(|r| r.size),
                "rootHash": row.map(|r| r.root_hash.clone()),
                "cosignedAt": row.map(|r| r.cosigned_at),
                "checkpoint": row.map(|r| r.note.clone()),
                "mirroredSize": mirrored.iter().find(|(o, _)| *o == log.origin).map(|(_, size)| size),
            })
        })
        .collect();
    let evidence: Vec<Value> = node
        .store
        .evidence()
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "origin": e.origin,
                "reason": e.reason,
                "detectedAt": e.detected_at,
                "cosignedSize": e.cosigned_size,
                "cosignedCheckpoint": e.cosigned_note,
                "presentedSize": e.presented_size,
                "presentedCheckpoint": e.presented_note,
            })
        })
        .collect();
    Ok(json!({
        "name": node.cosigner.name(),
        "verifierKey": node.cosigner.verifier_key(),
        "alarm": !evidence.is_empty(),
        "logs": logs,
        "evidenceCount": evidence.len(),
        "evidence": evidence,
    }))
}

async fn metrics(State(node): State<Arc<WitnessNode>>) -> Response {
    let gathered = async {
        let evidence = node.store.evidence_count().await?;
        let sizes: Vec<(String, i64)> = node
            .store
            .logs()
            .await?
            .into_iter()
            .map(|l| (l.origin, l.size))
            .collect();
        anyhow::Ok(node.alarm.prometheus(evidence, &sizes))
    };
    match gathered.await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => internal(&err),
    }
}

async fn checkpoint(State(node): State<Arc<WitnessNode>>, Path(hash): Path<String>) -> Response {
    let Some(log) = node
        .logs
        .iter()
        .find(|l| ledger::Hash::sha256(l.origin.as_bytes()).to_hex() == hash)
    else {
        return (StatusCode::NOT_FOUND, "unknown log\n").into_response();
    };
    match node.store.latest(&log.origin).await {
        Ok(Some(row)) => ([(header::CONTENT_TYPE, TEXT)], row.note).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "nothing cosigned yet\n").into_response(),
        Err(err) => internal(&err),
    }
}

fn internal(err: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{err:#}"), "witness request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
}
