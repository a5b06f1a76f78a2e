//! The HTTP surface: `/graphql`, `/healthz`, `/livez` and the web front end, with limits and
//! tracing.

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use tokio_stream::StreamExt;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Caller;
use crate::auth::throttle::ClientAddr;
use crate::domain::Role;
use crate::error::AppError;
use crate::frontend;
use crate::graphql::VeritrialSchema;
use crate::graphql_body::{self, BadGraphQLBody};
use crate::health::{self, DbHealth, HealthWatch};
use crate::security_headers;
use crate::services::{attachments, exports, ledger, report, sessions};
use crate::state::AppState;

/// Limits of the HTTP surface.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// Largest request body accepted on `/graphql`.
    pub max_body_bytes: usize,
    /// Longest time a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// Largest attachment accepted by `POST /attachments` (streamed, never held in memory).
    pub max_upload_bytes: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
struct Shared {
    state: AppState,
    schema: VeritrialSchema,
    limits: HttpLimits,
    health: HealthWatch,
}

/// The application's router. Starts the database health watcher, which stops when the
/// router is dropped.
pub fn router(state: AppState, schema: VeritrialSchema, limits: HttpLimits) -> Router {
    let health = HealthWatch::start(state.db.clone());
    let api = Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
        .route("/ledger/export", get(ledger_export))
        .route("/trials/{id}/report", get(trial_report))
        .merge(frontend::router())
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ));
    // Uploads and downloads stream for as long as they take, within their own size limit.
    let files = Router::new()
        .route("/attachments", post(upload_attachment))
        .route("/attachments/{id}", get(download_attachment))
        .route("/trials/{id}/export/odm", get(export_odm))
        .route("/trials/{id}/export/dictionary", get(export_dictionary))
        .route("/trials/{id}/export/forms/{form}", get(export_form))
        .layer(DefaultBodyLimit::disable());
    let router = Router::new()
        .merge(api)
        .merge(files)
        .with_state(Shared {
            state: state.clone(),
            schema,
            limits,
            health,
        })
        .merge(crate::ledger_http::router(state))
        .layer(axum::middleware::from_fn(graphql_body::shape_rejections));
    security_headers::apply(router).layer(TraceLayer::new_for_http())
}

async fn graphql(
    State(shared): State<Shared>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    request: GraphQLRequest<BadGraphQLBody>,
) -> Response {
    if !graphql_body::is_json(&headers) {
        return graphql_body::not_json();
    }
    let caller = caller(&shared.state, &headers).await;
    let mut request = request.into_inner().data(caller);
    if let Some(Extension(ConnectInfo(peer))) = peer {
        request = request.data(ClientAddr(peer.ip()));
    }
    GraphQLResponse::from(shared.schema.execute(request).await).into_response()
}

/// GraphiQL, with a Content-Security-Policy that lets its CDN assets and inline blocks run.
async fn graphiql() -> Response {
    let page = GraphiQLSource::build().endpoint("/graphql").finish();
    let policy = security_headers::graphiql_policy(&page);
    ([(header::CONTENT_SECURITY_POLICY, policy)], Html(page)).into_response()
}

/// `GET /healthz`: 200 when the database answered its last background ping, 503 otherwise;
/// the body also shows the search index's lag (`index`).
/// Never waits for a database connection (see [`crate::health`]), except for one bounded
/// ping before the watcher's first outcome.
async fn healthz(State(shared): State<Shared>) -> Response {
    let healthy = match shared.health.current() {
        DbHealth::Ok => true,
        DbHealth::Unavailable => false,
        DbHealth::Unknown => health::ping(&shared.state.db).await,
    };
    let index = index_lag(&shared);
    if healthy {
        Json(serde_json::json!({ "status": "ok", "index": index })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "database unreachable", "index": index })),
        )
            .into_response()
    }
}

/// `{"watermark", "outboxHead", "lag"}`: the change this server's search index reflects, the
/// database's last change (as last read, within a second) and the difference.
fn index_lag(shared: &Shared) -> serde_json::Value {
    let watermark = shared.state.matching.indexer().applied();
    let head = shared.health.outbox_head();
    serde_json::json!({
        "watermark": watermark,
        "outboxHead": head,
        "lag": head.map(|head| head.saturating_sub(watermark)),
    })
}

/// `GET /livez`: 200 whenever the process serves HTTP at all; touches nothing else.
async fn livez() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// What `GET /ledger/export` is asked for: `?payloads=true` adds each full entry's payload.
#[derive(serde::Deserialize, Default)]
struct ExportParams {
    #[serde(default)]
    payloads: bool,
}

/// `GET /ledger/export`: the whole ledger as JSON Lines, streamed page by page; entries the
/// caller may not read in full are redacted lines.
async fn ledger_export(
    State(shared): State<Shared>,
    Query(params): Query<ExportParams>,
    headers: HeaderMap,
) -> Response {
    let who = match caller(&shared.state, &headers)
        .await
        .require(&[Role::Ethics, Role::Admin])
    {
        Ok(who) => who.clone(),
        Err(err) => return error_response(err),
    };
    let visibility = match ledger::Visibility::of(&shared.state, &who).await {
        Ok(visibility) => visibility,
        Err(err) => return error_response(err),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let state = shared.state.clone();
    tokio::spawn(async move {
        let options = ledger::ExportOptions {
            with_payloads: params.payloads,
        };
        if let Err(err) =
            ledger::write_export_with(&state.db, &state.ledger, &visibility, options, tx).await
        {
            tracing::error!(error = %err, "the ledger export stopped early");
        }
    });
    let body = axum::body::Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>),
    );
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"veritrial-ledger.jsonl\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// Where an upload goes: `POST /attachments?submissionId=…&fileName=…`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadParams {
    submission_id: String,
    file_name: String,
}

/// `POST /attachments`: the raw file as the body, streamed to storage while hashed.
async fn upload_attachment(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<UploadParams>,
    body: axum::body::Body,
) -> Response {
    let who = match caller(&shared.state, &headers).await.require(&[Role::Site]) {
        Ok(who) => who.clone(),
        Err(err) => return error_response(err),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let upload = attachments::Upload {
        submission_id: params.submission_id,
        file_name: params.file_name,
        content_type,
        max_bytes: shared.limits.max_upload_bytes,
    };
    match attachments::add(&shared.state, &who, upload, body.into_data_stream()).await {
        Ok(row) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": row.id,
                "sha256": row.sha256,
                "sizeBytes": row.size_bytes,
                "ledgerSeq": row.ledger_seq,
            })),
        )
            .into_response(),
        Err(err) => error_response(err),
    }
}

/// `GET /attachments/{id}`: the stored file, streamed as a download with a safe content type
/// (see [`attachments::served_content_type`]) in a sandbox.
async fn download_attachment(
    State(shared): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let who = match caller(&shared.state, &headers).await.principal() {
        Ok(who) => who.clone(),
        Err(err) => return error_response(err),
    };
    match attachments::open(&shared.state, &who, &id).await {
        Ok((row, content)) => {
            let body = axum::body::Body::from_stream(content);
            (
                [
                    (
                        header::CONTENT_TYPE,
                        attachments::served_content_type(&row.content_type).to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        attachments::content_disposition(&row.file_name),
                    ),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        security_headers::SANDBOX_POLICY.to_string(),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(err) => error_response(err),
    }
}

/// `GET /trials/{id}/export/odm`: the trial's clinical data as CDISC ODM 1.3.2 XML.
async fn export_odm(
    shared: State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    export(shared, headers, id, exports::ExportKind::Odm).await
}

/// `GET /trials/{id}/export/dictionary`: the data dictionary of the trial's forms, as CSV.
async fn export_dictionary(
    shared: State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    export(shared, headers, id, exports::ExportKind::Dictionary).await
}

/// `GET /trials/{id}/export/forms/{form}`: one form's records, as CSV.
async fn export_form(
    shared: State<Shared>,
    headers: HeaderMap,
    axum::extract::Path((id, form)): axum::extract::Path<(String, String)>,
) -> Response {
    export(shared, headers, id, exports::ExportKind::FormCsv(form)).await
}

/// A streamed export for the trial's sponsor, ethics board or an admin.
async fn export(
    State(shared): State<Shared>,
    headers: HeaderMap,
    trial_id: String,
    kind: exports::ExportKind,
) -> Response {
    let who = match caller(&shared.state, &headers).await.principal() {
        Ok(who) => who.clone(),
        Err(err) => return error_response(err),
    };
    match exports::start(&shared.state, &who, &trial_id, kind).await {
        Ok(export) => {
            let chunks = tokio_stream::wrappers::ReceiverStream::new(export.chunks);
            (
                [
                    (
                        header::CONTENT_TYPE,
                        format!("{}; charset=utf-8", export.content_type),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{}\"", export.file_name),
                    ),
                ],
                axum::body::Body::from_stream(chunks),
            )
                .into_response()
        }
        Err(err) => error_response(err),
    }
}

/// `GET /trials/{id}/report`: the trial's self-contained HTML audit report.
async fn trial_report(
    State(shared): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let who = match caller(&shared.state, &headers).await.principal() {
        Ok(who) => who.clone(),
        Err(err) => return error_response(err),
    };
    match report::trial_report(&shared.state, &who, &id).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"veritrial-audit-{id}.html\""),
                ),
            ],
            html,
        )
            .into_response(),
        Err(err) => error_response(err),
    }
}

/// A JSON error body `{"error": {"code", "message"}}` with the matching HTTP status.
pub fn error_response(err: AppError) -> Response {
    let status = match &err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) | AppError::SignatureRefused(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::BadInput(_) | AppError::BadCriteria(_) | AppError::InvalidFields { .. } => {
            StatusCode::BAD_REQUEST
        }
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::BudgetExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::IndexBehind(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(inner) => {
            tracing::error!(error = ?inner, "internal error while serving a request");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let body = serde_json::json!({ "error": { "code": err.code(), "message": err.to_string() } });
    (status, Json(body)).into_response()
}

/// Who is calling, from the `Authorization: Bearer` header and the session it names.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Caller::Anonymous;
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match token {
        Some(token) => sessions::authenticate(&state.db, &state.tokens, token).await,
        None => Caller::Refused("the Authorization header must be `Bearer <token>`".into()),
    }
}
