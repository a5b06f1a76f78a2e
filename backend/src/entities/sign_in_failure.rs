//! Failed sign-ins counted per email (known or not), for lockout across processes.

use sea_orm::entity::prelude::*;

/// A row of `sign_in_failures`, keyed by the SHA-256 of the normalised email (hex), so the
/// table never holds the emails that strangers tried.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub email_hash: String,
    pub failures: i32,
    pub window_started_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
