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

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use ledger::payload::payload_hash;
use ledger::tiles::bundle::BundleItem;
use ledger::tiles::payloads::{PayloadItem, decode_payloads};
use ledger::tiles::{MirrorChecker, VerifiedEntry};
use ledger::{Hash, Verifier};
use sea_orm::{ActiveValue::Set, DatabaseConnection, TransactionTrait};
use tokio::task::JoinHandle;

use super::WitnessNode;
use super::mirror_store::{self, NewState, kept_node, to_i64};
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

/// Starts following every log of `node` that has a URL.
pub fn start(node: &WitnessNode, config: &MirrorConfig) -> anyhow::Result<JoinHandle<()>> {
    let sources = node
        .logs
        .iter()
        .filter_map(|log| {
            let url = log.url.as_deref()?;
            Some(MirrorSource {
                origin: log.origin.clone(),
                verifier: log.verifier.clone(),
                prefix: format!("{}/ledger", url.trim_end_matches('/')),
                token_file: config
                    .tokens
                    .iter()
                    .find(|(origin, _)| *origin == log.origin)
                    .map(|(_, file)| file.clone()),
            })
        })
        .collect();
    Ok(spawn(node.store.db().clone(), sources, config.interval))
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
}

/// Follows every source, one round each per `interval`, until the handle is aborted.
pub fn spawn(
    db: DatabaseConnection,
    sources: Vec<MirrorSource>,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for source in &sources {
                match catch_up(&db, source).await {
                    Ok(Round::Grew(from, to)) => {
                        tracing::info!(origin = %source.origin, from, to, "mirror caught up");
                    }
                    Ok(Round::UpToDate(_)) => {}
                    Err(err) => tracing::warn!(
                        origin = %source.origin,
                        error = %format!("{err:#}"),
                        "mirror round failed; nothing of it was kept"
                    ),
                }
            }
        }
    })
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
    if checkpoint.size <= from {
        if checkpoint.size == from
            && held
                .as_ref()
                .is_some_and(|row| row.root_hash != checkpoint.root.to_hex())
        {
            tracing::error!(
                origin = %source.origin,
                size = from,
                "ALARM: the log signed another root for a size this witness mirrored"
            );
            anyhow::bail!("the log's checkpoint contradicts the mirrored copy at size {from}");
        }
        return Ok(Round::UpToDate(from));
    }

    let txn = db.begin().await?;
    let fetched = client.bundles(checker.bundles_to(checkpoint.size), client.has_token());
    futures::pin_mut!(fetched);
    while let Some(fetched) = fetched.next().await {
        store_bundle(&txn, &source.origin, &mut checker, fetched?).await?;
    }
    checker.check(&checkpoint)?;
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
