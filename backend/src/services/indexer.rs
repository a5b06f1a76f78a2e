//! The indexer: one task per process that keeps this process's search indexes a projection
//! of the database, by tailing the [outbox](super::outbox).
//!
//! - **Batches.** It reads up to [`BATCH`] outbox rows after its watermark, loads the
//!   *current* state of each distinct key from the database (a profile whose
//!   recruitment-contact consent is in force, else a removal; a trial's document, else a
//!   removal) and applies the batch to each index as one Tantivy commit whose payload is the
//!   new [`Watermark`]. Reading the rows and the state in one read transaction gives a
//!   content that reflects every change up to the batch's last position; re-applying a
//!   position is harmless, since it loads the state again.
//! - **Wake-ups.** The ledger writer's signal after a local batch that wrote outbox rows
//!   ([`super::ledger::LedgerWriter::index_wake`]); on PostgreSQL, `LISTEN
//!   veritrial_outbox` for other processes' commits; and a poll every [`POLL_EVERY`] as the
//!   fallback (with SQLite and several processes, the poll is what sees the others' writes).
//! - **Start.** An index without a watermark, of another database, or ahead of the database
//!   (restored from a backup) is rebuilt: the outbox head is read first, then every document,
//!   in one read transaction, and committed at that head. Otherwise it resumes from its
//!   watermark. Either way the start catches up before returning.
//! - **Freshness.** The applied position is published on a `watch` channel;
//!   [`Indexer::wait_for`] waits, bounded, until it reaches a position.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use matcher::Watermark;
use matcher::index::{IndexChange, ProfileIndex};
use matcher::trials::{TrialChange, TrialIndex};
use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, IsolationLevel,
    TransactionTrait,
};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::blocking::BlockingPool;
use super::matching::index_error;
use super::outbox::{self, IndexTouch};
use super::{patients, protocols};
use crate::entities::trial;
use crate::error::{AppError, AppResult};

/// Most outbox positions applied in one batch (one Tantivy commit per index).
pub const BATCH: u64 = 1_000;
/// How often the outbox is polled when nothing wakes the indexer.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// Outbox positions a serving process keeps behind its watermark by default.
pub const DEFAULT_OUTBOX_RETENTION: u64 = 100_000;
/// The default bound on [`Indexer::wait_for`].
pub const DEFAULT_FRESHNESS_TIMEOUT: Duration = Duration::from_secs(2);

/// How the indexer starts and how long a query waits for it.
#[derive(Clone, Debug)]
pub struct IndexerSettings {
    /// Rebuild both indexes from the database even when their watermarks are good.
    pub full_rebuild: bool,
    /// How long [`Indexer::wait_for`] waits before answering `INDEX_BEHIND`.
    pub freshness_timeout: Duration,
    /// The PostgreSQL URL to `LISTEN` on (a connection of its own); `None` on SQLite.
    pub listen_url: Option<String>,
    /// Outbox positions kept behind this process's watermark; older rows are deleted once
    /// twice as many have gathered (see [`outbox::prune`]). `None`: never prune.
    pub outbox_retention: Option<u64>,
}

impl Default for IndexerSettings {
    fn default() -> Self {
        Self {
            full_rebuild: false,
            freshness_timeout: DEFAULT_FRESHNESS_TIMEOUT,
            listen_url: None,
            outbox_retention: None,
        }
    }
}

/// The indexes the indexer writes and the pool their work runs on.
#[derive(Clone)]
pub struct Indexes {
    /// Profiles of consenting patients.
    pub profiles: Arc<ProfileIndex>,
    /// Trials.
    pub trials: Arc<TrialIndex>,
    /// The blocking pool index work runs on.
    pub pool: BlockingPool,
}

/// The handle of the running indexer. Cheap to clone; the task stops when [`Indexer::stop`]
/// is called or the last handle is dropped.
#[derive(Clone)]
pub struct Indexer {
    inner: Arc<Inner>,
}

struct Inner {
    database: String,
    wake: Arc<Notify>,
    applied: watch::Receiver<u64>,
    freshness_timeout: Duration,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
    _stop_on_drop: DropGuard,
}

impl Indexer {
    /// Brings the indexes up to the database's outbox head (rebuilding those that need it,
    /// see the module documentation), then starts tailing the outbox in the background.
    pub async fn start(
        db: DatabaseConnection,
        indexes: Indexes,
        settings: IndexerSettings,
        wake: Arc<Notify>,
    ) -> AppResult<Self> {
        let database = outbox::database_identity(&db).await?;
        let head = outbox::head(&db).await?;
        let needs_rebuild = |w: Option<Watermark>| {
            settings.full_rebuild || w.is_none_or(|w| w.database != database || w.position > head)
        };
        let profiles = needs_rebuild(indexes.profiles.watermark());
        let trials = needs_rebuild(indexes.trials.watermark());
        if profiles || trials {
            rebuild(&db, &indexes, &database, profiles, trials).await?;
        }
        let applied = [indexes.profiles.watermark(), indexes.trials.watermark()]
            .into_iter()
            .map(|w| w.map_or(0, |w| w.position))
            .min()
            .unwrap_or(0);
        let (tx, rx) = watch::channel(applied);
        let mut worker = Worker {
            db,
            indexes,
            database: database.clone(),
            applied: tx,
            retention: settings.outbox_retention,
        };
        worker.catch_up().await?;
        tracing::info!(
            position = worker.position(),
            rebuilt_profiles = profiles,
            rebuilt_trials = trials,
            "the search indexes are up to date"
        );
        let stop = CancellationToken::new();
        let listener = match &settings.listen_url {
            Some(url) => listen(url).await,
            None => None,
        };
        let task = tokio::spawn(worker.run(wake.clone(), listener, stop.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                database,
                wake,
                applied: rx,
                freshness_timeout: settings.freshness_timeout,
                _stop_on_drop: stop.clone().drop_guard(),
                stop,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// Wakes the indexer (a query waiting for a position it has not read yet).
    fn nudge(&self) {
        self.inner.wake.notify_one();
    }

    /// The last outbox position both indexes reflect.
    pub fn applied(&self) -> u64 {
        *self.inner.applied.borrow()
    }

    /// The database identity the indexes' watermarks name.
    pub fn database(&self) -> &str {
        &self.inner.database
    }

    /// Waits until both indexes reflect the outbox up to `position`, at most the freshness
    /// timeout; then answers [`AppError::IndexBehind`].
    pub async fn wait_for(&self, position: u64) -> AppResult<()> {
        if self.applied() >= position {
            return Ok(());
        }
        self.nudge();
        let mut applied = self.inner.applied.clone();
        let timeout = self.inner.freshness_timeout;
        match tokio::time::timeout(timeout, applied.wait_for(|p| *p >= position)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(AppError::IndexBehind(
                "the search index of this server has stopped: try again on another server"
                    .to_string(),
            )),
            Err(_) => Err(AppError::IndexBehind(format!(
                "the search index of this server is behind the database (at change {}, the \
                 database is at {position}) and did not catch up within {} ms: try again",
                self.applied(),
                timeout.as_millis()
            ))),
        }
    }

    /// Stops the task after its current batch and waits for it (so the indexes can be
    /// reopened, e.g. by a restarted server in the same process).
    pub async fn stop(&self) {
        self.inner.stop.cancel();
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task
            && let Err(err) = task.await
        {
            tracing::error!(error = %err, "the indexer task failed");
        }
    }
}

/// The task's side: the database, the indexes and the published position.
struct Worker {
    db: DatabaseConnection,
    indexes: Indexes,
    database: String,
    applied: watch::Sender<u64>,
    retention: Option<u64>,
}

impl Worker {
    fn position(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Tails the outbox until `stop` is cancelled, then closes the indexes, so that their
    /// directory locks are free once [`Indexer::stop`] returns (even while a query still
    /// holds them).
    async fn run(
        mut self,
        wake: Arc<Notify>,
        listener: Option<sea_orm::sqlx::postgres::PgListener>,
        stop: CancellationToken,
    ) {
        self.tail(wake, listener, stop).await;
        let indexes = self.indexes;
        let closed = tokio::task::spawn_blocking(move || {
            indexes.profiles.close();
            indexes.trials.close();
        });
        if let Err(err) = closed.await {
            tracing::error!(error = %err, "the search indexes did not close cleanly");
        }
    }

    async fn tail(
        &mut self,
        wake: Arc<Notify>,
        mut listener: Option<sea_orm::sqlx::postgres::PgListener>,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL_EVERY) => {}
                () = notified(&mut listener) => {}
            }
            if let Err(err) = self.catch_up().await {
                tracing::error!(error = %err, "the indexer could not apply the outbox; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(POLL_EVERY) => {}
                }
            }
        }
    }

    /// Applies batches until the outbox has nothing after the watermark.
    async fn catch_up(&mut self) -> AppResult<()> {
        loop {
            let Some(batch) = read_batch(&self.db, self.position(), BATCH).await? else {
                return Ok(());
            };
            if batch.pruned_through > self.position() {
                tracing::warn!(
                    watermark = self.position(),
                    pruned_through = batch.pruned_through,
                    "the outbox was pruned past this index's watermark: rebuilding"
                );
                let head = rebuild(&self.db, &self.indexes, &self.database, true, true).await?;
                self.applied.send_replace(head);
                continue;
            }
            let at = Watermark::new(self.database.clone(), batch.last);
            let (indexes, last, full) = (self.indexes.clone(), batch.last, batch.rows == BATCH);
            self.indexes
                .pool
                .run_to_completion(move || -> matcher::Result<()> {
                    // An index already past the batch (it was rebuilt at a later head) skips it.
                    if indexes
                        .profiles
                        .watermark()
                        .is_none_or(|w| w.position < last)
                    {
                        indexes.profiles.apply_at(&batch.profiles, &at)?;
                    }
                    if indexes.trials.watermark().is_none_or(|w| w.position < last) {
                        indexes.trials.apply_at(&batch.trials, &at)?;
                    }
                    Ok(())
                })
                .await?
                .map_err(index_error)?;
            self.applied.send_replace(last);
            self.prune(last, batch.pruned_through).await;
            if !full {
                return Ok(());
            }
        }
    }
    /// Deletes outbox rows far behind `applied` once twice the retention has gathered; a
    /// failure is logged and retried at the next batch.
    async fn prune(&self, applied: u64, pruned_through: u64) {
        let Some(keep) = self.retention else { return };
        if applied.saturating_sub(pruned_through) < keep.saturating_mul(2) {
            return;
        }
        match outbox::prune(&self.db, applied - keep).await {
            Ok(through) => tracing::info!(pruned_through = through, "pruned the outbox"),
            Err(err) => tracing::warn!(error = %err, "cannot prune the outbox; will retry"),
        }
    }
}

/// Waits for a notification on `listener`; never completes without one.
async fn notified(listener: &mut Option<sea_orm::sqlx::postgres::PgListener>) {
    let Some(l) = listener else {
        return std::future::pending().await;
    };
    if let Err(err) = l.recv().await {
        // It reconnects on the next call; meanwhile the poll carries on.
        tracing::warn!(error = %err, "lost the outbox notification channel");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// A `LISTEN veritrial_outbox` connection, or `None` (polling only) when it cannot be had.
async fn listen(url: &str) -> Option<sea_orm::sqlx::postgres::PgListener> {
    let connect = async {
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(outbox::CHANNEL).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    match connect.await {
        Ok(listener) => Some(listener),
        Err(err) => {
            tracing::warn!(error = %err, "cannot LISTEN for outbox changes; polling only");
            None
        }
    }
}

/// One batch: the last position read, how many rows, the changes for each index, and how
/// far the outbox was pruned in the same snapshot.
struct Batch {
    last: u64,
    pruned_through: u64,
    rows: u64,
    profiles: Vec<IndexChange>,
    trials: Vec<TrialChange>,
}

/// A read transaction that sees one snapshot of the database (PostgreSQL: repeatable read;
/// SQLite: a deferred transaction in WAL mode already does).
async fn read_snapshot(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    })
}

/// Reads up to `limit` outbox rows after `after` and the current state of what they touch.
async fn read_batch(db: &DatabaseConnection, after: u64, limit: u64) -> AppResult<Option<Batch>> {
    let txn = read_snapshot(db).await?;
    let pruned_through = outbox::pruned_through(&txn).await?;
    let rows = outbox::after(&txn, after, limit).await?;
    let Some(last) = rows.last().map(|row| outbox::position(row.position)) else {
        return Ok(None);
    };
    let mut pseudonyms = BTreeSet::new();
    let mut trial_ids = BTreeSet::new();
    for row in &rows {
        match IndexTouch::from_row(row)? {
            IndexTouch::Profile(p) => pseudonyms.insert(p),
            IndexTouch::Trial(t) => trial_ids.insert(t),
        };
    }
    let profiles = profile_changes(&txn, pseudonyms).await?;
    let trials = trial_changes(&txn, trial_ids).await?;
    txn.commit().await?;
    Ok(Some(Batch {
        last,
        pruned_through,
        rows: rows.len() as u64,
        profiles,
        trials,
    }))
}

/// Each pseudonym's profile if its recruitment-contact consent is in force, else a removal.
async fn profile_changes(
    txn: &DatabaseTransaction,
    pseudonyms: BTreeSet<String>,
) -> AppResult<Vec<IndexChange>> {
    let ids: Vec<String> = pseudonyms.into_iter().collect();
    let mut consenting: BTreeMap<String, _> = patients::consenting_profiles_among(txn, &ids)
        .await?
        .into_iter()
        .map(|p| (p.pseudonym.clone(), p))
        .collect();
    Ok(ids
        .into_iter()
        .map(|pseudonym| match consenting.remove(&pseudonym) {
            Some(profile) => IndexChange::Upsert(profile),
            None => IndexChange::Remove { pseudonym },
        })
        .collect())
}

/// Each trial's current document, or a removal when the trial is gone.
async fn trial_changes(
    txn: &DatabaseTransaction,
    trial_ids: BTreeSet<String>,
) -> AppResult<Vec<TrialChange>> {
    let mut changes = Vec::with_capacity(trial_ids.len());
    for trial_id in trial_ids {
        let exists = trial::Entity::find_by_id(trial_id.clone())
            .one(txn)
            .await?
            .is_some();
        changes.push(if exists {
            TrialChange::Upsert(protocols::trial_doc(
                &protocols::trial_view(txn, &trial_id).await?,
            )?)
        } else {
            TrialChange::Remove { trial_id }
        });
    }
    Ok(changes)
}

/// Rebuilds the chosen indexes from one snapshot of the database, at its outbox head (read
/// first: later changes are re-applied, harmlessly); returns that head.
async fn rebuild(
    db: &DatabaseConnection,
    indexes: &Indexes,
    database: &str,
    profiles: bool,
    trials: bool,
) -> AppResult<u64> {
    let txn = read_snapshot(db).await?;
    let head = outbox::head(&txn).await?;
    let at = Watermark::new(database, head);
    if profiles {
        let docs = patients::consenting_profiles(&txn).await?;
        tracing::info!(profiles = docs.len(), watermark = %at, "rebuilding the profile index");
        let (index, at) = (indexes.profiles.clone(), at.clone());
        indexes
            .pool
            .run_to_completion(move || index.rebuild_at(docs.into_iter(), &at))
            .await?
            .map_err(index_error)?;
    }
    if trials {
        let docs = protocols::trial_docs(&txn).await?;
        tracing::info!(trials = docs.len(), watermark = %at, "rebuilding the trial index");
        let (index, at) = (indexes.trials.clone(), at.clone());
        indexes
            .pool
            .run_to_completion(move || index.rebuild_at(docs.into_iter(), &at))
            .await?
            .map_err(index_error)?;
    }
    txn.commit().await?;
    Ok(head)
}
