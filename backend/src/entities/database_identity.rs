//! The database's identity: a random id stored once, named by every index watermark; and
//! how far the outbox has been pruned.

use sea_orm::entity::prelude::*;

/// The one row of `database_identity` (id 1).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "database_identity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub identity: String,
    pub created_at: DateTimeUtc,
    /// The last outbox position deleted (0: none).
    pub pruned_through: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
