//! An index on submissions by (trial, enrollment, id): the order exports read a trial's
//! records in, a page at a time, so each page is one index range scan however far along.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_submissions_trial_enrollment_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Submissions::Table)
                    .col(Submissions::TrialId)
                    .col(Submissions::EnrollmentId)
                    .col(Submissions::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(Submissions::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    TrialId,
    EnrollmentId,
    Id,
}
