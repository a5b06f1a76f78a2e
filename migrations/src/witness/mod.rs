//! Migrations of a witness node's own database (`veritrial witness`), kept apart from the
//! log's: a witness database never gets the log's tables, and the log's never gets these.
//! Its applied migrations are recorded in `witness_migrations`, so even a witness pointed at
//! a log's database by mistake would not mix the two histories.

use sea_orm_migration::prelude::*;

mod m20261125_900001_witness_state;

/// The ordered list of the witness node's migrations.
pub struct WitnessMigrator;

#[async_trait::async_trait]
impl MigratorTrait for WitnessMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261125_900001_witness_state::Migration)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("witness_migrations").into_iden()
    }
}
