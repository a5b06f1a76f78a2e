//! An anonymised patient profile: a pseudonym, never an identifier.

use sea_orm::entity::prelude::*;

/// A row of `patients`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pseudonym: String,
    pub site_org_id: String,
    /// Whole years, 90 and over as 90.
    pub age: i16,
    pub sex: String,
    /// First three ZIP digits, 000 for sparsely populated areas.
    pub zip3: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
