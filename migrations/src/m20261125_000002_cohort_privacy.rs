//! The audit trail of cohort releases: every cohort query by a recruiter, sponsor or admin
//! (who, when, the canonical criteria, the released noisy numbers and the privacy budget it
//! spent), from which each user's remaining budget is computed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CohortReleases::Table)
                    .col(string(CohortReleases::Id).primary_key())
                    .col(string(CohortReleases::UserId))
                    .col(string(CohortReleases::OrgId))
                    .col(timestamp_with_time_zone(CohortReleases::CreatedAt))
                    .col(string(CohortReleases::ReleaseKey))
                    .col(text(CohortReleases::Criteria))
                    .col(string_null(CohortReleases::TrialId))
                    .col(string(CohortReleases::Outcome))
                    .col(big_integer(CohortReleases::CostMicro))
                    .col(text_null(CohortReleases::Released))
                    .col(big_integer_null(CohortReleases::LedgerSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cohort_releases_user_time")
                    .table(CohortReleases::Table)
                    .col(CohortReleases::UserId)
                    .col(CohortReleases::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cohort_releases_user_key")
                    .table(CohortReleases::Table)
                    .col(CohortReleases::UserId)
                    .col(CohortReleases::ReleaseKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CohortReleases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CohortReleases {
    Table,
    Id,
    UserId,
    OrgId,
    CreatedAt,
    ReleaseKey,
    Criteria,
    TrialId,
    Outcome,
    CostMicro,
    Released,
    LedgerSeq,
}
