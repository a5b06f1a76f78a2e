//! The checkpoint body text.

use serde::{Deserialize, Serialize};

use super::error::CheckpointError;
use crate::hash::Hash;

/// Prefix of the extension line that carries the checkpoint timestamp.
const TIME_PREFIX: &str = "time ";

/// A tree head: the log's origin, its size and root, and when it was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The log's origin line (unique name of this log), e.g. `veritrial.example/ledger`.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the first `size` entries.
    pub root: Hash,
    /// Signing time, Unix milliseconds (UTC).
    pub timestamp_ms: i64,
}

impl Checkpoint {
    /// The body text: `origin\nsize\nbase64(root)\ntime <ms>\n`.
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        check_origin(&self.origin)?;
        Ok(format!(
            "{}\n{}\n{}\n{TIME_PREFIX}{}\n",
            self.origin,
            self.size,
            self.root.to_base64(),
            self.timestamp_ms
        ))
    }

    /// Parses a body produced by [`Checkpoint::to_body`], strictly: exactly four lines, a
    /// canonical decimal size and timestamp, and a base64 root of 32 bytes.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let bad = |msg: &str| CheckpointError::MalformedCheckpoint(msg.to_owned());
        let rest = body
            .strip_suffix('\n')
            .ok_or_else(|| bad("body does not end with a newline"))?;
        let lines: Vec<&str> = rest.split('\n').collect();
        let [origin, size, root, time] = lines[..] else {
            return Err(bad("expected exactly four lines: origin, size, root, time"));
        };
        check_origin(origin).map_err(|_| bad("empty or invalid origin line"))?;
        let size = parse_canonical::<u64>(size).ok_or_else(|| bad("invalid tree size"))?;
        let root = Hash::from_base64(root).map_err(|_| bad("root is not base64 of 32 bytes"))?;
        let time = time
            .strip_prefix(TIME_PREFIX)
            .ok_or_else(|| bad("fourth line is not a `time <ms>` line"))?;
        let timestamp_ms = parse_canonical::<i64>(time).ok_or_else(|| bad("invalid time"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            timestamp_ms,
        })
    }
}

/// Parses a decimal number and insists it is written the way Rust prints it (no `+`, no
/// leading zeros, no spaces).
fn parse_canonical<T: std::str::FromStr + ToString>(s: &str) -> Option<T> {
    let value: T = s.parse().ok()?;
    (value.to_string() == s).then_some(value)
}

/// An origin is a non-empty single line without control characters.
fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() || origin.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidName(origin.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trip_and_strictness() {
        let cp = Checkpoint {
            origin: "veritrial.test/ledger".into(),
            size: 42,
            root: Hash::sha256(b"r"),
            timestamp_ms: 1_700_000_000_123,
        };
        let body = cp.to_body().expect("body");
        assert!(body.starts_with("veritrial.test/ledger\n42\n"));
        assert!(body.ends_with("\ntime 1700000000123\n"));
        assert_eq!(Checkpoint::parse_body(&body), Ok(cp.clone()));
        for bad in [
            body.replace("\n42\n", "\n042\n"),
            body.replace("\n42\n", "\n+42\n"),
            body.replace("time ", "time  "),
            format!("{body}extra\n"),
            body.trim_end().to_owned(),
            body.replacen("veritrial.test/ledger", "", 1),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
        }
        let mut bad = cp;
        bad.origin = "a\nb".into();
        assert!(bad.to_body().is_err());
    }
}
