//! What a witness node is told: where its data lives, where it listens, and which logs it
//! witnesses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use ledger::Verifier;

/// One log this witness cosigns: `ORIGIN=VERIFIER_KEY[=URL]` on the command line.
#[derive(Clone, Debug)]
pub struct WitnessedLog {
    /// The log's origin line (its checkpoints' first line).
    pub origin: String,
    /// The log's signed-note verifier key.
    pub verifier: Verifier,
    /// The log's base URL, for a follower that mirrors it.
    pub url: Option<String>,
}

impl FromStr for WitnessedLog {
    type Err = String;

    /// Parses `ORIGIN=VERIFIER_KEY[=URL]`. An Ed25519 verifier key holds no `=` (its base64
    /// encodes 33 bytes, without padding), so the URL may.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (origin, rest) = s
            .split_once('=')
            .ok_or_else(|| format!("expected ORIGIN=VERIFIER_KEY[=URL], got {s:?}"))?;
        let (key, url) = match rest.split_once('=') {
            Some((key, url)) => (key, Some(url.to_owned())),
            None => (rest, None),
        };
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(format!("invalid origin {origin:?}"));
        }
        let verifier = Verifier::from_key_string(key)
            .map_err(|e| format!("invalid verifier key for {origin}: {e}"))?;
        if url.as_deref().is_some_and(|u| url::Url::parse(u).is_err()) {
            return Err(format!("invalid URL for {origin}"));
        }
        Ok(WitnessedLog {
            origin: origin.to_owned(),
            verifier,
            url,
        })
    }
}

/// Everything `veritrial witness` needs.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// The witness's data directory: its key (`keys/witness.seed`) and, by default, its
    /// SQLite database (`witness.db`).
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite://PATH`) instead of `DIR/witness.db`.
    pub database_url: Option<String>,
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The cosigner key name; `None`: `witness-<key id>.veritrial` from its key.
    pub name: Option<String>,
    /// The logs it witnesses.
    pub logs: Vec<WitnessedLog>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_arguments() {
        let pkcs8 = ledger::Signer::generate_pkcs8().unwrap();
        let key = ledger::Signer::from_pkcs8("log.test", &pkcs8)
            .unwrap()
            .verifier_key();
        let log: WitnessedLog = format!("log.test/ledger={key}=http://127.0.0.1:1/x?a=b")
            .parse()
            .unwrap();
        assert_eq!(log.origin, "log.test/ledger");
        assert_eq!(log.verifier.key_string(), key);
        assert_eq!(log.url.as_deref(), Some("http://127.0.0.1:1/x?a=b"));
        let bare: WitnessedLog = format!("log.test/ledger={key}").parse().unwrap();
        assert_eq!(bare.url, None);
        for bad in [
            key.clone(),
            format!("={key}"),
            "o=not-a-key".to_owned(),
            format!("o={key}=not a url"),
        ] {
            assert!(bad.parse::<WitnessedLog>().is_err(), "{bad}");
        }
    }
}
