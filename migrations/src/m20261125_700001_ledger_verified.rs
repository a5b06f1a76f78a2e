//! The verified watermark: the size and root of the ledger as of the last successful
//! verification, so that the next one checks only the entries appended since (one row).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LedgerVerified::Table)
                    .col(integer(LedgerVerified::Id).primary_key())
                    .col(big_integer(LedgerVerified::Size))
                    .col(string(LedgerVerified::RootHash))
                    .col(big_integer(LedgerVerified::VerifiedAtMs))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LedgerVerified::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LedgerVerified {
    Table,
    Id,
    Size,
    RootHash,
    VerifiedAtMs,
}
