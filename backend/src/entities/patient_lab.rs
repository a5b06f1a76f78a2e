//! The latest numeric result of one LOINC lab for a patient, with its year only.

use sea_orm::entity::prelude::*;

/// A row of `patient_labs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "patient_labs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pseudonym: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub value: f64,
    pub unit: String,
    pub year: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
