//! What every request handler shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::throttle::SignInGuard;
use crate::auth::token::TokenKeys;
use crate::datadir::DataDir;
use crate::keys_dir::KeysDir;
use crate::services::attachments::AttachmentStore;
use crate::services::ledger::{Cosigning, LedgerKeys, LedgerWriter, VerificationGate};
use crate::services::matching::Matching;
use crate::services::privacy::PrivacyPolicy;

/// Shared application state: cheap to clone (everything inside is reference-counted).
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Token signing and verification keys.
    pub tokens: TokenKeys,
    /// The ledger's checkpoint-signing identity.
    pub ledger: LedgerKeys,
    /// Every ledgered change goes through it: one unit of work, group-committed.
    pub writer: LedgerWriter,
    /// The tasks asking witnesses to cosign checkpoints, and what they have seen.
    pub cosigning: Cosigning,
    /// At most one full ledger verification at a time, shared by concurrent callers.
    pub verifications: VerificationGate,
    /// The data directory (index, and attachments unless stored elsewhere).
    pub data_dir: DataDir,
    /// The key directory shared by every process on the database.
    pub keys: KeysDir,
    /// Where attachment files are stored.
    pub attachments: AttachmentStore,
    /// The search indexes and the suppression rule.
    pub matching: Matching,
    /// How cohort counts are released to recruiters and sponsors.
    pub privacy: PrivacyPolicy,
    /// Sign-in rate limits, the password-hashing gate and the lockout rule.
    pub sign_in: Arc<SignInGuard>,
}
