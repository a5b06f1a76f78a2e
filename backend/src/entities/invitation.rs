//! An invitation of one patient to one trial, for the patient's site to act on.

use sea_orm::entity::prelude::*;

/// A row of `invitations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub trial_id: String,
    pub pseudonym: String,
    pub site_org_id: String,
    pub ledger_seq: i64,
    pub created_at: DateTimeUtc,
    /// What the site recorded: `new`, `contacted`, `declined` or `screen_failed`.
    pub outcome: String,
    /// Who recorded it (a user id).
    pub outcome_by: Option<String>,
    pub outcome_at: Option<DateTimeUtc>,
    /// The `invitation.updated` ledger entry that attests it.
    pub outcome_seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
