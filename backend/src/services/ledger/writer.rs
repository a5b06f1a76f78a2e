//! One ledgered unit of work, and group commit.
//!
//! Every ledgered change is a *unit of work*: a closure that reads its preconditions, writes
//! its rows and appends its ledger entries through a [`Work`]. Services hand units to the
//! process's [`LedgerWriter`], whose single thread runs whatever units are waiting together
//! in one database transaction (group commit, as Tessera batches its adds):
//!
//! 1. take the ledger lock (the head row; other processes queue on it),
//! 2. run each unit in turn: it sees every change committed before and every earlier unit
//!    of the batch, reads its preconditions, writes and appends; a unit that fails is
//!    undone (its held rows forgotten, its savepoint rolled back if it wrote; see
//!    [`UnitConnection`]) and its entries are forgotten, without touching its neighbours,
//! 3. store all entries with one timestamp (never earlier than the chain's last), sign one
//!    checkpoint, commit,
//! 4. answer each caller: its own result once the batch is durable, or the reason the batch
//!    was not committed.
//!
//! A batch costs one lock, one checkpoint signature and one commit (one fsync) however many
//! units it carries, so concurrent writers share them instead of queueing for them.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::LedgerKeys;
use super::append::{Appended, Batch, NewEntry, begin_write};
use super::unit_connection::UnitConnection;
use crate::db::{self, DatabaseTarget};
use crate::error::{AppError, AppResult};
use crate::services::outbox::{self, IndexTouch};

/// Most units of work committed in one transaction.
const MAX_BATCH: usize = 256;

/// Units of work that may wait for the writer; beyond this, callers are told to retry.
const QUEUE_CAPACITY: usize = 8192;

/// What a unit of work sees: the batch's transaction (through a [`UnitConnection`], which
/// isolates the unit from its neighbours) and the ledger being appended to.
pub struct Work {
    db: UnitConnection,
    batch: Batch,
    touches: Vec<IndexTouch>,
}

impl Work {
    /// The transaction to read preconditions and write the change through. Everything read
    /// here is read under the ledger lock, so no other ledgered change can slip in between.
    pub fn db(&self) -> &UnitConnection {
        &self.db
    }

    /// Inserts `row` with the rest of the batch instead of at once (one multi-row INSERT per
    /// table), which saves the unit a round trip to the database. Every later statement that
    /// may see the row (a write, or a read naming its table) still sees it. Only for rows no
    /// constraint can refuse given what the unit read: a fresh key, references to rows the
    /// unit read. Forgotten if the unit fails.
    pub fn insert_later<A>(&mut self, row: A)
    where
        A: ActiveModelTrait + Send + 'static,
    {
        self.db.hold(row);
    }

    /// Appends entries in order; their sequence numbers are final if the unit succeeds.
    /// Their payloads are inserted later (see [`Work::insert_later`]).
    pub fn append(&mut self, entries: Vec<NewEntry>) -> AppResult<Vec<Appended>> {
        let (appended, payloads) = self.batch.append(entries)?;
        for payload in payloads {
            self.db.hold(payload);
        }
        Ok(appended)
    }

    /// Records that the unit changed what search sees (a profile, a consent, a trial): an
    /// outbox row is written in the same transaction, and every process's indexer picks it
    /// up. Forgotten if the unit fails.
    pub fn touch(&mut self, touch: IndexTouch) {
        self.touches.push(touch);
    }

    /// Appends one entry; see [`Work::append`].
    pub fn append_one(&mut self, entry: NewEntry) -> AppResult<Appended> {
        let mut appended = self.append(vec![entry])?;
        appended.pop().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("appending one entry appended nothing"))
        })
    }
}

/// The process's ledger writer: cheap to clone, one thread behind it; it stops when the
/// last clone is dropped.
#[derive(Clone)]
pub struct LedgerWriter {
    queue: mpsc::Sender<Box<dyn Unit>>,
    index_wake: Arc<Notify>,
    checkpoints: watch::Sender<()>,
}

impl LedgerWriter {
    /// Starts the writer on its own thread, with its own connection to `target`.
    ///
    /// Its own thread, because every statement of a batch is a wait for the database, and
    /// on the server's runtime each wait would end behind every request task ready to run:
    /// under load the writer, which every write waits for, would wait for them all. Its own
    /// connection, so it never queues for one behind readers. An error if it cannot connect.
    pub async fn start(target: &DatabaseTarget, keys: LedgerKeys) -> anyhow::Result<Self> {
        let (queue, units) = mpsc::channel(QUEUE_CAPACITY);
        let index_wake = Arc::new(Notify::new());
        let checkpoints = watch::Sender::new(());
        let wakes = Wakes {
            index: index_wake.clone(),
            checkpoints: checkpoints.clone(),
        };
        let (connected, connecting) = oneshot::channel();
        let target = target.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("ledger-writer".to_string())
            .spawn(move || {
                runtime.block_on(async move {
                    match db::connect(&target, 1).await {
                        Ok(db) => {
                            let _ = connected.send(Ok(()));
                            write_batches(db, keys, units, wakes).await;
                        }
                        Err(err) => {
                            let _ = connected.send(Err(err));
                        }
                    }
                });
            })?;
        connecting.await.map_err(|_| {
            anyhow::anyhow!("the ledger writer's thread ended before it connected")
        })??;
        Ok(Self {
            queue,
            index_wake,
            checkpoints,
        })
    }

    /// Marked changed after every committed batch (a new checkpoint, if it appended): the
    /// cosigning tasks wait on it, off the append path.
    pub fn checkpoint_watch(&self) -> watch::Receiver<()> {
        self.checkpoints.subscribe()
    }

    /// Notified after every batch that wrote outbox rows: the local indexer waits on it
    /// (other processes' indexers hear of it through `NOTIFY` or polling).
    pub fn index_wake(&self) -> Arc<Notify> {
        self.index_wake.clone()
    }

    /// Runs `unit` in the next batch and returns its result once the batch is committed.
    ///
    /// The unit may run again never, once, or be rolled back: it must do all its reads and
    /// writes through [`Work::db`] and keep heavy work (index searches, hashing files)
    /// outside, since the batch waits for it. Write it as
    /// `writer.run(move |work| Box::pin(async move { … })).await`.
    pub async fn run<T, F>(&self, unit: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: for<'w> FnOnce(&'w mut Work) -> BoxFuture<'w, AppResult<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = Box::new(PendingUnit {
            unit: Some(Box::new(unit)),
            outcome: None,
            reply,
        });
        self.queue.try_send(pending).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => AppError::RateLimited(
                "too many changes are waiting to be written: try again shortly".to_string(),
            ),
            mpsc::error::TrySendError::Closed(_) => writer_stopped(),
        })?;
        answer.await.map_err(|_| writer_stopped())?
    }
}

fn writer_stopped() -> AppError {
    AppError::Internal(anyhow::anyhow!("the ledger writer has stopped"))
}

type UnitFn<T> = Box<dyn for<'w> FnOnce(&'w mut Work) -> BoxFuture<'w, AppResult<T>> + Send>;

/// A queued unit of work, type-erased so units with different results share a batch.
trait Unit: Send {
    /// Runs the unit; `true` when it succeeded (its savepoint is to be kept).
    fn run<'w>(&'w mut self, work: &'w mut Work) -> BoxFuture<'w, bool>;
    /// Answers the caller, given whether the batch committed.
    fn finish(self: Box<Self>, batch: Result<(), &str>);
}

struct PendingUnit<T> {
    unit: Option<UnitFn<T>>,
    outcome: Option<AppResult<T>>,
    reply: oneshot::Sender<AppResult<T>>,
}

impl<T: Send + 'static> Unit for PendingUnit<T> {
    fn run<'w>(&'w mut self, work: &'w mut Work) -> BoxFuture<'w, bool> {
        Box::pin(async move {
            let Some(unit) = self.unit.take() else {
                return false;
            };
            let outcome = AssertUnwindSafe(unit(work))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    Err(AppError::Internal(anyhow::anyhow!(
                        "a ledgered change panicked; it was rolled back"
                    )))
                });
            let succeeded = outcome.is_ok();
            self.outcome = Some(outcome);
            succeeded
        })
    }

    fn finish(self: Box<Self>, batch: Result<(), &str>) {
        let result = match (self.outcome, batch) {
            (Some(Err(err)), _) => Err(err),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(why)) => Err(AppError::Internal(anyhow::anyhow!(
                "the change was not committed: {why}"
            ))),
            (None, Ok(())) => Err(AppError::Internal(anyhow::anyhow!(
                "the change was never run"
            ))),
        };
        // The caller may have gone away (request timeout); the change stands regardless.
        let _ = self.reply.send(result);
    }
}

/// Who the writer wakes after a batch.
struct Wakes {
    /// The local indexer, after a batch that wrote outbox rows.
    index: Arc<Notify>,
    /// The cosigning tasks, after every committed batch.
    checkpoints: watch::Sender<()>,
}

/// The writer task: takes whatever units are waiting (at least one) and commits them together.
async fn write_batches(
    db: DatabaseConnection,
    keys: LedgerKeys,
    mut queue: mpsc::Receiver<Box<dyn Unit>>,
    wakes: Wakes,
) {
    let mut units = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut units, MAX_BATCH).await > 0 {
        let committed = commit_batch(&db, &keys, &mut units).await;
        if let Ok(touched) = committed {
            if touched {
                wakes.index.notify_one();
            }
            wakes.checkpoints.send_replace(());
        }
        let reason = committed.as_ref().err().map(|err| {
            tracing::error!(error = ?err, units = units.len(), "a ledger batch was not committed");
            format!("{err}")
        });
        for unit in units.drain(..) {
            unit.finish(reason.as_deref().map_or(Ok(()), Err));
        }
    }
}

/// Runs `units` in one transaction, each isolated from the others, and commits; `true` when
/// the batch wrote outbox rows.
async fn commit_batch(
    db: &DatabaseConnection,
    keys: &LedgerKeys,
    units: &mut [Box<dyn Unit>],
) -> AppResult<bool> {
    let txn = begin_write(db).await?;
    let batch = Batch::open(&txn).await?;
    let size_before = batch.size();
    let mut work = Work {
        db: UnitConnection::new(txn),
        batch,
        touches: Vec::new(),
    };
    let mut touches = Vec::new();
    for unit in units.iter_mut() {
        work.db.start_unit();
        let mark = work.batch.mark();
        let succeeded = unit.run(&mut work).await;
        let touched = std::mem::take(&mut work.touches);
        if succeeded {
            touches.extend(touched);
        } else {
            work.db.undo_unit().await?;
            work.batch.rewind(mark);
        }
    }
    let Work {
        db: unit_db, batch, ..
    } = work;
    let txn = unit_db.finish().await?;
    batch.write(&txn, keys, size_before).await?;
    // Under the ledger lock, so outbox positions commit in order (see `outbox`).
    outbox::record(&txn, &touches).await?;
    // Commit also releases the last unit's savepoint.
    txn.commit().await?;
    Ok(!touches.is_empty())
}
