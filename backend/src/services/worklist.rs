//! A site's invitations to a trial as a work list: each with a status (new, contacted,
//! declined, consented, enrolled, screen-failed), who changed it and when, counted per status
//! and paged. "Contacted", "declined" and "screen-failed" are recorded by the site, each as an
//! `invitation.updated` ledger entry that names the invitation and nothing about the person;
//! "consented" and "enrolled" come from the consent and enrollment records themselves.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use ledger::EntryKind;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use super::ledger::{Actor, NewEntry, seq_i64};
use super::protocols;
use crate::auth::Principal;
use crate::domain::{ConsentScope, ContactOutcome, InvitationStatus, Role, from_stored};
use crate::entities::{consent, enrollment, invitation};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The ledger kind of a recorded outcome.
pub const INVITATION_UPDATED: &str = "invitation.updated";

/// Most invitations in one page.
pub const MAX_PAGE: u64 = 200;

/// One invitation on the work list.
#[derive(Clone, Debug)]
pub struct Item {
    pub invitation: invitation::Model,
    pub status: InvitationStatus,
}

/// A page of the work list, the total matching, and how many invitations have each status
/// (in [`STATUSES`] order).
pub struct Worklist {
    pub total: u64,
    pub counts: Vec<(InvitationStatus, u64)>,
    pub items: Vec<Item>,
}

/// Every status, in work-list order.
pub const STATUSES: [InvitationStatus; 6] = [
    InvitationStatus::New,
    InvitationStatus::Contacted,
    InvitationStatus::Consented,
    InvitationStatus::Enrolled,
    InvitationStatus::Declined,
    InvitationStatus::ScreenFailed,
];

/// The site's invitations to `trial_id`, oldest first: those with `status` (all when
/// `None`), `first` of them from `offset` on, and the count of every status.
pub async fn worklist(
    state: &AppState,
    site: &Principal,
    trial_id: &str,
    status: Option<InvitationStatus>,
    page: (u64, u64),
) -> AppResult<Worklist> {
    let (first, offset) = page;
    site.require(&[Role::Site])?;
    if first == 0 || first > MAX_PAGE {
        return Err(AppError::bad_input(format!(
            "`first` must be between 1 and {MAX_PAGE}"
        )));
    }
    protocols::readable_trial(state, site, trial_id).await?;
    let db = &state.db;
    let invitations = invitation::Entity::find()
        .filter(invitation::Column::TrialId.eq(trial_id))
        .filter(invitation::Column::SiteOrgId.eq(&site.org_id))
        .order_by_asc(invitation::Column::CreatedAt)
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?;
    let facts = Facts::load(db, &site.org_id, trial_id).await?;
    let mut counts: HashMap<InvitationStatus, u64> = HashMap::new();
    let mut matching = Vec::new();
    for invitation in invitations {
        let current = facts.status(&invitation)?;
        *counts.entry(current).or_default() += 1;
        if status.is_none_or(|wanted| wanted == current) {
            matching.push(Item {
                invitation,
                status: current,
            });
        }
    }
    let total = matching.len() as u64;
    let items = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(first).unwrap_or(usize::MAX))
        .collect();
    Ok(Worklist {
        total,
        counts: STATUSES
            .iter()
            .map(|s| (*s, counts.get(s).copied().unwrap_or(0)))
            .collect(),
        items,
    })
}

/// `invitation` as its work list shows it, with its status now.
pub async fn item_of(db: &impl ConnectionTrait, invitation: invitation::Model) -> AppResult<Item> {
    let facts = Facts::load(db, &invitation.site_org_id, &invitation.trial_id).await?;
    let status = facts.status(&invitation)?;
    Ok(Item { invitation, status })
}

/// What the records say of the site's patients for one trial.
struct Facts {
    enrolled: HashSet<String>,
    consented: HashSet<String>,
}

impl Facts {
    async fn load(db: &impl ConnectionTrait, site_org_id: &str, trial_id: &str) -> AppResult<Self> {
        let enrolled = enrollment::Entity::find()
            .filter(enrollment::Column::TrialId.eq(trial_id))
            .filter(enrollment::Column::SiteOrgId.eq(site_org_id))
            .all(db)
            .await?
            .into_iter()
            .map(|e| e.pseudonym)
            .collect();
        // The latest trial consent of each patient decides.
        let mut latest: HashMap<String, (i64, bool)> = HashMap::new();
        for row in consent::Entity::find()
            .filter(consent::Column::TrialId.eq(trial_id))
            .filter(consent::Column::Scope.eq(ConsentScope::TrialParticipation.as_str()))
            .all(db)
            .await?
        {
            let entry = latest
                .entry(row.pseudonym)
                .or_insert((row.ledger_seq, row.granted));
            if row.ledger_seq >= entry.0 {
                *entry = (row.ledger_seq, row.granted);
            }
        }
        let consented = latest
            .into_iter()
            .filter(|(_, (_, granted))| *granted)
            .map(|(pseudonym, _)| pseudonym)
            .collect();
        Ok(Self {
            enrolled,
            consented,
        })
    }

    /// An enrollment wins, then a recorded decline or screen failure, then a consent in
    /// force, then what the site recorded.
    fn status(&self, invitation: &invitation::Model) -> AppResult<InvitationStatus> {
        let recorded: ContactOutcome = from_stored(&invitation.outcome)?;
        Ok(if self.enrolled.contains(&invitation.pseudonym) {
            InvitationStatus::Enrolled
        } else if recorded == ContactOutcome::ScreenFailed {
            InvitationStatus::ScreenFailed
        } else if recorded == ContactOutcome::Declined {
            InvitationStatus::Declined
        } else if self.consented.contains(&invitation.pseudonym) {
            InvitationStatus::Consented
        } else if recorded == ContactOutcome::Contacted {
            InvitationStatus::Contacted
        } else {
            InvitationStatus::New
        })
    }
}

/// Records what came of one of the site's invitations (`invitation.updated` on the ledger,
/// naming the invitation and the outcome only). `NEW` cannot be recorded: an invitation acted
/// on stays acted on.
pub async fn record_outcome(
    state: &AppState,
    site: &Principal,
    invitation_id: &str,
    outcome: ContactOutcome,
) -> AppResult<invitation::Model> {
    site.require(&[Role::Site])?;
    if outcome == ContactOutcome::New {
        return Err(AppError::bad_input(
            "an invitation cannot go back to new: record contacted, declined or screen-failed",
        ));
    }
    let (site, invitation_id) = (site.clone(), invitation_id.to_string());
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let row = invitation::Entity::find_by_id(invitation_id.clone())
                    .one(work.db())
                    .await?
                    .filter(|i| i.site_org_id == site.org_id)
                    .ok_or_else(|| {
                        AppError::not_found(format!(
                            "your site has no invitation with id {invitation_id:?}"
                        ))
                    })?;
                let appended = work.append_one(NewEntry {
                    kind: EntryKind::Other(INVITATION_UPDATED.to_string()),
                    actor: Actor::of(&site),
                    subjects: BTreeMap::from([
                        ("trial".to_string(), row.trial_id.clone()),
                        ("invitation".to_string(), row.id.clone()),
                    ]),
                    payload: json!({
                        "invitationId": row.id,
                        "trialId": row.trial_id,
                        "outcome": outcome.as_str(),
                    }),
                })?;
                let now = Utc::now();
                let updated = invitation::Entity::update(invitation::ActiveModel {
                    id: Set(row.id.clone()),
                    outcome: Set(outcome.as_str().to_string()),
                    outcome_by: Set(Some(site.user_id.clone())),
                    outcome_at: Set(Some(now)),
                    outcome_seq: Set(Some(seq_i64(appended.seq))),
                    ..Default::default()
                })
                .exec(work.db())
                .await?;
                Ok(updated)
            })
        })
        .await
}
