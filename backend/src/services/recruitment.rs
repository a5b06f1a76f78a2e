//! Recruitment: suppressed cohort counts and funnels, cohort invitations, and, for a
//! patient's own site, which criteria they meet and which trials fit them.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use ledger::EntryKind;
use matcher::criteria::Expr;
use matcher::eval::{Explanation, explain};
use matcher::suppress::SuppressedCount;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::ledger::{self as ledger_service, Actor, NewEntry, seq_i64};
use super::matching::index_error;
use super::patients::own_profile;
use super::protocols::{self, TrialView, parse_criteria};
use crate::auth::Principal;
use crate::domain::{Role, TrialStatus};
use crate::entities::{invitation, organization};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Who may count cohorts.
pub const COUNTERS: &[Role] = &[Role::Recruiter, Role::Sponsor, Role::Admin];

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

/// A cohort: suppressed counts only, never who.
pub struct Cohort {
    pub criteria: String,
    pub total: SuppressedCount,
    pub funnel: Vec<FunnelStep>,
    pub sites: Vec<SiteCount>,
}

/// Counts the consenting patients who fit `criteria` (or, when empty, the criteria of
/// `trial_id`), with a funnel and per-site counts, all suppressed below the threshold.
pub async fn cohort(
    state: &AppState,
    who: &Principal,
    criteria: &str,
    trial_id: Option<&str>,
) -> AppResult<Cohort> {
    who.require(COUNTERS)?;
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
    let index = state.matching.profiles();
    let suppression = state.matching.suppression();
    let total = index.count(&expr).map_err(index_error)?;
    let funnel = index
        .funnel(&expr)
        .map_err(index_error)?
        .into_iter()
        .map(|step| FunnelStep {
            clause: step.clause,
            remaining: suppression.apply(step.remaining),
        })
        .collect();
    let names = site_names(state).await?;
    let sites = index
        .count_by_site(&expr)
        .map_err(index_error)?
        .into_iter()
        .map(|(site_id, count)| SiteCount {
            site_name: names
                .get(&site_id)
                .cloned()
                .unwrap_or_else(|| site_id.clone()),
            site_id,
            count: suppression.apply(count),
        })
        .collect();
    Ok(Cohort {
        criteria: expr.to_string(),
        total: suppression.apply(total),
        funnel,
        sites,
    })
}

async fn site_names(state: &AppState) -> AppResult<HashMap<String, String>> {
    Ok(organization::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|org| (org.id, org.name))
        .collect())
}

/// What an invitation round did, as a recruiter may see it (suppressed).
pub struct InvitationSummary {
    pub trial_id: String,
    pub invited: SuppressedCount,
    pub ledger_seq: Option<u64>,
}

/// Invites every consenting patient who fits the trial's current criteria and at a
/// participating site; each site then sees its own patients' invitations.
pub async fn invite_cohort(
    state: &AppState,
    who: &Principal,
    trial_id: &str,
) -> AppResult<InvitationSummary> {
    who.require(&[Role::Recruiter, Role::Sponsor])?;
    let view = protocols::readable_trial(state, who, trial_id).await?;
    if view.trial.status != TrialStatus::Recruiting.as_str() {
        return Err(AppError::conflict("the trial is not recruiting"));
    }
    let current = view.current()?;
    let expr = current
        .document
        .criteria_expr()?
        .ok_or_else(|| AppError::bad_input("the trial has no structured criteria to invite by"))?;
    let matching = state
        .matching
        .profiles()
        .matching_pseudonyms(&expr)
        .map_err(index_error)?;
    let site_of = sites_of(state, &matching).await?;
    let already: std::collections::HashSet<String> = invitation::Entity::find()
        .filter(invitation::Column::TrialId.eq(trial_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|i| i.pseudonym)
        .collect();
    let new: Vec<(String, String)> = matching
        .into_iter()
        .filter(|p| !already.contains(p))
        .filter_map(|p| site_of.get(&p).map(|site| (p, site.clone())))
        .filter(|(_, site)| current.document.site_participates(site))
        .collect();
    if new.is_empty() {
        return Ok(InvitationSummary {
            trial_id: trial_id.to_string(),
            invited: state.matching.suppression().apply(0),
            ledger_seq: None,
        });
    }
    let invited = new.len() as u64;
    let txn = ledger_service::begin_write(&state.db).await?;
    let appended = ledger_service::append(
        &txn,
        &state.ledger,
        vec![NewEntry {
            kind: EntryKind::InvitationCreated,
            actor: Actor {
                user_id: who.user_id.clone(),
                org_id: who.org_id.clone(),
            },
            subjects: BTreeMap::from([("trial".to_string(), trial_id.to_string())]),
            payload: serde_json::json!({
                "trialId": trial_id,
                "protocolVersion": current.row.version,
                "criteria": expr.to_string(),
                "invited": invited,
            }),
        }],
    )
    .await?;
    let seq = appended[0].seq;
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
            });
        invitation::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(InvitationSummary {
        trial_id: trial_id.to_string(),
        invited: state.matching.suppression().apply(invited),
        ledger_seq: Some(seq),
    })
}

async fn sites_of(state: &AppState, pseudonyms: &[String]) -> AppResult<HashMap<String, String>> {
    let mut out = HashMap::with_capacity(pseudonyms.len());
    for chunk in pseudonyms.chunks(2_000) {
        for row in crate::entities::patient::Entity::find()
            .filter(crate::entities::patient::Column::Pseudonym.is_in(chunk.to_vec()))
            .all(&state.db)
            .await?
        {
            out.insert(row.pseudonym, row.site_org_id);
        }
    }
    Ok(out)
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
    let hits = state
        .matching
        .trials()
        .search_for_patient(&profile, 20)
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
