//! A coded condition, medication, procedure, or a condition's display term.

use sea_orm::entity::prelude::*;

/// A row of `patient_codes`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "patient_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pseudonym: String,
    #[sea_orm(primary_key, auto_increment = false)]
    /// condition, medication, procedure or term.
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
