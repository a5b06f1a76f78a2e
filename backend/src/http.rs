//! The HTTP surface: `/graphql`, `/healthz` and the web front end, with limits and tracing.

use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Caller;
use crate::frontend;
use crate::graphql::VeritrialSchema;
use crate::state::AppState;

/// Limits of the HTTP surface.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// Largest request body accepted on `/graphql`.
    pub max_body_bytes: usize,
    /// Longest time a request may take before it is answered with 408.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
struct Shared {
    state: AppState,
    schema: VeritrialSchema,
}

/// The application's router.
pub fn router(state: AppState, schema: VeritrialSchema, limits: HttpLimits) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .merge(frontend::router())
        .with_state(Shared { state, schema })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}

async fn graphql(
    State(shared): State<Shared>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let caller = caller(&shared.state, &headers);
    shared
        .schema
        .execute(request.into_inner().data(caller))
        .await
        .into()
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn healthz(State(shared): State<Shared>) -> Response {
    match shared.state.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "database unreachable" })),
            )
                .into_response()
        }
    }
}

/// Who is calling, from the `Authorization: Bearer` header.
pub fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Caller::Anonymous;
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match token {
        Some(token) => match state.tokens.verify(token) {
            Ok(principal) => Caller::Authenticated(principal),
            Err(why) => Caller::Refused(why),
        },
        None => Caller::Refused("the Authorization header must be `Bearer <token>`".into()),
    }
}
