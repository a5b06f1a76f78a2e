//! `protocol_reviews`: the ethics board's decision on each protocol version (approved,
//! rejected, or changes requested), with its comment, its signer and its ledger entry. At most one decision
//! per version (the primary key): a version the board decided stays decided, and a changed
//! protocol is a new version, reviewed anew.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProtocolReviews::Table)
                    .col(string(ProtocolReviews::TrialId))
                    .col(integer(ProtocolReviews::Version))
                    .col(string(ProtocolReviews::Decision))
                    .col(text(ProtocolReviews::Comment))
                    .col(string(ProtocolReviews::ReviewerUserId))
                    .col(string(ProtocolReviews::ReviewerOrgId))
                    .col(string(ProtocolReviews::SignedBy))
                    .col(big_integer(ProtocolReviews::LedgerSeq))
                    .col(timestamp_with_time_zone(ProtocolReviews::DecidedAt))
                    .primary_key(
                        Index::create()
                            .col(ProtocolReviews::TrialId)
                            .col(ProtocolReviews::Version),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProtocolReviews::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ProtocolReviews {
    Table,
    TrialId,
    Version,
    Decision,
    Comment,
    ReviewerUserId,
    ReviewerOrgId,
    SignedBy,
    LedgerSeq,
    DecidedAt,
}
