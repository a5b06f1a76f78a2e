//! Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.200; EU Annex 11): an act with
//! legal meaning (publishing or amending a protocol, an ethics decision, a consent, a
//! correction, a case-report sign-off) is signed by re-entering the signer's password in the
//! same request.
//!
//! A signature is itself a ledger entry (`record.signed`), appended in the same unit of work
//! right after the act it signs. Its subjects name that entry and its payload hash, so the
//! signature is bound to the exact content (the chain verifier checks the binding, offline
//! too); its payload names the signer (printed name, account, role), the time and the
//! meaning. Signatures are read back from the ledger, never from a table an operator could
//! edit unseen.
//!
//! A wrong password is refused with `SIGNATURE_REFUSED`, changes nothing, and counts toward
//! the account's lockout like a failed sign-in; a locked or deactivated account cannot sign,
//! while the signatures it made stay valid and readable.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use ledger::EntryKind;
use ledger::entry::{SIGNED_PAYLOAD_SUBJECT, SIGNED_SUBJECT};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::ledger::{Appended, NewEntry, StoredEntry, Work};
use super::lockout::{self, LockoutRule};
use crate::auth::Principal;
use crate::auth::throttle::EmailKey;
use crate::entities::{ledger_entry, ledger_payload, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A signature: who, when, meaning what. The payload of its `record.signed` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signature {
    /// The signer's account id.
    pub signer_user_id: String,
    /// The signer's printed name (their display name when signing).
    pub signer_name: String,
    /// The signer's role when signing, e.g. `ETHICS`.
    pub signer_role: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// What the signature means, e.g. `approved`.
    pub meaning: String,
}

/// A signature read back from the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The `record.signed` entry.
    pub seq: i64,
    /// What it says.
    pub signature: Signature,
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
        signer_user_id: account.id,
        signer_name: account.display_name,
        signer_role: account.role,
        signed_at: Utc::now(),
        meaning: meaning.to_string(),
    })
}

/// How an act is attested.
#[derive(Clone, Copy, Debug)]
pub enum Attest<'a> {
    /// Signed by the acting user, who re-entered this password in the request.
    Password(&'a str),
    /// Imported from a registry (ClinicalTrials.gov) or an EHR (FHIR): unsigned, and shown
    /// as such. An imported protocol enrolls nobody until its sponsor amends it to name its
    /// sites and board, and that amendment is signed.
    Imported,
}

impl Attest<'_> {
    /// The signature of `meaning` by `who`, or none for an import; see [`sign`].
    pub async fn sign(
        self,
        state: &AppState,
        who: &Principal,
        meaning: &str,
    ) -> AppResult<Option<Signature>> {
        match self {
            Attest::Password(password) => Ok(Some(sign(state, who, password, meaning).await?)),
            Attest::Imported => Ok(None),
        }
    }
}

/// Appends `act` and, right after it in the same unit of work, its signature
/// (`record.signed`) when it has one. The signature entry shares the act's `trial` subject,
/// so whoever sees the act sees who signed it. Returns the act's coordinates.
pub fn append_act(
    work: &mut Work,
    act: NewEntry,
    signature: Option<&Signature>,
) -> AppResult<Appended> {
    let trial = act.subjects.get("trial").cloned();
    let actor = act.actor.clone();
    let signed = work.append_one(act)?;
    let Some(signature) = signature else {
        return Ok(signed);
    };
    let mut subjects = BTreeMap::from([
        (SIGNED_SUBJECT.to_string(), signed.seq.to_string()),
        (
            SIGNED_PAYLOAD_SUBJECT.to_string(),
            signed.payload_hash.to_hex(),
        ),
    ]);
    if let Some(trial) = trial {
        subjects.insert("trial".to_string(), trial);
    }
    work.append_one(NewEntry {
        kind: EntryKind::RecordSigned,
        actor,
        subjects,
        payload: serde_json::to_value(signature).map_err(anyhow::Error::from)?,
    })?;
    Ok(signed)
}

/// The signatures of the entries `signed` (sequence numbers), read from the ledger: the
/// `record.signed` entry just after each one, when it names that entry. Entries without a
/// signature are absent from the map.
pub async fn of(
    db: &impl ConnectionTrait,
    signed: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, Signed>> {
    let candidates: Vec<i64> = signed.into_iter().map(|seq| seq + 1).collect();
    if candidates.is_empty() {
        return Ok(HashMap::new());
    }
    let mut found = HashMap::new();
    for chunk in candidates.chunks(500) {
        let rows = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::Seq.is_in(chunk.iter().copied()))
            .filter(ledger_entry::Column::Kind.eq(EntryKind::RecordSigned.as_str()))
            .all(db)
            .await?;
        let payloads: HashMap<i64, String> = ledger_payload::Entity::find()
            .filter(ledger_payload::Column::Seq.is_in(rows.iter().map(|r| r.seq)))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|p| p.body.map(|body| (p.seq, body)))
            .collect();
        for row in rows {
            let entry = StoredEntry::from_row(&row)?.entry;
            let names_previous = entry.subjects.get(SIGNED_SUBJECT).map(String::as_str)
                == Some((row.seq - 1).to_string().as_str());
            let Some(body) = payloads.get(&row.seq).filter(|_| names_previous) else {
                continue;
            };
            let signature: Signature = serde_json::from_str(body).map_err(|err| {
                AppError::Internal(anyhow::anyhow!(
                    "the signature in entry {} is malformed: {err}",
                    row.seq
                ))
            })?;
            found.insert(
                row.seq - 1,
                Signed {
                    seq: row.seq,
                    signature,
                },
            );
        }
    }
    Ok(found)
}

/// The signature of entry `signed`, if it has one; see [`of`].
pub async fn of_one(db: &impl ConnectionTrait, signed: i64) -> AppResult<Option<Signed>> {
    Ok(of(db, [signed]).await?.remove(&signed))
}
