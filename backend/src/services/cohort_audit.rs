//! The audit trail of cohort queries: who asked what, when, what they were shown and what it
//! cost their privacy budget. Ethics boards and admins read everyone's; recruiters, sponsors
//! and admins their own.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{cohort_release, user};
use crate::error::{AppError, AppResult};

/// Most rows returned by one call.
pub const MAX_PAGE: u64 = 1_000;

/// One audited cohort query with the asking user's email.
pub struct AuditedRelease {
    /// The stored row.
    pub row: cohort_release::Model,
    /// The user's email, when the user still exists.
    pub user_email: Option<String>,
}

/// A page of the audit trail, newest first, as `who` may read it.
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
