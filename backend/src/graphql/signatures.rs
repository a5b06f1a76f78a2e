//! Electronic signatures as the API shows them, read from the ledger.

use async_graphql::{Context, ID, SimpleObject};
use chrono::{DateTime, Utc};

use super::{ApiResult, parts};
use crate::domain::{Role, from_stored};
use crate::error::AppError;
use crate::services::signatures::{self, Signed};

/// An electronic signature (21 CFR Part 11 §11.50): the signer's printed name, when, and
/// what it means. It is a ledger entry of its own (`record.signed`), bound to the signed
/// record by that record's payload hash.
#[derive(SimpleObject, Clone, Debug)]
pub struct Signature {
    /// The signer's printed name.
    signer_name: String,
    /// The signer's account.
    signer_user_id: ID,
    /// The signer's role when signing.
    signer_role: Role,
    /// What the signature means, e.g. "I attest that this correction is accurate".
    meaning: String,
    signed_at: DateTime<Utc>,
    /// The `record.signed` ledger entry.
    ledger_seq: i64,
}

impl TryFrom<Signed> for Signature {
    type Error = AppError;

    fn try_from(signed: Signed) -> Result<Self, AppError> {
        let s = signed.signature;
        Ok(Self {
            signer_name: s.signer_name,
            signer_user_id: s.signer_user_id.into(),
            signer_role: from_stored(&s.signer_role)?,
            meaning: s.meaning,
            signed_at: s.signed_at,
            ledger_seq: signed.seq,
        })
    }
}

/// The signature of ledger entry `seq`, if it was signed.
pub async fn signature_of(ctx: &Context<'_>, seq: i64) -> ApiResult<Option<Signature>> {
    let (state, _) = parts(ctx);
    Ok(signatures::of_one(&state.db, seq)
        .await?
        .map(Signature::try_from)
        .transpose()?)
}
