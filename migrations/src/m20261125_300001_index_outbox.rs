//! The search index as a projection of the database: `index_outbox`, the log of changes that
//! affect search (a profile or its consent, a trial or its protocol), written in the same
//! transaction as the change; and `database_identity`, a random id stored once, which every
//! index's watermark names so that an index pointed at another database is rebuilt.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IndexOutbox::Table)
                    .col(big_pk_auto(IndexOutbox::Position))
                    .col(string_len(IndexOutbox::Kind, 16))
                    .col(string(IndexOutbox::Key))
                    .col(timestamp_with_time_zone(IndexOutbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DatabaseIdentity::Table)
                    .col(integer(DatabaseIdentity::Id).primary_key())
                    .col(string(DatabaseIdentity::Identity))
                    .col(timestamp_with_time_zone(DatabaseIdentity::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DatabaseIdentity::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(IndexOutbox::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IndexOutbox {
    Table,
    Position,
    Kind,
    Key,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DatabaseIdentity {
    Table,
    Id,
    Identity,
    CreatedAt,
}
