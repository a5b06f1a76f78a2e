//! Database migrations for Veritrial, run on start by `veritrial serve` and on demand by
//! `veritrial migrate`. Every migration works on SQLite and on PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_organizations_users;
mod m20261124_000002_ledger;
mod m20261124_000003_trials_patients;
mod m20261125_000001_sign_in_security;
mod m20261125_000002_cohort_privacy;
mod m20261125_000003_one_enrollment;
mod m20261125_100001_checkpoint_verifier_key;
mod m20261125_300001_index_outbox;
mod m20261125_400001_outbox_pruning;
mod m20261125_420001_checkpoint_cosignatures;
mod m20261125_700001_ledger_verified;
mod m20261207_000001_protocol_reviews;
mod m20261207_100001_signatures;
mod m20261207_200001_invitation_outcomes;
mod m20261207_300001_data_queries;
mod m20261207_300002_submission_export_order;
pub mod witness;

pub use witness::WitnessMigrator;

/// The ordered list of Veritrial's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_organizations_users::Migration),
            Box::new(m20261124_000002_ledger::Migration),
            Box::new(m20261124_000003_trials_patients::Migration),
            Box::new(m20261125_000001_sign_in_security::Migration),
            Box::new(m20261125_000002_cohort_privacy::Migration),
            Box::new(m20261125_000003_one_enrollment::Migration),
            Box::new(m20261125_100001_checkpoint_verifier_key::Migration),
            Box::new(m20261125_300001_index_outbox::Migration),
            Box::new(m20261125_400001_outbox_pruning::Migration),
            Box::new(m20261125_420001_checkpoint_cosignatures::Migration),
            Box::new(m20261125_700001_ledger_verified::Migration),
            Box::new(m20261207_000001_protocol_reviews::Migration),
            Box::new(m20261207_100001_signatures::Migration),
            Box::new(m20261207_200001_invitation_outcomes::Migration),
            Box::new(m20261207_300001_data_queries::Migration),
            Box::new(m20261207_300002_submission_export_order::Migration),
        ]
    }
}
