//! Sites' patients, consent, enrollment and trial data; recruiters' cohorts.

use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use matcher::profile::Profile;

use super::cohorts::Count;
use super::patient_histories::Histories;
use super::signatures::{Signature, signature_of};
use super::trials::Trial;
use super::{ApiResult, parts};
use crate::domain::{ConsentScope, from_stored};
use crate::entities::{consent, enrollment, invitation};
use crate::error::AppError;
use crate::forms;
use crate::services::anonymise::{LabResult, PatientRecord};
use crate::services::patients::{self, ConsentAct, ConsentForm, has_active_consent, sex_name};
use crate::services::signatures::{Attest, Signed};
use crate::services::site_patients::History;
use crate::services::trial_data::{self, SubmissionVersionView};
use crate::services::{audit, case_reports, recruitment, site_patients};
use crate::state::AppState;

/// Sex as recorded.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "matcher::profile::Sex")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

/// A lab result as the site records it; only its year is kept.
#[derive(InputObject)]
pub struct LabInput {
    /// `loinc:<code>`, e.g. `loinc:4548-4`.
    code: String,
    value: f64,
    unit: String,
    date: NaiveDate,
}

/// What a site knows about a patient. Kept: age in years (90+ as 90), sex, the first three
/// ZIP digits, codes, lab values with their year. Discarded: the local id (only its keyed
/// hash, the pseudonym, is kept), the birth date, the full ZIP, exact lab dates.
#[derive(InputObject)]
pub struct RegisterPatientInput {
    local_id: String,
    /// YYYY-MM-DD.
    birth_date: NaiveDate,
    sex: Sex,
    zip: String,
    #[graphql(default)]
    conditions: Vec<String>,
    #[graphql(default)]
    medications: Vec<String>,
    #[graphql(default)]
    procedures: Vec<String>,
    #[graphql(default)]
    labs: Vec<LabInput>,
    /// Display names of the conditions (used for trial search).
    #[graphql(default)]
    terms: Vec<String>,
}

/// A lab value in a profile.
#[derive(SimpleObject)]
pub struct LabValue {
    code: String,
    value: f64,
    unit: String,
    year: i32,
}

/// An anonymised patient profile, as its own site sees it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Patient {
    pseudonym: String,
    age: u8,
    sex: Sex,
    zip3: String,
    conditions: Vec<String>,
    medications: Vec<String>,
    procedures: Vec<String>,
    labs: Vec<LabValue>,
    /// Whether the patient may be contacted about trials (and so is searchable).
    recruitment_consent: bool,
}

#[ComplexObject]
impl Patient {
    /// Every consent event, newest first.
    async fn consents(&self, ctx: &Context<'_>) -> ApiResult<Vec<Consent>> {
        Ok(history::<consent::Entity>(ctx, &self.pseudonym)
            .await?
            .into_iter()
            .map(Consent::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Every invitation to a trial, newest first.
    async fn invitations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Invitation>> {
        Ok(history::<invitation::Entity>(ctx, &self.pseudonym)
            .await?
            .into_iter()
            .map(Invitation::from)
            .collect())
    }

    /// Every enrollment, newest first.
    async fn enrollments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Enrollment>> {
        Ok(history::<enrollment::Entity>(ctx, &self.pseudonym)
            .await?
            .into_iter()
            .map(Enrollment::from)
            .collect())
    }
}

/// The `E` rows of patient `pseudonym`, newest first, loaded with those of the other patients
/// the request (and concurrent ones) asked about.
async fn history<E>(ctx: &Context<'_>, pseudonym: &str) -> ApiResult<Vec<E::Model>>
where
    E: History + 'static,
    E::Model: Sync,
{
    let loader = ctx.data_unchecked::<DataLoader<Histories<E>>>();
    Ok(loader
        .load_one(pseudonym.to_string())
        .await?
        .unwrap_or_default())
}

/// What a site searches its patients by; every field is optional.
#[derive(InputObject, Default)]
pub struct PatientFilter {
    /// The pseudonym starts with this (hexadecimal).
    pseudonym_prefix: Option<String>,
    min_age: Option<u8>,
    max_age: Option<u8>,
    sex: Option<Sex>,
    /// A code the patient has (`icd10:E11.9`), or a prefix of codes (`icd10:E11*`).
    code: Option<String>,
}

/// One page of a site's patients.
#[derive(SimpleObject)]
pub struct PatientPage {
    /// How many patients match, over all pages.
    total: u64,
    patients: Vec<Patient>,
}

/// The patient as the API shows it, with whether recruitment contact is consented to.
async fn with_consent(state: &AppState, profile: Profile) -> ApiResult<Patient> {
    let consent = has_active_consent(
        &state.db,
        &profile.pseudonym,
        ConsentScope::RecruitmentContact,
        None,
    )
    .await?;
    Ok(patient(profile, consent))
}

fn patient(profile: Profile, recruitment_consent: bool) -> Patient {
    Patient {
        pseudonym: profile.pseudonym,
        age: profile.age,
        sex: profile.sex.into(),
        zip3: profile.zip3,
        conditions: profile.conditions,
        medications: profile.medications,
        procedures: profile.procedures,
        labs: profile
            .labs
            .into_iter()
            .map(|l| LabValue {
                code: l.code,
                value: l.value,
                unit: l.unit,
                year: l.year,
            })
            .collect(),
        recruitment_consent,
    }
}

/// A consent event.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Consent {
    id: ID,
    scope: ConsentScope,
    trial_id: Option<ID>,
    granted: bool,
    ledger_seq: i64,
    recorded_at: DateTime<Utc>,
    /// The version of the consent form the patient signed (grants).
    consent_form_version: Option<String>,
    /// The date the patient signed the form (grants).
    patient_signed_on: Option<NaiveDate>,
}

#[ComplexObject]
impl Consent {
    /// The electronic signature of the staff member who took the consent; none for a
    /// consent imported from an EHR.
    async fn signature(&self, ctx: &Context<'_>) -> ApiResult<Option<Signature>> {
        signature_of(ctx, self.ledger_seq).await
    }
}

impl TryFrom<consent::Model> for Consent {
    type Error = AppError;

    fn try_from(c: consent::Model) -> Result<Self, Self::Error> {
        Ok(Self {
            id: c.id.into(),
            scope: from_stored(&c.scope)?,
            trial_id: (!c.trial_id.is_empty()).then(|| c.trial_id.into()),
            granted: c.granted,
            ledger_seq: c.ledger_seq,
            recorded_at: c.recorded_at,
            consent_form_version: c.consent_form_version,
            patient_signed_on: c.patient_signed_on,
        })
    }
}

/// What a patient keeps: save `receipt` as a file and run `veritrial verify FILE`.
#[derive(SimpleObject)]
pub struct ConsentReceipt {
    seq: u64,
    kind: String,
    tree_size: u64,
    checkpoint: String,
    public_key: String,
    proof: Vec<String>,
    /// The whole receipt as JSON.
    receipt: String,
    /// The entry's RFC 6962 leaf hash (hex).
    leaf_hash: String,
    /// A link (a path within the web app, `#/check/…`) that checks, in any browser and
    /// without signing in, that the entry is still in the signed ledger unchanged: it names
    /// the entry, its leaf hash and (a SHA-256 prefix of) the ledger's key.
    check_link: String,
}

/// The result of inviting a cohort.
#[derive(SimpleObject)]
pub struct InvitationSummary {
    trial_id: ID,
    /// Patients newly invited: noisy and suppressed like a cohort count, or withheld when
    /// the caller's privacy budget is spent.
    invited: Count,
    /// The round's `invitation.created` entry (written even when nobody new fits).
    ledger_seq: u64,
}

/// An invitation for the site to act on.
#[derive(SimpleObject)]
pub struct Invitation {
    id: ID,
    trial_id: ID,
    pseudonym: String,
    created_at: DateTime<Utc>,
}

impl From<invitation::Model> for Invitation {
    fn from(i: invitation::Model) -> Self {
        Self {
            id: i.id.into(),
            trial_id: i.trial_id.into(),
            pseudonym: i.pseudonym,
            created_at: i.created_at,
        }
    }
}

/// Whether one clause is met.
#[derive(SimpleObject)]
pub struct ClauseOutcome {
    clause: String,
    met: bool,
}

/// Which criteria a patient meets and fails.
#[derive(SimpleObject)]
pub struct MatchExplanation {
    matched: bool,
    clauses: Vec<ClauseOutcome>,
}

/// A trial that fits a patient.
#[derive(SimpleObject)]
pub struct TrialMatch {
    trial: Trial,
    score: f32,
}

/// A participant's enrollment.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Enrollment {
    id: ID,
    trial_id: ID,
    pseudonym: String,
    protocol_version: i32,
    /// `enrolled` or `withdrawn`.
    status: String,
    ledger_seq: i64,
    withdrawn_ledger_seq: Option<i64>,
    withdraw_reason: Option<String>,
    created_at: DateTime<Utc>,
}

#[ComplexObject]
impl Enrollment {
    /// The latest sign-off of this participant's case report, if any.
    async fn case_report_sign_off(&self, ctx: &Context<'_>) -> ApiResult<Option<SignOff>> {
        let (state, _) = parts(ctx);
        Ok(case_reports::latest(&state.db, &self.trial_id, &self.id)
            .await?
            .map(SignOff::try_from)
            .transpose()?)
    }
}

/// An investigator's signed attestation that a case report is accurate and complete.
#[derive(SimpleObject)]
pub struct SignOff {
    /// The `casereport.signed-off` ledger entry.
    ledger_seq: i64,
    /// The records signed, each at the version signed.
    records: Vec<SignedRecord>,
    /// False once a record was corrected or added after the sign-off.
    current: bool,
    signature: Signature,
}

/// One record covered by a sign-off.
#[derive(SimpleObject)]
pub struct SignedRecord {
    submission_id: ID,
    form: String,
    visit: String,
    version: i32,
    content_hash: String,
}

impl TryFrom<case_reports::SignOff> for SignOff {
    type Error = AppError;

    fn try_from(s: case_reports::SignOff) -> Result<Self, Self::Error> {
        Ok(Self {
            ledger_seq: s.ledger_seq,
            records: s
                .items
                .into_iter()
                .map(|i| SignedRecord {
                    submission_id: i.submission_id.into(),
                    form: i.form,
                    visit: i.visit,
                    version: i.version,
                    content_hash: i.content_hash,
                })
                .collect(),
            current: s.current,
            signature: Signed {
                seq: s.ledger_seq + 1,
                signature: s.signature,
            }
            .try_into()?,
        })
    }
}

impl From<enrollment::Model> for Enrollment {
    fn from(e: enrollment::Model) -> Self {
        Self {
            id: e.id.into(),
            trial_id: e.trial_id.into(),
            pseudonym: e.pseudonym,
            protocol_version: e.protocol_version,
            status: e.status,
            ledger_seq: e.ledger_seq,
            withdrawn_ledger_seq: e.withdrawn_ledger_seq,
            withdraw_reason: e.withdraw_reason,
            created_at: e.created_at,
        }
    }
}

/// One version of a case-report record.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Submission {
    id: ID,
    enrollment_id: ID,
    /// The site that holds the record.
    site_id: ID,
    form: String,
    visit: String,
    version: i32,
    /// SHA-256 of the canonical ledgered payload.
    content_hash: String,
    ledger_seq: i64,
    /// Why this version corrects the previous one.
    reason: Option<String>,
    created_by: ID,
    created_at: DateTime<Utc>,
    data: Json<serde_json::Value>,
    /// The protocol version whose form definition the data were checked against; none when
    /// the protocol defines no form of this name.
    protocol_version: Option<i32>,
    /// What this version changed from the previous one, field by field.
    changes: Vec<ValueChange>,
}

/// A field whose value a correction changed.
#[derive(SimpleObject)]
pub struct ValueChange {
    /// The field's id.
    field: String,
    /// The field's label (its id when the form does not define it).
    label: String,
    /// The value before; null when none was given.
    before: Option<Json<serde_json::Value>>,
    /// The value after; null when it was removed.
    after: Option<Json<serde_json::Value>>,
}

impl From<forms::ValueChange> for ValueChange {
    fn from(c: forms::ValueChange) -> Self {
        Self {
            field: c.field,
            label: c.label,
            before: c.before.map(Json),
            after: c.after.map(Json),
        }
    }
}

#[ComplexObject]
impl Submission {
    /// The electronic signature of a correction (the first version is signed off with the
    /// case report instead).
    async fn signature(&self, ctx: &Context<'_>) -> ApiResult<Option<Signature>> {
        signature_of(ctx, self.ledger_seq).await
    }
}

impl From<SubmissionVersionView> for Submission {
    fn from(v: SubmissionVersionView) -> Self {
        Self {
            id: v.submission.id.into(),
            enrollment_id: v.submission.enrollment_id.into(),
            site_id: v.submission.site_org_id.into(),
            form: v.submission.form,
            visit: v.submission.visit,
            version: v.version.version,
            content_hash: v.version.content_hash,
            ledger_seq: v.version.ledger_seq,
            reason: v.version.reason,
            created_by: v.version.created_by.into(),
            created_at: v.version.created_at,
            data: Json(v.data),
            protocol_version: v.protocol_version,
            changes: v.changes.into_iter().map(ValueChange::from).collect(),
        }
    }
}

/// A file attached to a submission; download it from `GET /attachments/{id}`.
#[derive(SimpleObject)]
pub struct Attachment {
    id: ID,
    submission_id: ID,
    sha256: String,
    size_bytes: i64,
    file_name: String,
    content_type: String,
    /// The `attachment.added` entry.
    ledger_seq: i64,
    created_at: DateTime<Utc>,
}

impl From<crate::entities::attachment::Model> for Attachment {
    fn from(a: crate::entities::attachment::Model) -> Self {
        Self {
            id: a.id.into(),
            submission_id: a.submission_id.into(),
            sha256: a.sha256,
            size_bytes: a.size_bytes,
            file_name: a.file_name,
            content_type: a.content_type,
            ledger_seq: a.ledger_seq,
            created_at: a.created_at,
        }
    }
}

#[derive(Default)]
pub struct PatientQuery;

#[Object]
impl PatientQuery {
    /// The caller's site's patient with this local id (MRN). The local id is turned into the
    /// pseudonym with the site's key for this request only: it is never stored, logged or
    /// returned (`NOT_FOUND` does not repeat it).
    async fn patient_by_local_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] local_id: String,
    ) -> ApiResult<Patient> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let profile = site_patients::by_local_id(state, site, &local_id).await?;
        with_consent(state, profile).await
    }

    /// The caller's site's patients matching `filter`, by pseudonym: `first` (at most 100)
    /// from `offset` on, with the total.
    async fn site_patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: PatientFilter,
        #[graphql(default = 25)] first: u64,
        #[graphql(default)] offset: u64,
    ) -> ApiResult<PatientPage> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let filter = site_patients::PatientFilter {
            pseudonym_prefix: filter.pseudonym_prefix,
            min_age: filter.min_age,
            max_age: filter.max_age,
            sex: filter.sex.map(|sex| sex_name(sex.into()).to_string()),
            code: filter.code,
        };
        let page = site_patients::list(&state.db, site, &filter, first, offset).await?;
        let mut patients = Vec::with_capacity(page.profiles.len());
        for profile in page.profiles {
            patients.push(with_consent(state, profile).await?);
        }
        Ok(PatientPage {
            total: page.total,
            patients,
        })
    }

    /// One of the caller's site's patients.
    async fn patient(&self, ctx: &Context<'_>, pseudonym: String) -> ApiResult<Patient> {
        let (state, caller) = parts(ctx);
        let site = caller.require(&[crate::domain::Role::Site])?;
        let profile = patients::own_profile(&state.db, site, &pseudonym).await?;
        with_consent(state, profile).await
    }

    /// A receipt for the patient's latest consent of `scope` (their own site only).
    async fn consent_receipt(
        &self,
        ctx: &Context<'_>,
        pseudonym: String,
        scope: ConsentScope,
        trial_id: Option<ID>,
    ) -> ApiResult<ConsentReceipt> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let receipt = audit::consent_receipt(
            state,
            site,
            &pseudonym,
            scope,
            trial_id.as_ref().map(|id| id.as_str()),
        )
        .await?;
        let leaf_hash = receipt.entry.leaf_hash().to_hex();
        let key_hash = hex::encode(
            &ring::digest::digest(&ring::digest::SHA256, receipt.public_key.as_bytes()).as_ref()
                [..16],
        );
        Ok(ConsentReceipt {
            check_link: format!("#/check/{}/{leaf_hash}/{key_hash}", receipt.entry.seq),
            leaf_hash,
            seq: receipt.entry.seq,
            kind: receipt.entry.kind.as_str().to_string(),
            tree_size: receipt.tree_size,
            checkpoint: receipt.checkpoint.clone(),
            public_key: receipt.public_key.clone(),
            proof: receipt.proof.iter().map(|h| h.to_hex()).collect(),
            receipt: serde_json::to_string_pretty(&receipt)
                .map_err(anyhow::Error::from)
                .map_err(crate::error::AppError::from)?,
        })
    }

    /// The caller's site's invitations for a trial.
    async fn invitations(&self, ctx: &Context<'_>, trial_id: ID) -> ApiResult<Vec<Invitation>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let rows = recruitment::invitations(state, who, &trial_id).await?;
        Ok(rows.into_iter().map(Invitation::from).collect())
    }

    /// Which clauses of `criteria` one of the site's patients meets.
    async fn explain_match(
        &self,
        ctx: &Context<'_>,
        pseudonym: String,
        criteria: String,
    ) -> ApiResult<MatchExplanation> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let e = recruitment::explain_match(state, who, &pseudonym, &criteria).await?;
        Ok(MatchExplanation {
            matched: e.matched,
            clauses: e
                .clauses
                .into_iter()
                .map(|c| ClauseOutcome {
                    clause: c.clause,
                    met: c.met,
                })
                .collect(),
        })
    }

    /// Recruiting trials that fit one of the site's patients, best first.
    #[graphql(complexity = "super::cost::TRIAL_SEARCH + child_complexity")]
    async fn matching_trials(
        &self,
        ctx: &Context<'_>,
        pseudonym: String,
    ) -> ApiResult<Vec<TrialMatch>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let found = recruitment::matching_trials(state, who, &pseudonym).await?;
        Ok(found
            .into_iter()
            .map(|(view, score)| {
                Ok(TrialMatch {
                    trial: view.try_into()?,
                    score,
                })
            })
            .collect::<Result<_, crate::error::AppError>>()?)
    }

    /// The caller's site's enrollments in a trial.
    async fn enrollments(&self, ctx: &Context<'_>, trial_id: ID) -> ApiResult<Vec<Enrollment>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let rows = trial_data::enrollments(state, who, &trial_id).await?;
        Ok(rows.into_iter().map(Enrollment::from).collect())
    }

    /// One of the caller's site's enrollments.
    async fn enrollment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Enrollment> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(trial_data::enrollment(state, who, &id).await?.into())
    }

    /// The files attached to a submission (upload with `POST /attachments`).
    async fn attachments(
        &self,
        ctx: &Context<'_>,
        submission_id: ID,
    ) -> ApiResult<Vec<Attachment>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let rows = crate::services::attachments::list(state, who, &submission_id).await?;
        Ok(rows.into_iter().map(Attachment::from).collect())
    }

    /// Every version of every record of an enrollment.
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
    ) -> ApiResult<Vec<Submission>> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let rows = trial_data::submissions(state, who, &enrollment_id).await?;
        Ok(rows.into_iter().map(Submission::from).collect())
    }
}

#[derive(Default)]
pub struct PatientMutation;

#[Object]
impl PatientMutation {
    /// Registers (or updates) one of the site's patients; only the anonymised profile is kept.
    async fn register_patient(
        &self,
        ctx: &Context<'_>,
        input: RegisterPatientInput,
    ) -> ApiResult<Patient> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let record = PatientRecord {
            local_id: input.local_id,
            birth_date: input.birth_date,
            sex: input.sex.into(),
            zip: input.zip,
            conditions: input.conditions,
            medications: input.medications,
            procedures: input.procedures,
            labs: input
                .labs
                .into_iter()
                .map(|l| LabResult {
                    code: l.code,
                    value: l.value,
                    unit: l.unit,
                    date: l.date,
                })
                .collect(),
            terms: input.terms,
        };
        let profile = patients::register(state, site, &record).await?;
        with_consent(state, profile).await
    }

    /// Records a grant or withdrawal of consent (ledgered with a salted commitment), signed
    /// by the staff member who took it: `password` is their own, re-entered
    /// (`SIGNATURE_REFUSED` when it does not match). A grant names the consent-form version
    /// and the date the patient signed it; a withdrawal names neither.
    #[allow(clippy::too_many_arguments)]
    async fn record_consent(
        &self,
        ctx: &Context<'_>,
        pseudonym: String,
        scope: ConsentScope,
        trial_id: Option<ID>,
        granted: bool,
        consent_form_version: Option<String>,
        patient_signed_on: Option<NaiveDate>,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Consent> {
        let (state, caller) = parts(ctx);
        let site = caller.principal()?;
        let form = match (consent_form_version, patient_signed_on) {
            (None, None) => None,
            (Some(version), Some(signed_on)) => Some(ConsentForm { version, signed_on }),
            _ => {
                return Err(AppError::bad_input(
                    "consentFormVersion and patientSignedOn go together",
                )
                .into());
            }
        };
        let act = ConsentAct {
            pseudonym: &pseudonym,
            scope,
            trial_id: trial_id.as_ref().map(|id| id.as_str()),
            granted,
            form,
        };
        let row = patients::record_consent(state, site, act, Attest::Password(&password)).await?;
        Ok(row.try_into()?)
    }

    /// Invites every consenting patient who fits the trial's criteria (their sites contact them).
    async fn invite_cohort(&self, ctx: &Context<'_>, trial_id: ID) -> ApiResult<InvitationSummary> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let summary = recruitment::invite_cohort(state, who, &trial_id).await?;
        Ok(InvitationSummary {
            trial_id: summary.trial_id.into(),
            invited: summary.invited.into(),
            ledger_seq: summary.ledger_seq,
        })
    }

    /// Enrolls one of the site's patients (consent and criteria are checked now).
    async fn enroll_participant(
        &self,
        ctx: &Context<'_>,
        trial_id: ID,
        pseudonym: String,
    ) -> ApiResult<Enrollment> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(trial_data::enroll(state, who, &trial_id, &pseudonym)
            .await?
            .into())
    }

    /// Withdraws a participant, with the reason.
    async fn withdraw_participant(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
        reason: String,
    ) -> ApiResult<Enrollment> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(trial_data::withdraw(state, who, &enrollment_id, &reason)
            .await?
            .into())
    }

    /// Submits a case-report-form record (a JSON object) for an enrolled participant.
    async fn submit_trial_data(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
        form: String,
        visit: String,
        data: Json<serde_json::Value>,
    ) -> ApiResult<Submission> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(
            trial_data::submit(state, who, &enrollment_id, &form, &visit, data.0)
                .await?
                .into(),
        )
    }

    /// Corrects a record by adding a new version with the reason; nothing is overwritten.
    /// The correction is signed: `password` is the site member's own, re-entered.
    async fn correct_trial_data(
        &self,
        ctx: &Context<'_>,
        submission_id: ID,
        data: Json<serde_json::Value>,
        reason: String,
        #[graphql(secret)] password: String,
    ) -> ApiResult<Submission> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        let correction = trial_data::Correction {
            data: data.0,
            reason: &reason,
            password: &password,
        };
        Ok(trial_data::correct(state, who, &submission_id, correction)
            .await?
            .into())
    }

    /// Signs off a participant's case report (site investigators): every record at its
    /// current version is attested accurate and complete, with `password` re-entered. A
    /// later correction shows the sign-off as no longer current.
    async fn sign_off_case_report(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
        #[graphql(secret)] password: String,
    ) -> ApiResult<SignOff> {
        let (state, caller) = parts(ctx);
        let who = caller.principal()?;
        Ok(
            case_reports::sign_off(state, who, &enrollment_id, &password)
                .await?
                .try_into()?,
        )
    }
}
