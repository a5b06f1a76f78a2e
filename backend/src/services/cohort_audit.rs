//! The audit trail of cohort queries: who asked what, when, what they were shown and what it
//! cost their privacy budget. Admins read everyone's; an ethics board reads everyone's
//! queries except those about trials it may not read (the same rule as the ledger's
//! entries); recruiters and sponsors read their own.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{cohort_release, user};
use crate::error::{AppError, AppResult};
use crate::services::protocols;

/// Most rows returned by one call.
pub const MAX_PAGE: u64 = 1_000;

/// One audited cohort query with the asking user's email.
pub struct AuditedRelease {
    /// The stored row.
    pub row: cohort_release::Model,
    /// The user's email, when the user still exists.
    pub user_email: Option<String>,
}

/// The rows `who` may read: for an ethics board, those about no trial or about a trial it
/// may read.
async fn readable_by(
    db: &DatabaseConnection,
    who: &Principal,
    rows: Vec<cohort_release::Model>,
) -> AppResult<Vec<cohort_release::Model>> {
    if who.role != Role::Ethics {
        return Ok(rows);
    }
    let mut readable: HashMap<String, bool> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let allowed = match &row.trial_id {
            None => true,
            Some(trial) => match readable.get(trial) {
                Some(allowed) => *allowed,
                None => {
                    let view = protocols::trial_view(db, trial).await?;
                    let allowed = protocols::may_read(who, &view)?;
                    readable.insert(trial.clone(), allowed);
                    allowed
                }
            },
        };
        if allowed {
            out.push(row);
        }
    }
    Ok(out)
}

/// A page of the audit trail, newest first, as `who` may read it (an ethics board's page
/// leaves out rows about trials it may not read, so it may hold fewer than `first`).
pub async fn releases(
    db: &DatabaseConnection,
    who: &Principal,
    user_id: Option<&str>,
    first: u64,
    offset: u64,
) -> AppResult<Vec<AuditedRelease>> {
    let user_id = match who.role {
        Role::Ethics | Role::Admin => user_id,
        Role::Recruiter | Role::Sponsor => match user_id {
            Some(other) if other != who.user_id => {
                return Err(AppError::forbidden(
                    "only ethics boards and admins read other users' cohort queries",
                ));
            }
            _ => Some(who.user_id.as_str()),
        },
        Role::Site => {
            return Err(AppError::forbidden(
                "sites count their own patients exactly; they have no cohort queries to audit",
            ));
        }
    };
    let mut query = cohort_release::Entity::find();
    if let Some(user_id) = user_id {
        query = query.filter(cohort_release::Column::UserId.eq(user_id));
    }
    let rows = query
        .order_by_desc(cohort_release::Column::CreatedAt)
        .order_by_desc(cohort_release::Column::Id)
        .offset(offset)
        .limit(first.min(MAX_PAGE))
        .all(db)
        .await?;
    let rows = readable_by(db, who, rows).await?;
    let mut ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let emails: HashMap<String, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| AuditedRelease {
            user_email: emails.get(&row.user_id).cloned(),
            row,
        })
        .collect())
}
