//! Cohorts: counts released through the privacy mechanism, the caller's privacy budget,
//! criteria checking (free: it counts nothing) and the audit trail of cohort queries.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use matcher::suppress::SuppressedCount;

use super::{ApiResult, parts};
use crate::domain::Role;
use crate::services::protocols::parse_criteria;
use crate::services::{cohort_audit, privacy, recruitment};

/// A count as recruiters may see it.
#[derive(SimpleObject)]
pub struct Count {
    /// Null when suppressed.
    count: Option<u64>,
    suppressed: bool,
    /// The number, or e.g. "fewer than 11".
    display: String,
}

impl From<SuppressedCount> for Count {
    fn from(c: SuppressedCount) -> Self {
        Self {
            count: c.count,
            suppressed: c.suppressed,
            display: c.display,
        }
    }
}

/// One funnel step.
#[derive(SimpleObject)]
pub struct FunnelStep {
    clause: String,
    remaining: Option<u64>,
    suppressed: bool,
    display: String,
}

/// One site's share of a cohort. Every site is listed, matched or not.
#[derive(SimpleObject)]
pub struct SiteCount {
    site_id: ID,
    site_name: String,
    count: Option<u64>,
    suppressed: bool,
    display: String,
}

/// A user's privacy budget for cohort counts over the rolling window.
#[derive(SimpleObject)]
pub struct PrivacyBudget {
    /// zCDP ρ allowed per window.
    limit: f64,
    /// ρ spent in the window.
    spent: f64,
    /// ρ left.
    remaining: f64,
    /// Length of the rolling window, in hours.
    window_hours: u64,
    /// When the oldest spending in the window stops counting.
    frees_at: Option<DateTime<Utc>>,
}

impl PrivacyBudget {
    fn new(budget: privacy::Budget, policy: &privacy::PrivacyPolicy) -> Self {
        Self {
            limit: budget.limit,
            spent: budget.spent,
            remaining: budget.remaining(),
            window_hours: policy.window.as_secs() / 3600,
            frees_at: budget.frees_at,
        }
    }
}

/// A cohort: counts, a funnel and per-site counts; never who. For recruiters, sponsors and
/// admins every number is noisy (deterministic for the same question about the same data);
/// a site counting its own patients gets exact numbers.
#[derive(SimpleObject)]
pub struct Cohort {
    /// The criteria counted, in canonical form.
    criteria: String,
    count: Option<u64>,
    suppressed: bool,
    display: String,
    funnel: Vec<FunnelStep>,
    sites: Vec<SiteCount>,
    /// Whether the numbers carry noise.
    approximate: bool,
    /// Half-width of the noise's 95 % interval (null when exact).
    margin95: Option<u64>,
    /// zCDP ρ this query spent: 0 when exact, or when the same question about the same data
    /// was answered before.
    privacy_cost: f64,
    /// The caller's budget after this query (null when exact).
    budget: Option<PrivacyBudget>,
}

impl Cohort {
    fn new(cohort: recruitment::Cohort, policy: &privacy::PrivacyPolicy) -> Self {
        let (approximate, margin95, privacy_cost, budget) = match cohort.accuracy {
            recruitment::Accuracy::Exact => (false, None, 0.0, None),
            recruitment::Accuracy::Noisy {
                margin95,
                cost,
                budget,
            } => (
                true,
                Some(margin95),
                cost,
                Some(PrivacyBudget::new(budget, policy)),
            ),
        };
        Self {
            criteria: cohort.criteria,
            count: cohort.total.count,
            suppressed: cohort.total.suppressed,
            display: cohort.total.display,
            funnel: cohort
                .funnel
                .into_iter()
                .map(|s| FunnelStep {
                    clause: s.clause,
                    remaining: s.remaining.count,
                    suppressed: s.remaining.suppressed,
                    display: s.remaining.display,
                })
                .collect(),
            sites: cohort
                .sites
                .into_iter()
                .map(|s| SiteCount {
                    site_id: s.site_id.into(),
                    site_name: s.site_name,
                    count: s.count.count,
                    suppressed: s.count.suppressed,
                    display: s.count.display,
                })
                .collect(),
            approximate,
            margin95,
            privacy_cost,
            budget,
        }
    }
}

/// Criteria that parse, in canonical form.
#[derive(SimpleObject)]
pub struct CriteriaCheck {
    /// The canonical text.
    canonical: String,
    /// The top-level clauses, in funnel order.
    clauses: Vec<String>,
}

/// One cohort query as the audit trail keeps it.
#[derive(SimpleObject)]
pub struct CohortRelease {
    id: ID,
    at: DateTime<Utc>,
    user_id: ID,
    /// The user's email, when the user still exists.
    user_email: Option<String>,
    org_id: ID,
    /// Canonical criteria, or the invitation round.
    criteria: String,
    trial_id: Option<ID>,
    /// `released`, `repeated` or `refused`.
    outcome: String,
    /// zCDP ρ spent.
    privacy_cost: f64,
    /// The noisy numbers shown, as JSON (null when refused).
    released: Option<String>,
    /// The `cohort.released` or `invitation.created` ledger entry.
    ledger_seq: Option<i64>,
}

impl From<cohort_audit::AuditedRelease> for CohortRelease {
    fn from(a: cohort_audit::AuditedRelease) -> Self {
        let row = a.row;
        Self {
            id: row.id.into(),
            at: row.created_at,
            user_id: row.user_id.into(),
            user_email: a.user_email,
            org_id: row.org_id.into(),
            criteria: row.criteria,
            trial_id: row.trial_id.map(ID::from),
            outcome: row.outcome,
            privacy_cost: row.cost_micro as f64 / 1_000_000.0,
            released: row.released,
            ledger_seq: row.ledger_seq,
        }
    }
}

/// Cohort queries.
#[derive(Default)]
pub struct CohortQuery;

#[Object]
impl CohortQuery {
    /// How many consenting patients fit `criteria` (or the trial's criteria when `criteria`
    /// is empty), with the funnel and per-site counts. Recruiters, sponsors and admins get
    /// noisy counts paid from their privacy budget; a site gets exact counts of its own
    /// patients.
    #[graphql(complexity = "super::cost::COHORT + child_complexity")]
    async fn cohort(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] criteria: String,
        trial_id: Option<ID>,
    ) -> ApiResult<Cohort> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let cohort = recruitment::cohort(
            state,
            who,
            &criteria,
            trial_id.as_ref().map(|id| id.as_str()),
        )
        .await?;
        Ok(Cohort::new(cohort, &state.privacy))
    }

    /// Checks criteria without counting anyone (free): the canonical form, or a
    /// `BAD_CRITERIA` error with the line and column.
    async fn check_criteria(
        &self,
        ctx: &Context<'_>,
        criteria: String,
    ) -> ApiResult<CriteriaCheck> {
        let (_, caller) = parts(ctx);
        caller.principal()?;
        let expr = parse_criteria(&criteria)?.ok_or_else(|| {
            crate::error::AppError::BadCriteria("the criteria are empty".to_string())
        })?;
        Ok(CriteriaCheck {
            canonical: expr.to_string(),
            clauses: expr.conjuncts().iter().map(ToString::to_string).collect(),
        })
    }

    /// The caller's privacy budget for cohort counts.
    async fn privacy_budget(&self, ctx: &Context<'_>) -> ApiResult<PrivacyBudget> {
        let (state, caller) = parts(ctx);
        let who = caller.require(&[Role::Recruiter, Role::Sponsor, Role::Admin])?;
        let budget = privacy::spent(&state.db, &state.privacy, &who.user_id).await?;
        Ok(PrivacyBudget::new(budget, &state.privacy))
    }

    /// The audit trail of cohort queries, newest first: admins see everyone's, an ethics
    /// board everyone's except those about trials it may not read, recruiters and sponsors
    /// their own. `userId` narrows it to one user.
    async fn cohort_releases(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        #[graphql(default = 100)] first: u64,
        #[graphql(default)] offset: u64,
    ) -> ApiResult<Vec<CohortRelease>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let page = cohort_audit::releases(
            &state.db,
            who,
            user_id.as_ref().map(|id| id.as_str()),
            first,
            offset,
        )
        .await?;
        Ok(page.into_iter().map(CohortRelease::from).collect())
    }
}
