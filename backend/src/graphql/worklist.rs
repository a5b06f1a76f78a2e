//! A site's invitations as a work list: statuses, counts, paging, and recording outcomes.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{ApiResult, parts};
use crate::domain::{ContactOutcome, InvitationStatus};
use crate::services::names::Names;
use crate::services::worklist::{self, Item};

/// One invitation on a site's work list.
#[derive(SimpleObject)]
pub struct WorklistItem {
    /// The invitation.
    id: ID,
    trial_id: ID,
    pseudonym: String,
    invited_at: DateTime<Utc>,
    status: InvitationStatus,
    /// What the site recorded last (`NEW` until it acts).
    outcome: ContactOutcome,
    /// Who recorded it, by name.
    outcome_by: Option<String>,
    outcome_at: Option<DateTime<Utc>>,
    /// The `invitation.updated` ledger entry that attests it.
    outcome_ledger_seq: Option<i64>,
}

/// How many invitations have one status.
#[derive(SimpleObject)]
pub struct StatusCount {
    status: InvitationStatus,
    count: u64,
}

/// One page of a site's work list for a trial.
#[derive(SimpleObject)]
pub struct Worklist {
    /// Invitations with the status asked for (all when none was), over all pages.
    total: u64,
    /// Invitations per status, whatever was asked for.
    counts: Vec<StatusCount>,
    items: Vec<WorklistItem>,
}

/// The items as shown, with the recorders' names (one lookup for the page).
async fn shown(ctx: &Context<'_>, items: Vec<Item>) -> ApiResult<Vec<WorklistItem>> {
    let (state, _) = parts(ctx);
    let recorders = items.iter().filter_map(|i| i.invitation.outcome_by.clone());
    let names = Names::of_users(&state.db, recorders).await?;
    items
        .into_iter()
        .map(|item| {
            let i = item.invitation;
            Ok(WorklistItem {
                outcome_by: i.outcome_by.as_deref().map(|user| {
                    names
                        .person(user)
                        .map_or(user, |p| p.name.as_str())
                        .to_string()
                }),
                outcome: crate::domain::from_stored(&i.outcome)?,
                id: i.id.into(),
                trial_id: i.trial_id.into(),
                pseudonym: i.pseudonym,
                invited_at: i.created_at,
                status: item.status,
                outcome_at: i.outcome_at,
                outcome_ledger_seq: i.outcome_seq,
            })
        })
        .collect()
}

#[derive(Default)]
pub struct WorklistQuery;

#[Object]
impl WorklistQuery {
    /// The caller's site's invitations to a trial, oldest first: those with `status` (all
    /// when omitted), `first` (at most 200) from `offset` on, and the count per status.
    async fn worklist(
        &self,
        ctx: &Context<'_>,
        trial_id: ID,
        status: Option<InvitationStatus>,
        #[graphql(default = 25)] first: u64,
        #[graphql(default)] offset: u64,
    ) -> ApiResult<Worklist> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let list = worklist::worklist(state, site, &trial_id, status, (first, offset)).await?;
        let items = shown(ctx, list.items).await?;
        Ok(Worklist {
            total: list.total,
            counts: list
                .counts
                .into_iter()
                .map(|(status, count)| StatusCount { status, count })
                .collect(),
            items,
        })
    }
}

#[derive(Default)]
pub struct WorklistMutation;

#[Object]
impl WorklistMutation {
    /// Records what came of one of the site's invitations: `CONTACTED`, `DECLINED` or
    /// `SCREEN_FAILED` (ledgered as `invitation.updated`, with no personal data).
    async fn record_invitation_outcome(
        &self,
        ctx: &Context<'_>,
        invitation_id: ID,
        outcome: ContactOutcome,
    ) -> ApiResult<WorklistItem> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let updated = worklist::record_outcome(state, site, &invitation_id, outcome).await?;
        let item = worklist::item_of(&state.db, updated).await?;
        Ok(shown(ctx, vec![item]).await?.remove(0))
    }
}
