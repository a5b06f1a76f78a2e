//! The canonical payload an entry attests. It may be erased; the entry still proves it.

use sea_orm::entity::prelude::*;

/// A row of `ledger_payloads`: canonical JSON text whose SHA-256 the entry `seq` carries.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_payloads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub body: Option<String>,
    pub erased: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
