//! At most one full ledger verification at a time, shared by everyone who asks meanwhile.
//!
//! `verifyLedger` recomputes the whole ledger. A request with many aliases of it, or many
//! ethics boards clicking "Verify ledger" at once, must not start one verification each: a
//! caller that arrives while a verification runs waits for it and gets its report. Once a
//! report is out, the next caller starts a fresh verification (the stored rows may have
//! changed without the head changing, e.g. a tampered payload). If every caller goes away
//! (their requests timed out), the verification stops at its next page.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use ledger::export::Report;
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use super::LedgerKeys;
use super::verify::verify;
use crate::error::AppResult;

/// The single-flight gate for full verifications. Cheap to clone: clones share the gate.
#[derive(Clone, Default)]
pub struct VerificationGate {
    current: Arc<Mutex<Weak<Flight>>>,
}

/// One verification and the callers waiting for it.
#[derive(Default)]
struct Flight {
    report: OnceCell<Arc<Report>>,
}

impl VerificationGate {
    /// The report of a verification that started no earlier than this call's arrival at a
    /// running one: joins the verification in progress, or starts one.
    pub async fn verify(
        &self,
        db: &DatabaseConnection,
        keys: &LedgerKeys,
    ) -> AppResult<Arc<Report>> {
        let flight = self.join();
        let report = flight
            .report
            .get_or_try_init(|| async { verify(db, keys).await.map(Arc::new) })
            .await?;
        Ok(report.clone())
    }

    /// The flight in progress, or a new one when none is (or the last one has finished).
    fn join(&self) -> Arc<Flight> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = current.upgrade()
            && !flight.report.initialized()
        {
            return flight;
        }
        let flight = Arc::new(Flight::default());
        *current = Arc::downgrade(&flight);
        flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_join_a_running_flight_and_not_a_finished_one() {
        let gate = VerificationGate::default();
        let first = gate.join();
        let second = gate.join();
        assert!(Arc::ptr_eq(&first, &second));
        assert!(first.report.set(Arc::new(empty_report())).is_ok());
        let third = gate.join();
        assert!(!Arc::ptr_eq(&first, &third));
        drop((first, second, third));
        let fourth = gate.join();
        assert!(!fourth.report.initialized());
    }

    fn empty_report() -> Report {
        ledger::export::ChainVerifier::new().finish_without_checkpoint()
    }
}
