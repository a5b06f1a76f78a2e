//! Per-user privacy budgets over a rolling window, kept in `cohort_releases` so that every
//! process on one database charges the same budget.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::PrivacyPolicy;
use crate::auth::Principal;
use crate::entities::cohort_release;
use crate::error::AppResult;

/// Millionths of ρ: budgets are summed as integers.
const MICRO: f64 = 1_000_000.0;

/// A user's budget in the window ending now.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// ρ allowed per window.
    pub limit: f64,
    /// ρ spent in the window.
    pub spent: f64,
    /// When the oldest spending in the window stops counting.
    pub frees_at: Option<DateTime<Utc>>,
}

impl Budget {
    /// ρ still available.
    pub fn remaining(&self) -> f64 {
        (self.limit - self.spent).max(0.0)
    }
}

/// What charging a release did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Charge {
    /// A new release, paid with `cost`.
    Released {
        /// ρ spent.
        cost: f64,
    },
    /// The user was already given this very release: it costs nothing again.
    Repeated,
    /// The budget cannot pay `cost`; nothing is released.
    Refused {
        /// ρ the release would have cost.
        cost: f64,
    },
}

impl Charge {
    fn outcome(self) -> &'static str {
        match self {
            Charge::Released { .. } => "released",
            Charge::Repeated => "repeated",
            Charge::Refused { .. } => "refused",
        }
    }

    fn cost_micro(self) -> i64 {
        match self {
            Charge::Released { cost } => (cost * MICRO).ceil() as i64,
            Charge::Repeated | Charge::Refused { .. } => 0,
        }
    }
}

/// `user_id`'s budget in the window ending now.
pub async fn spent(
    db: &impl ConnectionTrait,
    policy: &PrivacyPolicy,
    user_id: &str,
) -> AppResult<Budget> {
    let since = Utc::now() - chrono::Duration::from_std(policy.window).unwrap_or_default();
    let rows = cohort_release::Entity::find()
        .filter(cohort_release::Column::UserId.eq(user_id))
        .filter(cohort_release::Column::CreatedAt.gt(since))
        .filter(cohort_release::Column::CostMicro.gt(0))
        .order_by_asc(cohort_release::Column::CreatedAt)
        .all(db)
        .await?;
    let micro: i64 = rows.iter().map(|r| r.cost_micro).sum();
    Ok(Budget {
        limit: policy.budget,
        spent: micro as f64 / MICRO,
        frees_at: rows
            .first()
            .map(|r| r.created_at + chrono::Duration::from_std(policy.window).unwrap_or_default()),
    })
}

/// Decides whether `who` may be given the release `key` costing `cost`. Call it inside the
/// ledger write transaction: that serialises every charge, so concurrent queries of one
/// user can never overspend.
pub async fn charge(
    txn: &impl ConnectionTrait,
    policy: &PrivacyPolicy,
    who: &Principal,
    key: &str,
    cost: f64,
) -> AppResult<Charge> {
    let given = cohort_release::Entity::find()
        .filter(cohort_release::Column::UserId.eq(&who.user_id))
        .filter(cohort_release::Column::ReleaseKey.eq(key))
        .filter(cohort_release::Column::Outcome.ne("refused"))
        .one(txn)
        .await?;
    if given.is_some() {
        return Ok(Charge::Repeated);
    }
    let budget = spent(txn, policy, &who.user_id).await?;
    // Compare in micro-units, as stored, so that rounding can never let a release through.
    let needed = Charge::Released { cost }.cost_micro();
    let limit = (policy.budget * MICRO).floor() as i64;
    let used = (budget.spent * MICRO).round() as i64;
    Ok(if used + needed <= limit {
        Charge::Released { cost }
    } else {
        Charge::Refused { cost }
    })
}

/// What the audit trail records of one cohort query.
pub struct Record<'a> {
    /// The release's key.
    pub key: &'a str,
    /// Canonical criteria, or what an invitation round invited.
    pub criteria: &'a str,
    /// The trial, when the query named one.
    pub trial_id: Option<&'a str>,
    /// The charge's outcome.
    pub charge: Charge,
    /// The numbers to release, as JSON; not kept when the charge was refused.
    pub released: String,
    /// The ledger entry that attests the release, if any.
    pub ledger_seq: Option<i64>,
}

/// Writes the audit row of one cohort query (released, repeated or refused).
pub async fn record(
    txn: &impl ConnectionTrait,
    who: &Principal,
    record: Record<'_>,
) -> AppResult<()> {
    cohort_release::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        user_id: Set(who.user_id.clone()),
        org_id: Set(who.org_id.clone()),
        created_at: Set(Utc::now()),
        release_key: Set(record.key.to_string()),
        criteria: Set(record.criteria.to_string()),
        trial_id: Set(record.trial_id.map(str::to_string)),
        outcome: Set(record.charge.outcome().to_string()),
        cost_micro: Set(record.charge.cost_micro()),
        released: Set((!matches!(record.charge, Charge::Refused { .. })).then_some(record.released)),
        ledger_seq: Set(record.ledger_seq),
    }
    .insert(txn)
    .await?;
    Ok(())
}
