//! What a unit of work reads and writes through: the batch's transaction, with two savings.
//!
//! - **Held rows.** Rows a unit hands to [`super::Work::insert_later`] (and every entry's
//!   payload) are inserted together, table by table ([`super::held_rows`]). Before any
//!   statement that may see them (a write, or a read that names one of their tables) they
//!   are inserted, so every statement sees exactly what it would have seen had each row
//!   been inserted at once.
//! - **A savepoint only for units that write.** A unit is isolated from its neighbours by a
//!   savepoint, opened just before its first write (or before its own held rows are
//!   inserted). A unit that only reads and holds rows needs none: if it fails, its held rows
//!   are forgotten and nothing else is to undo.
//!
//! A statement counts as a read when its text begins with `SELECT`; anything else is taken
//! as a write. So a unit like `submitTrialData` (one read, three held rows) costs one round
//! trip to the database instead of five.
//!
//! Held rows must be rows no constraint can refuse given what the unit read under the lock
//! (fresh keys, references to rows it read): if the rows of units that already succeeded
//! cannot be inserted, the whole batch is refused rather than committed without them. So
//! is a batch in which a statement failed outside any savepoint (a read that the database
//! refused): nothing but the whole transaction can undo it.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement,
};
use tokio::sync::{Mutex, MutexGuard};

use super::held_rows::HeldRows;
use crate::error::{AppError, AppResult};

/// The batch's transaction as units of work see it; see the module documentation.
pub struct UnitConnection {
    txn: DatabaseTransaction,
    /// Held for each whole statement, so one unit's statements run one at a time.
    state: Mutex<State>,
}

struct State {
    held: HeldRows,
    savepoint: Savepoint,
    /// Why the batch must fail: rows of units that already succeeded could not be
    /// inserted, or a statement failed where no savepoint can undo it.
    broken: Option<String>,
}

impl UnitConnection {
    /// Wraps the batch's transaction (which holds the ledger lock).
    pub(super) fn new(txn: DatabaseTransaction) -> Self {
        Self {
            txn,
            state: Mutex::new(State {
                held: HeldRows::default(),
                savepoint: Savepoint::default(),
                broken: None,
            }),
        }
    }

    /// The next unit of work begins.
    pub(super) fn start_unit(&mut self) {
        let state = self.state.get_mut();
        state.held.start_unit();
        state.savepoint.owned = false;
    }

    /// Holds `row` back, to be inserted with the batch; see the module documentation.
    pub(super) fn hold<A>(&mut self, row: A)
    where
        A: ActiveModelTrait + Send + 'static,
    {
        self.state.get_mut().held.hold(row);
    }

    /// Undoes what the current unit did: forgets its held rows, and rolls back to its
    /// savepoint if it wrote.
    pub(super) async fn undo_unit(&mut self) -> AppResult<()> {
        let state = self.state.get_mut();
        state.held.forget_unit();
        state.savepoint.roll_back(&self.txn).await?;
        Ok(())
    }

    /// Inserts every row still held and gives the transaction back, to be finished and
    /// committed; an error when some held row could not be inserted.
    pub(super) async fn finish(self) -> AppResult<DatabaseTransaction> {
        let Self { txn, state } = self;
        let mut state = state.into_inner();
        if let Some(why) = state.broken {
            return Err(AppError::Internal(anyhow::anyhow!(
                "rows of this batch could not be inserted: {why}"
            )));
        }
        for insert in state.held.take_all(txn.get_database_backend())? {
            txn.execute_raw(insert).await?;
        }
        Ok(txn)
    }

    /// Makes ready for `sql`: inserts the held rows it may see (earlier units' rows outside
    /// the current unit's savepoint, its own inside) and opens the savepoint if it writes.
    async fn prepare(&self, state: &mut State, sql: &str) -> Result<(), DbErr> {
        let reads = is_read(sql);
        if reads && !state.held.named_in(sql) {
            return Ok(());
        }
        let backend = self.txn.get_database_backend();
        for insert in state.held.take_earlier(backend)? {
            if let Err(err) = self.txn.execute_raw(insert).await {
                state.broken = Some(err.to_string());
                return Err(err);
            }
        }
        if !reads || state.held.unit_holds_rows() {
            state.savepoint.claim(&self.txn).await?;
            for insert in state.held.take_all(backend)? {
                self.txn.execute_raw(insert).await?;
            }
        }
        Ok(())
    }
}

/// Whether `sql` only reads (begins with `SELECT`); anything else is taken as a write.
fn is_read(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|word| word.eq_ignore_ascii_case("SELECT"))
}

impl UnitConnection {
    /// Locks the state for one statement, made ready for `sql`.
    async fn ready(&self, sql: &str) -> Result<MutexGuard<'_, State>, DbErr> {
        let mut state = self.state.lock().await;
        let prepared = self.prepare(&mut state, sql).await;
        state.note(prepared)?;
        Ok(state)
    }
}

impl State {
    /// Passes on a statement's result. A database error outside any savepoint of the unit
    /// cannot be undone by the unit alone (PostgreSQL aborts the transaction; SQLite may roll
    /// it back), so it fails the whole batch.
    fn note<T>(&mut self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        if let Err(err) = &result
            && !self.savepoint.owned
        {
            self.broken
                .get_or_insert_with(|| format!("a statement failed outside a savepoint: {err}"));
        }
        result
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for UnitConnection {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut state = self.ready(&stmt.sql).await?;
        state.note(self.txn.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut state = self.ready(sql).await?;
        state.note(self.txn.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut state = self.ready(&stmt.sql).await?;
        state.note(self.txn.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut state = self.ready(&stmt.sql).await?;
        state.note(self.txn.query_all_raw(stmt).await)
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// The one savepoint that isolates a writing unit of a batch from its neighbours.
///
/// Opening it for a unit releases it for an earlier one in the same round trip (one
/// statement string, `RELEASE …; SAVEPOINT …`); a failed unit rolls back to it, which keeps
/// it open.
#[derive(Default)]
struct Savepoint {
    /// Whether a savepoint is open in the transaction.
    open: bool,
    /// Whether the current unit opened it.
    owned: bool,
}

impl Savepoint {
    const OPEN: &str = "SAVEPOINT veritrial_unit";
    const REOPEN: &str = "RELEASE SAVEPOINT veritrial_unit; SAVEPOINT veritrial_unit";
    const ROLL_BACK: &str = "ROLLBACK TO SAVEPOINT veritrial_unit";

    /// Opens the savepoint for the current unit, unless it already has.
    async fn claim(&mut self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        if self.owned {
            return Ok(());
        }
        let sql = if self.open { Self::REOPEN } else { Self::OPEN };
        txn.execute_unprepared(sql).await?;
        self.open = true;
        self.owned = true;
        Ok(())
    }

    /// Undoes everything the current unit wrote (nothing, if it never wrote).
    async fn roll_back(&self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        if self.owned {
            txn.execute_unprepared(Self::ROLL_BACK).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_read;

    #[test]
    fn only_statements_that_begin_with_select_are_reads() {
        assert!(is_read(r#"SELECT "id" FROM "enrollments""#));
        assert!(is_read("  select 1"));
        assert!(!is_read(r#"INSERT INTO "submissions" ("id") VALUES ($1)"#));
        assert!(!is_read(
            "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"
        ));
        assert!(!is_read("SAVEPOINT veritrial_unit"));
        assert!(!is_read("SELEC"));
    }
}
