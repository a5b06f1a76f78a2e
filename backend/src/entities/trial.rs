//! A trial: its sponsor, status and current protocol version.

use sea_orm::entity::prelude::*;

/// A row of `trials`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "trials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub sponsor_org_id: String,
    pub title: String,
    /// draft, recruiting or closed.
    pub status: String,
    pub nct_id: Option<String>,
    pub current_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
