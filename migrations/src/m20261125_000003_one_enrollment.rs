//! One enrollment in force (`enrolled`) per patient and trial. The service checks it under
//! the ledger's write lock; the index makes a lost race a constraint violation (answered as
//! `CONFLICT`), never a second enrollment. (Invitations are unique per patient and trial
//! since the first schema.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A partial unique index: the same syntax on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_enrollments_enrolled_trial_patient \
                 ON enrollments (trial_id, pseudonym) WHERE status = 'enrolled'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX uq_enrollments_enrolled_trial_patient")
            .await?;
        Ok(())
    }
}
