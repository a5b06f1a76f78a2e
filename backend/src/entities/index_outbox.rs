//! One change that affects search, as the indexers read it (see `services::outbox`).

use sea_orm::entity::prelude::*;

/// A row of `index_outbox`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "index_outbox")]
pub struct Model {
    /// Its place in the log: commits happen in position order.
    #[sea_orm(primary_key)]
    pub position: i64,
    /// `profile` or `trial`.
    pub kind: String,
    /// The pseudonym or the trial id whose index document may have changed.
    pub key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
