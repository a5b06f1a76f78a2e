//! A question about one field of a case-report record, and what came of it.

use sea_orm::entity::prelude::*;

/// A row of `data_queries`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_queries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub trial_id: String,
    /// The site that holds the record, and answers.
    pub site_org_id: String,
    pub submission_id: String,
    /// The field asked about.
    pub field: String,
    /// `open`, `answered` or `closed`.
    pub status: String,
    pub question: String,
    /// The record's version when the query was raised.
    pub record_version: i32,
    pub raised_by: String,
    pub raised_at: DateTimeUtc,
    /// The `query.raised` ledger entry.
    pub raised_seq: i64,
    pub answer: Option<String>,
    /// The record's version when the site answered (higher than `record_version` when the
    /// site corrected the record first).
    pub answered_version: Option<i32>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTimeUtc>,
    /// The `query.answered` ledger entry.
    pub answered_seq: Option<i64>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    /// The `query.closed` ledger entry.
    pub closed_seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
