//! What every request handler shares.

use sea_orm::DatabaseConnection;

use crate::auth::token::TokenKeys;
use crate::services::ledger::LedgerKeys;

/// Shared application state: cheap to clone (everything inside is reference-counted).
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Token signing and verification keys.
    pub tokens: TokenKeys,
    /// The ledger's checkpoint-signing identity.
    pub ledger: LedgerKeys,
}
