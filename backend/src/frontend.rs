//! The web front end: static files from `frontend/`, embedded into the binary.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// An asset served at `/<file>` from `frontend/<file>`.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $content_type,
            body: include_str!(concat!("../../frontend/", $file)),
        }
    };
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: HTML,
        body: include_str!("../../frontend/index.html"),
    },
    asset!("app.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("attachments.js", JS),
    asset!("check.js", JS),
    asset!("codes.js", JS),
    asset!("cohort.js", JS),
    asset!("crf.js", JS),
    asset!("criteria.js", JS),
    asset!("dom.js", JS),
    asset!("enroll.js", JS),
    asset!("ethics.js", JS),
    asset!("ledger-panel.js", JS),
    asset!("login.js", JS),
    asset!("monitor.js", JS),
    asset!("protocol-form.js", JS),
    asset!("recruiter.js", JS),
    asset!("router.js", JS),
    asset!("signature.js", JS),
    asset!("site.js", JS),
    asset!("site-matches.js", JS),
    asset!("site-patients.js", JS),
    asset!("site-enrollment.js", JS),
    asset!("site-patient.js", JS),
    asset!("site-trial.js", JS),
    asset!("site-worklist.js", JS),
    asset!("sponsor.js", JS),
    asset!("trials.js", JS),
];

/// Routes serving every embedded asset.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(
            asset.path,
            get(move || async move {
                (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, asset.content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    asset.body,
                )
                    .into_response()
            }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Every file in `frontend/` is served, so a new module cannot be forgotten.
    #[test]
    fn every_frontend_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).expect("frontend directory") {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name");
            let path = if name == "index.html" {
                "/".to_string()
            } else {
                format!("/{name}")
            };
            if !ASSETS.iter().any(|a| a.path == path) {
                missing.push(name);
            }
        }
        assert!(
            missing.is_empty(),
            "not embedded in frontend.rs: {missing:?}"
        );
    }
}
