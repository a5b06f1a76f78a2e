//! The one error type services return, and its mapping to stable GraphQL error codes.

/// What went wrong in a service call, in terms a client can act on.
///
/// Each variant maps to a stable `code` in the GraphQL error's extensions; the message is
/// for humans and never carries personal data, tokens or secrets.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid token was presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is signed in but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist (or the caller may not know it exists).
    #[error("{0}")]
    NotFound(String),
    /// The input is malformed or violates a rule.
    #[error("{0}")]
    BadInput(String),
    /// A record that breaks its form's definition: `fields` names every field at fault
    /// (code `BAD_INPUT`, with the field ids in the `fields` extension).
    #[error("{message}")]
    InvalidFields {
        fields: Vec<String>,
        message: String,
    },
    /// Eligibility criteria that do not parse; the message carries the position.
    #[error("{0}")]
    BadCriteria(String),
    /// The change conflicts with stored state (duplicate, wrong state).
    #[error("{0}")]
    Conflict(String),
    /// The caller's privacy budget for cohort counts is spent for now; the message says
    /// when it frees up.
    #[error("{0}")]
    BudgetExhausted(String),
    /// Too many requests of this kind right now; trying again later may succeed.
    #[error("{0}")]
    RateLimited(String),
    /// This server's search index has not caught up with the database within the freshness
    /// bound; trying again (here or on another server) may succeed.
    #[error("{0}")]
    IndexBehind(String),
    /// An electronic signature was refused: the re-entered password did not match (the
    /// attempt is counted toward the account's lockout) or the account may not sign.
    #[error("{0}")]
    SignatureRefused(String),
    /// A fault on our side; details go to the log, not to the client.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadInput(_) | AppError::InvalidFields { .. } => "BAD_INPUT",
            AppError::BadCriteria(_) => "BAD_CRITERIA",
            AppError::Conflict(_) => "CONFLICT",
            AppError::BudgetExhausted(_) => "PRIVACY_BUDGET_EXHAUSTED",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::IndexBehind(_) => "INDEX_BEHIND",
            AppError::SignatureRefused(_) => "SIGNATURE_REFUSED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// Shorthand for a [`AppError::BadInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadInput(message.into())
    }

    /// Shorthand for a [`AppError::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::NotFound(message.into())
    }

    /// Shorthand for a [`AppError::Forbidden`].
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    /// Shorthand for a [`AppError::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict(message.into())
    }

    /// A database error, where a unique-constraint violation (a race lost to a concurrent
    /// request) becomes a [`AppError::Conflict`] with `message`, never an internal error.
    pub fn unique_or_internal(err: sea_orm::DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::conflict(message),
            _ => err.into(),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("database error"))
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// Result of a service call.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(AppError::forbidden("no").code(), "FORBIDDEN");
        assert_eq!(AppError::bad_input("no").code(), "BAD_INPUT");
        assert_eq!(AppError::BadCriteria("x".into()).code(), "BAD_CRITERIA");
        assert_eq!(AppError::RateLimited("x".into()).code(), "RATE_LIMITED");
        assert_eq!(AppError::IndexBehind("x".into()).code(), "INDEX_BEHIND");
        assert_eq!(
            AppError::SignatureRefused("x".into()).code(),
            "SIGNATURE_REFUSED"
        );
    }
}
