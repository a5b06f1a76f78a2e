//! Rows that units of work hand over to be inserted later, with the rest of their batch.
//!
//! Each statement a unit runs is a round trip to the database (for SQLite, a hand-off to its
//! worker thread and back), and the units of a batch run one after the other under the
//! ledger lock: 256 units inserting three rows each would wait for 768 inserts in a row.
//! Held rows are inserted instead in multi-row INSERTs, one per table, when a statement
//! needs them (see [`super::unit_connection`]) or when the batch ends.
//!
//! Rows are inserted table by table only where that keeps each unit's own order: a unit
//! that inserts into `a` and then into `b` (whose row may reference the `a` row) finds its
//! `a` row inserted first, so foreign keys hold as they would have. Rows are grouped in
//! *segments*, each an ordered list of tables; a unit that goes back to a table it has
//! passed starts a new segment, inserted after the previous one.

use std::any::{Any, TypeId};

use sea_orm::{ActiveModelTrait, DbBackend, DbErr, EntityName, EntityTrait, QueryTrait, Statement};

/// Rows per multi-row INSERT (well under SQLite's and PostgreSQL's parameter limits).
pub(super) const INSERT_CHUNK: usize = 500;

type Row = Box<dyn Any + Send>;

/// Builds the INSERT of rows that are all of one entity's active model.
type Build = fn(Vec<Row>, DbBackend) -> Result<Statement, DbErr>;

struct Held {
    /// Its segment, and its table's position in that segment: the order of insertion.
    place: (usize, usize),
    row: Row,
    build: Build,
}

/// The rows held back in one batch, in the order they are to be inserted.
#[derive(Default)]
pub(super) struct HeldRows {
    rows: Vec<Held>,
    /// The tables of each segment, in the order their rows are inserted.
    segments: Vec<Vec<TypeId>>,
    /// The names of the tables that have (or had, since the last insert) held rows.
    tables: Vec<&'static str>,
    /// Where the current unit's rows begin in `rows`.
    unit_start: usize,
    /// The furthest table position the current unit has reached in the last segment.
    unit_reach: usize,
}

impl HeldRows {
    /// The next unit of work begins: rows held from now on are its own.
    pub(super) fn start_unit(&mut self) {
        self.unit_start = self.rows.len();
        self.unit_reach = 0;
    }

    /// Holds `row` back, to be inserted after every row held before it that it may refer to.
    pub(super) fn hold<A>(&mut self, row: A)
    where
        A: ActiveModelTrait + Send + 'static,
    {
        let name = A::Entity::default().table_name();
        if !self.tables.contains(&name) {
            self.tables.push(name);
        }
        let place = self.place_of(TypeId::of::<A>());
        self.rows.push(Held {
            place,
            row: Box::new(row),
            build: insert_many::<A>,
        });
    }

    fn place_of(&mut self, table: TypeId) -> (usize, usize) {
        if let Some(tables) = self.segments.last_mut() {
            let position = match tables.iter().position(|t| *t == table) {
                Some(position) => position,
                None => {
                    tables.push(table);
                    tables.len() - 1
                }
            };
            if position >= self.unit_reach {
                self.unit_reach = position;
                return (self.segments.len() - 1, position);
            }
        }
        self.segments.push(vec![table]);
        self.unit_reach = 0;
        (self.segments.len() - 1, 0)
    }

    /// Whether `sql` may read, or refer to, a held row: it names one of their tables. A plain
    /// text match, so it errs towards yes (`submissions` also matches `submissions_x`).
    pub(super) fn named_in(&self, sql: &str) -> bool {
        !self.rows.is_empty() && self.tables.iter().any(|table| sql.contains(table))
    }

    /// Whether the current unit holds rows.
    pub(super) fn unit_holds_rows(&self) -> bool {
        self.rows.len() > self.unit_start
    }

    /// Forgets the current unit's rows (the unit failed).
    pub(super) fn forget_unit(&mut self) {
        self.rows.truncate(self.unit_start);
    }

    /// The INSERTs of the rows of the batch's earlier units, which stand whatever the
    /// current unit does; they are no longer held.
    pub(super) fn take_earlier(&mut self, backend: DbBackend) -> Result<Vec<Statement>, DbErr> {
        let current = self.rows.split_off(self.unit_start);
        let earlier = std::mem::replace(&mut self.rows, current);
        self.unit_start = 0;
        inserts(earlier, backend)
    }

    /// The INSERTs of every held row, in order; none is held any more.
    pub(super) fn take_all(&mut self, backend: DbBackend) -> Result<Vec<Statement>, DbErr> {
        let rows = std::mem::take(&mut self.rows);
        self.segments.clear();
        self.tables.clear();
        self.unit_start = 0;
        self.unit_reach = 0;
        inserts(rows, backend)
    }
}

/// Multi-row INSERTs for `rows`: by segment, then table, each table's rows in the order held.
fn inserts(mut rows: Vec<Held>, backend: DbBackend) -> Result<Vec<Statement>, DbErr> {
    rows.sort_by_key(|held| held.place); // stable: a table's rows keep their order
    let mut statements = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some(first) = rows.next() {
        let mut chunk = vec![first.row];
        while chunk.len() < INSERT_CHUNK {
            match rows.next_if(|held| held.place == first.place) {
                Some(held) => chunk.push(held.row),
                None => break,
            }
        }
        statements.push((first.build)(chunk, backend)?);
    }
    Ok(statements)
}

fn insert_many<A>(rows: Vec<Row>, backend: DbBackend) -> Result<Statement, DbErr>
where
    A: ActiveModelTrait + Send + 'static,
{
    let rows = rows
        .into_iter()
        .map(|row| {
            row.downcast::<A>()
                .map(|row| *row)
                .map_err(|_| DbErr::Custom("a held row was filed under another table".to_string()))
        })
        .collect::<Result<Vec<A>, DbErr>>()?;
    Ok(<A::Entity as EntityTrait>::insert_many(rows).build(backend))
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveValue::Set;

    use super::*;
    use crate::entities::{ledger_payload, submission_version};

    fn payload(seq: i64) -> ledger_payload::ActiveModel {
        ledger_payload::ActiveModel {
            seq: Set(seq),
            body: Set(Some("{}".to_string())),
            erased: Set(false),
        }
    }

    fn version(seq: i64) -> submission_version::ActiveModel {
        submission_version::ActiveModel {
            id: Set(format!("v{seq}")),
            ledger_seq: Set(seq),
            ..Default::default()
        }
    }

    /// The tables of `statements`, in order, each with the number of rows it inserts.
    fn shape(statements: &[Statement]) -> Vec<(String, usize)> {
        statements
            .iter()
            .map(|s| {
                let table = s.sql.split('"').nth(1).unwrap_or_default().to_string();
                let rows = s.sql.matches("), (").count() + 1;
                (table, rows)
            })
            .collect()
    }

    #[test]
    fn units_in_the_same_order_share_one_insert_per_table() {
        let mut held = HeldRows::default();
        for seq in 0..3 {
            held.start_unit();
            held.hold(payload(seq));
            held.hold(version(seq));
        }
        let statements = held.take_all(DbBackend::Sqlite).expect("inserts");
        assert_eq!(
            shape(&statements),
            [
                ("ledger_payloads".to_string(), 3),
                ("submission_versions".to_string(), 3)
            ]
        );
    }

    #[test]
    fn a_unit_that_goes_back_to_an_earlier_table_keeps_its_own_order() {
        let mut held = HeldRows::default();
        held.start_unit();
        held.hold(payload(0));
        held.hold(version(0));
        held.start_unit();
        held.hold(version(1));
        held.hold(payload(1)); // after its own version row, which must not move after it
        let statements = held.take_all(DbBackend::Sqlite).expect("inserts");
        assert_eq!(
            shape(&statements),
            [
                ("ledger_payloads".to_string(), 1),
                ("submission_versions".to_string(), 2),
                ("ledger_payloads".to_string(), 1)
            ]
        );
    }

    #[test]
    fn a_failed_unit_leaves_nothing_and_earlier_units_are_taken_apart() {
        let mut held = HeldRows::default();
        held.start_unit();
        held.hold(payload(0));
        held.start_unit();
        held.hold(payload(1));
        held.forget_unit();
        held.start_unit();
        held.hold(payload(2));
        assert!(held.unit_holds_rows());
        let earlier = held.take_earlier(DbBackend::Sqlite).expect("inserts");
        assert_eq!(shape(&earlier), [("ledger_payloads".to_string(), 1)]);
        let rest = held.take_all(DbBackend::Sqlite).expect("inserts");
        assert_eq!(shape(&rest), [("ledger_payloads".to_string(), 1)]);
        assert!(!held.named_in("SELECT * FROM \"ledger_payloads\""));
    }

    #[test]
    fn a_statement_naming_a_held_table_is_noticed() {
        let mut held = HeldRows::default();
        held.start_unit();
        held.hold(payload(0));
        assert!(held.named_in(r#"SELECT "body" FROM "ledger_payloads" WHERE "seq" = $1"#));
        assert!(!held.named_in(r#"SELECT * FROM "enrollments""#));
    }

    #[test]
    fn large_tables_are_inserted_in_chunks() {
        let mut held = HeldRows::default();
        held.start_unit();
        for seq in 0..1001 {
            held.hold(payload(seq));
        }
        let statements = held.take_all(DbBackend::Postgres).expect("inserts");
        let rows: Vec<usize> = shape(&statements).into_iter().map(|(_, n)| n).collect();
        assert_eq!(rows, [INSERT_CHUNK, INSERT_CHUNK, 1]);
    }
}
