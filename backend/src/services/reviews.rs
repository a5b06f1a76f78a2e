//! Ethics review of protocol versions. Every new version starts `SUBMITTED`; the trial's
//! named board approves it, rejects it, or asks for changes, with a comment, as one
//! ledgered decision (`protocol.reviewed`) bound to the version's document hash and signed
//! electronically by the board member ([`signatures`]: a `record.signed` entry right after). A version is decided once; a
//! changed protocol is an amendment, a new version reviewed anew. Invitations and
//! enrollment wait for the current version's approval
//! ([`protocols::TrialView::require_approved`]).

use std::collections::BTreeMap;

use ledger::EntryKind;
use sea_orm::{ActiveValue::Set, EntityTrait, SqlErr};
use serde_json::json;

use super::ledger::{Actor, NewEntry, Work, seq_i64};
use super::protocols;
use super::signatures::{self, Signature};
use crate::auth::Principal;
use crate::domain::{ReviewDecision, Role};
use crate::entities::protocol_review;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Longest comment kept with a decision.
const MAX_COMMENT: usize = 8 * 1024;

/// What a board member decides, and the password that signs it.
pub struct Decision<'a> {
    /// Approve, reject, or ask for changes.
    pub decision: ReviewDecision,
    /// Why; required unless approving.
    pub comment: &'a str,
    /// The member's own password, re-entered to sign.
    pub password: &'a str,
}

/// Records the board's decision on version `version` of the trial: only its named board,
/// only on the current version, only once, signed with the member's password. Approval needs
/// no comment; a rejection or a request for changes says why.
pub async fn review(
    state: &AppState,
    board: &Principal,
    trial_id: &str,
    version: i32,
    decision: Decision<'_>,
) -> AppResult<protocol_review::Model> {
    let Decision {
        decision,
        comment,
        password,
    } = decision;
    board.require(&[Role::Ethics])?;
    let comment = comment.trim().to_string();
    if comment.is_empty() && decision != ReviewDecision::Approved {
        return Err(AppError::bad_input(
            "a rejection or a request for changes needs a comment saying why",
        ));
    }
    if comment.len() > MAX_COMMENT {
        return Err(AppError::bad_input(format!(
            "the comment is longer than {MAX_COMMENT} bytes"
        )));
    }
    // The board must be able to see the trial before a password is even checked.
    protocols::readable_trial(state, board, trial_id).await?;
    let signature =
        signatures::sign(state, board, password, &decision.as_str().replace('_', " ")).await?;
    let (board, trial_id) = (board.clone(), trial_id.to_string());
    let decided = Decided {
        decision,
        comment,
        signature,
    };
    state
        .writer
        .run(move |work| {
            Box::pin(async move { review_unit(work, &board, &trial_id, version, decided).await })
        })
        .await
}

/// A decision with its comment and signature, ready to record.
struct Decided {
    decision: ReviewDecision,
    comment: String,
    signature: Signature,
}

async fn review_unit(
    work: &mut Work,
    board: &Principal,
    trial_id: &str,
    version: i32,
    decided: Decided,
) -> AppResult<protocol_review::Model> {
    let Decided {
        decision,
        comment,
        signature,
    } = decided;
    let view = protocols::trial_view(work.db(), trial_id).await?;
    if !protocols::may_read(board, &view)? {
        return Err(AppError::not_found(format!("no trial has id {trial_id:?}")));
    }
    let current = view.current()?;
    if version != current.row.version {
        return Err(AppError::conflict(format!(
            "version {version} is not the current version of this protocol ({}): the board \
             reviews the current version",
            current.row.version
        )));
    }
    if let Some(done) = &current.review {
        return Err(AppError::conflict(format!(
            "version {version} was already decided ({}) on {}",
            done.decision,
            done.decided_at.to_rfc3339()
        )));
    }
    let appended = signatures::append_act(
        work,
        NewEntry {
            kind: EntryKind::ProtocolReviewed,
            actor: Actor::of(board),
            subjects: BTreeMap::from([
                ("trial".to_string(), trial_id.to_string()),
                ("version".to_string(), version.to_string()),
            ]),
            payload: json!({
                "trialId": trial_id,
                "version": version,
                "documentHash": current.row.document_hash,
                "decision": decision.as_str(),
                "comment": comment,
            }),
        },
        Some(&signature),
    )?;
    let row = protocol_review::Model {
        trial_id: trial_id.to_string(),
        version,
        decision: decision.as_str().to_string(),
        comment,
        reviewer_user_id: board.user_id.clone(),
        reviewer_org_id: board.org_id.clone(),
        signed_by: signature.signer_name,
        ledger_seq: seq_i64(appended.seq),
        decided_at: signature.signed_at,
    };
    protocol_review::Entity::insert(protocol_review::ActiveModel {
        trial_id: Set(row.trial_id.clone()),
        version: Set(row.version),
        decision: Set(row.decision.clone()),
        comment: Set(row.comment.clone()),
        reviewer_user_id: Set(row.reviewer_user_id.clone()),
        reviewer_org_id: Set(row.reviewer_org_id.clone()),
        signed_by: Set(row.signed_by.clone()),
        ledger_seq: Set(row.ledger_seq),
        decided_at: Set(row.decided_at),
    })
    .exec(work.db())
    .await
    .map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict(format!("version {version} was already decided"))
        }
        _ => err.into(),
    })?;
    Ok(row)
}
