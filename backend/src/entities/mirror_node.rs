//! A tree node of a witness's mirror, at a level that hash tiles above level 0 serve.

use sea_orm::entity::prelude::*;

/// A row of `mirror_node`: the perfect subtree (`level`, `idx`) of `origin`, `level` a
/// positive multiple of 8 (level 0 is each entry's leaf hash).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mirror_node")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub origin: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: i16,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idx: i64,
    /// Lowercase hex.
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
