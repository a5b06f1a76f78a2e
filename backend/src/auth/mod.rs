//! Who is asking: passwords (Argon2id), signed tokens (JWT, HS256) and role checks.

pub mod password;
pub mod token;

use crate::domain::Role;
use crate::error::AppError;

/// The signed-in caller, as proven by a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user's id.
    pub user_id: String,
    /// The id of the user's organisation.
    pub org_id: String,
    /// The user's role.
    pub role: Role,
}

impl Principal {
    /// Succeeds when the caller has one of `allowed`, otherwise a `FORBIDDEN` error.
    pub fn require(&self, allowed: &[Role]) -> Result<(), AppError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

/// What the HTTP layer learnt from the `Authorization` header, handed to resolvers.
#[derive(Clone, Debug)]
pub enum Caller {
    /// No token was presented.
    Anonymous,
    /// A token was presented but refused; the reason is safe to show.
    Refused(String),
    /// A valid token.
    Authenticated(Principal),
}

impl Caller {
    /// The principal, or an `UNAUTHENTICATED` error saying why there is none.
    pub fn principal(&self) -> Result<&Principal, AppError> {
        match self {
            Caller::Authenticated(p) => Ok(p),
            Caller::Anonymous => Err(AppError::Unauthenticated(
                "sign in first: send `Authorization: Bearer <token>` from the login mutation"
                    .into(),
            )),
            Caller::Refused(why) => Err(AppError::Unauthenticated(why.clone())),
        }
    }

    /// The principal if it has one of `allowed` roles.
    pub fn require(&self, allowed: &[Role]) -> Result<&Principal, AppError> {
        let principal = self.principal()?;
        principal.require(allowed)?;
        Ok(principal)
    }
}
