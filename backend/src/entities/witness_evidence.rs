//! Evidence a witness node keeps against a log (witness database only).

use sea_orm::entity::prelude::*;

/// A row of `witness_evidence`: two checkpoints signed by one log that contradict each other,
/// the one this witness had cosigned and the one presented afterwards.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "witness_evidence")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub origin: String,
    /// Why they contradict (same size and another root, or no valid consistency proof).
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub cosigned_size: i64,
    #[sea_orm(column_type = "Text")]
    pub cosigned_note: String,
    pub presented_size: i64,
    #[sea_orm(column_type = "Text")]
    pub presented_note: String,
    /// When it was detected, POSIX seconds.
    pub detected_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
