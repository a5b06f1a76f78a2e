//! `data_queries`: a sponsor's question about one field of a site's case-report record, the
//! site's answer, and its closing, each step with who, when and its ledger entry.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataQueries::Table)
                    .col(string(DataQueries::Id).primary_key())
                    .col(string(DataQueries::TrialId))
                    .col(string(DataQueries::SiteOrgId))
                    .col(string(DataQueries::SubmissionId))
                    .col(string(DataQueries::Field))
                    .col(string(DataQueries::Status))
                    .col(text(DataQueries::Question))
                    .col(integer(DataQueries::RecordVersion))
                    .col(string(DataQueries::RaisedBy))
                    .col(timestamp_with_time_zone(DataQueries::RaisedAt))
                    .col(big_integer(DataQueries::RaisedSeq))
                    .col(text_null(DataQueries::Answer))
                    .col(integer_null(DataQueries::AnsweredVersion))
                    .col(string_null(DataQueries::AnsweredBy))
                    .col(timestamp_with_time_zone_null(DataQueries::AnsweredAt))
                    .col(big_integer_null(DataQueries::AnsweredSeq))
                    .col(string_null(DataQueries::ClosedBy))
                    .col(timestamp_with_time_zone_null(DataQueries::ClosedAt))
                    .col(big_integer_null(DataQueries::ClosedSeq))
                    .to_owned(),
            )
            .await?;
        for (name, first) in [
            ("ix_data_queries_site_status", DataQueries::SiteOrgId),
            ("ix_data_queries_trial_status", DataQueries::TrialId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DataQueries::Table)
                        .col(first)
                        .col(DataQueries::Status)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DataQueries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DataQueries {
    Table,
    Id,
    TrialId,
    SiteOrgId,
    SubmissionId,
    Field,
    Status,
    Question,
    RecordVersion,
    RaisedBy,
    RaisedAt,
    RaisedSeq,
    Answer,
    AnsweredVersion,
    AnsweredBy,
    AnsweredAt,
    AnsweredSeq,
    ClosedBy,
    ClosedAt,
    ClosedSeq,
}
