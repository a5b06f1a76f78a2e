//! One entry of a witness's mirror (witness database only).

use sea_orm::entity::prelude::*;

/// A row of `mirror_entry`: entry `seq` of `origin` as the log served it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mirror_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub origin: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The entry-bundle item: canonical entry bytes, or a redacted item (`VTLR` + leaf).
    pub item: Vec<u8>,
    /// Its leaf hash, lowercase hex.
    pub leaf_hash: String,
    /// The payload-bundle tag: 0 withheld (not mirrored), 1 erased, 2 held in `payload`.
    pub payload_state: i16,
    /// The canonical payload bytes, when held.
    pub payload: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
