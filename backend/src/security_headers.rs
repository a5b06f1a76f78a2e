//! Security headers on every response: a Content-Security-Policy (unless the route set its
//! own), `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and
//! `Referrer-Policy: no-referrer`.

use axum::Router;
use axum::http::{HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tower_http::set_header::SetResponseHeaderLayer;

/// The web app's policy: its own scripts, styles and API only; no inline script or style,
/// no plugins, no framing.
pub const APP_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// For downloads of uploaded files: nothing runs, even if a browser renders the file.
pub const SANDBOX_POLICY: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// Adds the headers to every response of `router`.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(APP_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// The policy for the GraphiQL page at `GET /graphql`, which loads React and GraphiQL from
/// unpkg.com: those scripts and styles, plus the page's own inline `<script>` and `<style>`
/// blocks by their SHA-256 (never `'unsafe-inline'`), and queries to this origin only.
pub fn graphiql_policy(page: &str) -> String {
    let scripts = inline_hashes(page, "script");
    let styles = inline_hashes(page, "style");
    format!(
        "default-src 'none'; script-src https://unpkg.com{scripts}; \
         style-src https://unpkg.com{styles}; img-src 'self' data: https://graphql.org; \
         font-src data: https://unpkg.com; connect-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// ` 'sha256-…'` for the contents of each inline `<tag>` element (one without `src`).
fn inline_hashes(page: &str, tag: &str) -> String {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut hashes = String::new();
    let mut rest = page;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start..];
        let (Some(tag_end), Some(end)) = (after.find('>'), after.find(&close)) else {
            break;
        };
        if tag_end < end && !after[..tag_end].contains("src=") {
            let body = &after[tag_end + 1..end];
            let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
            hashes.push_str(&format!(" 'sha256-{}'", STANDARD.encode(digest.as_ref())));
        }
        rest = &after[end + close.len()..];
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_blocks_are_hashed_and_external_ones_skipped() {
        let page = "<style>a{}</style><script src=\"https://unpkg.com/x.js\"></script>\
                    <script>go()</script>";
        let policy = graphiql_policy(page);
        let hash = |s: &str| {
            STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref())
        };
        assert!(policy.contains(&format!(
            "script-src https://unpkg.com 'sha256-{}';",
            hash("go()")
        )));
        assert!(policy.contains(&format!(
            "style-src https://unpkg.com 'sha256-{}';",
            hash("a{}")
        )));
        assert!(!policy.contains("unsafe-inline"));
    }
}
