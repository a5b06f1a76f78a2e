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
        let head = TreeHead::parse(body)?;
        let [time] = &head.extensions[..] else {
            return Err(bad("expected exactly four lines: origin, size, root, time"));
        };
        let time = time
            .strip_prefix(TIME_PREFIX)
            .ok_or_else(|| bad("fourth line is not a `time <ms>` line"))?;
        let timestamp_ms = parse_canonical::<i64>(time).ok_or_else(|| bad("invalid time"))?;
        Ok(Checkpoint {
            origin: head.origin,
            size: head.size,
            root: head.root,
            timestamp_ms,
        })
    }
}

/// The tree head of any C2SP `tlog-checkpoint` body: origin, size, root and the extension
/// lines a log may add (Veritrial's own checkpoints carry exactly one, `time <ms>`). Used to
/// witness logs whose extension lines are not Veritrial's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The origin line.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// RFC 6962 root hash.
    pub root: Hash,
    /// Extension lines after the root, without their newlines (each non-empty).
    pub extensions: Vec<String>,
}

impl TreeHead {
    /// Parses a checkpoint body strictly: an origin line, a canonical decimal size, a base64
    /// root of 32 bytes, then zero or more non-empty extension lines, each ending in `\n`.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let bad = |msg: &str| CheckpointError::MalformedCheckpoint(msg.to_owned());
        let rest = body
            .strip_suffix('\n')
            .ok_or_else(|| bad("body does not end with a newline"))?;
        let mut lines = rest.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad("expected at least three lines: origin, size, root"));
        };
        check_origin(origin).map_err(|_| bad("empty or invalid origin line"))?;
        let size = parse_canonical::<u64>(size).ok_or_else(|| bad("invalid tree size"))?;
        let root = Hash::from_base64(root).map_err(|_| bad("root is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(TreeHead {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The body text: origin, size, base64 root and the extension lines, each ending in `\n`.
    pub fn to_body(&self) -> Result<String, CheckpointError> {
        check_origin(&self.origin)?;
        if self
            .extensions
            .iter()
            .any(|e| e.is_empty() || e.chars().any(char::is_control))
        {
            return Err(CheckpointError::MalformedCheckpoint(
                "extension lines must be non-empty single lines".into(),
            ));
        }
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        Ok(body)
    }
}

/// Parses a decimal number and insists it is written the way Rust prints it (no `+`, no
/// leading zeros, no spaces).
pub(crate) fn parse_canonical<T: std::str::FromStr + ToString>(s: &str) -> Option<T> {
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

    #[test]
    fn tree_heads_of_other_logs() {
        // The example of C2SP tlog-cosignature: a checkpoint without extension lines.
        let body =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let head = TreeHead::parse(body).expect("head");
        assert_eq!(head.origin, "example.com/behind-the-sofa");
        assert_eq!(head.size, 20_852_163);
        assert!(head.extensions.is_empty());
        assert_eq!(head.to_body().as_deref(), Ok(body));
        assert!(Checkpoint::parse_body(body).is_err());

        let ours = Checkpoint {
            origin: "veritrial.test/ledger".into(),
            size: 3,
            root: Hash::sha256(b"r"),
            timestamp_ms: 5,
        };
        let head = TreeHead::parse(&ours.to_body().expect("body")).expect("head");
        assert_eq!(head.extensions, vec!["time 5".to_owned()]);
        assert_eq!(head.to_body(), ours.to_body());

        for bad in [
            "o\n1\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nx\n",
            "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        ] {
            assert!(TreeHead::parse(bad).is_err(), "{bad:?}");
        }
    }
}
