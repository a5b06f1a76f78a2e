//! The log's public read-only tlog-tiles endpoints (C2SP `tlog-tiles`, prefix `/ledger`):
//! `GET /ledger/checkpoint`, `GET /ledger/tile/<L>/<N>[.p/<W>]`,
//! `GET /ledger/tile/entries/<N>[.p/<W>]` and `GET /ledger/payloads/<N>[.p/<W>]`.
//! What each one exposes, and to whom, is in [`crate::services::ledger::tiles`].
//! Also public: `GET /ledger/proof/<N>`, the inclusion proof of entry N in a signed
//! checkpoint (hashes only, as the tiles are), which a consent receipt's check link verifies
//! in the browser.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::http::{caller, error_response};
use crate::services::ledger::{self, Visibility, tiles};
use crate::state::AppState;

/// How long a client may cache a full tile: a year, and it never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The tile routes, on their own state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ledger/checkpoint", get(checkpoint))
        .route("/ledger/tile/{*path}", get(tile))
        .route("/ledger/payloads/{*path}", get(payloads))
        .route("/ledger/proof/{seq}", get(proof))
        .with_state(state)
}

/// `GET /ledger/checkpoint`: the latest signed checkpoint note.
async fn checkpoint(State(state): State<AppState>) -> Response {
    match tiles::checkpoint_note(&state.db, &state.ledger).await {
        Ok(note) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            note,
        )
            .into_response(),
        Err(err) => error_response(err),
    }
}

/// `GET /ledger/proof/<N>`: `{index, treeSize, proof, checkpoint, publicKey}`, the inclusion
/// proof of entry N in the checkpoint a receipt would use (cosigned when it can be).
async fn proof(State(state): State<AppState>, Path(seq): Path<String>) -> Response {
    match proof_json(&state, &seq).await {
        Ok(body) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response(),
        Err(err) => error_response(err),
    }
}

async fn proof_json(state: &AppState, seq: &str) -> AppResult<serde_json::Value> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| AppError::bad_input("an entry number is a whole number"))?;
    let head =
        ledger::checkpoint_for_entry(&state.db, &state.ledger, seq, state.cosigning.quorum())
            .await?;
    if seq >= head.size {
        return Err(AppError::not_found(format!(
            "entry {seq} is not in a signed checkpoint yet"
        )));
    }
    let proof = ledger::inclusion_proof(&state.db, seq, head.size).await?;
    Ok(serde_json::json!({
        "index": seq,
        "treeSize": head.size,
        "proof": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "checkpoint": head.note,
        "publicKey": head.public_key,
    }))
}

async fn tile(state: State<AppState>, headers: HeaderMap, Path(path): Path<String>) -> Response {
    serve(state, headers, format!("tile/{path}")).await
}

async fn payloads(
    state: State<AppState>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    serve(state, headers, format!("payloads/{path}")).await
}

/// A hash tile for anyone; a bundle for an ethics board or an admin, cut to what they may read.
async fn serve(State(state): State<AppState>, headers: HeaderMap, path: String) -> Response {
    match bytes(&state, &headers, &path).await {
        Ok((bytes, cache)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, cache),
            ],
            bytes,
        )
            .into_response(),
        Err(err) => error_response(err),
    }
}

async fn bytes(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> AppResult<(Vec<u8>, &'static str)> {
    let tile = tiles::parse_path(path)?;
    if !tiles::needs_reader(&tile) {
        let cache = if tile.is_full() {
            IMMUTABLE
        } else {
            "no-store"
        };
        return Ok((tiles::tile(&state.db, &tile, None).await?, cache));
    }
    let caller = caller(state, headers).await;
    let who = caller.require(&[Role::Ethics, Role::Admin])?;
    let visibility = Visibility::of(state, who).await?;
    // What a reader may see can change (a board assigned to a trial, a payload erased).
    let bytes = tiles::tile(&state.db, &tile, Some(&visibility)).await?;
    Ok((bytes, "private, no-store"))
}
