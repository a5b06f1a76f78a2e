//! Electronic signatures (21 CFR Part 11 §11.50, §11.200; EU Annex 11): an act with legal
//! meaning is signed by re-entering the signer's password in the same request. The signature
//! names the signer (the account's email), the time and the meaning, and is stored in the
//! act's ledger entry, whose payload binds it to the exact content (the document hash). A
//! wrong password is refused with `SIGNATURE_REFUSED`, changes nothing, and counts toward
//! the account's lockout like a failed sign-in; a locked or deactivated account cannot sign.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::Serialize;

use super::lockout::{self, LockoutRule};
use crate::auth::Principal;
use crate::auth::throttle::EmailKey;
use crate::entities::user;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A signature made: who, when, meaning what. Serialised into the signed act's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signature {
    /// The signer's account (its email).
    pub signer: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// What the signature means, e.g. `approved`.
    pub meaning: String,
}

/// Checks `password` against the signer's account and returns the signature of `meaning`,
/// or refuses it (a wrong password is counted toward the account's lockout).
pub async fn sign(
    state: &AppState,
    signer: &Principal,
    password: &str,
    meaning: &str,
) -> AppResult<Signature> {
    let db = &state.db;
    let account = user::Entity::find_by_id(signer.user_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| AppError::SignatureRefused("the signing account is gone".into()))?;
    let key = EmailKey::of(&account.email);
    if !account.active || lockout::locked_until(db, &key).await?.is_some() {
        return Err(AppError::SignatureRefused(
            "this account is locked or deactivated and cannot sign".into(),
        ));
    }
    let matches = state
        .sign_in
        .gate()
        .verify(password.to_string(), account.password_hash.clone())
        .await?;
    if !matches {
        let rule = LockoutRule::from(state.sign_in.policy());
        let locked = lockout::record_failure(db, &key, rule).await?;
        tracing::info!(email = %key.short(), locked, "signature refused");
        return Err(AppError::SignatureRefused(
            "the password does not match: nothing was signed or changed".into(),
        ));
    }
    Ok(Signature {
        signer: account.email,
        signed_at: Utc::now(),
        meaning: meaning.to_string(),
    })
}
