//! One consent event (grant or withdrawal); the latest per subject is in force.

use sea_orm::entity::prelude::*;

/// A row of `consents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub pseudonym: String,
    pub scope: String,
    /// Empty for consents not tied to a trial.
    pub trial_id: String,
    pub granted: bool,
    pub ledger_seq: i64,
    /// Salt of the ledger's commitment to the pseudonym (hex); erasable.
    pub salt: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
    /// The version of the consent form the patient signed (grants recorded since signatures).
    pub consent_form_version: Option<String>,
    /// The date the patient signed the form (grants recorded since signatures).
    pub patient_signed_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
