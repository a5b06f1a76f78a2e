//! A bound on concurrent password hashing: a few permits (about one per core) and a short
//! wait line; beyond the line a sign-in is refused at once with `RATE_LIMITED`.
//!
//! Each Argon2id verification holds about 19 MiB while it runs, so the number in flight,
//! not the number of requests, decides the memory a sign-in flood can take. Hashes run on
//! dedicated threads, one per permit, rather than on the shared blocking pool: every new
//! thread that hashes gets an allocator arena that keeps its 19 MiB after the hash is done,
//! so a flood spread over many pool threads left hundreds of MiB resident.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use anyhow::Context;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::password::verify_password;
use crate::error::{AppError, AppResult};

/// The message of a sign-in refused because too many are in progress.
pub const TOO_MANY_IN_PROGRESS: &str =
    "too many sign-in attempts in progress; try again in a moment";

/// A verification for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Permits to hash, a bounded line of those waiting for one, and the hashing threads.
pub struct HashGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    jobs: mpsc::Sender<Job>,
}

/// Leaves the wait line when dropped, also when the waiting request is cancelled.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashGate {
    /// A gate with `permits` concurrent hashes (at least one), as many hashing threads,
    /// and at most `max_waiting` callers waiting for a permit. The threads end when the
    /// gate is dropped.
    pub fn new(permits: usize, max_waiting: usize) -> anyhow::Result<Self> {
        let permits = permits.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..permits {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .context("cannot start a password-hashing thread")?;
        }
        Ok(Self {
            permits: Arc::new(Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            jobs,
        })
    }

    /// A permit to hash: at once if one is free, after waiting in line if the line has room,
    /// otherwise `RATE_LIMITED`.
    async fn enter(&self) -> AppResult<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _in_line = InLine(&self.waiting);
        if ahead >= self.max_waiting {
            return Err(AppError::RateLimited(TOO_MANY_IN_PROGRESS.into()));
        }
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|err| AppError::Internal(anyhow::Error::new(err)))
    }

    /// Whether `password` matches the stored PHC string, verified on a hashing thread under
    /// a permit. The permit is held until the hash is done, even if the caller goes away.
    pub async fn verify(&self, password: String, stored: String) -> AppResult<bool> {
        let permit = self.enter().await?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let matches = verify_password(&password, &stored);
            drop(permit);
            let _ = reply.send(matches);
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the hashing threads have stopped")))?;
        answer
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("a hashing thread stopped")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_line_callers_are_refused_at_once() {
        let gate = Arc::new(HashGate::new(1, 2).expect("gate"));
        let held = gate.enter().await.expect("a free permit");
        // Two wait in line; they cannot get through while the permit is held.
        let mut waiters = Vec::new();
        for _ in 0..2 {
            let gate = Arc::clone(&gate);
            waiters.push(tokio::spawn(async move { gate.enter().await.is_ok() }));
        }
        while gate.waiting.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        let refused = gate.enter().await.expect_err("the line is full");
        assert_eq!(refused.code(), "RATE_LIMITED");
        drop(held);
        for waiter in waiters {
            assert!(waiter.await.expect("joined"), "waiters get through in turn");
        }
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_line() {
        let gate = Arc::new(HashGate::new(1, 1).expect("gate"));
        let held = gate.enter().await.expect("a free permit");
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.enter().await.map(drop) })
        };
        while gate.waiting.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
        drop(held);
        assert!(gate.enter().await.is_ok());
    }

    #[tokio::test]
    async fn verification_goes_through_the_gate() {
        let gate = HashGate::new(1, 0).expect("gate");
        let stored = crate::auth::password::hash_password("correct horse battery").expect("hash");
        assert!(
            gate.verify("correct horse battery".into(), stored.clone())
                .await
                .expect("ok")
        );
        assert!(!gate.verify("wrong".into(), stored).await.expect("ok"));
    }
}
