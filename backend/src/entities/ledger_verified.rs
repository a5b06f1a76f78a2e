//! The verified watermark: how far the ledger was verified, and the root it had there.

use sea_orm::entity::prelude::*;

/// The one row of `ledger_verified` (id 1): entries `[0, size)` verified, with Merkle root
/// `root_hash` (lowercase hex), at `verified_at_ms` (Unix ms).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_verified")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub size: i64,
    pub root_hash: String,
    pub verified_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
