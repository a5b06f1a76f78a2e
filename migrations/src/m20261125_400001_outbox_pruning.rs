//! Outbox pruning: `database_identity.pruned_through`, the last outbox position deleted.
//! An index whose watermark is below it can no longer catch up from the outbox and is rebuilt.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DatabaseIdentity::Table)
                    .add_column(big_integer(DatabaseIdentity::PrunedThrough).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DatabaseIdentity::Table)
                    .drop_column(DatabaseIdentity::PrunedThrough)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum DatabaseIdentity {
    Table,
    PrunedThrough,
}
