//! One cohort query by a recruiter, sponsor or admin, as the audit trail keeps it.

use sea_orm::entity::prelude::*;

/// A row of `cohort_releases`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cohort_releases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub org_id: String,
    pub created_at: DateTimeUtc,
    /// Names the question and the index snapshot: a repeat has the same key.
    pub release_key: String,
    /// The canonical criteria (or, for an invitation round, what was invited).
    pub criteria: String,
    pub trial_id: Option<String>,
    /// `released`, `repeated` or `refused`.
    pub outcome: String,
    /// The zCDP budget spent, in millionths of ρ.
    pub cost_micro: i64,
    /// The released noisy numbers as JSON; null when refused.
    pub released: Option<String>,
    pub ledger_seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
