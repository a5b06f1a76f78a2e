//! A signed checkpoint of the ledger at one size.

use sea_orm::entity::prelude::*;

/// A row of `checkpoints`: the signed note for the tree of `size` entries.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub size: i64,
    pub root_hash: String,
    pub timestamp_ms: i64,
    pub note: String,
    /// The signed-note verifier key that signed `note`; `NULL` on rows written before keys
    /// were recorded (signed by the node's key of the time, taken to be the current one).
    pub verifier_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
