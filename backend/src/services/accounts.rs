//! Organisations, users and sign-in.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, SqlErr,
};

use crate::auth::Principal;
use crate::auth::password::{check_policy, hash_password, verify_password};
use crate::auth::token::TokenKeys;
use crate::domain::{OrgKind, Role, from_stored};
use crate::entities::{organization, user};
use crate::error::{AppError, AppResult};

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
    Ok(organization::Entity::find()
        .order_by_asc(organization::Column::Name)
        .all(db)
        .await?)
}

/// What a new user needs.
pub struct NewUser<'a> {
    /// Sign-in email; stored lower-case, unique.
    pub email: &'a str,
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
    };
    user.insert(db).await.map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict(format!("a user with email {email} already exists"))
        }
        _ => err.into(),
    })
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

/// Checks an email and password and issues a token. A wrong email and a wrong password
/// get the same answer, so sign-in does not reveal who has an account.
pub async fn login(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    email: &str,
    password: &str,
) -> AppResult<Session> {
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?;
    let stored = found
        .as_ref()
        .map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(anyhow::Error::from)?;
    let user = match (found, matches) {
        (Some(user), true) => user,
        _ => {
            return Err(AppError::Unauthenticated(
                "the email or password is wrong".into(),
            ));
        }
    };
    let principal = Principal {
        user_id: user.id.clone(),
        org_id: user.org_id.clone(),
        role: from_stored(&user.role)?,
    };
    let token = keys.issue(&principal)?;
    let expires_at =
        Utc::now() + chrono::Duration::from_std(keys.lifetime()).map_err(anyhow::Error::from)?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
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
