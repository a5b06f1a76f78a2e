//! Attachments (imaging, documents): streamed to content-addressed storage under the data
//! directory while their SHA-256 is computed, never held in memory whole; the hash goes on
//! the ledger (`attachment.added`), linked to a submission.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::body::Bytes;
use chrono::Utc;
use ledger::EntryKind;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tokio::io::AsyncWriteExt;
use tokio_stream::{Stream, StreamExt};

mod name;
mod serving;

pub use name::{check_file_name, content_disposition};
pub use serving::served_content_type;

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
    let (sha256, size) = store(state, body, upload.max_bytes).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let site = site.clone();
    let content_type = upload.content_type;
    let entry = NewEntry {
        kind: EntryKind::AttachmentAdded,
        actor: Actor {
            user_id: site.user_id.clone(),
            org_id: site.org_id.clone(),
        },
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
                row.ledger_seq = Set(seq_i64(work.append_one(entry).await?.seq));
                Ok(attachment::Entity::insert(row)
                    .exec_with_returning(work.db())
                    .await?)
            })
        })
        .await
}

/// Writes the stream to a temporary file, then moves it to `attachments/<sha256>`.
async fn store<S, E>(state: &AppState, mut body: S, max_bytes: u64) -> AppResult<(String, u64)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = attachments_dir(state);
    tokio::fs::create_dir_all(dir.join("incoming"))
        .await
        .map_err(anyhow::Error::from)?;
    let temp = dir.join("incoming").join(uuid::Uuid::new_v4().to_string());
    let result = async {
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(anyhow::Error::from)?;
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|err| AppError::bad_input(format!("the upload was interrupted: {err}")))?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(AppError::bad_input(format!(
                    "the file is larger than the {max_bytes}-byte limit"
                )));
            }
            digest.update(&chunk);
            file.write_all(&chunk).await.map_err(anyhow::Error::from)?;
        }
        if size == 0 {
            return Err(AppError::bad_input("the file is empty"));
        }
        file.sync_all().await.map_err(anyhow::Error::from)?;
        let sha256 = hex::encode(digest.finish());
        tokio::fs::rename(&temp, dir.join(&sha256))
            .await
            .map_err(anyhow::Error::from)?;
        Ok((sha256, size))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

fn attachments_dir(state: &AppState) -> PathBuf {
    state.data_dir.root().join("attachments")
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

/// The stored file of an attachment the caller may read, and its record.
pub async fn open(
    state: &AppState,
    who: &Principal,
    attachment_id: &str,
) -> AppResult<(attachment::Model, tokio::fs::File)> {
    let row = attachment::Entity::find_by_id(attachment_id.to_string())
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no attachment has id {attachment_id:?}")))?;
    readable_submission(state, who, &row.submission_id).await?;
    let file = tokio::fs::File::open(attachments_dir(state).join(&row.sha256))
        .await
        .map_err(|err| {
            AppError::Internal(anyhow::anyhow!(
                "attachment file {} is missing: {err}",
                row.sha256
            ))
        })?;
    Ok((row, file))
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
