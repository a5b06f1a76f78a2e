//! Patients (anonymised profiles registered by their site) and their consents.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, Utc};
use ledger::EntryKind;
use ledger::payload::commitment;
use matcher::profile::{Lab, Profile, Sex};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::anonymise::{PatientRecord, anonymise};
use super::ledger::{Actor, NewEntry, Work};
use super::outbox::IndexTouch;
use super::signatures::{self, Attest};
use crate::auth::Principal;
use crate::datadir::random_secret;
use crate::domain::{ConsentScope, Role};
use crate::entities::{consent, patient, patient_code, patient_lab, trial};
use crate::error::{AppError, AppResult};
use crate::keys_dir::SecretFormat;
use crate::state::AppState;

/// The pseudonym of a site's local patient id: HMAC-SHA-256 under the site's own secret
/// (`pseudonym-<site>.key` in the shared key directory, so every process gives the same
/// pseudonym), and only that site can link it back to a person (outside Veritrial).
pub fn pseudonym(state: &AppState, site_org_id: &str, local_id: &str) -> AppResult<String> {
    let local_id = local_id.trim();
    if local_id.is_empty() {
        return Err(AppError::bad_input("the local patient id is empty"));
    }
    let secret = state.keys.load_or_create(
        &format!("pseudonym-{site_org_id}.key"),
        SecretFormat::Random32,
    )?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
    Ok(hex::encode(ring::hmac::sign(&key, local_id.as_bytes())))
}

/// Registers (or updates) the anonymised profile of a site's patient. Only the profile is
/// stored; when the patient consents to recruitment contact, the index picks it up from the
/// outbox.
pub async fn register(
    state: &AppState,
    site: &Principal,
    record: &PatientRecord,
) -> AppResult<Profile> {
    site.require(&[Role::Site])?;
    let pseudonym = pseudonym(state, &site.org_id, &record.local_id)?;
    let existing = patient::Entity::find_by_id(pseudonym.clone())
        .one(&state.db)
        .await?;
    if existing.is_some_and(|row| row.site_org_id != site.org_id) {
        return Err(AppError::conflict("this pseudonym belongs to another site"));
    }
    let profile = anonymise(record, &pseudonym, &site.org_id, Utc::now().date_naive())?;
    let stored = profile.clone();
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                store_profile(work.db(), &stored).await?;
                work.touch(IndexTouch::Profile(stored.pseudonym.clone()));
                Ok(())
            })
        })
        .await?;
    Ok(profile)
}

/// Writes `profile`'s rows, replacing any previous ones.
pub(crate) async fn store_profile(db: &impl ConnectionTrait, profile: &Profile) -> AppResult<()> {
    let row = patient::ActiveModel {
        pseudonym: Set(profile.pseudonym.clone()),
        site_org_id: Set(profile.site_id.clone()),
        age: Set(i16::from(profile.age)),
        sex: Set(sex_name(profile.sex).to_string()),
        zip3: Set(profile.zip3.clone()),
        updated_at: Set(Utc::now()),
    };
    patient::Entity::insert(row)
        .on_conflict(
            OnConflict::column(patient::Column::Pseudonym)
                .update_columns([
                    patient::Column::Age,
                    patient::Column::Sex,
                    patient::Column::Zip3,
                    patient::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    patient_code::Entity::delete_many()
        .filter(patient_code::Column::Pseudonym.eq(&profile.pseudonym))
        .exec(db)
        .await?;
    patient_lab::Entity::delete_many()
        .filter(patient_lab::Column::Pseudonym.eq(&profile.pseudonym))
        .exec(db)
        .await?;
    let codes: Vec<patient_code::ActiveModel> = [
        ("condition", &profile.conditions),
        ("medication", &profile.medications),
        ("procedure", &profile.procedures),
        ("term", &profile.terms),
    ]
    .into_iter()
    .flat_map(|(kind, codes)| {
        let mut unique: Vec<&String> = codes.iter().collect();
        unique.sort();
        unique.dedup();
        unique
            .into_iter()
            .map(move |code| patient_code::ActiveModel {
                pseudonym: Set(profile.pseudonym.clone()),
                kind: Set(kind.to_string()),
                code: Set(code.clone()),
            })
    })
    .collect();
    if !codes.is_empty() {
        patient_code::Entity::insert_many(codes).exec(db).await?;
    }
    let labs: Vec<patient_lab::ActiveModel> = profile
        .labs
        .iter()
        .map(|lab| patient_lab::ActiveModel {
            pseudonym: Set(profile.pseudonym.clone()),
            code: Set(lab.code.clone()),
            value: Set(lab.value),
            unit: Set(lab.unit.clone()),
            year: Set(lab.year),
        })
        .collect();
    if !labs.is_empty() {
        patient_lab::Entity::insert_many(labs).exec(db).await?;
    }
    Ok(())
}

/// The stored profile of `pseudonym`, if the caller's site registered it.
pub async fn own_profile(
    db: &impl ConnectionTrait,
    site: &Principal,
    pseudonym: &str,
) -> AppResult<Profile> {
    let not_found = || {
        AppError::not_found(format!(
            "your site has no patient with pseudonym {pseudonym:?}"
        ))
    };
    let row = patient::Entity::find_by_id(pseudonym.to_string())
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    if row.site_org_id != site.org_id {
        return Err(not_found());
    }
    let mut profiles = load_profiles(db, vec![row]).await?;
    profiles.pop().ok_or_else(not_found)
}

/// Rebuilds profiles from their rows.
pub(crate) async fn load_profiles(
    db: &impl ConnectionTrait,
    rows: Vec<patient::Model>,
) -> AppResult<Vec<Profile>> {
    let ids: Vec<String> = rows.iter().map(|r| r.pseudonym.clone()).collect();
    let mut codes: HashMap<String, Vec<patient_code::Model>> = HashMap::new();
    let mut labs: HashMap<String, Vec<patient_lab::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for code in patient_code::Entity::find()
            .filter(patient_code::Column::Pseudonym.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            codes.entry(code.pseudonym.clone()).or_default().push(code);
        }
        for lab in patient_lab::Entity::find()
            .filter(patient_lab::Column::Pseudonym.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            labs.entry(lab.pseudonym.clone()).or_default().push(lab);
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut profile = Profile {
                pseudonym: row.pseudonym.clone(),
                site_id: row.site_org_id,
                age: u8::try_from(row.age).map_err(anyhow::Error::from)?,
                sex: parse_sex(&row.sex)?,
                zip3: row.zip3,
                conditions: vec![],
                medications: vec![],
                procedures: vec![],
                labs: vec![],
                terms: vec![],
            };
            for code in codes.remove(&row.pseudonym).unwrap_or_default() {
                match code.kind.as_str() {
                    "condition" => profile.conditions.push(code.code),
                    "medication" => profile.medications.push(code.code),
                    "procedure" => profile.procedures.push(code.code),
                    _ => profile.terms.push(code.code),
                }
            }
            profile.labs = labs
                .remove(&row.pseudonym)
                .unwrap_or_default()
                .into_iter()
                .map(|lab| Lab {
                    code: lab.code,
                    value: lab.value,
                    unit: lab.unit,
                    year: lab.year,
                })
                .collect();
            Ok(profile.normalised())
        })
        .collect()
}

/// The pseudonyms whose recruitment-contact consent is in force (what the index holds).
async fn consenting_pseudonyms(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    let latest = latest_consents(db, ConsentScope::RecruitmentContact).await?;
    Ok(latest
        .into_iter()
        .filter(|(_, granted)| *granted)
        .map(|(key, _)| key.0)
        .collect())
}

/// How many patients the profile index should hold.
pub async fn consenting_count(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(consenting_pseudonyms(db).await?.len() as u64)
}

/// Every profile whose recruitment-contact consent is in force (what the index holds).
pub async fn consenting_profiles(db: &impl ConnectionTrait) -> AppResult<Vec<Profile>> {
    let ids = consenting_pseudonyms(db).await?;
    let mut profiles = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(2_000) {
        let rows = patient::Entity::find()
            .filter(patient::Column::Pseudonym.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        profiles.extend(load_profiles(db, rows).await?);
    }
    Ok(profiles)
}

/// The profiles among `pseudonyms` whose recruitment-contact consent is in force, read from
/// the database rather than the index: what an invitation may act on. Call it inside the
/// write transaction that acts, so that no withdrawal can come in between.
pub async fn consenting_profiles_among(
    db: &impl ConnectionTrait,
    pseudonyms: &[String],
) -> AppResult<Vec<Profile>> {
    let mut profiles = Vec::new();
    for chunk in pseudonyms.chunks(500) {
        let mut latest: BTreeMap<(String, String), bool> = BTreeMap::new();
        for row in consent::Entity::find()
            .filter(consent::Column::Scope.eq(ConsentScope::RecruitmentContact.as_str()))
            .filter(consent::Column::Pseudonym.is_in(chunk.to_vec()))
            .order_by_asc(consent::Column::LedgerSeq)
            .all(db)
            .await?
        {
            latest.insert((row.pseudonym, row.trial_id), row.granted);
        }
        let mut granted: Vec<String> = latest
            .into_iter()
            .filter(|(_, granted)| *granted)
            .map(|((pseudonym, _), _)| pseudonym)
            .collect();
        granted.dedup();
        let rows = patient::Entity::find()
            .filter(patient::Column::Pseudonym.is_in(granted))
            .all(db)
            .await?;
        profiles.extend(load_profiles(db, rows).await?);
    }
    Ok(profiles)
}

/// The consent in force for every (pseudonym, trial) of `scope`: true when granted.
async fn latest_consents(
    db: &impl ConnectionTrait,
    scope: ConsentScope,
) -> AppResult<BTreeMap<(String, String), bool>> {
    let rows = consent::Entity::find()
        .filter(consent::Column::Scope.eq(scope.as_str()))
        .order_by_asc(consent::Column::LedgerSeq)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.pseudonym, row.trial_id), row.granted))
        .collect())
}

/// Whether the latest consent of `scope` (for `trial_id`, if any) is a grant.
pub async fn has_active_consent(
    db: &impl ConnectionTrait,
    pseudonym: &str,
    scope: ConsentScope,
    trial_id: Option<&str>,
) -> AppResult<bool> {
    Ok(latest_consent(db, pseudonym, scope, trial_id)
        .await?
        .is_some_and(|row| row.granted))
}

/// The consent event in force for one subject and scope.
pub async fn latest_consent(
    db: &impl ConnectionTrait,
    pseudonym: &str,
    scope: ConsentScope,
    trial_id: Option<&str>,
) -> AppResult<Option<consent::Model>> {
    Ok(consent::Entity::find()
        .filter(consent::Column::Pseudonym.eq(pseudonym))
        .filter(consent::Column::Scope.eq(scope.as_str()))
        .filter(consent::Column::TrialId.eq(trial_id.unwrap_or("")))
        .order_by_desc(consent::Column::LedgerSeq)
        .one(db)
        .await?)
}

/// A grant or withdrawal of consent, as a site records it.
#[derive(Clone, Debug)]
pub struct ConsentAct<'a> {
    /// The site's patient.
    pub pseudonym: &'a str,
    /// What the consent covers.
    pub scope: ConsentScope,
    /// The trial, for trial participation (and only then).
    pub trial_id: Option<&'a str>,
    /// A grant (`true`) or a withdrawal.
    pub granted: bool,
    /// For a grant: the consent form the patient signed, and when. Required for a signed
    /// grant; an operator's import has none.
    pub form: Option<ConsentForm>,
}

/// The consent form a patient signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentForm {
    /// The form's version, as printed on it (e.g. `v2.1 2026-11-01`).
    pub version: String,
    /// The date the patient signed it.
    pub signed_on: NaiveDate,
}

/// Longest consent-form version accepted.
const MAX_FORM_VERSION: usize = 100;

impl ConsentForm {
    /// Refuses an empty or over-long version and a signing date in the future (`BAD_INPUT`).
    fn check(&self, today: NaiveDate) -> AppResult<()> {
        let version = self.version.trim();
        if version.is_empty() || version.len() > MAX_FORM_VERSION {
            return Err(AppError::bad_input(format!(
                "the consent-form version must be 1 to {MAX_FORM_VERSION} characters"
            )));
        }
        // A day of slack: the site's date may be ahead of UTC.
        if self.signed_on > today + chrono::Days::new(1) {
            return Err(AppError::bad_input(format!(
                "the patient cannot have signed on {}, which is in the future",
                self.signed_on
            )));
        }
        Ok(())
    }
}

/// Records a grant or withdrawal of consent for one of the site's patients, with its ledger
/// entry (which carries a salted commitment to the pseudonym, not the pseudonym) and the
/// electronic signature of the staff member who took it ([`signatures`]).
pub async fn record_consent(
    state: &AppState,
    site: &Principal,
    act: ConsentAct<'_>,
    attest: Attest<'_>,
) -> AppResult<consent::Model> {
    site.require(&[Role::Site])?;
    let ConsentAct {
        pseudonym,
        scope,
        trial_id,
        granted,
        form,
    } = act;
    own_profile(&state.db, site, pseudonym).await?;
    let trial_id = match (scope, trial_id) {
        (ConsentScope::TrialParticipation, Some(id)) => {
            trial::Entity::find_by_id(id.to_string())
                .one(&state.db)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no trial has id {id:?}")))?;
            id.to_string()
        }
        (ConsentScope::TrialParticipation, None) => {
            return Err(AppError::bad_input(
                "trial participation consent needs a trialId",
            ));
        }
        (ConsentScope::RecruitmentContact, Some(_)) => {
            return Err(AppError::bad_input(
                "recruitment contact consent is not tied to a trial: leave trialId out",
            ));
        }
        (ConsentScope::RecruitmentContact, None) => String::new(),
    };
    let form = match (granted, form, attest) {
        (true, None, Attest::Password(_)) => {
            return Err(AppError::bad_input(
                "a grant of consent names the consent-form version and the date the patient \
                 signed it (consentFormVersion, patientSignedOn)",
            ));
        }
        (false, Some(_), _) => {
            return Err(AppError::bad_input(
                "a withdrawal has no consent form: leave consentFormVersion and patientSignedOn out",
            ));
        }
        (_, form, _) => form,
    };
    if let Some(form) = &form {
        form.check(Utc::now().date_naive())?;
    }
    let meaning = match &form {
        Some(form) => format!(
            "I attest that the patient gave informed consent on consent form {}, signed by the \
             patient on {}",
            form.version.trim(),
            form.signed_on
        ),
        None if granted => "I attest that the patient gave informed consent".to_string(),
        None => "I attest that the patient withdrew this consent".to_string(),
    };
    let signature = attest.sign(state, site, &meaning).await?;
    let salt = random_secret()?;
    let committed = commitment(&salt, pseudonym).to_hex();
    let mut subjects = BTreeMap::from([("participant".to_string(), committed.clone())]);
    if !trial_id.is_empty() {
        subjects.insert("trial".to_string(), trial_id.clone());
    }
    let form_version = form.as_ref().map(|f| f.version.trim().to_string());
    let signed_on = form.as_ref().map(|f| f.signed_on);
    let entry = NewEntry {
        kind: if granted {
            EntryKind::ConsentGranted
        } else {
            EntryKind::ConsentWithdrawn
        },
        actor: Actor::of(site),
        subjects,
        payload: serde_json::json!({
            "participant": committed,
            "scope": scope.as_str(),
            "trialId": (!trial_id.is_empty()).then_some(&trial_id),
            "granted": granted,
            "consentFormVersion": form_version,
            "patientSignedOn": signed_on,
        }),
    };
    let mut row = consent::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        pseudonym: Set(pseudonym.to_string()),
        scope: Set(scope.as_str().to_string()),
        trial_id: Set(trial_id),
        granted: Set(granted),
        ledger_seq: sea_orm::ActiveValue::NotSet,
        salt: Set(Some(hex::encode(&salt))),
        recorded_by: Set(site.user_id.clone()),
        recorded_at: Set(Utc::now()),
        consent_form_version: Set(form_version),
        patient_signed_on: Set(signed_on),
    };
    // Only recruitment-contact consent decides whether a profile is searchable.
    let touch = (scope == ConsentScope::RecruitmentContact)
        .then(|| IndexTouch::Profile(pseudonym.to_string()));
    state
        .writer
        .run(move |work| {
            Box::pin(async move {
                let appended = signatures::append_act(work, entry, signature.as_ref())?;
                row.ledger_seq = Set(super::ledger::seq_i64(appended.seq));
                let row = consent::Entity::insert(row)
                    .exec_with_returning(work.db())
                    .await?;
                if let Some(touch) = touch {
                    work.touch(touch);
                }
                Ok(row)
            })
        })
        .await
}

/// Stores already anonymised profiles of the site's patients, each with recruitment consent
/// granted in one ledger batch (synthetic data for the demo and benchmarks); the indexer
/// applies each batch as one index commit.
pub async fn seed_consenting(
    state: &AppState,
    site: &Principal,
    profiles: Vec<Profile>,
) -> AppResult<()> {
    site.require(&[Role::Site])?;
    if profiles
        .iter()
        .any(|profile| profile.site_id != site.org_id)
    {
        return Err(AppError::forbidden(
            "profiles must belong to the caller's site",
        ));
    }
    let mut profiles = profiles.into_iter().peekable();
    while profiles.peek().is_some() {
        let chunk: Vec<Profile> = profiles.by_ref().take(500).collect();
        let site = site.clone();
        state
            .writer
            .run(move |work| Box::pin(async move { seed_chunk(work, &site, &chunk).await }))
            .await?;
    }
    Ok(())
}

/// One ledger batch of [`seed_consenting`].
async fn seed_chunk(work: &mut Work, site: &Principal, chunk: &[Profile]) -> AppResult<()> {
    let mut entries = Vec::with_capacity(chunk.len());
    let mut salts = Vec::with_capacity(chunk.len());
    for profile in chunk {
        store_profile(work.db(), profile).await?;
        let salt = random_secret()?;
        let committed = commitment(&salt, &profile.pseudonym).to_hex();
        entries.push(NewEntry {
            kind: EntryKind::ConsentGranted,
            actor: Actor::of(site),
            subjects: BTreeMap::from([("participant".to_string(), committed.clone())]),
            payload: serde_json::json!({
                "participant": committed,
                "scope": ConsentScope::RecruitmentContact.as_str(),
                "trialId": null,
                "granted": true,
            }),
        });
        salts.push(salt);
    }
    let appended = work.append(entries)?;
    let rows: Vec<consent::ActiveModel> = chunk
        .iter()
        .zip(appended)
        .zip(salts)
        .map(|((profile, entry), salt)| consent::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            pseudonym: Set(profile.pseudonym.clone()),
            scope: Set(ConsentScope::RecruitmentContact.as_str().to_string()),
            trial_id: Set(String::new()),
            granted: Set(true),
            ledger_seq: Set(super::ledger::seq_i64(entry.seq)),
            salt: Set(Some(hex::encode(salt))),
            recorded_by: Set(site.user_id.clone()),
            recorded_at: Set(Utc::now()),
            consent_form_version: Set(None),
            patient_signed_on: Set(None),
        })
        .collect();
    consent::Entity::insert_many(rows).exec(work.db()).await?;
    for profile in chunk {
        work.touch(IndexTouch::Profile(profile.pseudonym.clone()));
    }
    Ok(())
}

/// How a sex is stored: `female`, `male`, `other`, `unknown`.
pub fn sex_name(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    }
}

fn parse_sex(text: &str) -> AppResult<Sex> {
    match text {
        "female" => Ok(Sex::Female),
        "male" => Ok(Sex::Male),
        "other" => Ok(Sex::Other),
        "unknown" => Ok(Sex::Unknown),
        other => Err(AppError::Internal(anyhow::anyhow!(
            "stored sex {other:?} is unknown"
        ))),
    }
}
