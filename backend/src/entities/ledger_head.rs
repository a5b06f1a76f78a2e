//! The single row that every append locks first, so appends never fork the chain.

use sea_orm::entity::prelude::*;

/// The row `id = 1` of `ledger_head`: the size, the Merkle frontier (JSON array of hex
/// hashes) and the last leaf hash; `appends` counts append transactions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub size: i64,
    pub frontier: String,
    pub last_leaf_hash: Option<String>,
    pub appends: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
