//! Electronic signatures (21 CFR Part 11): users get a display name (the signer's printed
//! name, §11.50), and consents record the consent-form version and the date the patient
//! signed. The signatures themselves are ledger entries (`record.signed`), not rows.
//! Existing users are named after their email's local part until an admin renames them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{date_null, string_null, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(text(Users::DisplayName).default(""))
                    .to_owned(),
            )
            .await?;
        let at = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => "strpos(email, '@')",
            _ => "instr(email, '@')",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE users SET display_name = substr(email, 1, {at} - 1)"
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Consents::Table)
                    .add_column(string_null(Consents::ConsentFormVersion))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Consents::Table)
                    .add_column(date_null(Consents::PatientSignedOn))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Consents::PatientSignedOn, Consents::ConsentFormVersion] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Consents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::DisplayName)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    DisplayName,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    ConsentFormVersion,
    PatientSignedOn,
}
