//! The mirror follower: for each log given with a URL, poll `URL/ledger/checkpoint`, check
//! the log's signature, fetch the new entry bundles (and payload bundles, with a token the
//! log accepts), recompute every leaf, the hash chain and the root, and commit the new
//! entries only when the root is the checkpoint's. The witness's copy then serves the same
//! tlog-tiles endpoints ([`super::mirror_http`]), from which `veritrial ledger restore
//! --from-witness` rebuilds a lost log.
//!
//! Mirroring is independent of cosigning: `POST /add-checkpoint` cosigns on the consistency
//! proof alone (as C2SP tlog-witness specifies), and the follower verifies the entries behind
//! the checkpoints on its own time; `GET /status` shows how far each mirror has got.
//!
//! The follower is also a second pair of eyes that the log cannot avoid by no longer asking
//! this witness to cosign: a checkpoint that contradicts the mirrored copy (another root for
//! the size held, or entries after it that do not lead from the held tree to the signed
//! root) is kept as evidence beside the held checkpoint, and raises the same alarm as a
//! contradicting add-checkpoint request.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use futures::StreamExt;
use ledger::payload::payload_hash;
use ledger::tiles::bundle::BundleItem;
use ledger::tiles::payloads::{PayloadItem, decode_payloads};
use ledger::tiles::{MirrorChecker, MirrorError, VerifiedEntry};
use ledger::{Hash, Verifier};
use sea_orm::{ActiveValue::Set, DatabaseConnection, TransactionTrait};
use tokio::task::JoinHandle;

use super::WitnessNode;
use super::mirror_store::{self, NewState, kept_node, to_i64};
use super::store::{NewEvidence, WitnessStore};
use crate::entities::{mirror_entry, mirror_node};
use crate::services::ledger::{Fetched, TileClient};

/// How a witness mirrors: tokens for the logs that let it read bundles, how often it polls,
/// and the token that may read its own copy's bundles.
#[derive(Clone, Debug)]
pub struct MirrorConfig {
    /// `(origin, file)`: a file holding a token of that log (`--mirror-token ORIGIN=FILE`).
    pub tokens: Vec<(String, PathBuf)>,
    /// Time between rounds.
    pub interval: Duration,
    /// A file holding the token that may read the copy's bundles; `None`: not served.
    pub serve_token_file: Option<PathBuf>,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            interval: Duration::from_secs(1),
            serve_token_file: None,
        }
    }
}

/// The logs a witness mirrors, each with a lock that serialises its rounds: the follower's
/// and those an add-checkpoint request runs before cosigning.
#[derive(Debug, Default)]
pub struct Mirrors {
    sources: Vec<(MirrorSource, tokio::sync::Mutex<()>)>,
}

impl Mirrors {
    /// Every log of `logs` that has a URL, with the token `config` names for it.
    pub fn new(logs: &[super::WitnessedLog], config: &MirrorConfig) -> Self {
        let sources = logs
            .iter()
            .filter_map(|log| {
                let url = log.url.as_deref()?;
                let source = MirrorSource {
                    origin: log.origin.clone(),
                    verifier: log.verifier.clone(),
                    prefix: format!("{}/ledger", url.trim_end_matches('/')),
                    token_file: config
                        .tokens
                        .iter()
                        .find(|(origin, _)| *origin == log.origin)
                        .map(|(_, file)| file.clone()),
                };
                Some((source, tokio::sync::Mutex::new(())))
            })
            .collect();
        Self { sources }
    }

    /// Whether `origin` is mirrored.
    pub fn follows(&self, origin: &str) -> bool {
        self.sources.iter().any(|(s, _)| s.origin == origin)
    }

    /// One round for `origin` (see [`catch_up`]), after any round in progress for it;
    /// `None` when `origin` is not mirrored.
    pub async fn round(
        &self,
        db: &DatabaseConnection,
        origin: &str,
    ) -> Option<anyhow::Result<Round>> {
        let (source, lock) = self.sources.iter().find(|(s, _)| s.origin == origin)?;
        let _serial = lock.lock().await;
        Some(catch_up(db, source).await)
    }
}

/// Starts following every log of `node` that it mirrors, one round per `interval`.
pub fn start(node: &Arc<WitnessNode>, interval: Duration) -> JoinHandle<()> {
    let node = node.clone();
    tokio::spawn(async move {
        let Some(mirrors) = node.mirrors() else {
            return;
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for (source, _) in &mirrors.sources {
                if let Some(round) = mirrors.round(node.store.db(), &source.origin).await {
                    report(&node, &source.origin, round).await;
                }
            }
        }
    })
}

/// Logs what a round did, and keeps the evidence of a contradiction.
pub async fn report(node: &WitnessNode, origin: &str, round: anyhow::Result<Round>) {
    match round {
        Ok(Round::Grew(from, to)) => tracing::info!(origin, from, to, "mirror caught up"),
        Ok(Round::UpToDate(_)) => {}
        Ok(Round::Contradicted(contradiction)) => {
            if let Err(err) = keep_evidence(node, origin, &contradiction).await {
                tracing::error!(
                    origin,
                    error = %format!("{err:#}"),
                    reason = %contradiction.reason,
                    "ALARM: the log contradicts this witness's copy, and the evidence could \
                     not be stored"
                );
            }
        }
        Err(err) => tracing::warn!(
            origin,
            error = %format!("{err:#}"),
            "mirror round failed; nothing of it was kept"
        ),
    }
}

/// One log to mirror.
#[derive(Clone, Debug)]
pub struct MirrorSource {
    /// The log's origin.
    pub origin: String,
    /// The log's key.
    pub verifier: Verifier,
    /// The log's tlog-tiles prefix (`URL/ledger`).
    pub prefix: String,
    /// A file holding a bearer token the log accepts for bundles; read before every round,
    /// so it can be replaced while the witness runs.
    pub token_file: Option<PathBuf>,
}

/// What one round did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Round {
    /// The log has nothing new.
    UpToDate(u64),
    /// The mirror grew from the first size to the second.
    Grew(u64, u64),
    /// The log's signed checkpoint contradicts the copy, which stays as it was.
    Contradicted(Contradiction),
}

/// A checkpoint the log signed that its mirrored copy contradicts: the evidence to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contradiction {
    /// What contradicts what.
    pub reason: String,
    /// The size of the copy.
    pub held_size: u64,
    /// The checkpoint the copy was verified against, as the log signed it.
    pub held_note: String,
    /// The size of the contradicting checkpoint.
    pub presented_size: u64,
    /// The contradicting checkpoint, as the log signed it.
    pub presented_note: String,
}

/// Keeps `contradiction` as evidence and raises the alarm, once per contradicting
/// checkpoint (later rounds that find the same one change nothing).
pub async fn keep_evidence(
    node: &WitnessNode,
    origin: &str,
    contradiction: &Contradiction,
) -> anyhow::Result<()> {
    let txn = node.store.db().begin().await?;
    if WitnessStore::holds_evidence(&txn, origin, &contradiction.presented_note).await? {
        return Ok(());
    }
    let detected_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let evidence = NewEvidence {
        origin,
        reason: &contradiction.reason,
        held_size: contradiction.held_size,
        held_note: &contradiction.held_note,
        presented_size: contradiction.presented_size,
        presented_note: &contradiction.presented_note,
    };
    let id = WitnessStore::add_evidence(&txn, evidence, i64::try_from(detected_at)?).await?;
    txn.commit().await?;
    node.alarm.raise(origin, &contradiction.reason, id);
    Ok(())
}

/// One round: brings the mirror of `source` up to the log's latest checkpoint, or changes
/// nothing and says why.
pub async fn catch_up(db: &DatabaseConnection, source: &MirrorSource) -> anyhow::Result<Round> {
    let token = match &source.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let client = TileClient::new(&source.prefix, token)?;
    let note = client.checkpoint().await?;
    let checkpoint = source
        .verifier
        .open(&note)
        .map_err(|err| anyhow::anyhow!("the log's checkpoint does not verify: {err}"))?;
    anyhow::ensure!(
        checkpoint.origin == source.origin,
        "the log at {} calls itself {:?}",
        source.prefix,
        checkpoint.origin
    );
    let held = mirror_store::held(db, &source.origin).await?;
    let mut checker = match &held {
        Some(row) => resume(row)?,
        None => MirrorChecker::new(),
    };
    let from = checker.size();
    let contradicted = |reason: String| {
        held.as_ref().map(|row| {
            Round::Contradicted(Contradiction {
                reason,
                held_size: from,
                held_note: row.note.clone(),
                presented_size: checkpoint.size,
                presented_note: note.clone(),
            })
        })
    };
    if checkpoint.size <= from {
        if checkpoint.size == from
            && held
                .as_ref()
                .is_some_and(|row| row.root_hash != checkpoint.root.to_hex())
            && let Some(round) = contradicted(format!(
                "the log signed another root for the {from} entries this witness mirrored"
            ))
        {
            return Ok(round);
        }
        return Ok(Round::UpToDate(from));
    }

    let txn = db.begin().await?;
    let fetched = fetch_and_check(&txn, &client, &source.origin, &mut checker, &checkpoint).await;
    if let Err(err) = fetched {
        let reason = match err.downcast_ref::<MirrorError>() {
            Some(MirrorError::RootMismatch { .. }) => Some(format!(
                "the entries the log serves after the {from} mirrored do not lead to the root \
                 it signed for {}: {err}",
                checkpoint.size
            )),
            Some(MirrorError::BrokenChain(seq)) if *seq == from => Some(format!(
                "the first entry the log serves after the {from} mirrored does not chain to \
                 the last one mirrored: {err}"
            )),
            _ => None,
        };
        return match reason.and_then(contradicted) {
            Some(round) => Ok(round),
            None => Err(err),
        };
    }
    mirror_store::record(
        &txn,
        NewState {
            origin: &source.origin,
            size: checkpoint.size,
            root: checkpoint.root,
            frontier: checker.frontier(),
            last_leaf: checker.last_leaf(),
            note: &note,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Round::Grew(from, checkpoint.size))
}

/// Fetches the bundles from the held size to the checkpoint's, checks each into `checker`
/// and stores it in `txn`, then checks the result against the checkpoint.
async fn fetch_and_check(
    txn: &sea_orm::DatabaseTransaction,
    client: &TileClient,
    origin: &str,
    checker: &mut MirrorChecker,
    checkpoint: &ledger::Checkpoint,
) -> anyhow::Result<()> {
    let fetched = client.bundles(checker.bundles_to(checkpoint.size), client.has_token());
    futures::pin_mut!(fetched);
    while let Some(fetched) = fetched.next().await {
        store_bundle(txn, origin, checker, fetched?).await?;
    }
    checker.check(checkpoint)?;
    Ok(())
}

fn resume(row: &crate::entities::mirror_log::Model) -> anyhow::Result<MirrorChecker> {
    let frontier: Vec<String> = serde_json::from_str(&row.frontier)?;
    let frontier = frontier
        .iter()
        .map(|h| Hash::from_hex(h))
        .collect::<Result<Vec<_>, _>>()?;
    let last_leaf = row
        .last_leaf_hash
        .as_deref()
        .map(Hash::from_hex)
        .transpose()?;
    let size = u64::try_from(row.size)?;
    Ok(MirrorChecker::resume(size, frontier, last_leaf)?)
}

/// Checks one fetched bundle into `checker` and writes its new entries and kept nodes.
async fn store_bundle(
    txn: &sea_orm::DatabaseTransaction,
    origin: &str,
    checker: &mut MirrorChecker,
    fetched: Fetched,
) -> anyhow::Result<()> {
    let mut nodes = Vec::new();
    let verified = checker.push_bundle(&fetched.tile, &fetched.entries, |id, hash| {
        if kept_node(id.level) {
            nodes.push(mirror_node::ActiveModel {
                origin: Set(origin.to_owned()),
                level: Set(i16::from(id.level)),
                idx: Set(to_i64(id.index)),
                hash: Set(hash.to_hex()),
            });
        }
    })?;
    let payloads = match &fetched.payloads {
        Some(bytes) => {
            let all = decode_payloads(bytes)?;
            anyhow::ensure!(
                all.len() as u64 == fetched.tile.width,
                "the payload bundle of {} holds {} payloads",
                fetched.tile,
                all.len()
            );
            // Skip the payloads of entries held already, as the checker skipped them.
            let skip = all.len() - verified.len();
            all.into_iter().skip(skip).map(Some).collect()
        }
        None => vec![None; verified.len()],
    };
    let rows = verified
        .into_iter()
        .zip(payloads)
        .map(|(entry, payload)| entry_row(origin, entry, payload))
        .collect::<anyhow::Result<Vec<_>>>()?;
    mirror_store::insert(txn, rows, nodes).await
}

/// The row of one verified entry, with its payload if the log gave one that hashes to the
/// entry's payload hash (a payload that does not is an error: the log serves a lie).
fn entry_row(
    origin: &str,
    verified: VerifiedEntry,
    payload: Option<PayloadItem>,
) -> anyhow::Result<mirror_entry::ActiveModel> {
    let (item, state, body) = match &verified.entry {
        None => (BundleItem::redacted_bytes(&verified.leaf_hash), 0, None),
        Some(entry) => {
            let (state, body) = match payload {
                Some(PayloadItem::Body(body)) => {
                    anyhow::ensure!(
                        payload_hash(&body) == entry.payload_hash,
                        "the payload of entry {} does not match its payload hash",
                        entry.seq
                    );
                    (2, Some(body))
                }
                Some(PayloadItem::Erased) => (1, None),
                Some(PayloadItem::Withheld) | None => (0, None),
            };
            (entry.canonical_bytes(), state, body)
        }
    };
    Ok(mirror_entry::ActiveModel {
        origin: Set(origin.to_owned()),
        seq: Set(to_i64(verified.seq)),
        item: Set(item),
        leaf_hash: Set(verified.leaf_hash.to_hex()),
        payload_state: Set(state),
        payload: Set(body),
    })
}
