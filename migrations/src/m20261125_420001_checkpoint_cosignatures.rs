//! `checkpoint_cosignatures`: the witnesses' C2SP `cosignature/v1` signature lines on the log's
//! checkpoints, one row per checkpoint and witness key. Several `serve` processes may store
//! the same cosignature: the primary key makes that idempotent.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CheckpointCosignatures::Table)
                    .col(big_integer(CheckpointCosignatures::CheckpointSize))
                    .col(string(CheckpointCosignatures::WitnessKey))
                    .col(string(CheckpointCosignatures::WitnessName))
                    .col(big_integer(CheckpointCosignatures::TimestampSecs))
                    .col(text(CheckpointCosignatures::SignatureLine))
                    .primary_key(
                        Index::create()
                            .col(CheckpointCosignatures::CheckpointSize)
                            .col(CheckpointCosignatures::WitnessKey),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(CheckpointCosignatures::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CheckpointCosignatures {
    Table,
    CheckpointSize,
    WitnessKey,
    WitnessName,
    TimestampSecs,
    SignatureLine,
}
