//! A person who signs in: belongs to one organisation and has one role.

use sea_orm::entity::prelude::*;

/// A row of `users`. `password_hash` is an Argon2id PHC string, never a clear password;
/// an inactive user cannot sign in and their tokens are refused.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub org_id: String,
    pub role: String,
    pub created_at: DateTimeUtc,
    pub active: bool,
    /// The person's name as it appears on their electronic signatures and in audit trails.
    pub display_name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrgId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
