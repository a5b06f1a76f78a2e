//! A bound on concurrent password hashing: a few permits (about one per core) and a short
//! wait line; beyond the line a sign-in is refused at once with `RATE_LIMITED`.
//!
//! Each Argon2id verification holds about 19 MiB while it runs, so the number in flight,
//! not the number of requests, decides the memory a sign-in flood can take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::password::verify_password;
use crate::error::{AppError, AppResult};

/// The message of a sign-in refused because too many are in progress.
pub const TOO_MANY_IN_PROGRESS: &str =
    "too many sign-in attempts in progress; try again in a moment";

/// Permits to hash, and a bounded line of those waiting for one.
pub struct HashGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Leaves the wait line when dropped, also when the waiting request is cancelled.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashGate {
    /// A gate with `permits` concurrent hashes (at least one) and at most `max_waiting`
    /// callers waiting for one.
    pub fn new(permits: usize, max_waiting: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
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

    /// Whether `password` matches the stored PHC string, verified on the blocking pool under
    /// a permit. The permit is held until the hash is done, even if the caller goes away.
    pub async fn verify(&self, password: String, stored: String) -> AppResult<bool> {
        let permit = self.enter().await?;
        tokio::task::spawn_blocking(move || {
            let matches = verify_password(&password, &stored);
            drop(permit);
            matches
        })
        .await
        .map_err(|err| AppError::Internal(anyhow::Error::new(err)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_line_callers_are_refused_at_once() {
        let gate = Arc::new(HashGate::new(1, 2));
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
        let gate = Arc::new(HashGate::new(1, 1));
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
        let gate = HashGate::new(1, 0);
        let stored = crate::auth::password::hash_password("correct horse battery").expect("hash");
        assert!(
            gate.verify("correct horse battery".into(), stored.clone())
                .await
                .expect("ok")
        );
        assert!(!gate.verify("wrong".into(), stored).await.expect("ok"));
    }
}
