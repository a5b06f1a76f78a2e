//! The log side of witnessing: asking witnesses to cosign the latest checkpoint (C2SP
//! `tlog-witness` `POST /add-checkpoint`), off the append path.
//!
//! Each configured witness gets one background task per `serve` process. The task wakes
//! after every committed batch (the ledger writer's checkpoint watch; at most once per
//! [`MIN_INTERVAL`]) and at least every [`POLL`] (to see checkpoints other processes
//! signed, and to retry), reads the latest
//! checkpoint and, unless that witness's cosignature of it is already stored, sends it with
//! a consistency proof from the size the witness last cosigned. Appends never wait for it:
//! a witness that is down only delays its own cosignature, which arrives once it is back.
//!
//! * `200`: the cosignature line is checked against the configured witness key and stored
//!   (`checkpoint_cosignatures`);
//! * `409` with a size: the witness holds another size for this log; the task learns it and
//!   retries at once with a proof from there (a `409` naming the size sent means the witness
//!   holds a different tree of that size: it is refusing, see below);
//! * `403`, `404`, `422` and other refusals are logged as errors and counted, and the task
//!   backs off; so are timeouts and connection failures;
//! * `503`: the witness is not ready (a mirroring witness that does not hold the entries
//!   yet): logged as a warning, not counted as a refusal, retried with backoff.
//!
//! Several processes on one database each run these tasks. They do not coordinate: each
//! cosigns only the latest checkpoint, skips one already cosigned in the database, and a
//! duplicate cosignature is stored idempotently (the table's key is checkpoint and witness).
//! Witnesses are asked at most once per checkpoint per process, and at most once per poll
//! when idle.

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ledger::witness::{
    ADD_CHECKPOINT_PATH, AddCheckpointRequest, CosignatureVerifier, add_signature_lines,
    parse_size_body, split_signature_lines,
};
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use super::LedgerKeys;
use super::cosign_store::{
    Cosigner, NewCosignature, Quorum, has_cosigned, latest_cosigned_by, store_cosignature,
};
use super::proofs::consistency_proof;
use super::read::{Head, head};
use crate::error::AppError;

/// How often an idle task looks for checkpoints signed by other processes.
pub const POLL: Duration = Duration::from_secs(1);

/// The shortest time between two rounds of one witness's task: while appends stream in,
/// each witness is asked for the latest checkpoint at most this often.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// How long one request to a witness may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The first retry delay after a failure; doubled per consecutive failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How many `409` answers one round follows before giving up until the next.
const MAX_CONFLICTS: usize = 3;

/// A witness the log asks for cosignatures: `--witness VKEY=URL`, where VKEY is the witness's
/// `cosignature/v1` verifier key (`name+keyid+base64`) and URL its submission prefix.
#[derive(Clone, Debug)]
pub struct WitnessSpec {
    /// The witness's verifier key, parsed.
    pub verifier: CosignatureVerifier,
    /// Its submission prefix; requests go to `URL/add-checkpoint`.
    pub url: url::Url,
}

impl WitnessSpec {
    /// The witness's name (its key name).
    pub fn name(&self) -> &str {
        self.verifier.name()
    }
}

impl FromStr for WitnessSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (key, url) = s
            .find("=http")
            .map(|at| (&s[..at], &s[at + 1..]))
            .ok_or_else(|| format!("expected NAME+KEYID+KEY=URL (an http or https URL): {s:?}"))?;
        let verifier = CosignatureVerifier::parse(key)
            .map_err(|err| format!("{key:?} is not a witness verifier key: {err}"))?;
        let url = url::Url::parse(url).map_err(|err| format!("{url:?} is not a URL: {err}"))?;
        Ok(Self { verifier, url })
    }
}

/// The witnesses to ask, and how many cosignatures a checkpoint needs to count as witnessed.
#[derive(Clone, Debug, Default)]
pub struct WitnessSettings {
    /// The witnesses.
    pub witnesses: Vec<WitnessSpec>,
    /// Cosignatures a checkpoint needs before `ledgerHead` and receipts present it as the
    /// cosigned one (verifiers may still require their own quorum).
    pub quorum: usize,
}

/// What one witness's task has seen, for operators.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WitnessStatus {
    /// The witness's name.
    pub name: String,
    /// The largest checkpoint it cosigned for this process.
    pub cosigned_size: Option<u64>,
    /// Refusals (403, 404, 422, a conflicting checkpoint) since start.
    pub refusals: u64,
    /// The last failure, if the last round failed.
    pub last_error: Option<String>,
}

/// The running cosigning tasks of this process.
#[derive(Clone, Default)]
pub struct Cosigning {
    statuses: Vec<Arc<Mutex<WitnessStatus>>>,
    quorum: Quorum,
}

impl Cosigning {
    /// Starts one task per witness on the current runtime; they stop when the ledger writer
    /// that feeds `wake` is dropped.
    pub fn start(
        db: DatabaseConnection,
        keys: LedgerKeys,
        settings: &WitnessSettings,
        wake: watch::Receiver<()>,
    ) -> Self {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        let statuses = settings
            .witnesses
            .iter()
            .map(|witness| {
                let status = Arc::new(Mutex::new(WitnessStatus {
                    name: witness.name().to_string(),
                    ..WitnessStatus::default()
                }));
                let task = WitnessTask {
                    db: db.clone(),
                    keys: keys.clone(),
                    witness: witness.clone(),
                    http: http.clone(),
                    known_size: None,
                    status: status.clone(),
                };
                tokio::spawn(task.run(wake.clone()));
                status
            })
            .collect();
        Self {
            statuses,
            quorum: Quorum {
                keys: settings
                    .witnesses
                    .iter()
                    .map(|w| w.verifier.key_string())
                    .collect(),
                needed: settings.quorum.max(1),
            },
        }
    }

    /// The configured witnesses, and how many of them a checkpoint needs to count as
    /// cosigned (at least 1).
    pub fn quorum(&self) -> &Quorum {
        &self.quorum
    }

    /// Every witness's status.
    pub fn statuses(&self) -> Vec<WitnessStatus> {
        self.statuses
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }
}

/// Why a round did not get a cosignature.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    /// The witness could not be reached, or did not answer in time.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The witness is not ready to cosign yet (`503`: a mirroring witness that does not
    /// hold the checkpoint's entries yet); retried like a witness that is down.
    #[error("not ready: {0}")]
    NotReady(String),
    /// The witness refused the checkpoint.
    #[error("refused with HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    /// The witness answered something that is not a valid cosignature.
    #[error("bad answer: {0}")]
    BadAnswer(String),
    /// Reading the ledger failed.
    #[error("{0}")]
    Ledger(#[from] AppError),
}

/// One witness's task.
struct WitnessTask {
    db: DatabaseConnection,
    keys: LedgerKeys,
    witness: WitnessSpec,
    http: reqwest::Client,
    /// The size this witness holds for this log, as last learned.
    known_size: Option<u64>,
    status: Arc<Mutex<WitnessStatus>>,
}

impl WitnessTask {
    async fn run(mut self, mut wake: watch::Receiver<()>) {
        let mut failures: u32 = 0;
        loop {
            let started = tokio::time::Instant::now();
            let delay = match self.round().await {
                Ok(()) => {
                    failures = 0;
                    self.set_status(|s| s.last_error = None);
                    POLL
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let refused = matches!(err, RoundError::Refused { .. });
                    if refused {
                        tracing::error!(
                            witness = self.witness.name(),
                            url = %self.witness.url,
                            error = %err,
                            "WITNESS REFUSED the log's checkpoint: investigate (a rewritten or forked ledger?)"
                        );
                    } else {
                        tracing::warn!(witness = self.witness.name(), error = %err, failures, "cosigning failed; will retry");
                    }
                    self.set_status(|s| {
                        s.last_error = Some(err.to_string());
                        s.refusals += u64::from(refused);
                    });
                    backoff(failures)
                }
            };
            let woken = if failures == 0 {
                let woken = tokio::select! {
                    changed = wake.changed() => changed.is_ok(),
                    () = tokio::time::sleep(delay) => true,
                };
                // Under a stream of appends, ask for the latest checkpoint at most this often.
                tokio::time::sleep_until(started + MIN_INTERVAL).await;
                woken
            } else {
                tokio::time::sleep(delay).await;
                wake.has_changed().is_ok()
            };
            if !woken {
                return; // the writer has stopped: the process is shutting down
            }
        }
    }

    fn set_status(&self, update: impl FnOnce(&mut WitnessStatus)) {
        update(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Gets the witness's cosignature of the latest checkpoint, unless already stored.
    async fn round(&mut self) -> Result<(), RoundError> {
        let Some(latest) = head(&self.db, &self.keys).await? else {
            return Ok(());
        };
        let key = self.witness.verifier.key_string();
        if has_cosigned(&self.db, latest.size, &key).await? {
            self.known_size = Some(self.known_size.unwrap_or(0).max(latest.size));
            return Ok(());
        }
        let mut old = match self.known_size {
            Some(size) => size,
            None => latest_cosigned_by(&self.db, &key).await?.unwrap_or(0),
        };
        for _ in 0..MAX_CONFLICTS {
            if old > latest.size {
                return self.witness_ahead(old).await;
            }
            match self.add_checkpoint(&latest, old).await? {
                Answer::Cosigned(line, timestamp_secs) => {
                    self.store(&latest, line, timestamp_secs).await?;
                    self.known_size = Some(latest.size);
                    return Ok(());
                }
                Answer::Conflict(size) if size == old => {
                    return Err(RoundError::Refused {
                        status: 409,
                        body: format!(
                            "the witness holds another tree of size {size} than the log's"
                        ),
                    });
                }
                Answer::Conflict(size) => {
                    self.known_size = Some(size);
                    old = size;
                }
            }
        }
        Err(RoundError::BadAnswer(format!(
            "{MAX_CONFLICTS} conflicts in a row; the witness's size keeps moving"
        )))
    }

    /// The witness holds a larger tree than this process read: fine if another process has
    /// signed it since, a refusal if the ledger really is shorter (entries lost or rewritten).
    async fn witness_ahead(&self, witness_size: u64) -> Result<(), RoundError> {
        let size = head(&self.db, &self.keys).await?.map_or(0, |h| h.size);
        if size >= witness_size {
            return Ok(()); // the next round asks for the newer checkpoint
        }
        Err(RoundError::Refused {
            status: 409,
            body: format!(
                "the witness has cosigned {witness_size} entries of this log but the ledger \
                 holds {size}: entries were lost or the ledger was rewritten"
            ),
        })
    }

    /// Sends one add-checkpoint request for `checkpoint` from `old`.
    async fn add_checkpoint(&self, checkpoint: &Head, old: u64) -> Result<Answer, RoundError> {
        let proof = if old == 0 || old == checkpoint.size {
            Vec::new()
        } else {
            consistency_proof(&self.db, old, checkpoint.size).await?
        };
        let body = AddCheckpointRequest {
            old_size: old,
            consistency_proof: proof,
            checkpoint: checkpoint.note.clone(),
        }
        .to_body();
        let url = format!(
            "{}{ADD_CHECKPOINT_PATH}",
            self.witness.url.as_str().trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .body(body)
            .send()
            .await
            .map_err(|err| RoundError::Unreachable(err.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|err| RoundError::Unreachable(err.to_string()))?;
        match status {
            200 => self
                .read_cosignature(&checkpoint.note, &text)
                .map(|(l, t)| Answer::Cosigned(l, t)),
            409 => parse_size_body(&text)
                .map(Answer::Conflict)
                .map_err(|_| RoundError::Refused { status, body: text }),
            503 => Err(RoundError::NotReady(text.chars().take(200).collect())),
            _ => Err(RoundError::Refused {
                status,
                body: text.chars().take(200).collect(),
            }),
        }
    }

    /// The configured witness's valid line among the response's signature lines.
    fn read_cosignature(&self, note: &str, body: &str) -> Result<(String, i64), RoundError> {
        let bad = |err: &dyn std::fmt::Display| RoundError::BadAnswer(err.to_string());
        let lines = split_signature_lines(body).map_err(|e| bad(&e))?;
        for line in lines {
            let Ok(cosigned) = add_signature_lines(note, std::slice::from_ref(&line)) else {
                continue;
            };
            if let Ok(timestamp) = self.witness.verifier.verify(&cosigned) {
                let timestamp = i64::try_from(timestamp).map_err(|e| bad(&e))?;
                return Ok((line, timestamp));
            }
        }
        Err(RoundError::BadAnswer(format!(
            "no valid cosignature by {} in the answer",
            self.witness.verifier.key_string()
        )))
    }

    async fn store(
        &self,
        checkpoint: &Head,
        line: String,
        timestamp_secs: i64,
    ) -> Result<(), RoundError> {
        store_cosignature(
            &self.db,
            NewCosignature {
                checkpoint_size: checkpoint.size,
                cosigner: Cosigner {
                    name: self.witness.name().to_string(),
                    key: self.witness.verifier.key_string(),
                    timestamp_secs,
                },
                line,
            },
        )
        .await?;
        self.set_status(|s| s.cosigned_size = Some(checkpoint.size));
        tracing::debug!(
            witness = self.witness.name(),
            size = checkpoint.size,
            "checkpoint cosigned"
        );
        Ok(())
    }
}

/// What a witness answered.
enum Answer {
    /// Its cosignature line and timestamp.
    Cosigned(String, i64),
    /// `409`: the size it holds for this log.
    Conflict(u64),
}

/// The delay after `failures` consecutive failures.
fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn witness_key() -> String {
        let seed = ledger::witness::Cosigner::generate_seed().expect("seed");
        ledger::witness::Cosigner::new("w1.example", seed)
            .expect("cosigner")
            .verifier_key()
    }

    #[test]
    fn witness_flags_name_a_key_and_a_url() {
        let key = witness_key();
        let spec: WitnessSpec = format!("{key}=http://127.0.0.1:9/w?a=b")
            .parse()
            .expect("spec");
        assert_eq!(spec.name(), "w1.example");
        assert_eq!(spec.verifier.key_string(), key);
        assert_eq!(spec.url.as_str(), "http://127.0.0.1:9/w?a=b");
        for bad in [
            key.clone(),
            format!("{key}=ftp://x/"),
            format!("{key}=http://"),
            "w1.example+00000000+AQ==http://x/".to_string(),
        ] {
            assert!(bad.parse::<WitnessSpec>().is_err(), "{bad}");
        }
        // A log key (Ed25519 signed-note, 0x01) is not a witness key (cosignature/v1, 0x04).
        let pkcs8 = ledger::Signer::generate_pkcs8().expect("key");
        let log_key = ledger::Signer::from_pkcs8("log", &pkcs8)
            .expect("signer")
            .verifier_key();
        assert!(
            format!("{log_key}=http://x/")
                .parse::<WitnessSpec>()
                .is_err()
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let delays: Vec<Duration> = (1..=8).map(backoff).collect();
        assert_eq!(delays[0], FIRST_BACKOFF);
        assert_eq!(delays[1], FIRST_BACKOFF * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*delays.last().expect("delays"), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
