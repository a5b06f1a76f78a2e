//! At most one full ledger verification at a time, shared by everyone who asks meanwhile.
//!
//! `verifyLedger` recomputes the whole ledger. A request with many aliases of it, or many
//! ethics boards clicking "Verify ledger" at once, must not start one verification each: a
//! caller that arrives while a verification runs waits for it and gets its report. Once a
//! report is out, the next caller starts a fresh verification (the stored rows may have
//! changed without the head changing, e.g. a tampered payload). If every caller goes away
//! (their requests timed out), the verification stops at its next page. Full and incremental
//! verifications are gated apart: a caller asking for a full one never gets an incremental
//! report.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use ledger::export::Report;
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use super::LedgerKeys;
use super::verify::{Scope, verify_scoped};
use crate::error::AppResult;

/// The single-flight gate for verifications, one lane per [`Scope`]. Cheap to clone: clones
/// share the gate.
#[derive(Clone, Default)]
pub struct VerificationGate {
    incremental: Lane,
    full: Lane,
}

/// The flight of one scope.
type Lane = Arc<Mutex<Weak<Flight>>>;

/// One verification and the callers waiting for it.
#[derive(Default)]
struct Flight {
    report: OnceCell<Arc<Report>>,
}

impl VerificationGate {
    /// An incremental verification's report; see [`VerificationGate::verify_scoped`].
    pub async fn verify(
        &self,
        db: &DatabaseConnection,
        keys: &LedgerKeys,
    ) -> AppResult<Arc<Report>> {
        self.verify_scoped(db, keys, Scope::Incremental).await
    }

    /// The report of a verification of `scope` that started no earlier than this call's
    /// arrival at a running one: joins the verification in progress, or starts one.
    pub async fn verify_scoped(
        &self,
        db: &DatabaseConnection,
        keys: &LedgerKeys,
        scope: Scope,
    ) -> AppResult<Arc<Report>> {
        let flight = self.join(scope);
        let report = flight
            .report
            .get_or_try_init(|| async { verify_scoped(db, keys, scope).await.map(Arc::new) })
            .await?;
        Ok(report.clone())
    }

    /// The flight of `scope` in progress, or a new one when none is (or the last one has
    /// finished).
    fn join(&self, scope: Scope) -> Arc<Flight> {
        let lane = match scope {
            Scope::Incremental => &self.incremental,
            Scope::Full => &self.full,
        };
        let mut current = lane.lock().unwrap_or_else(PoisonError::into_inner);
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
        let first = gate.join(Scope::Incremental);
        let second = gate.join(Scope::Incremental);
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&first, &gate.join(Scope::Full)));
        assert!(first.report.set(Arc::new(empty_report())).is_ok());
        let third = gate.join(Scope::Incremental);
        assert!(!Arc::ptr_eq(&first, &third));
        drop((first, second, third));
        let fourth = gate.join(Scope::Incremental);
        assert!(!fourth.report.initialized());
    }

    fn empty_report() -> Report {
        ledger::export::ChainVerifier::new().finish_without_checkpoint()
    }
}
