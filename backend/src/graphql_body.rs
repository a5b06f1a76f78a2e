//! Errors about a `POST /graphql` request itself (not JSON, not a GraphQL request, wrong
//! content type, too large), answered in the GraphQL error shape
//! `{"errors":[{"message": "…", "extensions":{"code":"BAD_INPUT"}}]}`, never as debug text.

use async_graphql::ParseRequestError;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The path this module answers for.
const GRAPHQL_PATH: &str = "/graphql";

/// What the body-limit layer says when a streamed body goes over the limit.
const LENGTH_LIMIT_EXCEEDED: &str = "length limit exceeded";

/// A `BAD_INPUT` error in the GraphQL error shape, with `status`.
pub fn bad_input(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_INPUT" } }]
    });
    (status, Json(body)).into_response()
}

/// The answer to a body larger than the limit.
fn too_large() -> Response {
    bad_input(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the request body is larger than the server accepts",
    )
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The answer to a body that is not `application/json` (415, in the GraphQL error shape).
pub fn not_json() -> Response {
    bad_input(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "send the GraphQL request as JSON, with `Content-Type: application/json`",
    )
}

/// The rejection of a body that cannot be read as a GraphQL request.
pub struct BadGraphQLBody(ParseRequestError);

impl From<ParseRequestError> for BadGraphQLBody {
    fn from(err: ParseRequestError) -> Self {
        Self(err)
    }
}

impl IntoResponse for BadGraphQLBody {
    fn into_response(self) -> Response {
        match self.0 {
            ParseRequestError::PayloadTooLarge => too_large(),
            ParseRequestError::Io(err) if err.to_string().contains(LENGTH_LIMIT_EXCEEDED) => {
                too_large()
            }
            ParseRequestError::InvalidRequest(err) => bad_input(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request (a JSON object with a `query`): {err}"),
            ),
            _ => bad_input(
                StatusCode::BAD_REQUEST,
                "the body is not a GraphQL request (a JSON object with a `query`)",
            ),
        }
    }
}

/// Middleware (outside the body limit): gives a `413` that the limit layer answered for
/// `POST /graphql` the GraphQL error shape.
pub async fn shape_rejections(request: Request, next: Next) -> Response {
    let graphql = request.method() == Method::POST && request.uri().path() == GRAPHQL_PATH;
    let response = next.run(request).await;
    if graphql && response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        response
    }
}
