//! The ethics board's decision on one protocol version.

use sea_orm::entity::prelude::*;

/// A row of `protocol_reviews`: at most one per (trial, version).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "protocol_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub trial_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    /// `approved`, `rejected` or `changes_requested`.
    pub decision: String,
    #[sea_orm(column_type = "Text")]
    pub comment: String,
    pub reviewer_user_id: String,
    pub reviewer_org_id: String,
    /// The account that signed the decision (its email), password re-entered.
    pub signed_by: String,
    /// The `protocol.reviewed` ledger entry.
    pub ledger_seq: i64,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
