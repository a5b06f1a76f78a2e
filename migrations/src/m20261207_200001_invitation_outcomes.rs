//! What a site recorded of each invitation: contacted, declined or screen-failed (`new`
//! until then), who recorded it, when, and the ledger entry that attests it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, string, string_null, timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            string(Invitations::Outcome).default("new").to_owned(),
            string_null(Invitations::OutcomeBy),
            timestamp_with_time_zone_null(Invitations::OutcomeAt),
            big_integer_null(Invitations::OutcomeSeq),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Invitations::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Invitations::OutcomeSeq,
            Invitations::OutcomeAt,
            Invitations::OutcomeBy,
            Invitations::Outcome,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Invitations::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Outcome,
    OutcomeBy,
    OutcomeAt,
    OutcomeSeq,
}
