//! Recruitment: cohort counts and funnels released through the privacy mechanism, cohort
//! invitations, and, for a patient's own site, which criteria they meet and which trials
//! fit them.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use ledger::EntryKind;
use matcher::criteria::Expr;
use matcher::eval::{Explanation, explain, matches};
use matcher::suppress::SuppressedCount;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::ledger::{Actor, NewEntry, Work, seq_i64};
use super::matching::index_error;
use super::patients::{self, own_profile};
use super::privacy::{self, PrivacyPolicy};
use super::protocols::{self, TrialView, parse_criteria};
use crate::auth::Principal;
use crate::domain::{ContactOutcome, OrgKind, Role, TrialStatus};
use crate::entities::{invitation, organization};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// One funnel step: the clause added and what remains.
pub struct FunnelStep {
    pub clause: String,
    pub remaining: SuppressedCount,
}

/// One site's share of a cohort.
pub struct SiteCount {
    pub site_id: String,
    pub site_name: String,
    pub count: SuppressedCount,
}

/// How a cohort's numbers were made.
pub enum Accuracy {
    /// Exact counts: a site counting its own patients.
    Exact,
    /// Noisy counts from the privacy mechanism.
    Noisy {
        /// Half-width of the noise's 95 % interval.
        margin95: u64,
        /// ρ this request spent (0 for a repeat).
        cost: f64,
        /// The caller's budget after this request.
        budget: privacy::Budget,
    },
}

/// A cohort: suppressed (and, for counters, noisy) counts only, never who.
pub struct Cohort {
    pub criteria: String,
    pub total: SuppressedCount,
    pub funnel: Vec<FunnelStep>,
    pub sites: Vec<SiteCount>,
    pub accuracy: Accuracy,
}

/// Counts the consenting patients who fit `criteria` (or, when empty, the criteria of
/// `trial_id`), with a funnel and per-site counts.
///
/// The counts reflect every change committed (on any server) before the query started
/// (see [`super::matching::Matching::fresh`]).
///
/// Recruiters, sponsors and admins get every number through the privacy mechanism (noisy,
/// deterministic per question and data, paid from their budget, suppressed below the
/// threshold, every site listed) and each query is recorded; a release is attested on the
/// ledger. A site gets exact counts of its own patients.
pub async fn cohort(
    state: &AppState,
    who: &Principal,
    criteria: &str,
    trial_id: Option<&str>,
) -> AppResult<Cohort> {
    who.require(&[Role::Recruiter, Role::Sponsor, Role::Admin, Role::Site])?;
    let trial = match trial_id {
        Some(id) => Some(protocols::readable_trial(state, who, id).await?),
        None => None,
    };
    let text = match (&trial, criteria.trim()) {
        (Some(view), "") => view.current()?.document.criteria.clone(),
        (_, text) => text.to_string(),
    };
    let expr = parse_criteria(&text)?
        .ok_or_else(|| AppError::bad_input("give criteria, or a trial that has criteria"))?;
    if who.role == Role::Site {
        return own_site_cohort(state, who, &expr).await;
    }
    let sites = listed_sites(state, trial.as_ref()).await?;
    let counted = expr.clone();
    state.matching.fresh(&state.db).await?;
    let exact = state
        .matching
        .run_profiles(move |index| index.cohort(&counted, None))
        .await?
        .map_err(index_error)?;
    let policy = &state.privacy;
    let canonical = expr.to_string();
    let site_ids: Vec<String> = sites.iter().map(|(id, _)| id.clone()).collect();
    // The same on every server for the same data: the database position counted, not a
    // snapshot id of this server's index.
    let counted_at = exact
        .watermark
        .as_ref()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the profile index has no watermark")))?
        .to_string();
    let key = policy.release_key(&[&counted_at, &canonical, &site_ids.join(",")]);
    let cost = policy.cost(exact.funnel.len() + 1);
    let released = policy.release(&exact, &key, &site_ids);

    let release = Release {
        who: who.clone(),
        key,
        criteria: canonical.clone(),
        trial_id: trial_id.map(str::to_string),
        released: released.clone(),
        cost,
    };
    let unit_policy = policy.clone();
    let charge = state
        .writer
        .run(move |work| Box::pin(async move { release.charge(work, &unit_policy).await }))
        .await?;
    let budget = privacy::spent(&state.db, policy, &who.user_id).await?;
    let cost = match charge {
        privacy::Charge::Refused { cost } => return Err(budget_exhausted(cost, &budget)),
        privacy::Charge::Released { cost } => cost,
        privacy::Charge::Repeated => 0.0,
    };
    Ok(Cohort {
        criteria: canonical,
        total: policy.show(released.total),
        funnel: exact
            .funnel
            .iter()
            .zip(&released.funnel)
            .map(|(step, &value)| FunnelStep {
                clause: step.clause.clone(),
                remaining: policy.show(value),
            })
            .collect(),
        sites: sites
            .into_iter()
            .zip(&released.sites)
            .map(|((site_id, site_name), &value)| SiteCount {
                site_id,
                site_name,
                count: policy.show(value),
            })
            .collect(),
        accuracy: Accuracy::Noisy {
            margin95: policy.margin95(),
            cost,
            budget,
        },
    })
}

/// A site's exact counts of its own consenting patients.
async fn own_site_cohort(state: &AppState, site: &Principal, expr: &Expr) -> AppResult<Cohort> {
    let (counted, own) = (expr.clone(), site.org_id.clone());
    state.matching.fresh(&state.db).await?;
    let exact = state
        .matching
        .run_profiles(move |index| index.cohort(&counted, Some(&own)))
        .await?
        .map_err(index_error)?;
    let exact_count = |n: u64| SuppressedCount {
        count: Some(n),
        suppressed: false,
        display: n.to_string(),
    };
    let name = organization::Entity::find_by_id(site.org_id.clone())
        .one(&state.db)
        .await?
        .map_or_else(|| site.org_id.clone(), |org| org.name);
    Ok(Cohort {
        criteria: expr.to_string(),
        total: exact_count(exact.total),
        funnel: exact
            .funnel
            .into_iter()
            .map(|step| FunnelStep {
                clause: step.clause,
                remaining: exact_count(step.remaining),
            })
            .collect(),
        sites: vec![SiteCount {
            site_id: site.org_id.clone(),
            site_name: name,
            count: exact_count(exact.total),
        }],
        accuracy: Accuracy::Exact,
    })
}

/// The sites a cohort lists, by name: the trial's participating sites, or every site. The
/// list never depends on who matches, so an absent site tells nothing.
async fn listed_sites(
    state: &AppState,
    trial: Option<&TrialView>,
) -> AppResult<Vec<(String, String)>> {
    let participating = match trial {
        Some(view) => view.current()?.document.site_ids.clone(),
        None => Vec::new(),
    };
    let mut sites: Vec<(String, String)> = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrgKind::Site.as_str()))
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|org| participating.is_empty() || participating.contains(&org.id))
        .map(|org| (org.id, org.name))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(sites)
}

/// One cohort release about to be paid for and recorded.
struct Release {
    who: Principal,
    key: String,
    criteria: String,
    trial_id: Option<String>,
    released: privacy::Released,
    cost: f64,
}

impl Release {
    /// Charges the caller's budget, attests a new release on the ledger and records the
    /// query, in one unit of work (so parallel queries cannot overspend).
    async fn charge(self, work: &mut Work, policy: &PrivacyPolicy) -> AppResult<privacy::Charge> {
        let charge = privacy::charge(work.db(), policy, &self.who, &self.key, self.cost).await?;
        let ledger_seq = match charge {
            privacy::Charge::Released { cost } => Some(self.attest(work, policy, cost).await?),
            _ => None,
        };
        privacy::record(
            work.db(),
            &self.who,
            privacy::Record {
                key: &self.key,
                criteria: &self.criteria,
                trial_id: self.trial_id.as_deref(),
                charge,
                released: serde_json::to_string(&self.released).map_err(anyhow::Error::from)?,
                ledger_seq: ledger_seq.map(seq_i64),
            },
        )
        .await?;
        Ok(charge)
    }

    /// Puts a digest of the release on the ledger: who asked what, and what they were shown.
    async fn attest(&self, work: &mut Work, policy: &PrivacyPolicy, cost: f64) -> AppResult<u64> {
        let mut subjects = BTreeMap::new();
        if let Some(trial) = &self.trial_id {
            subjects.insert("trial".to_string(), trial.clone());
        }
        let appended = work.append_one(NewEntry {
            kind: cohort_released_kind(),
            actor: Actor::of(&self.who),
            subjects,
            payload: serde_json::json!({
                "criteria": self.criteria,
                "trialId": self.trial_id,
                "released": self.released,
                "rho": cost,
                "sigma": policy.sigma,
            }),
        })?;
        Ok(appended.seq)
    }
}

/// `cohort.released`: a recruiter, sponsor or admin was shown a cohort's noisy counts.
fn cohort_released_kind() -> EntryKind {
    EntryKind::Other("cohort.released".to_string())
}

fn budget_exhausted(cost: f64, budget: &privacy::Budget) -> AppError {
    let frees = budget.frees_at.map_or_else(String::new, |at| {
        format!(
            "; the oldest spending stops counting at {}",
            at.format("%Y-%m-%d %H:%M UTC")
        )
    });
    AppError::BudgetExhausted(format!(
        "your privacy budget for cohort counts is spent: this query costs ρ {cost:.4} and \
         {:.4} of {:.4} is left{frees}. Repeating a query you already ran costs nothing.",
        budget.remaining(),
        budget.limit
    ))
}

/// What an invitation round did, as a recruiter may see it (noisy and suppressed).
pub struct InvitationSummary {
    pub trial_id: String,
    pub invited: SuppressedCount,
    pub ledger_seq: u64,
}

/// Invites every consenting patient who fits the trial's current criteria and at a
/// participating site; each site then sees its own patients' invitations.
///
/// Every round is ledgered, even when nobody new fits, and the number invited is released
/// like a cohort count (noisy, paid from the caller's budget, withheld when the budget is
/// spent): an empty round must look like any small one, or a sponsor could amend the
/// criteria to one patient's cell and learn from "nobody new" what the patient has.
pub async fn invite_cohort(
    state: &AppState,
    who: &Principal,
    trial_id: &str,
) -> AppResult<InvitationSummary> {
    who.require(&[Role::Recruiter, Role::Sponsor])?;
    let proposed_by = protocols::readable_trial(state, who, trial_id).await?;
    // Refused early too, so an unapproved trial costs no index work.
    proposed_by.require_approved()?;
    let proposal_expr = criteria_to_invite_by(&proposed_by)?;
    // The index proposes who fits; the database decides, under the write lock: the trial's
    // current criteria and status, each patient's consent in force and profile, and who
    // was invited before are all read inside the transaction that invites.
    state.matching.fresh(&state.db).await?;
    let proposed = state
        .matching
        .run_profiles(move |index| index.matching_pseudonyms(&proposal_expr))
        .await?
        .map_err(index_error)?;
    let (who, trial_id) = (who.clone(), trial_id.to_string());
    let policy = state.privacy.clone();
    state
        .writer
        .run(move |work| {
            Box::pin(async move { invite_unit(work, &policy, &who, &trial_id, proposed).await })
        })
        .await
}

/// The decision and the invitations of one round, in one unit of work.
async fn invite_unit(
    work: &mut Work,
    policy: &PrivacyPolicy,
    who: &Principal,
    trial_id: &str,
    proposed: Vec<String>,
) -> AppResult<InvitationSummary> {
    let txn = work.db();
    let view = protocols::trial_view(txn, trial_id).await?;
    if view.trial.status != TrialStatus::Recruiting.as_str() {
        return Err(AppError::conflict("the trial is not recruiting"));
    }
    let current = view.require_approved()?;
    let expr = criteria_to_invite_by(&view)?;
    let already: HashSet<String> = invitation::Entity::find()
        .filter(invitation::Column::TrialId.eq(trial_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|i| i.pseudonym)
        .collect();
    let candidates: Vec<String> = proposed
        .into_iter()
        .filter(|p| !already.contains(p))
        .collect();
    let new: Vec<(String, String)> = patients::consenting_profiles_among(txn, &candidates)
        .await?
        .into_iter()
        .filter(|profile| matches(&expr, profile))
        .filter(|profile| current.document.site_participates(&profile.site_id))
        .map(|profile| (profile.pseudonym, profile.site_id))
        .collect();
    let invited = new.len() as u64;
    let seq = work
        .append_one(NewEntry {
            kind: EntryKind::InvitationCreated,
            actor: Actor::of(who),
            subjects: BTreeMap::from([("trial".to_string(), trial_id.to_string())]),
            payload: serde_json::json!({
                "trialId": trial_id,
                "protocolVersion": current.row.version,
                "criteria": expr.to_string(),
                "invited": invited,
            }),
        })?
        .seq;
    let now = Utc::now();
    for chunk in new.chunks(500) {
        let rows = chunk
            .iter()
            .map(|(pseudonym, site)| invitation::ActiveModel {
                id: Set(uuid::Uuid::new_v4().to_string()),
                trial_id: Set(trial_id.to_string()),
                pseudonym: Set(pseudonym.clone()),
                site_org_id: Set(site.clone()),
                ledger_seq: Set(seq_i64(seq)),
                created_at: Set(now),
                outcome: Set(ContactOutcome::New.as_str().to_string()),
                outcome_by: Set(None),
                outcome_at: Set(None),
                outcome_seq: Set(None),
            });
        invitation::Entity::insert_many(rows)
            .exec(work.db())
            .await
            .map_err(|err| {
                AppError::unique_or_internal(
                    err,
                    "another invitation round for this trial ran at the same time: try again",
                )
            })?;
    }
    let shown = release_invited(work.db(), policy, who, trial_id, seq, invited).await?;
    Ok(InvitationSummary {
        trial_id: trial_id.to_string(),
        invited: shown,
        ledger_seq: seq,
    })
}

/// The trial's current criteria, which invitations go by.
fn criteria_to_invite_by(view: &TrialView) -> AppResult<Expr> {
    view.current()?
        .document
        .criteria_expr()?
        .ok_or_else(|| AppError::bad_input("the trial has no structured criteria to invite by"))
}

/// The number invited, as the caller may see it.
async fn release_invited(
    txn: &impl ConnectionTrait,
    policy: &PrivacyPolicy,
    who: &Principal,
    trial_id: &str,
    seq: u64,
    invited: u64,
) -> AppResult<SuppressedCount> {
    let key = policy.release_key(&["invitation", trial_id, &seq.to_string()]);
    let charge = privacy::charge(txn, policy, who, &key, policy.cost(1)).await?;
    let value = policy.noisy(invited, &key, "invited");
    let shown = match charge {
        privacy::Charge::Refused { .. } => SuppressedCount {
            count: None,
            suppressed: true,
            display: "not shown: your privacy budget is spent".to_string(),
        },
        _ => policy.show(value),
    };
    privacy::record(
        txn,
        who,
        privacy::Record {
            key: &key,
            criteria: &format!("invitation round #{seq}"),
            trial_id: Some(trial_id),
            charge,
            released: serde_json::json!({ "invited": value }).to_string(),
            ledger_seq: Some(seq_i64(seq)),
        },
    )
    .await?;
    Ok(shown)
}

/// The invitations of a trial for the caller's own site's patients.
pub async fn invitations(
    state: &AppState,
    site: &Principal,
    trial_id: &str,
) -> AppResult<Vec<invitation::Model>> {
    site.require(&[Role::Site])?;
    protocols::readable_trial(state, site, trial_id).await?;
    Ok(invitation::Entity::find()
        .filter(invitation::Column::TrialId.eq(trial_id))
        .filter(invitation::Column::SiteOrgId.eq(&site.org_id))
        .order_by_asc(invitation::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

/// Which criteria one of the site's own patients meets and fails.
pub async fn explain_match(
    state: &AppState,
    site: &Principal,
    pseudonym: &str,
    criteria: &str,
) -> AppResult<Explanation> {
    site.require(&[Role::Site])?;
    let profile = own_profile(&state.db, site, pseudonym).await?;
    let expr: Expr =
        parse_criteria(criteria)?.ok_or_else(|| AppError::bad_input("the criteria are empty"))?;
    Ok(explain(&expr, &profile))
}

/// Recruiting trials that fit one of the site's own patients, best first.
pub async fn matching_trials(
    state: &AppState,
    site: &Principal,
    pseudonym: &str,
) -> AppResult<Vec<(TrialView, f32)>> {
    site.require(&[Role::Site])?;
    let profile = own_profile(&state.db, site, pseudonym).await?;
    state.matching.fresh(&state.db).await?;
    let hits = state
        .matching
        .run_trials(move |index| index.search_for_patient(&profile, 20))
        .await?
        .map_err(index_error)?;
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        let view = protocols::trial_view(&state.db, &hit.trial_id).await?;
        if view.current()?.document.site_participates(&site.org_id) {
            out.push((view, hit.score));
        }
    }
    Ok(out)
}
