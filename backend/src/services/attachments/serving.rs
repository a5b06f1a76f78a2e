//! The content type an attachment is served with. Uploaders choose the stored type, so only
//! types that cannot run script in the app's origin are served as they are; anything else
//! (`text/html`, `image/svg+xml`, `application/xml`, …) is served as
//! `application/octet-stream`, always with `X-Content-Type-Options: nosniff`.

/// Stored types served as they are (compared without parameters, case-insensitively).
const SERVED_AS_IS: &[&str] = &[
    "application/dicom",
    "application/gzip",
    "application/json",
    "application/pdf",
    "application/zip",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/webp",
    "text/csv",
    "text/plain",
];

/// What every other type is served as.
pub const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

/// The `Content-Type` to send for an attachment stored as `stored`.
pub fn served_content_type(stored: &str) -> &'static str {
    let essence = stored.split(';').next().unwrap_or_default().trim();
    SERVED_AS_IS
        .iter()
        .find(|allowed| allowed.eq_ignore_ascii_case(essence))
        .copied()
        .unwrap_or(FALLBACK_CONTENT_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allow_list_passes() {
        assert_eq!(served_content_type("image/PNG"), "image/png");
        assert_eq!(
            served_content_type("text/plain; charset=utf-8"),
            "text/plain"
        );
        for risky in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "",
            "x",
        ] {
            assert_eq!(served_content_type(risky), FALLBACK_CONTENT_TYPE, "{risky}");
        }
    }
}
