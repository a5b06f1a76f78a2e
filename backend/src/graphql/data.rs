//! Monitoring a trial's clinical data: records by trial (sponsor, ethics board, sites), and
//! data queries raised by the sponsor and answered by sites.

use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::patients::Submission;
use super::{ApiResult, parts};
use crate::domain::DataQueryStatus;
use crate::entities::data_query;
use crate::services::data_queries::{self, Selection};
use crate::services::names::Names;
use crate::services::trial_data;

/// One page of a trial's records.
#[derive(SimpleObject)]
pub struct RecordPage {
    /// Records matching, over all pages.
    total: u64,
    /// Each record at its current version.
    items: Vec<Submission>,
}

/// A question about one field of a record, and what came of it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DataQuery {
    id: ID,
    trial_id: ID,
    /// The site that holds the record and answers.
    site_id: ID,
    submission_id: ID,
    /// The field asked about.
    field: String,
    status: DataQueryStatus,
    question: String,
    /// The record's version when the query was raised.
    record_version: i32,
    /// Who raised it, by name.
    raised_by: String,
    raised_at: DateTime<Utc>,
    /// The `query.raised` ledger entry.
    raised_ledger_seq: i64,
    answer: Option<String>,
    /// The record's version when the site answered: higher than `recordVersion` when the
    /// site corrected the record.
    answered_version: Option<i32>,
    answered_by: Option<String>,
    answered_at: Option<DateTime<Utc>>,
    answered_ledger_seq: Option<i64>,
    closed_by: Option<String>,
    closed_at: Option<DateTime<Utc>>,
    closed_ledger_seq: Option<i64>,
}

#[ComplexObject]
impl DataQuery {
    /// The record asked about, at its current version.
    async fn record(&self, ctx: &Context<'_>) -> ApiResult<Option<Submission>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(trial_data::record(state, who, &self.submission_id)
            .await?
            .map(Submission::from))
    }
}

/// The queries as shown, with people by name (one lookup for the whole list).
async fn shown(ctx: &Context<'_>, rows: Vec<data_query::Model>) -> ApiResult<Vec<DataQuery>> {
    let (state, _) = parts(ctx);
    let people = rows
        .iter()
        .flat_map(|q| {
            [
                Some(&q.raised_by),
                q.answered_by.as_ref(),
                q.closed_by.as_ref(),
            ]
        })
        .flatten()
        .cloned()
        .collect::<Vec<_>>();
    let names = Names::of_users(&state.db, people).await?;
    let name = |user: &str| {
        names
            .person(user)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| user.to_string())
    };
    rows.into_iter()
        .map(|q| {
            Ok(DataQuery {
                status: data_queries::status(&q)?,
                raised_by: name(&q.raised_by),
                answered_by: q.answered_by.as_deref().map(name),
                closed_by: q.closed_by.as_deref().map(name),
                id: q.id.into(),
                trial_id: q.trial_id.into(),
                site_id: q.site_org_id.into(),
                submission_id: q.submission_id.into(),
                field: q.field,
                question: q.question,
                record_version: q.record_version,
                raised_at: q.raised_at,
                raised_ledger_seq: q.raised_seq,
                answer: q.answer,
                answered_version: q.answered_version,
                answered_at: q.answered_at,
                answered_ledger_seq: q.answered_seq,
                closed_at: q.closed_at,
                closed_ledger_seq: q.closed_seq,
            })
        })
        .collect()
}

async fn one(ctx: &Context<'_>, row: data_query::Model) -> ApiResult<DataQuery> {
    let mut shown = shown(ctx, vec![row]).await?;
    Ok(shown.remove(0))
}

#[derive(Default)]
pub struct DataQueryRoot;

#[Object]
impl DataQueryRoot {
    /// A trial's case-report records at their current versions, oldest first, optionally of
    /// one form: every site's for the trial's sponsor and ethics board, a site's own for a
    /// site. `first` (at most 200) from `offset` on.
    async fn trial_records(
        &self,
        ctx: &Context<'_>,
        trial_id: ID,
        form: Option<String>,
        #[graphql(default = 50)] first: u64,
        #[graphql(default)] offset: u64,
    ) -> ApiResult<RecordPage> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let page =
            trial_data::trial_records(state, who, &trial_id, form.as_deref(), (first, offset))
                .await?;
        Ok(RecordPage {
            total: page.total,
            items: page.items.into_iter().map(Submission::from).collect(),
        })
    }

    /// Data queries, oldest first: a site's own to answer, or those on a sponsor's trials;
    /// optionally of one trial, one record, one status.
    async fn data_queries(
        &self,
        ctx: &Context<'_>,
        trial_id: Option<ID>,
        submission_id: Option<ID>,
        status: Option<DataQueryStatus>,
    ) -> ApiResult<Vec<DataQuery>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let selection = Selection {
            trial_id: trial_id.map(|id| id.to_string()),
            submission_id: submission_id.map(|id| id.to_string()),
            status,
        };
        shown(ctx, data_queries::list(state, who, selection).await?).await
    }
}

#[derive(Default)]
pub struct DataQueryMutation;

#[Object]
impl DataQueryMutation {
    /// Raises a query about one field of a record of the caller's trial (sponsors), e.g.
    /// "value out of expected range, please confirm" (ledgered as `query.raised`).
    async fn raise_data_query(
        &self,
        ctx: &Context<'_>,
        submission_id: ID,
        field: String,
        question: String,
    ) -> ApiResult<DataQuery> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let row = data_queries::raise(state, who, &submission_id, &field, &question).await?;
        one(ctx, row).await
    }

    /// Answers an open query about one of the site's records (`query.answered`). To change
    /// the value, correct the record first; the answer records the record's version.
    async fn answer_data_query(
        &self,
        ctx: &Context<'_>,
        query_id: ID,
        answer: String,
    ) -> ApiResult<DataQuery> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let row = data_queries::answer(state, who, &query_id, &answer).await?;
        one(ctx, row).await
    }

    /// Closes an answered query on the caller's trial (`query.closed`).
    async fn close_data_query(&self, ctx: &Context<'_>, query_id: ID) -> ApiResult<DataQuery> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let row = data_queries::close(state, who, &query_id).await?;
        one(ctx, row).await
    }
}
