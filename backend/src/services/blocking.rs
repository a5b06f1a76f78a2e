//! A bounded pool for blocking work (index searches and commits, ledger hashing), so it never
//! runs on the async workers that answer `/healthz` and every other request.
//!
//! At most `workers` closures run at once on tokio's blocking threads; at most `queue` more
//! wait for a turn. Beyond that, [`BlockingPool::run`] answers at once with
//! [`AppError::RateLimited`]. A caller that goes away (its request timed out, the client
//! left) before its closure started leaves nothing behind: the closure never runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Set when the caller of [`BlockingPool::run`] has gone away; long loops check it between
/// steps and stop early.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Whether the caller has gone away.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Cancels its flag when dropped: held by the caller's future for as long as it waits.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A place in the pool (running or waiting), given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A bounded pool of blocking work. Cheap to clone: clones share the same bounds.
#[derive(Clone, Debug)]
pub struct BlockingPool {
    name: &'static str,
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    capacity: usize,
}

impl BlockingPool {
    /// A pool named `name` (for messages) running `workers` closures at once, with `queue`
    /// more waiting at most. `workers` is at least 1.
    pub fn new(name: &'static str, workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            name,
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: workers + queue,
        }
    }

    /// A pool with one worker per core and four waiting places per worker.
    pub fn per_core(name: &'static str) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(name, cores, 4 * cores)
    }

    /// Runs `f` on a blocking thread once a worker is free and returns its result.
    ///
    /// Answers [`AppError::RateLimited`] at once when every worker is busy and the queue is
    /// full. If this future is dropped while waiting, `f` never runs; if it is dropped while
    /// `f` runs, the [`Cancel`] flag handed to `f` is set.
    pub async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&Cancel) -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = self.admit()?;
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| {
                AppError::Internal(anyhow::anyhow!("the {} pool is closed", self.name))
            })?;
        let cancel = Cancel::default();
        let guard = CancelOnDrop(cancel.clone());
        let handle = tokio::task::spawn_blocking(move || {
            let _held = (slot, permit);
            (!cancel.is_cancelled()).then(|| f(&cancel))
        });
        let outcome = handle.await;
        drop(guard);
        match outcome {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(AppError::Internal(anyhow::anyhow!(
                "{} work was cancelled before it started",
                self.name
            ))),
            Err(err) => Err(AppError::Internal(
                anyhow::Error::new(err).context(format!("{} work failed", self.name)),
            )),
        }
    }

    /// Runs `f` on a blocking thread once a worker is free, never refusing and never
    /// cancelled: for writes that must follow a database commit even when the pool is full
    /// or the caller has gone away.
    pub async fn run_to_completion<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permits = self.permits.clone();
        let task = tokio::spawn(async move {
            // A closed semaphore (never closed here) would only mean running without a turn.
            let _permit = permits.acquire_owned().await.ok();
            tokio::task::spawn_blocking(f).await
        });
        match task.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) | Err(err) => Err(AppError::Internal(
                anyhow::Error::new(err).context(format!("{} work failed", self.name)),
            )),
        }
    }

    /// Most closures running and waiting at once; one more is refused.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Closures running or waiting now.
    pub fn in_use(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Takes a place, or refuses when the pool is full.
    fn admit(&self) -> AppResult<Slot> {
        let taken = self
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            });
        match taken {
            Ok(_) => Ok(Slot(self.admitted.clone())),
            Err(_) => Err(AppError::RateLimited(format!(
                "the server is busy with other {} work; try again in a moment",
                self.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_beyond_the_queue_and_recovers() {
        let pool = BlockingPool::new("test", 1, 1);
        let (release, wait) = mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move |_| wait.recv().is_ok()).await })
        };
        while pool.in_use() < 1 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|_| 7).await })
        };
        while pool.in_use() < 2 {
            tokio::task::yield_now().await;
        }
        let refused = pool.run(|_| 0).await;
        assert!(matches!(refused, Err(AppError::RateLimited(_))));
        release.send(()).expect("worker waits");
        assert!(matches!(busy.await, Ok(Ok(true))));
        assert!(matches!(queued.await, Ok(Ok(7))));
        assert!(matches!(pool.run(|_| 1).await, Ok(1)));
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_whose_caller_left_never_starts() {
        let pool = BlockingPool::new("test", 1, 4);
        let (release, wait) = mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move |_| wait.recv().is_ok()).await })
        };
        while pool.in_use() < 1 {
            tokio::task::yield_now().await;
        }
        let ran = Arc::new(AtomicBool::new(false));
        let waiting = {
            let pool = pool.clone();
            let ran = ran.clone();
            tokio::spawn(async move { pool.run(move |_| ran.store(true, Ordering::SeqCst)).await })
        };
        while pool.in_use() < 2 {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        assert!(waiting.await.is_err());
        release.send(()).expect("worker waits");
        assert!(matches!(busy.await, Ok(Ok(true))));
        assert!(matches!(pool.run(|_| ()).await, Ok(())));
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_wait_for_a_turn_instead_of_being_refused() {
        let pool = BlockingPool::new("test", 1, 0);
        let (release, wait) = mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move |_| wait.recv().is_ok()).await })
        };
        while pool.in_use() < 1 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            pool.run(|_| ()).await,
            Err(AppError::RateLimited(_))
        ));
        let write = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run_to_completion(|| 3).await })
        };
        release.send(()).expect("worker waits");
        assert!(matches!(busy.await, Ok(Ok(true))));
        assert!(matches!(write.await, Ok(Ok(3))));
    }
}
