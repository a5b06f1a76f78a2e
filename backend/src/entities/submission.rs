//! A case-report-form record; its data are versions, never overwritten.

use sea_orm::entity::prelude::*;

/// A row of `submissions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "submissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub enrollment_id: String,
    pub trial_id: String,
    pub site_org_id: String,
    pub form: String,
    pub visit: String,
    pub current_version: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
