//! A participant enrolled in a trial under one protocol version.

use sea_orm::entity::prelude::*;

/// A row of `enrollments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub trial_id: String,
    pub pseudonym: String,
    pub site_org_id: String,
    pub protocol_version: i32,
    /// enrolled or withdrawn.
    pub status: String,
    pub ledger_seq: i64,
    pub withdrawn_ledger_seq: Option<i64>,
    pub withdraw_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
