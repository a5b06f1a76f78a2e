//! Attachments (imaging, documents): streamed to content-addressed object storage (see
//! [`store`]) while their SHA-256 is computed, never held in memory whole; the hash goes on
//! the ledger (`attachment.added`), linked to a submission.

use std::collections::BTreeMap;

use axum::body::Bytes;
use chrono::Utc;
use ledger::EntryKind;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tokio_stream::Stream;

mod name;
mod serving;
pub mod store;

pub use name::{check_file_name, content_disposition};
pub use serving::served_content_type;
pub use store::{AttachmentStore, AttachmentsConfig, Content, StoredFile};

use super::ledger::{Actor, NewEntry, seq_i64};
use super::protocols;
use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{attachment, submission};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What the uploader says about the file.
pub struct Upload {
    pub submission_id: String,
    pub file_name: String,
    pub content_type: String,
    /// Largest size accepted, in bytes.
    pub max_bytes: u64,
}

/// The site's own submission, checked before anything is written.
async fn own_submission(
    state: &AppState,
    site: &Principal,
    id: &str,
) -> AppResult<submission::Model> {
    submission::Entity::find_by_id(id.to_string())
        .one(&state.db)
        .await?
        .filter(|s| s.site_org_id == site.org_id)
        .ok_or_else(|| AppError::not_found(format!("your site has no submission with id {id:?}")))
}

/// Streams `body` into storage, hashing as it goes, then ledgers and records it.
pub async fn add<S, E>(
    state: &AppState,
    site: &Principal,
    upload: Upload,
    body: S,
) -> AppResult<attachment::Model>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    site.require(&[Role::Site])?;
    let file_name = check_file_name(&upload.file_name)?;
    let sub = own_submission(state, site, &upload.submission_id).await?;
    // The file is stored before the transaction: a refused or failed upload leaves no row
    // and no ledger entry. A transaction that fails after it leaves an orphan file, which is
    // harmless: it is content-addressed, so a retry of the same file reuses it.
    let StoredFile { sha256, size } = state.attachments.put(body, upload.max_bytes).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let site = site.clone();
    let content_type = upload.content_type;
    let entry = NewEntry {
        kind: EntryKind::AttachmentAdded,
        actor: Actor::of(&site),
        subjects: BTreeMap::from([
            ("trial".to_string(), sub.trial_id.clone()),
            ("submission".to_string(), sub.id.clone()),
            ("attachment".to_string(), sha256.clone()),
        ]),
        payload: serde_json::json!({
            "attachmentId": id,
            "submissionId": sub.id,
            "sha256": sha256,
            "sizeBytes": size,
            "fileName": file_name,
            "contentType": content_type,
        }),
    };
    let mut row = attachment::ActiveModel {
        id: Set(id),
        submission_id: Set(sub.id),
        sha256: Set(sha256),
        size_bytes: Set(i64::try_from(size).map_err(anyhow::Error::from)?),
        file_name: Set(file_name.to_string()),
        content_type: Set(content_type),
        ledger_seq: sea_orm::ActiveValue::NotSet,
        created_by: Set(site.user_id.clone()),
        created_at: Set(Utc::now()),
    };
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                row.ledger_seq = Set(seq_i64(work.append_one(entry)?.seq));
                Ok(attachment::Entity::insert(row)
                    .exec_with_returning(work.db())
                    .await?)
            })
        })
        .await
}

/// The attachments of a submission: for its site, the trial's ethics board and admins.
pub async fn list(
    state: &AppState,
    who: &Principal,
    submission_id: &str,
) -> AppResult<Vec<attachment::Model>> {
    readable_submission(state, who, submission_id).await?;
    Ok(attachment::Entity::find()
        .filter(attachment::Column::SubmissionId.eq(submission_id))
        .order_by_asc(attachment::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

/// The record of an attachment the caller may read, and its content as a stream.
pub async fn open(
    state: &AppState,
    who: &Principal,
    attachment_id: &str,
) -> AppResult<(attachment::Model, Content)> {
    let row = attachment::Entity::find_by_id(attachment_id.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no attachment has id {attachment_id:?}")))?;
    readable_submission(state, who, &row.submission_id).await?;
    let content = state.attachments.get(&row.sha256).await.map_err(|err| {
        AppError::Internal(anyhow::anyhow!(
            "cannot read attachment file {}: {err}",
            row.sha256
        ))
    })?;
    Ok((row, content))
}

async fn readable_submission(
    state: &AppState,
    who: &Principal,
    submission_id: &str,
) -> AppResult<submission::Model> {
    who.require(&[Role::Site, Role::Ethics, Role::Admin])?;
    let not_found = || AppError::not_found(format!("no submission has id {submission_id:?}"));
    let sub = submission::Entity::find_by_id(submission_id.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(not_found)?;
    if protocols::may_read_site_record(state, who, &sub.site_org_id, &sub.trial_id).await? {
        Ok(sub)
    } else {
        Err(not_found())
    }
}
