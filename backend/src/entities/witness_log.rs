//! A witness node's record of one log (witness database only, see `WitnessMigrator`).

use sea_orm::entity::prelude::*;

/// A row of `witness_log`: the latest checkpoint this witness cosigned for `origin`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "witness_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub origin: String,
    pub size: i64,
    /// Root hash, lowercase hex.
    pub root_hash: String,
    /// The checkpoint note as the log signed it, with this witness's cosignature appended.
    #[sea_orm(column_type = "Text")]
    pub note: String,
    /// When it was cosigned, POSIX seconds (the cosignature's timestamp).
    pub cosigned_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
