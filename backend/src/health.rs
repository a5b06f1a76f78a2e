//! Health of the database, watched in the background so `/healthz` answers at once.
//!
//! A watcher task pings the database every [`PING_EVERY`] with a [`PING_TIMEOUT`]; `/healthz`
//! reads its last outcome and never waits for a pool connection, so an exhausted pool or a
//! busy blocking pool cannot hold it up. A last outcome older than [`STALE_AFTER`] (the
//! watcher itself is stuck) counts as unhealthy. The watcher also reads the outbox head, so
//! `/healthz` can show how far this server's search index lags behind the database.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use crate::services::outbox;

/// How often the database is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(1);
/// How long one ping may take before the database counts as not answering.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Age beyond which the last outcome no longer counts.
pub const STALE_AFTER: Duration = Duration::from_secs(5);

/// What `/healthz` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbHealth {
    /// The last ping succeeded recently.
    Ok,
    /// The last ping failed or timed out, or none succeeded recently.
    Unavailable,
    /// No ping has finished yet (just started).
    Unknown,
}

/// What the watcher saw last.
#[derive(Clone, Copy)]
struct Observed {
    at: Instant,
    ok: bool,
    outbox_head: Option<u64>,
}

/// The last ping's outcome, shared by the watcher and the handler. Cheap to clone.
#[derive(Clone)]
pub struct HealthWatch {
    last: Arc<Mutex<Option<Observed>>>,
}

impl HealthWatch {
    /// Starts watching `db` on the current runtime; the watcher stops once every clone of
    /// the returned handle is dropped.
    pub fn start(db: DatabaseConnection) -> Self {
        let watch = Self {
            last: Arc::new(Mutex::new(None)),
        };
        tokio::spawn(watch_loop(db, Arc::downgrade(&watch.last)));
        watch
    }

    /// The database's health by the last ping, without waiting.
    pub fn current(&self) -> DbHealth {
        match *self.last.lock().unwrap_or_else(PoisonError::into_inner) {
            None => DbHealth::Unknown,
            Some(Observed { at, ok: true, .. }) if at.elapsed() < STALE_AFTER => DbHealth::Ok,
            Some(_) => DbHealth::Unavailable,
        }
    }

    /// The outbox's last position as last read (within [`PING_EVERY`]), if it could be.
    pub fn outbox_head(&self) -> Option<u64> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .and_then(|o| o.outbox_head)
    }
}

/// Pings `db` (and reads the outbox head) until the handle goes away.
async fn watch_loop(db: DatabaseConnection, last: Weak<Mutex<Option<Observed>>>) {
    loop {
        let ok = ping(&db).await;
        let outbox_head = match ok {
            true => tokio::time::timeout(PING_TIMEOUT, outbox::head(&db))
                .await
                .ok()
                .and_then(Result::ok),
            false => None,
        };
        let Some(last) = last.upgrade() else { return };
        *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Observed {
            at: Instant::now(),
            ok,
            outbox_head,
        });
        drop(last);
        tokio::time::sleep(PING_EVERY).await;
    }
}

/// One ping, bounded by [`PING_TIMEOUT`].
pub async fn ping(db: &DatabaseConnection) -> bool {
    match tokio::time::timeout(PING_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            false
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer in time");
            false
        }
    }
}
