//! Parsing of external data into plain structs: ClinicalTrials.gov studies ([`ctgov`]) and
//! FHIR R4 patient bundles ([`fhir`]).
//!
//! This module is pure: no database, no services, no clock. Each parser takes the bytes of a
//! file, plain JSON or gzip-compressed JSON (recognised by the gzip magic bytes, whatever the
//! file name), and returns one result per record, so that a bad record is reported with its
//! position and reason while the rest of the file is still usable. Whole-file failures (not
//! JSON, empty, wrong shape, another FHIR version) are the parsers' error types.
//!
//! Nothing here panics on input: every field from outside is optional in the serde models
//! and checked before use.

pub mod ctgov;
pub mod fhir;

use std::borrow::Cow;
use std::io::Read;

use serde::{Deserialize, Deserializer};

/// The two bytes every gzip stream starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest decompressed size accepted from a gzip file (1 GiB), so that a small hostile
/// file cannot exhaust memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// A failure to turn a file's bytes into JSON text, before any JSON is parsed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file starts like gzip but is not a valid gzip stream.
    #[error("the file looks gzip-compressed but cannot be decompressed: {0}")]
    Gzip(#[source] std::io::Error),
    /// The decompressed content is larger than [`MAX_DECOMPRESSED_BYTES`].
    #[error("the file decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
}

/// Returns the JSON text of a file: the bytes themselves, or their decompression when they
/// start with the gzip magic bytes. A leading UTF-8 byte-order mark is removed (some Windows
/// tools write one, and JSON parsers refuse it).
pub fn decode_input(bytes: &[u8]) -> Result<Cow<'_, [u8]>, InputError> {
    let text: Cow<'_, [u8]> = if bytes.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED_BYTES + 1);
        decoder.read_to_end(&mut out).map_err(InputError::Gzip)?;
        if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
            return Err(InputError::TooLarge {
                limit: MAX_DECOMPRESSED_BYTES,
            });
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    };
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    Ok(match text {
        Cow::Borrowed(b) => Cow::Borrowed(b.strip_prefix(BOM).unwrap_or(b)),
        Cow::Owned(mut v) => {
            if v.starts_with(BOM) {
                v.drain(..BOM.len());
            }
            Cow::Owned(v)
        }
    })
}

/// True when the text holds nothing but whitespace.
fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// Deserialises a value that may be JSON `null` as its default (serde's `default` only
/// covers a missing field; real exports also write `null` for empty lists).
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Trims a string and drops it when nothing is left.
fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Formats a serde error with the JSON path where it happened.
fn path_error(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = err.path().to_string();
    if path.is_empty() || path == "." {
        err.inner().to_string()
    } else {
        format!("at {path}: {}", err.inner())
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers shared by the importers' tests.

    use std::path::PathBuf;

    /// The repository's `testdata/` folder.
    pub fn testdata() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("testdata")
    }

    /// Gzip-compresses bytes (for tests of the gzip detection).
    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).expect("writing to a Vec cannot fail");
        enc.finish().expect("writing to a Vec cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_input_is_borrowed_and_bom_stripped() {
        assert_eq!(&*decode_input(b"{}").unwrap(), b"{}");
        assert_eq!(&*decode_input(b"\xEF\xBB\xBF{}").unwrap(), b"{}");
    }

    #[test]
    fn gzip_input_is_detected_by_magic() {
        let gz = testutil::gzip(b"\xEF\xBB\xBF[1]");
        assert_eq!(&*decode_input(&gz).unwrap(), b"[1]");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let gz = testutil::gzip(b"{\"a\": 1}");
        let err = decode_input(&gz[..gz.len() / 2]).unwrap_err();
        assert!(matches!(err, InputError::Gzip(_)), "{err}");
    }

    #[test]
    fn blank_detection() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \n\t"));
        assert!(!is_blank(b" {}"));
    }
}
