//! Organisations, users and sign-in.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, SqlErr, TransactionTrait,
};

use crate::auth::Principal;
use crate::auth::password::{check_policy, hash_password};
use crate::auth::throttle::{ClientAddr, EmailKey};
use crate::domain::{OrgKind, Role, from_stored};
use crate::entities::{organization, user};
use crate::error::{AppError, AppResult};
use crate::services::lockout::{self, LockoutRule};
use crate::services::sessions;
use crate::state::AppState;

/// A PHC hash of a random password, verified against when the email is unknown so that
/// a wrong email and a wrong password take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yn8Qy4b0VbG0c0v3sA9yC0m1Jc2v3bq4l6mG8e1r9kQ";

/// Creates an organisation; names are unique.
pub async fn create_organization(
    db: &impl ConnectionTrait,
    name: &str,
    kind: OrgKind,
) -> AppResult<organization::Model> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::bad_input("the organisation name is empty"));
    }
    let org = organization::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        name: Set(name.to_string()),
        kind: Set(kind.as_str().to_string()),
        created_at: Set(Utc::now()),
    };
    org.insert(db).await.map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict(format!("an organisation named {name:?} already exists"))
        }
        _ => err.into(),
    })
}

/// The organisation called `name`.
pub async fn organization_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> AppResult<organization::Model> {
    organization::Entity::find()
        .filter(organization::Column::Name.eq(name.trim()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no organisation is named {name:?}")))
}

/// The organisation with `id`.
pub async fn organization(db: &impl ConnectionTrait, id: &str) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no organisation has id {id:?}")))
}

/// Every organisation, by name.
pub async fn organizations(db: &impl ConnectionTrait) -> AppResult<Vec<organization::Model>> {
    directory(db, &[]).await
}

/// The organisations of the given kinds (every kind when empty), by name: the directory a
/// sponsor chooses a protocol's sites and ethics board from.
pub async fn directory(
    db: &impl ConnectionTrait,
    kinds: &[OrgKind],
) -> AppResult<Vec<organization::Model>> {
    let mut query = organization::Entity::find();
    if !kinds.is_empty() {
        query = query.filter(organization::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    Ok(query
        .order_by_asc(organization::Column::Name)
        .all(db)
        .await?)
}

/// What a new user needs.
pub struct NewUser<'a> {
    /// Sign-in email; stored lower-case, unique.
    pub email: &'a str,
    /// The person's name, as printed on their signatures and in audit trails.
    pub display_name: &'a str,
    /// Name of an existing organisation.
    pub org_name: &'a str,
    /// The user's role; must fit the organisation's kind.
    pub role: Role,
    /// The clear password, hashed before it is stored.
    pub password: &'a str,
}

/// Creates a user in an existing organisation, storing only an Argon2id hash of the password.
pub async fn create_user(db: &impl ConnectionTrait, new: NewUser<'_>) -> AppResult<user::Model> {
    let email = normalise_email(new.email)?;
    let display_name = display_name(new.display_name)?;
    check_policy(new.password).map_err(AppError::BadInput)?;
    let org = organization_by_name(db, new.org_name).await?;
    let kind: OrgKind = from_stored(&org.kind)?;
    if !new.role.fits(kind) {
        return Err(AppError::bad_input(format!(
            "a {} user cannot belong to {:?}, which is a {} organisation",
            new.role, org.name, kind
        )));
    }
    let password = new.password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(anyhow::Error::from)??;
    let user = user::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        email: Set(email.clone()),
        password_hash: Set(password_hash),
        org_id: Set(org.id),
        role: Set(new.role.as_str().to_string()),
        created_at: Set(Utc::now()),
        active: Set(true),
        display_name: Set(display_name),
    };
    user.insert(db).await.map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict(format!("a user with email {email} already exists"))
        }
        _ => err.into(),
    })
}

/// Longest display name accepted, in characters.
const MAX_DISPLAY_NAME: usize = 120;

/// A person's name, trimmed: not empty, not over [`MAX_DISPLAY_NAME`] characters, no
/// control characters (it is printed on signatures).
fn display_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::bad_input(
            "the display name is empty: signatures and audit trails print it",
        ));
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(AppError::bad_input(format!(
            "the display name is longer than {MAX_DISPLAY_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            "the display name contains control characters",
        ));
    }
    Ok(name.to_string())
}

/// The user with `id`.
pub async fn user(db: &impl ConnectionTrait, id: &str) -> AppResult<user::Model> {
    user::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user has id {id:?}")))
}

/// The user with `email`.
pub async fn user_by_email(db: &impl ConnectionTrait, email: &str) -> AppResult<user::Model> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user has email {email:?}")))
}

/// Every user of the organisation `org_id`, by email.
pub async fn users_of(db: &impl ConnectionTrait, org_id: &str) -> AppResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::OrgId.eq(org_id))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?)
}

/// A successful sign-in.
pub struct Session {
    /// The signed token to send as `Authorization: Bearer …`.
    pub token: String,
    /// When the token stops being accepted.
    pub expires_at: chrono::DateTime<Utc>,
    /// Who signed in.
    pub user: user::Model,
}

/// The answer to a wrong email or a wrong password, alike.
const WRONG_CREDENTIALS: &str = "the email or password is wrong";

/// Checks an email and password and opens a session.
///
/// In order: the per-address and per-email rate limits (`RATE_LIMITED`), the lockout of
/// the email (`UNAUTHENTICATED`), then the password, verified under the hashing gate
/// (`RATE_LIMITED` when its line is full). An unknown email takes the same path as a known
/// one, against a dummy hash, and has its failures counted and locked the same way, so
/// sign-in does not reveal who has an account.
pub async fn login(
    state: &AppState,
    client: Option<ClientAddr>,
    email: &str,
    password: &str,
) -> AppResult<Session> {
    let db = &state.db;
    let guard = &state.sign_in;
    let key = EmailKey::of(email);
    guard.admit(client, &key)?;
    prune_if_due(state).await;
    if lockout::locked_until(db, &key).await?.is_some() {
        tracing::info!(email = %key.short(), "sign-in refused: locked out");
        return Err(lockout::locked_error());
    }
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?;
    let stored = found
        .as_ref()
        .map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let matches = guard.gate().verify(password.to_string(), stored).await?;
    let user = match (found, matches) {
        (Some(user), true) => user,
        _ => {
            let rule = LockoutRule::from(guard.policy());
            let locked = lockout::record_failure(db, &key, rule).await?;
            tracing::info!(email = %key.short(), locked, "sign-in failed");
            return Err(AppError::Unauthenticated(WRONG_CREDENTIALS.into()));
        }
    };
    if !user.active {
        return Err(AppError::Unauthenticated(
            "the account is deactivated; ask an administrator".into(),
        ));
    }
    lockout::clear(db, &key).await?;
    let principal = Principal {
        user_id: user.id.clone(),
        org_id: user.org_id.clone(),
        role: from_stored(&user.role)?,
    };
    let issued = sessions::open(db, &state.tokens, &principal).await?;
    Ok(Session {
        token: issued.token,
        expires_at: issued.expires_at,
        user,
    })
}

/// Prunes expired sessions and stale failure counts, at most once a minute per process;
/// a failure is logged, never in the way of a sign-in.
async fn prune_if_due(state: &AppState) {
    if !state.sign_in.prune_due() {
        return;
    }
    let window = state.sign_in.policy().lockout;
    let pruned = async {
        let sessions = sessions::prune_expired(&state.db).await?;
        let failures = lockout::prune(&state.db, window).await?;
        AppResult::Ok((sessions, failures))
    }
    .await;
    match pruned {
        Ok((sessions, failures)) => {
            tracing::debug!(
                sessions,
                failures,
                "pruned expired sessions and failure counts"
            );
        }
        Err(err) => tracing::warn!(error = %err, "cannot prune expired sessions"),
    }
}

/// Signs out: revokes the caller's session.
pub async fn logout(db: &impl ConnectionTrait, session_id: &str) -> AppResult<()> {
    sessions::revoke(db, session_id).await
}

/// Lets a locked-out user sign in again at once.
pub async fn unlock(db: &impl ConnectionTrait, user_id: &str) -> AppResult<user::Model> {
    let user = user(db, user_id).await?;
    lockout::clear(db, &EmailKey::of(&user.email)).await?;
    Ok(user)
}

/// Deactivates (`active = false`) or reactivates a user. Deactivation revokes every
/// session of the user; `acting` (the admin doing it, if any) cannot deactivate themselves.
pub async fn set_active(
    db: &DatabaseConnection,
    acting: Option<&str>,
    user_id: &str,
    active: bool,
) -> AppResult<user::Model> {
    if !active && acting == Some(user_id) {
        return Err(AppError::conflict("you cannot deactivate your own account"));
    }
    let txn = db.begin().await?;
    let found = user(&txn, user_id).await?;
    let mut row: user::ActiveModel = found.into();
    row.active = Set(active);
    let updated = row.update(&txn).await?;
    if !active {
        sessions::revoke_all_of(&txn, user_id).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Changes a user's role (it must fit the organisation's kind) and revokes their sessions,
/// so the new role applies from their next sign-in; `acting` cannot change their own role.
pub async fn set_role(
    db: &DatabaseConnection,
    acting: Option<&str>,
    user_id: &str,
    role: Role,
) -> AppResult<user::Model> {
    if acting == Some(user_id) {
        return Err(AppError::conflict("you cannot change your own role"));
    }
    let txn = db.begin().await?;
    let found = user(&txn, user_id).await?;
    let org = organization(&txn, &found.org_id).await?;
    let kind: OrgKind = from_stored(&org.kind)?;
    if !role.fits(kind) {
        return Err(AppError::bad_input(format!(
            "a {role} user cannot belong to {:?}, which is a {kind} organisation",
            org.name
        )));
    }
    let mut row: user::ActiveModel = found.into();
    row.role = Set(role.as_str().to_string());
    let updated = row.update(&txn).await?;
    sessions::revoke_all_of(&txn, user_id).await?;
    txn.commit().await?;
    Ok(updated)
}

fn normalise_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    });
    if valid {
        Ok(email)
    } else {
        Err(AppError::bad_input(format!(
            "{email:?} is not an email address"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalise_email(" Ana@Site.ORG ").unwrap(), "ana@site.org");
        assert!(normalise_email("ana").is_err());
        assert!(normalise_email("@site.org").is_err());
        assert!(normalise_email("ana@localhost").is_err());
    }

    #[test]
    fn the_dummy_hash_is_well_formed() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
