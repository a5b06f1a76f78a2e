//! Sessions: one row per issued token, checked on every authenticated request, so that
//! signing out, deactivation, a role change or a deleted user take effect at once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::auth::token::{TokenKeys, VerifiedToken};
use crate::auth::{Caller, Principal};
use crate::domain::Role;
use crate::entities::{session, user};
use crate::error::AppResult;

/// Opens a session for `principal` and signs its token.
pub async fn open(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    principal: &Principal,
) -> AppResult<crate::auth::token::IssuedToken> {
    let id = uuid::Uuid::new_v4().to_string();
    let issued = keys.issue(principal, &id)?;
    session::Entity::insert(session::ActiveModel {
        id: Set(id),
        user_id: Set(principal.user_id.clone()),
        issued_at: Set(issued.issued_at),
        expires_at: Set(issued.expires_at),
        revoked_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(issued)
}

/// Who presents `token`: its signature and expiry, then, in one indexed query, that its
/// session stands and that its user still exists, is active and has the token's role and
/// organisation.
pub async fn authenticate(db: &impl ConnectionTrait, keys: &TokenKeys, token: &str) -> Caller {
    let verified = match keys.verify(token) {
        Ok(verified) => verified,
        Err(why) => return Caller::Refused(why),
    };
    let found = session::Entity::find_by_id(verified.session_id.clone())
        .find_also_related(user::Entity)
        .one(db)
        .await;
    match found {
        Ok(Some((session, Some(user)))) => match refusal(&verified, &session, &user, Utc::now()) {
            None => Caller::Authenticated {
                principal: verified.principal,
                session_id: verified.session_id,
            },
            Some(why) => Caller::Refused(why.into()),
        },
        Ok(_) => Caller::Refused("the session has ended: sign in again".into()),
        Err(err) => {
            tracing::error!(error = %err, "cannot check a session");
            Caller::Unchecked
        }
    }
}

/// Why a verified token no longer stands, if it does not.
fn refusal(
    token: &VerifiedToken,
    session: &session::Model,
    user: &user::Model,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let principal = &token.principal;
    if session.user_id != principal.user_id {
        Some("the session has ended: sign in again")
    } else if session.revoked_at.is_some() {
        Some("you have signed out: sign in again")
    } else if session.expires_at <= now {
        Some("the token has expired: sign in again")
    } else if !user.active {
        Some("the account is deactivated")
    } else if user.org_id != principal.org_id
        || user.role.parse::<Role>().ok() != Some(principal.role)
    {
        Some("the account's role or organisation has changed: sign in again")
    } else {
        None
    }
}

/// Revokes one session (signing out); revoking it again changes nothing.
pub async fn revoke(db: &impl ConnectionTrait, session_id: &str) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every open session of a user.
pub async fn revoke_all_of(db: &impl ConnectionTrait, user_id: &str) -> AppResult<u64> {
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deletes sessions that expired (revoked or not); returns how many.
pub async fn prune_expired(db: &impl ConnectionTrait) -> AppResult<u64> {
    let result = session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (VerifiedToken, session::Model, user::Model, DateTime<Utc>) {
        let now = Utc::now();
        let token = VerifiedToken {
            principal: Principal {
                user_id: "u1".into(),
                org_id: "o1".into(),
                role: Role::Site,
            },
            session_id: "s1".into(),
        };
        let session = session::Model {
            id: "s1".into(),
            user_id: "u1".into(),
            issued_at: now,
            expires_at: now + chrono::Duration::hours(1),
            revoked_at: None,
        };
        let user = user::Model {
            id: "u1".into(),
            email: "a@b.org".into(),
            password_hash: String::new(),
            org_id: "o1".into(),
            role: "site".into(),
            created_at: now,
            active: true,
            display_name: "A B".into(),
        };
        (token, session, user, now)
    }

    #[test]
    fn a_standing_session_passes() {
        let (token, session, user, now) = fixture();
        assert_eq!(refusal(&token, &session, &user, now), None);
    }

    #[test]
    fn revoked_expired_deactivated_or_changed_sessions_are_refused() {
        let (token, session, user, now) = fixture();
        let revoked = session::Model {
            revoked_at: Some(now),
            ..session.clone()
        };
        assert!(refusal(&token, &revoked, &user, now).is_some());
        let expired = session::Model {
            expires_at: now,
            ..session.clone()
        };
        assert!(refusal(&token, &expired, &user, now).is_some());
        for changed in [
            user::Model {
                active: false,
                ..user.clone()
            },
            user::Model {
                role: "sponsor".into(),
                ..user.clone()
            },
            user::Model {
                org_id: "o2".into(),
                ..user.clone()
            },
        ] {
            assert!(refusal(&token, &session, &changed, now).is_some());
        }
        let other_user = session::Model {
            user_id: "u2".into(),
            ..session
        };
        assert!(refusal(&token, &other_user, &user, now).is_some());
    }
}
