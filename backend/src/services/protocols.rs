//! Trials and their protocols: publishing, amending (with flags for ethics review), reading.

use std::collections::BTreeMap;

use chrono::Utc;
use ledger::EntryKind;
use ledger::payload::{canonical_json, payload_hash};
use matcher::criteria::{Expr, parse};
use matcher::trials::TrialDoc;
use sea_orm::sea_query::{self, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::cohort_sql;
use super::ledger::{Actor, NewEntry, Work, seq_i64};
use super::outbox::IndexTouch;
use super::signatures::{self, Attest, Signature};
use crate::auth::Principal;
use crate::domain::{OrgKind, ReviewDecision, ReviewStatus, Role, TrialStatus, from_stored};
use crate::entities::{
    enrollment, ledger_payload, organization, patient, protocol_review, protocol_version,
    submission, trial,
};
use crate::error::{AppError, AppResult};
use crate::forms::{self, FormDefinition};
use crate::state::AppState;

/// Flag: the primary endpoint changed after the first enrollment (outcome switching).
pub const FLAG_ENDPOINT_AFTER_ENROLLMENT: &str = "primary_endpoint_changed_after_enrollment";
/// Flag: the protocol changed after trial data were submitted.
pub const FLAG_AFTER_DATA: &str = "amended_after_data_submission";
/// Flag: the eligibility criteria changed.
pub const FLAG_CRITERIA: &str = "criteria_changed";
/// Flag: the new criteria fit more of the registered patients than the old ones (by at least
/// the suppression threshold).
pub const FLAG_WIDENED: &str = "criteria_widened";
/// Flag: the new criteria fit fewer of the registered patients than the old ones (by at least
/// the suppression threshold).
pub const FLAG_NARROWED: &str = "criteria_narrowed";
/// Flag: the target enrollment changed.
pub const FLAG_TARGET: &str = "target_enrollment_changed";
/// Flag: a participating site was added.
pub const FLAG_SITES_ADDED: &str = "sites_added";
/// Flag: a participating site was removed.
pub const FLAG_SITES_REMOVED: &str = "sites_removed";
/// Flag: another ethics board reviews the trial.
pub const FLAG_BOARD: &str = "ethics_board_changed";
/// Flag: the case-report forms changed (fields added, removed or redefined).
pub const FLAG_FORMS: &str = "case_report_forms_changed";

/// What a board should look at in an amendment from `before` to `after`, on its face (the
/// flags that depend on enrollments and data are added by the amendment itself).
fn content_flags(before: &ProtocolDocument, after: &ProtocolDocument) -> Vec<String> {
    let has_all = |a: &[String], b: &[String]| b.iter().all(|s| a.contains(s));
    [
        (
            before.criteria.trim() != after.criteria.trim(),
            FLAG_CRITERIA,
        ),
        (
            before.target_enrollment != after.target_enrollment,
            FLAG_TARGET,
        ),
        (
            !has_all(&before.site_ids, &after.site_ids),
            FLAG_SITES_ADDED,
        ),
        (
            !has_all(&after.site_ids, &before.site_ids),
            FLAG_SITES_REMOVED,
        ),
        (before.ethics_board_id != after.ethics_board_id, FLAG_BOARD),
        (before.forms != after.forms, FLAG_FORMS),
    ]
    .into_iter()
    .filter(|(raised, _)| *raised)
    .map(|(_, flag)| flag.to_string())
    .collect()
}

/// What a sponsor writes: the fields of a protocol version.
#[derive(Clone, Debug)]
pub struct ProtocolInput {
    pub title: String,
    pub summary: String,
    pub phase: String,
    pub primary_endpoint: String,
    pub secondary_endpoints: Vec<String>,
    pub target_enrollment: u32,
    /// Eligibility in the criteria language; empty for none.
    pub criteria: String,
    pub eligibility_text: String,
    /// Participating sites, the only ones that may enroll. `None`: on an amendment, the
    /// current version's sites (changing them must be explicit); on a publication, none.
    pub site_ids: Option<Vec<String>>,
    /// The ethics board reviewing the trial, the only board that may read it (`Some(None)`:
    /// none). `None`: on an amendment, the current version's board; on a publication, none.
    pub ethics_board_id: Option<Option<String>>,
    pub conditions: Vec<String>,
    pub keywords: Vec<String>,
    pub status: TrialStatus,
    pub nct_id: Option<String>,
    /// The case-report forms. `None`: on an amendment, the current version's forms; on a
    /// publication, none (records are then free JSON objects).
    pub forms: Option<Vec<FormDefinition>>,
}

/// The protocol document of one version: what the ledger attests, byte for byte.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolDocument {
    pub trial_id: String,
    pub version: i32,
    pub title: String,
    pub summary: String,
    pub phase: String,
    pub primary_endpoint: String,
    pub secondary_endpoints: Vec<String>,
    pub target_enrollment: u32,
    pub criteria: String,
    pub eligibility_text: String,
    pub site_ids: Vec<String>,
    pub ethics_board_id: Option<String>,
    pub conditions: Vec<String>,
    pub keywords: Vec<String>,
    pub status: String,
    pub nct_id: Option<String>,
    /// Hash of the previous version's document (amendments only).
    pub previous_version_hash: Option<String>,
    /// Why it was amended (amendments only).
    pub reason: Option<String>,
    /// The case-report forms sites fill in; left out of the document when there are none,
    /// so documents written before forms existed keep their bytes and hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<FormDefinition>,
}

impl ProtocolDocument {
    /// The parsed eligibility criteria, if any.
    pub fn criteria_expr(&self) -> AppResult<Option<Expr>> {
        parse_criteria(&self.criteria)
    }

    /// The form `id`, when this version defines forms: `Ok(None)` when it defines none (any
    /// JSON object is then accepted), `BAD_INPUT` naming the defined forms when it does not
    /// define this one.
    pub fn form(&self, id: &str) -> AppResult<Option<&FormDefinition>> {
        if self.forms.is_empty() {
            return Ok(None);
        }
        match self.forms.iter().find(|f| f.id == id) {
            Some(form) => Ok(Some(form)),
            None => Err(AppError::bad_input(format!(
                "protocol version {} defines no form {id:?}; its forms are {}",
                self.version,
                self.forms
                    .iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Whether an organisation's site may enroll in this trial: only a named one.
    pub fn site_participates(&self, org_id: &str) -> bool {
        self.site_ids.iter().any(|s| s == org_id)
    }

    /// Refuses a protocol that does not name its participating sites and its ethics board
    /// (`BAD_INPUT`). Every protocol a sponsor writes must; a study imported from a registry
    /// may lack them, and then no site enrolls into it and no board reads it until the
    /// sponsor amends it to name them.
    fn require_assignment(&self) -> AppResult<()> {
        if self.site_ids.is_empty() {
            return Err(AppError::bad_input(
                "a protocol names its participating sites (siteIds): at least one",
            ));
        }
        if self.ethics_board_id.is_none() {
            return Err(AppError::bad_input(
                "a protocol names the ethics board that reviews it (ethicsBoardId)",
            ));
        }
        Ok(())
    }
}

/// A protocol version, its document, and the ethics board's decision on it (if any).
#[derive(Clone, Debug)]
pub struct Version {
    pub row: protocol_version::Model,
    pub document: ProtocolDocument,
    pub review: Option<protocol_review::Model>,
}

impl Version {
    /// Where this version stands in ethics review.
    pub fn review_status(&self) -> AppResult<ReviewStatus> {
        match &self.review {
            None => Ok(ReviewStatus::Submitted),
            Some(review) => Ok(from_stored::<ReviewDecision>(&review.decision)?.into()),
        }
    }
}

/// A trial with every protocol version, oldest first.
#[derive(Clone, Debug)]
pub struct TrialView {
    pub trial: trial::Model,
    pub versions: Vec<Version>,
}

impl TrialView {
    /// The latest version (in force once the board approves it).
    pub fn current(&self) -> AppResult<&Version> {
        self.versions.last().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "trial {} has no protocol version",
                self.trial.id
            ))
        })
    }

    /// Refuses (`CONFLICT`) to act on people (invite, enroll) until the ethics board has
    /// approved the current version: a new trial waits for its first approval, and after an
    /// amendment new enrollments wait for the amendment's, while participants already
    /// enrolled go on.
    pub fn require_approved(&self) -> AppResult<&Version> {
        let current = self.current()?;
        match current.review_status()? {
            ReviewStatus::Approved => Ok(current),
            status => Err(AppError::conflict(format!(
                "version {} of this protocol is {} by its ethics board; invitations and \
                 enrollment wait for the board's approval",
                current.row.version,
                match status {
                    ReviewStatus::Rejected => "rejected",
                    ReviewStatus::ChangesRequested => "returned for changes",
                    _ => "not yet approved",
                }
            ))),
        }
    }
}

/// Parses criteria text; empty text means no criteria. Errors carry line and column.
pub fn parse_criteria(text: &str) -> AppResult<Option<Expr>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse(text)
        .map(Some)
        .map_err(|err| AppError::BadCriteria(format!("criteria: {err}")))
}

/// Whether a protocol must name its sites and ethics board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// A protocol a sponsor writes: it must (`BAD_INPUT` otherwise).
    Required,
    /// A study imported from a registry, which knows neither: it may not, and then enrolls
    /// nobody and is read by no board until an amendment names them.
    Deferred,
}

/// What a sponsor's signature on a new protocol version means.
pub const PUBLICATION_MEANING: &str =
    "I approve this protocol version and submit it to its ethics board";

/// What a sponsor's signature on an amendment means.
pub const AMENDMENT_MEANING: &str =
    "I approve this amendment and submit it to the trial's ethics board";

/// Publishes version 1 of a new trial's protocol (`protocol.published`), signed by the
/// sponsor unless imported.
pub async fn publish(
    state: &AppState,
    sponsor: &Principal,
    input: ProtocolInput,
    assignment: Assignment,
    attest: Attest<'_>,
) -> AppResult<TrialView> {
    sponsor.require(&[Role::Sponsor])?;
    validate(&state.db, &input).await?;
    let trial_id = uuid::Uuid::new_v4().to_string();
    let document = document(&trial_id, 1, &input, None, None, None);
    if assignment == Assignment::Required {
        document.require_assignment()?;
    }
    let signature = attest.sign(state, sponsor, PUBLICATION_MEANING).await?;
    let sponsor = sponsor.clone();
    state
        .writer
        .run(move |work| {
            Box::pin(
                async move { publish_unit(work, &sponsor, &input, &document, signature).await },
            )
        })
        .await
}

async fn publish_unit(
    work: &mut Work,
    sponsor: &Principal,
    input: &ProtocolInput,
    document: &ProtocolDocument,
    signature: Option<Signature>,
) -> AppResult<TrialView> {
    let trial_id = &document.trial_id;
    let now = Utc::now();
    trial::Entity::insert(trial::ActiveModel {
        id: Set(trial_id.clone()),
        sponsor_org_id: Set(sponsor.org_id.clone()),
        title: Set(input.title.trim().to_string()),
        status: Set(input.status.as_str().to_string()),
        nct_id: Set(input.nct_id.clone()),
        current_version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(work.db())
    .await
    .map_err(|err| match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::conflict(format!(
            "a trial with NCT id {} already exists",
            input.nct_id.as_deref().unwrap_or_default()
        )),
        _ => err.into(),
    })?;
    store_version(
        work,
        sponsor,
        document,
        EntryKind::ProtocolPublished,
        Vec::new(),
        signature,
    )
    .await?;
    work.touch(IndexTouch::Trial(trial_id.to_string()));
    trial_view(work.db(), trial_id).await
}

/// Adds version n+1 of the sponsor's own trial (`protocol.amended`), flagging what an
/// ethics board should look at, signed by the sponsor unless imported.
pub async fn amend(
    state: &AppState,
    sponsor: &Principal,
    trial_id: &str,
    input: ProtocolInput,
    reason: &str,
    assignment: Assignment,
    attest: Attest<'_>,
) -> AppResult<TrialView> {
    sponsor.require(&[Role::Sponsor])?;
    if reason.trim().is_empty() {
        return Err(AppError::bad_input("an amendment needs a reason"));
    }
    validate(&state.db, &input).await?;
    // Checked again inside the unit; here so that nobody signs for a trial not theirs.
    own_trial(&trial_view(&state.db, trial_id).await?, sponsor)?;
    let signature = attest.sign(state, sponsor, AMENDMENT_MEANING).await?;
    let threshold = state.matching.suppression().threshold;
    let (sponsor, trial_id, reason) = (
        sponsor.clone(),
        trial_id.to_string(),
        reason.trim().to_string(),
    );
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let amendment = Amendment {
                    input: &input,
                    reason,
                    assignment,
                    signature,
                    threshold,
                };
                amend_unit(work, &sponsor, &trial_id, amendment).await
            })
        })
        .await
}

/// An amendment ready to record.
struct Amendment<'a> {
    input: &'a ProtocolInput,
    reason: String,
    assignment: Assignment,
    signature: Option<Signature>,
    /// The suppression threshold: a cohort change smaller than this is not flagged.
    threshold: u64,
}

/// Refuses (`FORBIDDEN`) a sponsor other than the trial's own.
fn own_trial(view: &TrialView, sponsor: &Principal) -> AppResult<()> {
    if view.trial.sponsor_org_id != sponsor.org_id {
        return Err(AppError::forbidden("only the trial's sponsor may amend it"));
    }
    Ok(())
}

async fn amend_unit(
    work: &mut Work,
    sponsor: &Principal,
    trial_id: &str,
    amendment: Amendment<'_>,
) -> AppResult<TrialView> {
    let Amendment {
        input,
        reason,
        assignment,
        signature,
        threshold,
    } = amendment;
    let txn = work.db();
    let view = trial_view(txn, trial_id).await?;
    own_trial(&view, sponsor)?;
    let current = view.current()?;
    let version = current.row.version + 1;
    let document = document(
        trial_id,
        version,
        input,
        Some(&current.document),
        Some(current.row.document_hash.clone()),
        Some(reason),
    );
    if assignment == Assignment::Required {
        document.require_assignment()?;
    }
    let mut flags = Vec::new();
    let enrolled = enrollment::Entity::find()
        .filter(enrollment::Column::TrialId.eq(trial_id))
        .count(txn)
        .await?;
    if enrolled > 0 && document.primary_endpoint.trim() != current.document.primary_endpoint.trim()
    {
        flags.push(FLAG_ENDPOINT_AFTER_ENROLLMENT.to_string());
    }
    let submitted = submission::Entity::find()
        .filter(submission::Column::TrialId.eq(trial_id))
        .count(txn)
        .await?;
    if submitted > 0 {
        flags.push(FLAG_AFTER_DATA.to_string());
    }
    flags.extend(content_flags(&current.document, &document));
    if let Some(flag) = cohort_direction(txn, &current.document, &document, threshold).await? {
        flags.push(flag.to_string());
    }
    store_version(
        work,
        sponsor,
        &document,
        EntryKind::ProtocolAmended,
        flags,
        signature,
    )
    .await?;
    trial::Entity::update(trial::ActiveModel {
        id: Set(trial_id.to_string()),
        title: Set(document.title.clone()),
        status: Set(document.status.clone()),
        current_version: Set(version),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(work.db())
    .await?;
    work.touch(IndexTouch::Trial(trial_id.to_string()));
    trial_view(work.db(), trial_id).await
}

/// Whether changed criteria fit more ([`FLAG_WIDENED`]) or fewer ([`FLAG_NARROWED`]) of the
/// registered patients, counted exactly in the database. Only the direction is recorded,
/// never the counts, and only for a change of at least `threshold` patients (the suppression
/// threshold), so amendments cannot be used to learn about any one patient.
async fn cohort_direction(
    db: &impl ConnectionTrait,
    before: &ProtocolDocument,
    after: &ProtocolDocument,
    threshold: u64,
) -> AppResult<Option<&'static str>> {
    if before.criteria.trim() == after.criteria.trim() {
        return Ok(None);
    }
    let size = async |doc: &ProtocolDocument| -> AppResult<u64> {
        match doc.criteria_expr()? {
            Some(expr) => cohort_sql::count(db, &expr).await,
            None => Ok(patient::Entity::find().count(db).await?),
        }
    };
    let (old, new) = (size(before).await?, size(after).await?);
    let threshold = threshold.max(1);
    Ok(if new >= old.saturating_add(threshold) {
        Some(FLAG_WIDENED)
    } else if old >= new.saturating_add(threshold) {
        Some(FLAG_NARROWED)
    } else {
        None
    })
}

async fn validate(db: &impl ConnectionTrait, input: &ProtocolInput) -> AppResult<()> {
    for (name, value) in [
        ("title", &input.title),
        ("primaryEndpoint", &input.primary_endpoint),
    ] {
        if value.trim().is_empty() {
            return Err(AppError::bad_input(format!("the {name} is empty")));
        }
    }
    if input.target_enrollment == 0 {
        return Err(AppError::bad_input(
            "the target enrollment must be at least 1",
        ));
    }
    parse_criteria(&input.criteria)?;
    if let Some(forms) = &input.forms {
        forms::check_definitions(forms)?;
    }
    for site in input.site_ids.iter().flatten() {
        expect_org(db, site, OrgKind::Site).await?;
    }
    if let Some(Some(board)) = &input.ethics_board_id {
        expect_org(db, board, OrgKind::Ethics).await?;
    }
    Ok(())
}

async fn expect_org(db: &impl ConnectionTrait, id: &str, kind: OrgKind) -> AppResult<()> {
    let org = organization::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no organisation has id {id:?}")))?;
    if from_stored::<OrgKind>(&org.kind)? != kind {
        return Err(AppError::bad_input(format!(
            "{:?} is not a {kind} organisation",
            org.name
        )));
    }
    Ok(())
}

/// The document of version `version` made from `input`; sites and board the input leaves
/// out are `current`'s (the version it amends), if any.
fn document(
    trial_id: &str,
    version: i32,
    input: &ProtocolInput,
    current: Option<&ProtocolDocument>,
    previous_version_hash: Option<String>,
    reason: Option<String>,
) -> ProtocolDocument {
    let trimmed = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    ProtocolDocument {
        trial_id: trial_id.to_string(),
        version,
        title: input.title.trim().to_string(),
        summary: input.summary.trim().to_string(),
        phase: input.phase.trim().to_string(),
        primary_endpoint: input.primary_endpoint.trim().to_string(),
        secondary_endpoints: trimmed(&input.secondary_endpoints),
        target_enrollment: input.target_enrollment,
        criteria: input.criteria.trim().to_string(),
        eligibility_text: input.eligibility_text.trim().to_string(),
        site_ids: match (&input.site_ids, current) {
            (Some(sites), _) => trimmed(sites),
            (None, Some(current)) => current.site_ids.clone(),
            (None, None) => Vec::new(),
        },
        ethics_board_id: match (&input.ethics_board_id, current) {
            (Some(board), _) => board.clone(),
            (None, Some(current)) => current.ethics_board_id.clone(),
            (None, None) => None,
        },
        conditions: trimmed(&input.conditions),
        keywords: trimmed(&input.keywords),
        status: input.status.as_str().to_string(),
        nct_id: input.nct_id.clone(),
        previous_version_hash,
        reason,
        forms: match (&input.forms, current) {
            (Some(forms), _) => forms.clone(),
            (None, Some(current)) => current.forms.clone(),
            (None, None) => Vec::new(),
        },
    }
}

async fn store_version(
    work: &mut Work,
    sponsor: &Principal,
    document: &ProtocolDocument,
    kind: EntryKind,
    flags: Vec<String>,
    signature: Option<Signature>,
) -> AppResult<()> {
    let payload = serde_json::to_value(document).map_err(anyhow::Error::from)?;
    let hash = payload_hash(&canonical_json(&payload));
    let subjects = BTreeMap::from([
        ("trial".to_string(), document.trial_id.clone()),
        ("version".to_string(), document.version.to_string()),
    ]);
    let act = NewEntry {
        kind,
        actor: Actor::of(sponsor),
        subjects,
        payload,
    };
    let appended = signatures::append_act(work, act, signature.as_ref())?;
    protocol_version::Entity::insert(protocol_version::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        trial_id: Set(document.trial_id.clone()),
        version: Set(document.version),
        ledger_seq: Set(seq_i64(appended.seq)),
        document_hash: Set(hash.to_hex()),
        reason: Set(document.reason.clone()),
        flags: Set(serde_json::to_string(&flags).map_err(anyhow::Error::from)?),
        created_by: Set(sponsor.user_id.clone()),
        created_at: Set(Utc::now()),
    })
    .exec(work.db())
    .await?;
    Ok(())
}

/// Whether `input` would produce the same protocol as `current` (bookkeeping fields aside).
pub fn same_content(current: &ProtocolDocument, input: &ProtocolInput) -> bool {
    let proposed = document(
        &current.trial_id,
        current.version,
        input,
        Some(current),
        current.previous_version_hash.clone(),
        current.reason.clone(),
    );
    &proposed == current
}

/// A trial and all its versions, with documents read from the ledger payloads.
pub async fn trial_view(db: &impl ConnectionTrait, trial_id: &str) -> AppResult<TrialView> {
    let trial = trial::Entity::find_by_id(trial_id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no trial has id {trial_id:?}")))?;
    let rows = protocol_version::Entity::find()
        .filter(protocol_version::Column::TrialId.eq(trial_id))
        .order_by_asc(protocol_version::Column::Version)
        .all(db)
        .await?;
    let reviews = protocol_review::Entity::find()
        .filter(protocol_review::Column::TrialId.eq(trial_id))
        .all(db)
        .await?;
    let mut versions = Vec::with_capacity(rows.len());
    for row in rows {
        let document = stored_document(db, &row).await?;
        let review = reviews.iter().find(|r| r.version == row.version).cloned();
        versions.push(Version {
            row,
            document,
            review,
        });
    }
    Ok(TrialView { trial, versions })
}

/// The document of one protocol version, from its ledger payload.
async fn stored_document(
    db: &impl ConnectionTrait,
    row: &protocol_version::Model,
) -> AppResult<ProtocolDocument> {
    let payload = ledger_payload::Entity::find_by_id(row.ledger_seq)
        .one(db)
        .await?
        .and_then(|p| p.body)
        .ok_or_else(|| missing_document(&row.trial_id, row.version))?;
    parse_document(&payload)
}

fn parse_document(payload: &str) -> AppResult<ProtocolDocument> {
    Ok(serde_json::from_str(payload).map_err(anyhow::Error::from)?)
}

fn missing_document(trial_id: &str, version: i32) -> AppError {
    AppError::Internal(anyhow::anyhow!(
        "the protocol document of {trial_id} v{version} is missing"
    ))
}

/// The number and document of the version in force for data capture: the newest version
/// the ethics board approved (an amendment awaiting review changes nothing until approved).
/// One statement on the write path, instead of loading the whole trial. `CONFLICT` if none
/// is approved.
pub async fn version_in_force(
    db: &impl ConnectionTrait,
    trial_id: &str,
) -> AppResult<(i32, ProtocolDocument)> {
    let newest_approved = Query::select()
        .expr(sea_query::Func::max(sea_query::Expr::col(
            protocol_review::Column::Version,
        )))
        .from(protocol_review::Entity)
        .cond_where(approved_reviews(trial_id))
        .to_owned();
    let its_payload = protocol_version::Entity::belongs_to(ledger_payload::Entity)
        .from(protocol_version::Column::LedgerSeq)
        .to(ledger_payload::Column::Seq)
        .into();
    let found: Option<(i32, Option<String>)> = protocol_version::Entity::find()
        .select_only()
        .column(protocol_version::Column::Version)
        .column(ledger_payload::Column::Body)
        .join(JoinType::LeftJoin, its_payload)
        .filter(protocol_version::Column::TrialId.eq(trial_id))
        .filter(protocol_version::Column::Version.in_subquery(newest_approved))
        .into_tuple()
        .one(db)
        .await?;
    match found {
        Some((version, Some(body))) => Ok((version, parse_document(&body)?)),
        Some((version, None)) => Err(missing_document(trial_id, version)),
        None => Err(none_in_force(db, trial_id).await),
    }
}

/// The ethics board's approvals of the trial's versions.
fn approved_reviews(trial_id: &str) -> Condition {
    Condition::all()
        .add(protocol_review::Column::TrialId.eq(trial_id))
        .add(protocol_review::Column::Decision.eq(ReviewDecision::Approved.as_str()))
}

/// Why no version is in force: none is approved (`CONFLICT`), or, were one approved, its
/// version row is missing (an internal error).
async fn none_in_force(db: &impl ConnectionTrait, trial_id: &str) -> AppError {
    let approved = protocol_review::Entity::find()
        .filter(approved_reviews(trial_id))
        .order_by_desc(protocol_review::Column::Version)
        .one(db)
        .await;
    match approved {
        Ok(None) => {
            AppError::conflict("no version of this protocol is approved by its ethics board yet")
        }
        Ok(Some(review)) => AppError::Internal(anyhow::anyhow!(
            "{trial_id} v{} is approved but not stored",
            review.version
        )),
        Err(err) => err.into(),
    }
}

/// Whether `who` may see this trial: its sponsor, its named sites, any recruiter while it
/// recruits, its named ethics board, and admins.
pub fn may_read(who: &Principal, view: &TrialView) -> AppResult<bool> {
    let doc = &view.current()?.document;
    Ok(match who.role {
        Role::Admin => true,
        Role::Sponsor => view.trial.sponsor_org_id == who.org_id,
        Role::Recruiter => view.trial.status == TrialStatus::Recruiting.as_str(),
        Role::Site => doc.site_participates(&who.org_id),
        Role::Ethics => doc.ethics_board_id.as_deref() == Some(who.org_id.as_str()),
    })
}

/// A trial the caller may read, or `NOT_FOUND` (hiding that it exists).
pub async fn readable_trial(
    state: &AppState,
    who: &Principal,
    trial_id: &str,
) -> AppResult<TrialView> {
    let view = trial_view(&state.db, trial_id).await?;
    if may_read(who, &view)? {
        Ok(view)
    } else {
        Err(AppError::not_found(format!("no trial has id {trial_id:?}")))
    }
}

/// Whether `who` may read a participant-level record (enrollment, submission, attachment) that
/// `site_org_id` holds in `trial_id`: that site itself, or whoever may read the trial's
/// audit data (its ethics board, admins). Callers answer `NOT_FOUND` when it may not.
pub async fn may_read_site_record(
    state: &AppState,
    who: &Principal,
    site_org_id: &str,
    trial_id: &str,
) -> AppResult<bool> {
    who.require(&[Role::Site, Role::Ethics, Role::Admin])?;
    Ok(match who.role {
        Role::Site => site_org_id == who.org_id,
        _ => readable_trial(state, who, trial_id).await.is_ok(),
    })
}

/// Every trial the caller may read, optionally of one status, newest first.
pub async fn list(
    state: &AppState,
    who: &Principal,
    status: Option<TrialStatus>,
) -> AppResult<Vec<TrialView>> {
    let mut query = trial::Entity::find().order_by_desc(trial::Column::CreatedAt);
    if let Some(status) = status {
        query = query.filter(trial::Column::Status.eq(status.as_str()));
    }
    if who.role == Role::Sponsor {
        query = query.filter(trial::Column::SponsorOrgId.eq(&who.org_id));
    }
    let mut views = Vec::new();
    for row in query.all(&state.db).await? {
        let view = trial_view(&state.db, &row.id).await?;
        if may_read(who, &view)? {
            views.push(view);
        }
    }
    Ok(views)
}

/// The trial's entry in the trial index.
pub fn trial_doc(view: &TrialView) -> AppResult<TrialDoc> {
    let doc = &view.current()?.document;
    Ok(TrialDoc {
        trial_id: view.trial.id.clone(),
        title: doc.title.clone(),
        conditions: doc.conditions.clone(),
        keywords: doc.keywords.clone(),
        eligibility_text: format!("{}\n{}", doc.summary, doc.eligibility_text),
        min_age: None,
        max_age: None,
        sex: None,
        criteria: doc.criteria_expr()?,
        recruiting: view.trial.status == TrialStatus::Recruiting.as_str(),
    })
}

/// Every trial's index entry (for rebuilding the trial index).
pub async fn trial_docs(db: &impl ConnectionTrait) -> AppResult<Vec<TrialDoc>> {
    let mut docs = Vec::new();
    for row in trial::Entity::find().all(db).await? {
        docs.push(trial_doc(&trial_view(db, &row.id).await?)?);
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(criteria: &str, target: u32, sites: &[&str], board: Option<&str>) -> ProtocolDocument {
        ProtocolDocument {
            trial_id: "t".into(),
            version: 1,
            title: "T".into(),
            summary: String::new(),
            phase: String::new(),
            primary_endpoint: "E".into(),
            secondary_endpoints: vec![],
            target_enrollment: target,
            criteria: criteria.into(),
            eligibility_text: String::new(),
            site_ids: sites.iter().map(|s| s.to_string()).collect(),
            ethics_board_id: board.map(str::to_string),
            forms: vec![],
            conditions: vec![],
            keywords: vec![],
            status: "recruiting".into(),
            nct_id: None,
            previous_version_hash: None,
            reason: None,
        }
    }

    #[test]
    fn amendments_raise_the_flags_a_board_expects() {
        let v1 = doc("age >= 18", 100, &["a", "b"], Some("x"));
        assert!(content_flags(&v1, &v1).is_empty());
        let v2 = doc("age >= 21", 120, &["b", "c"], Some("y"));
        assert_eq!(
            content_flags(&v1, &v2),
            [
                FLAG_CRITERIA,
                FLAG_TARGET,
                FLAG_SITES_ADDED,
                FLAG_SITES_REMOVED,
                FLAG_BOARD
            ]
        );
        let fewer = doc("age >= 18", 100, &["a"], Some("x"));
        assert_eq!(content_flags(&v1, &fewer), [FLAG_SITES_REMOVED]);
        assert_eq!(content_flags(&fewer, &v1), [FLAG_SITES_ADDED]);
    }
}
