//! The witness serves its mirror of each log as tlog-tiles under
//! `/mirror/<hex SHA-256 of the origin>/`: `checkpoint` (the log's signed checkpoint of the
//! entries held), `tile/<L>/<N>[.p/<W>]` for anyone, and `tile/entries/…` and `payloads/…`
//! only with the bearer token given by `--mirror-serve-token-file`, because they hold what
//! the log let this witness read. `veritrial ledger restore --from-witness
//! URL/mirror/<hash>` reads them.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ledger::Hash;
use ledger::tiles::bundle::encode_bundle;
use ledger::tiles::payloads::{PayloadItem, encode_payloads};
use ledger::tiles::{TileKind, TilePath, encode_hash_tile, tile_nodes};
use sea_orm::DatabaseConnection;

use anyhow::Context;

use super::WitnessNode;
use super::mirror::MirrorConfig;
use super::mirror_store;

/// What the mirror routes need.
#[derive(Clone)]
pub struct MirrorServing {
    /// The witness database.
    pub db: DatabaseConnection,
    /// The origins mirrored.
    pub origins: Vec<String>,
    /// The SHA-256 of the token that may read bundles; `None`: bundles are not served.
    pub token_hash: Option<Hash>,
}

impl MirrorServing {
    /// What `node` serves of its mirrors under `config`.
    pub fn new(node: &WitnessNode, config: &MirrorConfig) -> anyhow::Result<Self> {
        let token_hash = match &config.serve_token_file {
            Some(path) => {
                let token = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Some(Hash::sha256(token.trim().as_bytes()))
            }
            None => None,
        };
        Ok(Self {
            db: node.store.db().clone(),
            origins: node.logs.iter().map(|log| log.origin.clone()).collect(),
            token_hash,
        })
    }
}

/// The path segment naming `origin`: the hex SHA-256 of the origin line.
pub fn origin_segment(origin: &str) -> String {
    Hash::sha256(origin.as_bytes()).to_hex()
}

/// The mirror routes.
pub fn router(serving: MirrorServing) -> Router {
    Router::new()
        .route("/mirror/{origin}/checkpoint", get(checkpoint))
        .route("/mirror/{origin}/tile/{*path}", get(tile))
        .route("/mirror/{origin}/payloads/{*path}", get(payloads))
        .with_state(Arc::new(serving))
}

type Shared = State<Arc<MirrorServing>>;

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.into() + "\n",
    )
        .into_response()
}

fn origin_of<'a>(serving: &'a MirrorServing, segment: &str) -> Option<&'a str> {
    serving
        .origins
        .iter()
        .find(|origin| origin_segment(origin) == segment)
        .map(String::as_str)
}

async fn checkpoint(State(serving): Shared, Path(segment): Path<String>) -> Response {
    let Some(origin) = origin_of(&serving, &segment) else {
        return text(StatusCode::NOT_FOUND, "no such log");
    };
    match mirror_store::held(&serving.db, origin).await {
        Ok(Some(row)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            row.note,
        )
            .into_response(),
        Ok(None) => text(StatusCode::NOT_FOUND, "nothing mirrored yet"),
        Err(err) => internal(&err),
    }
}

async fn tile(
    serving: Shared,
    headers: HeaderMap,
    Path((segment, path)): Path<(String, String)>,
) -> Response {
    serve(serving, headers, segment, format!("tile/{path}")).await
}

async fn payloads(
    serving: Shared,
    headers: HeaderMap,
    Path((segment, path)): Path<(String, String)>,
) -> Response {
    serve(serving, headers, segment, format!("payloads/{path}")).await
}

async fn serve(
    State(serving): Shared,
    headers: HeaderMap,
    segment: String,
    path: String,
) -> Response {
    let Some(origin) = origin_of(&serving, &segment) else {
        return text(StatusCode::NOT_FOUND, "no such log");
    };
    let Ok(tile) = TilePath::parse(&path) else {
        return text(StatusCode::BAD_REQUEST, format!("not a tile path: {path}"));
    };
    let is_bundle = !matches!(tile.kind, TileKind::Hash { .. });
    if is_bundle && !authorized(&serving, &headers) {
        return text(StatusCode::UNAUTHORIZED, "bundles need the mirror's token");
    }
    match bytes(&serving.db, origin, &tile).await {
        Ok(Some(bytes)) => {
            let cache = if tile.is_full() && !is_bundle {
                "public, max-age=31536000, immutable"
            } else {
                "no-store"
            };
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream"),
                    (header::CACHE_CONTROL, cache),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => text(StatusCode::NOT_FOUND, format!("{tile} is not mirrored")),
        Err(err) => internal(&err),
    }
}

fn authorized(serving: &MirrorServing, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|token| Hash::sha256(token.trim().as_bytes()));
    // Hashes compared, so the comparison's timing says nothing about the token.
    serving.token_hash.is_some() && presented == serving.token_hash
}

/// The bytes of `tile` from the mirror of `origin`, cut at the size held.
async fn bytes(
    db: &DatabaseConnection,
    origin: &str,
    tile: &TilePath,
) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(held) = mirror_store::held(db, origin).await? else {
        return Ok(None);
    };
    let size = u64::try_from(held.size)?;
    if let TileKind::Hash { level } = tile.kind {
        let Some((tree_level, range)) = tile_nodes(tile, size) else {
            return Ok(None);
        };
        let hexes: Vec<String> = if level == 0 {
            mirror_store::entries(db, origin, range.start, range.end)
                .await?
                .into_iter()
                .map(|row| row.leaf_hash)
                .collect()
        } else {
            mirror_store::nodes(db, origin, tree_level, range.start, range.end)
                .await?
                .into_iter()
                .map(|row| row.hash)
                .collect()
        };
        anyhow::ensure!(hexes.len() as u64 == tile.width, "{tile}: rows are missing");
        let hashes = hexes
            .iter()
            .map(|h| Hash::from_hex(h))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Some(encode_hash_tile(&hashes)));
    }
    let start = tile.first_item();
    let end = start.saturating_add(tile.width);
    if end > size {
        return Ok(None);
    }
    let rows = mirror_store::entries(db, origin, start, end).await?;
    anyhow::ensure!(rows.len() as u64 == tile.width, "{tile}: rows are missing");
    Ok(Some(if tile.kind == TileKind::Entries {
        encode_bundle(rows.iter().map(|row| &row.item))?
    } else {
        let items: Vec<PayloadItem> = rows
            .into_iter()
            .map(|row| match (row.payload_state, row.payload) {
                (2, Some(body)) => PayloadItem::Body(body),
                (1, _) => PayloadItem::Erased,
                _ => PayloadItem::Withheld,
            })
            .collect();
        encode_payloads(&items)?
    }))
}

fn internal(err: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{err:#}"), "serving the mirror failed");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
