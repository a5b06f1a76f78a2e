//! One ledger entry as stored: every field of `ledger::Entry`, plus its leaf hash.

use sea_orm::entity::prelude::*;

/// A row of `ledger_entries`. Hashes are lowercase hex; `subjects` is a JSON object.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub kind: String,
    pub timestamp_ms: i64,
    pub actor_user: String,
    pub actor_org: String,
    pub subjects: String,
    /// The `trial` subject, copied out for audit-trail queries.
    pub trial_id: Option<String>,
    pub payload_hash: String,
    pub prev_hash: Option<String>,
    pub leaf_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
