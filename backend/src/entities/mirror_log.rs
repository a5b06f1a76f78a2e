//! A witness's verified mirror of one log (witness database only, see `WitnessMigrator`).

use sea_orm::entity::prelude::*;

/// A row of `mirror_log`: how much of `origin` this witness holds, verified against `note`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mirror_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub origin: String,
    /// Entries held (all verified).
    pub size: i64,
    /// Their Merkle root, lowercase hex.
    pub root_hash: String,
    /// The tree's frontier (JSON array of hex hashes), to continue from.
    #[sea_orm(column_type = "Text")]
    pub frontier: String,
    /// The leaf hash of the last entry held.
    pub last_leaf_hash: Option<String>,
    /// The log's signed checkpoint of exactly these entries.
    #[sea_orm(column_type = "Text")]
    pub note: String,
    /// When the mirror last grew, Unix ms.
    pub updated_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
