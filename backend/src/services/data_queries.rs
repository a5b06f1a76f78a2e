//! Data queries: the sponsor's monitor asks about one field of a site's case-report record
//! ("value out of expected range, please confirm"), the site answers (after correcting the
//! record, if it was wrong), and the sponsor closes the query. Each step is a ledger entry
//! (`query.raised`, `query.answered`, `query.closed`) naming the trial, the record and the
//! query; queries are listed per site and per trial, by status.

use std::collections::BTreeMap;

use chrono::Utc;
use ledger::EntryKind;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::ledger::{Actor, NewEntry, Work, seq_i64};
use super::protocols;
use crate::auth::Principal;
use crate::domain::{DataQueryStatus, Role, from_stored};
use crate::entities::{data_query, submission, trial};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The ledger kind of a raised query.
pub const QUERY_RAISED: &str = "query.raised";
/// The ledger kind of a site's answer.
pub const QUERY_ANSWERED: &str = "query.answered";
/// The ledger kind of a closed query.
pub const QUERY_CLOSED: &str = "query.closed";

/// Longest question or answer accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;

fn checked_text(what: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(format!("the {what} is empty")));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::bad_input(format!(
            "the {what} is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

/// The sponsor of the record's trial raises a query about `field` of record `submission_id`.
/// The field must be one the record's form defines, or one the record holds.
pub async fn raise(
    state: &AppState,
    sponsor: &Principal,
    submission_id: &str,
    field: &str,
    question: &str,
) -> AppResult<data_query::Model> {
    sponsor.require(&[Role::Sponsor])?;
    let question = checked_text("question", question)?;
    let record = submission::Entity::find_by_id(submission_id.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no record has id {submission_id:?}")))?;
    let view = protocols::readable_trial(state, sponsor, &record.trial_id).await?;
    if view.trial.sponsor_org_id != sponsor.org_id {
        return Err(AppError::not_found(format!(
            "no record has id {submission_id:?}"
        )));
    }
    let (data, protocol_version) = super::trial_data::current_data(&state.db, &record).await?;
    let defined = protocol_version
        .and_then(|n| view.versions.iter().find(|v| v.row.version == n))
        .and_then(|v| v.document.form(&record.form).ok().flatten())
        .is_some_and(|form| form.fields.iter().any(|f| f.id == field));
    if !defined && data.get(field).is_none() {
        return Err(AppError::bad_input(format!(
            "the {} record has no field {field:?}",
            record.form
        )));
    }
    let (sponsor, field) = (sponsor.clone(), field.to_string());
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let id = uuid::Uuid::new_v4().to_string();
                let seq = append(
                    work,
                    &sponsor,
                    QUERY_RAISED,
                    (&record, &id),
                    json!({
                        "queryId": id,
                        "trialId": record.trial_id,
                        "submissionId": record.id,
                        "field": field,
                        "recordVersion": record.current_version,
                        "question": question,
                    }),
                )
                .await?;
                Ok(data_query::Entity::insert(data_query::ActiveModel {
                    id: Set(id),
                    trial_id: Set(record.trial_id.clone()),
                    site_org_id: Set(record.site_org_id.clone()),
                    submission_id: Set(record.id.clone()),
                    field: Set(field),
                    status: Set(DataQueryStatus::Open.as_str().to_string()),
                    question: Set(question),
                    record_version: Set(record.current_version),
                    raised_by: Set(sponsor.user_id.clone()),
                    raised_at: Set(Utc::now()),
                    raised_seq: Set(seq),
                    answer: Set(None),
                    answered_version: Set(None),
                    answered_by: Set(None),
                    answered_at: Set(None),
                    answered_seq: Set(None),
                    closed_by: Set(None),
                    closed_at: Set(None),
                    closed_seq: Set(None),
                })
                .exec_with_returning(work.db())
                .await?)
            })
        })
        .await
}

/// The site that holds the record answers an open query (`CONFLICT` once answered or
/// closed). To correct the value, correct the record first: the answer records the
/// record's version, so the sponsor sees whether it changed.
pub async fn answer(
    state: &AppState,
    site: &Principal,
    query_id: &str,
    answer: &str,
) -> AppResult<data_query::Model> {
    site.require(&[Role::Site])?;
    let answer = checked_text("answer", answer)?;
    let (site, query_id) = (site.clone(), query_id.to_string());
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let step = Step {
                    from: DataQueryStatus::Open,
                    act: "answered",
                    kind: QUERY_ANSWERED,
                };
                let visible = |q: &data_query::Model| q.site_org_id == site.org_id;
                let (query, record, seq) = step
                    .take(work, &site, &query_id, visible, |query, record| {
                        json!({
                            "queryId": query.id,
                            "recordVersion": record.current_version,
                            "answer": answer,
                        })
                    })
                    .await?;
                Ok(data_query::Entity::update(data_query::ActiveModel {
                    id: Set(query.id.clone()),
                    status: Set(DataQueryStatus::Answered.as_str().to_string()),
                    answer: Set(Some(answer)),
                    answered_version: Set(Some(record.current_version)),
                    answered_by: Set(Some(site.user_id.clone())),
                    answered_at: Set(Some(Utc::now())),
                    answered_seq: Set(Some(seq)),
                    ..Default::default()
                })
                .exec(work.db())
                .await?)
            })
        })
        .await
}

/// The trial's sponsor closes an answered query (`CONFLICT` while it is open or once
/// closed). To ask again, raise a new query.
pub async fn close(
    state: &AppState,
    sponsor: &Principal,
    query_id: &str,
) -> AppResult<data_query::Model> {
    sponsor.require(&[Role::Sponsor])?;
    let sponsored = sponsored_trials(state, sponsor).await?;
    let (sponsor, query_id) = (sponsor.clone(), query_id.to_string());
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let step = Step {
                    from: DataQueryStatus::Answered,
                    act: "closed",
                    kind: QUERY_CLOSED,
                };
                let visible = |q: &data_query::Model| sponsored.contains(&q.trial_id);
                let (query, _, seq) = step
                    .take(
                        work,
                        &sponsor,
                        &query_id,
                        visible,
                        |query, _| json!({ "queryId": query.id }),
                    )
                    .await?;
                Ok(data_query::Entity::update(data_query::ActiveModel {
                    id: Set(query.id.clone()),
                    status: Set(DataQueryStatus::Closed.as_str().to_string()),
                    closed_by: Set(Some(sponsor.user_id.clone())),
                    closed_at: Set(Some(Utc::now())),
                    closed_seq: Set(Some(seq)),
                    ..Default::default()
                })
                .exec(work.db())
                .await?)
            })
        })
        .await
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// One trial, or every trial the caller may see.
    pub trial_id: Option<String>,
    /// One record.
    pub submission_id: Option<String>,
    /// One status, or all.
    pub status: Option<DataQueryStatus>,
}

/// The queries a site must answer (its own), or a sponsor raised (on its trials), oldest
/// first.
pub async fn list(
    state: &AppState,
    who: &Principal,
    filter: Selection,
) -> AppResult<Vec<data_query::Model>> {
    who.require(&[Role::Site, Role::Sponsor])?;
    let mut query = data_query::Entity::find();
    query = match who.role {
        Role::Site => query.filter(data_query::Column::SiteOrgId.eq(&who.org_id)),
        _ => query.filter(data_query::Column::TrialId.is_in(sponsored_trials(state, who).await?)),
    };
    let mut condition = Condition::all();
    if let Some(trial_id) = &filter.trial_id {
        condition = condition.add(data_query::Column::TrialId.eq(trial_id));
    }
    if let Some(submission_id) = &filter.submission_id {
        condition = condition.add(data_query::Column::SubmissionId.eq(submission_id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(data_query::Column::Status.eq(status.as_str()));
    }
    Ok(query
        .filter(condition)
        .order_by_asc(data_query::Column::RaisedAt)
        .order_by_asc(data_query::Column::Id)
        .all(&state.db)
        .await?)
}

/// The status of a stored query.
pub fn status(query: &data_query::Model) -> AppResult<DataQueryStatus> {
    from_stored(&query.status)
}

async fn sponsored_trials(state: &AppState, sponsor: &Principal) -> AppResult<Vec<String>> {
    Ok(trial::Entity::find()
        .filter(trial::Column::SponsorOrgId.eq(&sponsor.org_id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect())
}

/// One step of a query's life after it was raised: from which status, in words, and the
/// ledger kind that records it.
struct Step {
    from: DataQueryStatus,
    act: &'static str,
    kind: &'static str,
}

impl Step {
    /// Inside the unit: the query `id` if `visible` to the caller (else `NOT_FOUND`) and in
    /// the status this step starts from (else `CONFLICT`), its record, and the sequence number
    /// of the step's ledger entry, whose payload `payload` makes.
    async fn take(
        &self,
        work: &mut Work,
        who: &Principal,
        id: &str,
        visible: impl Fn(&data_query::Model) -> bool,
        payload: impl FnOnce(&data_query::Model, &submission::Model) -> serde_json::Value,
    ) -> AppResult<(data_query::Model, submission::Model, i64)> {
        let query = data_query::Entity::find_by_id(id.to_string())
            .one(work.db())
            .await?
            .filter(|q| visible(q))
            .ok_or_else(|| AppError::not_found(format!("no data query has id {id:?}")))?;
        let now = status(&query)?;
        if now != self.from {
            return Err(AppError::conflict(format!(
                "the query is {}: it cannot be {}",
                now.as_str(),
                self.act
            )));
        }
        let record = submission::Entity::find_by_id(query.submission_id.clone())
            .one(work.db())
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("record is missing")))?;
        let body = payload(&query, &record);
        let seq = append(work, who, self.kind, (&record, &query.id), body).await?;
        Ok((query, record, seq))
    }
}

/// Appends one step of a query's life, naming the trial, the record and the query.
async fn append(
    work: &mut Work,
    who: &Principal,
    kind: &str,
    (record, query_id): (&submission::Model, &str),
    payload: serde_json::Value,
) -> AppResult<i64> {
    let actor = Actor::of(who);
    let appended = work.append_one(NewEntry {
        kind: EntryKind::Other(kind.to_string()),
        actor,
        subjects: BTreeMap::from([
            ("trial".to_string(), record.trial_id.clone()),
            ("submission".to_string(), record.id.clone()),
            ("query".to_string(), query_id.to_string()),
        ]),
        payload,
    })?;
    Ok(seq_i64(appended.seq))
}
