//! Each checkpoint names the verifier key that signed it, so that any process (and any key,
//! current or retired) can verify it. Rows from before are NULL: signed by the current key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Checkpoints::Table)
                    .add_column(text_null(Checkpoints::VerifierKey))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Checkpoints::Table)
                    .drop_column(Checkpoints::VerifierKey)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Checkpoints {
    Table,
    VerifierKey,
}
