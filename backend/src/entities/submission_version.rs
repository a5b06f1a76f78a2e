//! One version of a submission's data; the data are the ledger payload `ledger_seq`.

use sea_orm::entity::prelude::*;

/// A row of `submission_versions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "submission_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub submission_id: String,
    pub version: i32,
    pub ledger_seq: i64,
    pub content_hash: String,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
