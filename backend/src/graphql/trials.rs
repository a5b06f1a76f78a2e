//! Trials and protocols: publish and amend (sponsors), read (by role), audit trail (ethics).

use async_graphql::{
    ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, SimpleObject,
};
use chrono::{DateTime, Utc};

use super::ledger::LedgerEntry;
use super::signatures::{Signature, signature_of};
use super::{ApiResult, parts};
use crate::domain::{ReviewDecision, ReviewStatus, TrialStatus, from_stored};
use crate::entities::protocol_review;
use crate::error::AppError;
use crate::forms::FormDefinition;
use crate::services::audit::{self, FieldChange};
use crate::services::imports::{self, Outcome};
use crate::services::names::Names;
use crate::services::protocols::{self, Assignment, ProtocolInput, TrialView};
use crate::services::reviews;
use crate::services::signatures::Attest;

/// A protocol as a sponsor writes it.
#[derive(InputObject)]
pub struct PublishProtocolInput {
    title: String,
    #[graphql(default)]
    summary: String,
    #[graphql(default)]
    phase: String,
    primary_endpoint: String,
    #[graphql(default)]
    secondary_endpoints: Vec<String>,
    target_enrollment: u32,
    /// Eligibility in the criteria language, e.g. `age between 18 and 65 and condition = icd10:E11*`.
    #[graphql(default)]
    criteria: String,
    /// Free-text eligibility, used for trial search.
    #[graphql(default)]
    eligibility_text: String,
    /// Participating sites (see `directory`), the only ones that may enroll; at least one.
    /// Left out on an amendment: the current version's sites (changing them must be
    /// explicit).
    site_ids: Option<Vec<ID>>,
    /// The ethics board reviewing the trial (see `directory`), the only board that may read
    /// it; required. Left out on an amendment: the current version's board.
    ethics_board_id: MaybeUndefined<ID>,
    #[graphql(default)]
    conditions: Vec<String>,
    #[graphql(default)]
    keywords: Vec<String>,
    #[graphql(default_with = "TrialStatus::Recruiting")]
    status: TrialStatus,
    nct_id: Option<String>,
    /// The case-report forms sites fill in (changing them is an amendment). Left out on an
    /// amendment: the current version's forms. None: records are free JSON objects.
    forms: Option<Vec<FormDefinition>>,
}

impl From<PublishProtocolInput> for ProtocolInput {
    fn from(i: PublishProtocolInput) -> Self {
        ProtocolInput {
            title: i.title,
            summary: i.summary,
            phase: i.phase,
            primary_endpoint: i.primary_endpoint,
            secondary_endpoints: i.secondary_endpoints,
            target_enrollment: i.target_enrollment,
            criteria: i.criteria,
            eligibility_text: i.eligibility_text,
            site_ids: i
                .site_ids
                .map(|ids| ids.into_iter().map(|id| id.to_string()).collect()),
            ethics_board_id: match i.ethics_board_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(id.to_string())),
            },
            conditions: i.conditions,
            keywords: i.keywords,
            status: i.status,
            nct_id: i.nct_id,
            forms: i.forms,
        }
    }
}

/// A field that differs from the previous version.
#[derive(SimpleObject)]
pub struct Change {
    field: String,
    before: String,
    after: String,
}

impl From<FieldChange> for Change {
    fn from(c: FieldChange) -> Self {
        Self {
            field: c.field,
            before: c.before,
            after: c.after,
        }
    }
}

/// One version of a protocol, with its ledger entry.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProtocolVersion {
    version: i32,
    /// The `protocol.published` / `protocol.amended` entry.
    ledger_seq: i64,
    /// SHA-256 of the canonical protocol document (the entry's payload hash).
    hash: String,
    reason: Option<String>,
    /// For ethics review, e.g. `primary_endpoint_changed_after_enrollment`.
    flags: Vec<String>,
    /// What changed since the previous version.
    changes: Vec<Change>,
    /// Eligibility clauses (top-level `and` operands, canonical) added since the previous
    /// version.
    criteria_clauses_added: Vec<String>,
    /// Eligibility clauses removed since the previous version.
    criteria_clauses_removed: Vec<String>,
    created_at: DateTime<Utc>,
    title: String,
    summary: String,
    phase: String,
    primary_endpoint: String,
    secondary_endpoints: Vec<String>,
    target_enrollment: u32,
    criteria: String,
    eligibility_text: String,
    site_ids: Vec<String>,
    ethics_board_id: Option<String>,
    conditions: Vec<String>,
    keywords: Vec<String>,
    /// The case-report forms this version defines.
    forms: Vec<FormDefinition>,
    /// Where the version stands in ethics review (`SUBMITTED` until the board decides).
    review_status: ReviewStatus,
    /// The board's decision, once made.
    review: Option<Review>,
}

#[ComplexObject]
impl ProtocolVersion {
    /// The sponsor's electronic signature of this version; none for a registry import.
    async fn signature(&self, ctx: &Context<'_>) -> ApiResult<Option<Signature>> {
        signature_of(ctx, self.ledger_seq).await
    }
}

/// An ethics board's decision on a protocol version.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Review {
    decision: ReviewDecision,
    comment: String,
    /// The board member who decided (a user id).
    reviewer_user_id: ID,
    /// The board (an organisation id).
    reviewer_org_id: ID,
    /// The printed name of the member who signed the decision (see `signature`).
    signed_by: String,
    /// The `protocol.reviewed` ledger entry.
    ledger_seq: i64,
    decided_at: DateTime<Utc>,
}

#[ComplexObject]
impl Review {
    /// The board member's electronic signature of the decision.
    async fn signature(&self, ctx: &Context<'_>) -> ApiResult<Option<Signature>> {
        signature_of(ctx, self.ledger_seq).await
    }
}

impl TryFrom<protocol_review::Model> for Review {
    type Error = AppError;

    fn try_from(m: protocol_review::Model) -> Result<Self, AppError> {
        Ok(Self {
            decision: from_stored(&m.decision)?,
            comment: m.comment,
            reviewer_user_id: m.reviewer_user_id.into(),
            reviewer_org_id: m.reviewer_org_id.into(),
            signed_by: m.signed_by,
            ledger_seq: m.ledger_seq,
            decided_at: m.decided_at,
        })
    }
}

/// A trial with every version of its protocol.
#[derive(SimpleObject)]
pub struct Trial {
    id: ID,
    title: String,
    status: TrialStatus,
    nct_id: Option<String>,
    sponsor_id: ID,
    current_version: i32,
    /// Every version, oldest first.
    versions: Vec<ProtocolVersion>,
}

impl TryFrom<TrialView> for Trial {
    type Error = AppError;

    fn try_from(view: TrialView) -> Result<Self, AppError> {
        let mut versions = Vec::with_capacity(view.versions.len());
        let mut previous = None;
        for v in &view.versions {
            let (changes, clauses) = match previous {
                Some(prev) => (
                    audit::changes(prev, &v.document)?
                        .into_iter()
                        .map(Change::from)
                        .collect(),
                    audit::clause_changes(prev, &v.document)?,
                ),
                None => (Vec::new(), audit::ClauseChanges::default()),
            };
            let d = v.document.clone();
            versions.push(ProtocolVersion {
                version: v.row.version,
                ledger_seq: v.row.ledger_seq,
                hash: v.row.document_hash.clone(),
                reason: v.row.reason.clone(),
                flags: serde_json::from_str(&v.row.flags).map_err(anyhow::Error::from)?,
                changes,
                criteria_clauses_added: clauses.added,
                criteria_clauses_removed: clauses.removed,
                created_at: v.row.created_at,
                title: d.title,
                summary: d.summary,
                phase: d.phase,
                primary_endpoint: d.primary_endpoint,
                secondary_endpoints: d.secondary_endpoints,
                target_enrollment: d.target_enrollment,
                criteria: d.criteria,
                eligibility_text: d.eligibility_text,
                site_ids: d.site_ids,
                ethics_board_id: d.ethics_board_id,
                conditions: d.conditions,
                keywords: d.keywords,
                forms: d.forms,
                review_status: v.review_status()?,
                review: v.review.clone().map(Review::try_from).transpose()?,
            });
            previous = Some(&v.document);
        }
        Ok(Self {
            id: view.trial.id.clone().into(),
            title: view.trial.title.clone(),
            status: from_stored(&view.trial.status)?,
            nct_id: view.trial.nct_id.clone(),
            sponsor_id: view.trial.sponsor_org_id.clone().into(),
            current_version: view.trial.current_version,
            versions,
        })
    }
}

/// A trial's audit trail.
#[derive(SimpleObject)]
pub struct AuditTrail {
    trial: Trial,
    /// Every ledger entry about the trial, in order.
    events: Vec<LedgerEntry>,
    /// Running totals of enrollments and submissions, one point per day with either.
    activity: Vec<ActivityDay>,
}

/// Cumulative enrollments and data submissions at the end of one day (UTC).
#[derive(SimpleObject)]
pub struct ActivityDay {
    /// `YYYY-MM-DD`.
    day: String,
    enrolled: u32,
    submitted: u32,
}

#[derive(Default)]
pub struct TrialQuery;

#[Object]
impl TrialQuery {
    /// A trial the caller may see.
    async fn trial(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Trial> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(protocols::readable_trial(state, who, &id)
            .await?
            .try_into()?)
    }

    /// The trials the caller may see, newest first.
    async fn trials(
        &self,
        ctx: &Context<'_>,
        status: Option<TrialStatus>,
    ) -> ApiResult<Vec<Trial>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let views = protocols::list(state, who, status).await?;
        Ok(views
            .into_iter()
            .map(Trial::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Every ledger entry about a trial, with its protocol versions side by side.
    #[graphql(complexity = "super::cost::AUDIT_TRAIL + child_complexity")]
    async fn audit_trail(&self, ctx: &Context<'_>, trial_id: ID) -> ApiResult<AuditTrail> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let (view, entries) = audit::audit_trail(state, who, &trial_id).await?;
        let names = Names::of(&state.db, entries.iter().map(|s| &s.entry)).await?;
        let activity = audit::activity(&entries)
            .into_iter()
            .map(|a| ActivityDay {
                day: a.day,
                enrolled: a.enrolled,
                submitted: a.submitted,
            })
            .collect();
        Ok(AuditTrail {
            activity,
            trial: view.try_into()?,
            events: entries
                .into_iter()
                .map(|s| LedgerEntry::named(s, &names))
                .collect(),
        })
    }
}

/// What an import did.
#[derive(SimpleObject, Default)]
pub struct ImportSummary {
    imported: u32,
    updated: u32,
    unchanged: u32,
    failed: u32,
    /// One line per study that could not be imported: its position and why.
    problems: Vec<String>,
}

#[derive(Default)]
pub struct TrialMutation;

#[Object]
impl TrialMutation {
    /// Publishes a new trial with version 1 of its protocol (sponsors). The protocol must
    /// name its participating sites and its ethics board (`BAD_INPUT` otherwise): only they
    /// enroll into it and review it. Publication is an electronic signature: `password` is
    /// the sponsor's own, re-entered (`SIGNATURE_REFUSED` when it does not match).
    async fn publish_protocol(
        &self,
        ctx: &Context<'_>,
        input: PublishProtocolInput,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Trial> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let attest = Attest::Password(&password);
        Ok(
            protocols::publish(state, who, input.into(), Assignment::Required, attest)
                .await?
                .try_into()?,
        )
    }

    /// The trial's ethics board decides on the current protocol version (board members):
    /// `APPROVED` opens invitations and enrollment under it; `REJECTED` and
    /// `CHANGES_REQUESTED` need a comment. A version is decided once (`CONFLICT` after).
    /// The decision is an electronic signature: `password` is the member's own, re-entered
    /// (`SIGNATURE_REFUSED` when it does not match; failures count toward lockout).
    async fn review_protocol(
        &self,
        ctx: &Context<'_>,
        trial_id: ID,
        version: i32,
        decision: ReviewDecision,
        #[graphql(default)] comment: String,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Trial> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let decision = reviews::Decision {
            decision,
            comment: &comment,
            password: &password,
        };
        reviews::review(state, who, &trial_id, version, decision).await?;
        Ok(protocols::trial_view(&state.db, &trial_id)
            .await?
            .try_into()?)
    }

    /// Imports ClinicalTrials.gov API v2 JSON (one study, or `{"studies": [...]}`) as the
    /// sponsor's trials; a study already imported is amended only when its record changed.
    async fn import_ctgov(&self, ctx: &Context<'_>, json: String) -> ApiResult<ImportSummary> {
        let (state, caller) = parts(ctx);
        let who = caller.require(&[crate::domain::Role::Sponsor])?;
        let studies = crate::import::ctgov::parse_studies(json.as_bytes())
            .map_err(|err| AppError::bad_input(format!("not ClinicalTrials.gov JSON: {err}")))?;
        let mut summary = ImportSummary::default();
        for (position, parsed) in studies {
            let outcome = match parsed {
                Ok(study) => imports::import_study(state, who, &study)
                    .await
                    .map_err(|err| {
                        format!("study at position {position} ({}): {err}", study.nct_id)
                    }),
                Err(problem) => Err(problem.to_string()),
            };
            match outcome {
                Ok(Outcome::Imported) => summary.imported += 1,
                Ok(Outcome::Updated) => summary.updated += 1,
                Ok(Outcome::Unchanged | Outcome::Skipped(_)) => summary.unchanged += 1,
                Err(problem) => {
                    summary.failed += 1;
                    summary.problems.push(problem);
                }
            }
        }
        Ok(summary)
    }

    /// Adds a new version of the sponsor's own protocol, with the reason. Sites and board
    /// left out are the current version's; the new version must still name both. Signed
    /// like a publication (`password`).
    async fn amend_protocol(
        &self,
        ctx: &Context<'_>,
        trial_id: ID,
        input: PublishProtocolInput,
        reason: String,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Trial> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(protocols::amend(
            state,
            who,
            &trial_id,
            input.into(),
            &reason,
            Assignment::Required,
            Attest::Password(&password),
        )
        .await?
        .try_into()?)
    }
}
