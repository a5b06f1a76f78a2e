//! Trials and their protocol versions, anonymised patient profiles, consents, invitations,
//! enrollments and trial data. Attested documents (protocols, consents, case-report data)
//! live in `ledger_payloads`, referenced here by their ledger sequence number.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Attachments::Table.into_iden(),
            SubmissionVersions::Table.into_iden(),
            Submissions::Table.into_iden(),
            Enrollments::Table.into_iden(),
            Invitations::Table.into_iden(),
            Consents::Table.into_iden(),
            PatientLabs::Table.into_iden(),
            PatientCodes::Table.into_iden(),
            Patients::Table.into_iden(),
            ProtocolVersions::Table.into_iden(),
            Trials::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Trials::Table)
            .col(string(Trials::Id).primary_key())
            .col(string(Trials::SponsorOrgId))
            .col(string(Trials::Title))
            .col(string(Trials::Status))
            .col(string_null(Trials::NctId).unique_key())
            .col(integer(Trials::CurrentVersion))
            .col(timestamp_with_time_zone(Trials::CreatedAt))
            .col(timestamp_with_time_zone(Trials::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(ProtocolVersions::Table)
            .col(string(ProtocolVersions::Id).primary_key())
            .col(string(ProtocolVersions::TrialId))
            .col(integer(ProtocolVersions::Version))
            .col(big_integer(ProtocolVersions::LedgerSeq))
            .col(string(ProtocolVersions::DocumentHash))
            .col(text_null(ProtocolVersions::Reason))
            .col(text(ProtocolVersions::Flags))
            .col(string(ProtocolVersions::CreatedBy))
            .col(timestamp_with_time_zone(ProtocolVersions::CreatedAt))
            .to_owned(),
        Table::create()
            .table(Patients::Table)
            .col(string(Patients::Pseudonym).primary_key())
            .col(string(Patients::SiteOrgId))
            .col(small_integer(Patients::Age))
            .col(string(Patients::Sex))
            .col(string(Patients::Zip3))
            .col(timestamp_with_time_zone(Patients::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(PatientCodes::Table)
            .col(string(PatientCodes::Pseudonym))
            .col(string(PatientCodes::Kind))
            .col(string(PatientCodes::Code))
            .primary_key(
                Index::create()
                    .col(PatientCodes::Pseudonym)
                    .col(PatientCodes::Kind)
                    .col(PatientCodes::Code),
            )
            .to_owned(),
        Table::create()
            .table(PatientLabs::Table)
            .col(string(PatientLabs::Pseudonym))
            .col(string(PatientLabs::Code))
            .col(double(PatientLabs::Value))
            .col(string(PatientLabs::Unit))
            .col(integer(PatientLabs::Year))
            .primary_key(
                Index::create()
                    .col(PatientLabs::Pseudonym)
                    .col(PatientLabs::Code),
            )
            .to_owned(),
        Table::create()
            .table(Consents::Table)
            .col(string(Consents::Id).primary_key())
            .col(string(Consents::Pseudonym))
            .col(string(Consents::Scope))
            .col(string(Consents::TrialId).default(""))
            .col(boolean(Consents::Granted))
            .col(big_integer(Consents::LedgerSeq))
            .col(string_null(Consents::Salt))
            .col(string(Consents::RecordedBy))
            .col(timestamp_with_time_zone(Consents::RecordedAt))
            .to_owned(),
        Table::create()
            .table(Invitations::Table)
            .col(string(Invitations::Id).primary_key())
            .col(string(Invitations::TrialId))
            .col(string(Invitations::Pseudonym))
            .col(string(Invitations::SiteOrgId))
            .col(big_integer(Invitations::LedgerSeq))
            .col(timestamp_with_time_zone(Invitations::CreatedAt))
            .to_owned(),
        Table::create()
            .table(Enrollments::Table)
            .col(string(Enrollments::Id).primary_key())
            .col(string(Enrollments::TrialId))
            .col(string(Enrollments::Pseudonym))
            .col(string(Enrollments::SiteOrgId))
            .col(integer(Enrollments::ProtocolVersion))
            .col(string(Enrollments::Status))
            .col(big_integer(Enrollments::LedgerSeq))
            .col(big_integer_null(Enrollments::WithdrawnLedgerSeq))
            .col(text_null(Enrollments::WithdrawReason))
            .col(timestamp_with_time_zone(Enrollments::CreatedAt))
            .to_owned(),
        Table::create()
            .table(Submissions::Table)
            .col(string(Submissions::Id).primary_key())
            .col(string(Submissions::EnrollmentId))
            .col(string(Submissions::TrialId))
            .col(string(Submissions::SiteOrgId))
            .col(string(Submissions::Form))
            .col(string(Submissions::Visit))
            .col(integer(Submissions::CurrentVersion))
            .col(timestamp_with_time_zone(Submissions::CreatedAt))
            .to_owned(),
        Table::create()
            .table(SubmissionVersions::Table)
            .col(string(SubmissionVersions::Id).primary_key())
            .col(string(SubmissionVersions::SubmissionId))
            .col(integer(SubmissionVersions::Version))
            .col(big_integer(SubmissionVersions::LedgerSeq))
            .col(string(SubmissionVersions::ContentHash))
            .col(text_null(SubmissionVersions::Reason))
            .col(string(SubmissionVersions::CreatedBy))
            .col(timestamp_with_time_zone(SubmissionVersions::CreatedAt))
            .to_owned(),
        Table::create()
            .table(Attachments::Table)
            .col(string(Attachments::Id).primary_key())
            .col(string(Attachments::SubmissionId))
            .col(string(Attachments::Sha256))
            .col(big_integer(Attachments::SizeBytes))
            .col(string(Attachments::FileName))
            .col(string(Attachments::ContentType))
            .col(big_integer(Attachments::LedgerSeq))
            .col(string(Attachments::CreatedBy))
            .col(timestamp_with_time_zone(Attachments::CreatedAt))
            .to_owned(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("uq_protocol_versions_trial_version")
            .table(ProtocolVersions::Table)
            .col(ProtocolVersions::TrialId)
            .col(ProtocolVersions::Version)
            .unique()
            .to_owned(),
        Index::create()
            .name("idx_patients_site")
            .table(Patients::Table)
            .col(Patients::SiteOrgId)
            .to_owned(),
        Index::create()
            .name("idx_patients_age_sex")
            .table(Patients::Table)
            .col(Patients::Age)
            .col(Patients::Sex)
            .to_owned(),
        Index::create()
            .name("idx_patient_codes_code")
            .table(PatientCodes::Table)
            .col(PatientCodes::Kind)
            .col(PatientCodes::Code)
            .col(PatientCodes::Pseudonym)
            .to_owned(),
        Index::create()
            .name("idx_patient_labs_code_value")
            .table(PatientLabs::Table)
            .col(PatientLabs::Code)
            .col(PatientLabs::Value)
            .to_owned(),
        Index::create()
            .name("idx_consents_subject")
            .table(Consents::Table)
            .col(Consents::Pseudonym)
            .col(Consents::Scope)
            .col(Consents::TrialId)
            .col(Consents::LedgerSeq)
            .to_owned(),
        Index::create()
            .name("uq_invitations_trial_patient")
            .table(Invitations::Table)
            .col(Invitations::TrialId)
            .col(Invitations::Pseudonym)
            .unique()
            .to_owned(),
        Index::create()
            .name("idx_enrollments_trial")
            .table(Enrollments::Table)
            .col(Enrollments::TrialId)
            .col(Enrollments::Pseudonym)
            .to_owned(),
        Index::create()
            .name("idx_submissions_enrollment")
            .table(Submissions::Table)
            .col(Submissions::EnrollmentId)
            .to_owned(),
        Index::create()
            .name("uq_submission_versions")
            .table(SubmissionVersions::Table)
            .col(SubmissionVersions::SubmissionId)
            .col(SubmissionVersions::Version)
            .unique()
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
enum Trials {
    Table,
    Id,
    SponsorOrgId,
    Title,
    Status,
    NctId,
    CurrentVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProtocolVersions {
    Table,
    Id,
    TrialId,
    Version,
    LedgerSeq,
    DocumentHash,
    Reason,
    Flags,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Patients {
    Table,
    Pseudonym,
    SiteOrgId,
    Age,
    Sex,
    Zip3,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PatientCodes {
    Table,
    Pseudonym,
    Kind,
    Code,
}

#[derive(DeriveIden)]
enum PatientLabs {
    Table,
    Pseudonym,
    Code,
    Value,
    Unit,
    Year,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    Pseudonym,
    Scope,
    TrialId,
    Granted,
    LedgerSeq,
    Salt,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    TrialId,
    Pseudonym,
    SiteOrgId,
    LedgerSeq,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    TrialId,
    Pseudonym,
    SiteOrgId,
    ProtocolVersion,
    Status,
    LedgerSeq,
    WithdrawnLedgerSeq,
    WithdrawReason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    Id,
    EnrollmentId,
    TrialId,
    SiteOrgId,
    Form,
    Visit,
    CurrentVersion,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SubmissionVersions {
    Table,
    Id,
    SubmissionId,
    Version,
    LedgerSeq,
    ContentHash,
    Reason,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    SubmissionId,
    Sha256,
    SizeBytes,
    FileName,
    ContentType,
    LedgerSeq,
    CreatedBy,
    CreatedAt,
}
