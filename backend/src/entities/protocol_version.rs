//! One version of a trial's protocol; the document itself is the ledger payload `ledger_seq`.

use sea_orm::entity::prelude::*;

/// A row of `protocol_versions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "protocol_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub trial_id: String,
    pub version: i32,
    pub ledger_seq: i64,
    pub document_hash: String,
    pub reason: Option<String>,
    /// JSON array of flags for ethics review.
    pub flags: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
