//! A witness's state: per log, the latest checkpoint it cosigned; and the evidence it keeps
//! when a log presents a checkpoint that contradicts it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WitnessLog::Table)
                    .col(string(WitnessLog::Origin).primary_key())
                    .col(big_integer(WitnessLog::Size))
                    .col(string_len(WitnessLog::RootHash, 64))
                    .col(text(WitnessLog::Note))
                    .col(big_integer(WitnessLog::CosignedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WitnessEvidence::Table)
                    .col(big_pk_auto(WitnessEvidence::Id))
                    .col(string(WitnessEvidence::Origin))
                    .col(text(WitnessEvidence::Reason))
                    .col(big_integer(WitnessEvidence::CosignedSize))
                    .col(text(WitnessEvidence::CosignedNote))
                    .col(big_integer(WitnessEvidence::PresentedSize))
                    .col(text(WitnessEvidence::PresentedNote))
                    .col(big_integer(WitnessEvidence::DetectedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WitnessEvidence::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WitnessLog::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WitnessLog {
    Table,
    Origin,
    Size,
    RootHash,
    Note,
    CosignedAt,
}

#[derive(DeriveIden)]
enum WitnessEvidence {
    Table,
    Id,
    Origin,
    Reason,
    CosignedSize,
    CosignedNote,
    PresentedSize,
    PresentedNote,
    DetectedAt,
}
