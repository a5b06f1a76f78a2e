//! Lockout after repeated failed sign-ins, counted per email in the database so that it
//! holds across processes. Unknown emails are counted exactly like known ones, so the
//! answers never reveal which accounts exist.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::auth::throttle::{EmailKey, SignInPolicy};
use crate::entities::sign_in_failure as failure;
use crate::error::{AppError, AppResult};

/// How failures are counted: `max_failures` within `window` lock the email for `window`.
#[derive(Clone, Copy, Debug)]
pub struct LockoutRule {
    /// Failures that lock; 0 turns lockout off.
    pub max_failures: u32,
    /// How long failures are counted for, and how long the lock lasts.
    pub window: Duration,
}

impl From<&SignInPolicy> for LockoutRule {
    /// The rule of a sign-in policy: its failure count and lockout window.
    fn from(policy: &SignInPolicy) -> Self {
        LockoutRule {
            max_failures: policy.max_failures,
            window: policy.lockout,
        }
    }
}

/// The answer to a sign-in on a locked email, known or not.
pub fn locked_error() -> AppError {
    AppError::Unauthenticated(
        "too many failed sign-ins: this email is locked for a while; try again later or ask an \
         administrator to unlock the account"
            .into(),
    )
}

/// Until when `email` is locked out, if it is.
pub async fn locked_until(
    db: &impl ConnectionTrait,
    email: &EmailKey,
) -> AppResult<Option<DateTime<Utc>>> {
    let row = failure::Entity::find_by_id(email.hex()).one(db).await?;
    let now = Utc::now();
    Ok(row
        .and_then(|row| row.locked_until)
        .filter(|until| *until > now))
}

/// Counts one failed sign-in for `email`; locks it once the rule's count is reached.
/// Returns whether the email is now locked.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    email: &EmailKey,
    rule: LockoutRule,
) -> AppResult<bool> {
    let now = Utc::now();
    let window = chrono::Duration::from_std(rule.window).map_err(anyhow::Error::from)?;
    let key = email.hex();
    let counted = failure::Entity::update_many()
        .col_expr(
            failure::Column::Failures,
            sea_orm::sea_query::ExprTrait::add(Expr::col(failure::Column::Failures), 1),
        )
        .filter(failure::Column::EmailHash.eq(key.as_str()))
        .filter(failure::Column::WindowStartedAt.gt(now - window))
        .exec(db)
        .await?;
    if counted.rows_affected == 0 {
        // No row, or one whose window has passed: start a new window.
        failure::Entity::insert(failure::ActiveModel {
            email_hash: Set(key.clone()),
            failures: Set(1),
            window_started_at: Set(now),
            locked_until: Set(None),
        })
        .on_conflict(
            OnConflict::column(failure::Column::EmailHash)
                .update_columns([
                    failure::Column::Failures,
                    failure::Column::WindowStartedAt,
                    failure::Column::LockedUntil,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    }
    if rule.max_failures == 0 {
        return Ok(false);
    }
    let locked = failure::Entity::update_many()
        .col_expr(failure::Column::LockedUntil, Expr::value(now + window))
        .filter(failure::Column::EmailHash.eq(key.as_str()))
        .filter(failure::Column::Failures.gte(i64::from(rule.max_failures)))
        .filter(failure::Column::LockedUntil.is_null())
        .exec(db)
        .await?;
    Ok(locked.rows_affected > 0)
}

/// Forgets the failures of `email` (a successful sign-in, or an admin's unlock).
/// Returns whether there was anything to forget.
pub async fn clear(db: &impl ConnectionTrait, email: &EmailKey) -> AppResult<bool> {
    let result = failure::Entity::delete_by_id(email.hex()).exec(db).await?;
    Ok(result.rows_affected > 0)
}

/// Deletes counts whose window has passed and whose lock, if any, has ended.
pub async fn prune(db: &impl ConnectionTrait, window: Duration) -> AppResult<u64> {
    let now = Utc::now();
    let window = chrono::Duration::from_std(window).map_err(anyhow::Error::from)?;
    let result = failure::Entity::delete_many()
        .filter(failure::Column::WindowStartedAt.lt(now - window))
        .filter(
            Condition::any()
                .add(failure::Column::LockedUntil.is_null())
                .add(failure::Column::LockedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
