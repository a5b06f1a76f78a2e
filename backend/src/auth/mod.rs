//! Who is asking: passwords (Argon2id), signed tokens (JWT, HS256), role checks, and the
//! limits that keep sign-in standing under a flood.

pub mod gate;
pub mod limiter;
pub mod password;
pub mod throttle;
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

/// What the HTTP layer learnt from the `Authorization` header and the session it names,
/// handed to resolvers.
#[derive(Clone, Debug)]
pub enum Caller {
    /// No token was presented.
    Anonymous,
    /// A token was presented but refused; the reason is safe to show.
    Refused(String),
    /// The session could not be checked (the database failed); answered as internal.
    Unchecked,
    /// A valid token whose session stands and whose user is unchanged.
    Authenticated {
        /// Who is asking.
        principal: Principal,
        /// The session (the token's `jti`), for signing out.
        session_id: String,
    },
}

impl Caller {
    /// The principal, or an `UNAUTHENTICATED` error saying why there is none.
    pub fn principal(&self) -> Result<&Principal, AppError> {
        match self {
            Caller::Authenticated { principal, .. } => Ok(principal),
            other => Err(other.refusal()),
        }
    }

    /// The session of a signed-in caller, or why there is none.
    pub fn session_id(&self) -> Result<&str, AppError> {
        match self {
            Caller::Authenticated { session_id, .. } => Ok(session_id),
            other => Err(other.refusal()),
        }
    }

    /// The principal if it has one of `allowed` roles.
    pub fn require(&self, allowed: &[Role]) -> Result<&Principal, AppError> {
        let principal = self.principal()?;
        principal.require(allowed)?;
        Ok(principal)
    }

    fn refusal(&self) -> AppError {
        match self {
            Caller::Anonymous => AppError::Unauthenticated(
                "sign in first: send `Authorization: Bearer <token>` from the login mutation"
                    .into(),
            ),
            Caller::Refused(why) => AppError::Unauthenticated(why.clone()),
            Caller::Unchecked | Caller::Authenticated { .. } => {
                AppError::Internal(anyhow::anyhow!("the caller's session could not be checked"))
            }
        }
    }
}
