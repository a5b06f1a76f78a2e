//! A site finding its own patients: by its local number (MRN), which is turned into the
//! pseudonym with the site's key at request time and never stored, logged or returned; and
//! as a paged list searchable by pseudonym prefix, age, sex and code.

use std::collections::HashMap;

use matcher::normalise_code;
use matcher::profile::Profile;
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::cohort_sql::prefix_successor;
use super::patients::{self, load_profiles};
use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{consent, enrollment, invitation, patient, patient_code};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Most patients in one page.
pub const MAX_PAGE: u64 = 100;

/// The site's patient with local id `local_id`. The local id only keys the pseudonym; an
/// unknown one is `NOT_FOUND` with a message that does not repeat it.
pub async fn by_local_id(state: &AppState, site: &Principal, local_id: &str) -> AppResult<Profile> {
    site.require(&[Role::Site])?;
    let pseudonym = patients::pseudonym(state, &site.org_id, local_id)?;
    patients::own_profile(&state.db, site, &pseudonym)
        .await
        .map_err(|err| match err {
            AppError::NotFound(_) => {
                AppError::not_found("no patient with this local id is registered at your site")
            }
            other => other,
        })
}

/// What a site searches its patients by; every criterion is optional.
#[derive(Clone, Debug, Default)]
pub struct PatientFilter {
    /// The pseudonym starts with this (lower-case hex).
    pub pseudonym_prefix: Option<String>,
    /// Age at least this.
    pub min_age: Option<u8>,
    /// Age at most this.
    pub max_age: Option<u8>,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: Option<String>,
    /// A code the patient has (`icd10:E11.9`), or a prefix of codes (`icd10:E11*`).
    pub code: Option<String>,
}

/// One page of the site's patients, by pseudonym, and how many match in all.
pub struct PatientPage {
    pub total: u64,
    pub profiles: Vec<Profile>,
}

/// The site's own patients matching `filter`, `first` of them from `offset` on.
pub async fn list(
    db: &impl ConnectionTrait,
    site: &Principal,
    filter: &PatientFilter,
    first: u64,
    offset: u64,
) -> AppResult<PatientPage> {
    site.require(&[Role::Site])?;
    if first == 0 || first > MAX_PAGE {
        return Err(AppError::bad_input(format!(
            "`first` must be between 1 and {MAX_PAGE}"
        )));
    }
    let query = patient::Entity::find().filter(condition(site, filter)?);
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(patient::Column::Pseudonym)
        .offset(offset)
        .limit(first)
        .all(db)
        .await?;
    Ok(PatientPage {
        total,
        profiles: load_profiles(db, rows).await?,
    })
}

/// The SQL condition for the site's patients matching `filter`.
fn condition(site: &Principal, filter: &PatientFilter) -> AppResult<Condition> {
    let mut all = Condition::all().add(patient::Column::SiteOrgId.eq(&site.org_id));
    if let Some(prefix) = filter.pseudonym_prefix.as_deref().map(str::trim) {
        if !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::bad_input(
                "a pseudonym prefix is hexadecimal (0-9, a-f)",
            ));
        }
        all = all.add(patient::Column::Pseudonym.starts_with(prefix.to_ascii_lowercase()));
    }
    if let Some(min) = filter.min_age {
        all = all.add(patient::Column::Age.gte(i16::from(min)));
    }
    if let Some(max) = filter.max_age {
        all = all.add(patient::Column::Age.lte(i16::from(max)));
    }
    if let Some(sex) = &filter.sex {
        all = all.add(patient::Column::Sex.eq(sex.as_str()));
    }
    if let Some(code) = filter
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let (code, prefix) = match code.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (code, false),
        };
        let code = normalise_code(code);
        let matches = if prefix {
            let mut range = Condition::all().add(patient_code::Column::Code.gte(code.as_str()));
            if let Some(next) = prefix_successor(&code) {
                range = range.add(patient_code::Column::Code.lt(next));
            }
            range
        } else {
            Condition::all().add(patient_code::Column::Code.eq(code.as_str()))
        };
        all = all.add(
            patient::Column::Pseudonym.in_subquery(
                Query::select()
                    .column(patient_code::Column::Pseudonym)
                    .from(patient_code::Entity)
                    .cond_where(matches)
                    .to_owned(),
            ),
        );
    }
    Ok(all)
}

/// A kind of patient history: rows that name the patient's pseudonym and a ledger entry.
pub trait History: EntityTrait {
    /// The pseudonym column, and the column that orders the history (newest first).
    fn columns() -> (Self::Column, Self::Column);
    /// The pseudonym a row belongs to.
    fn pseudonym(row: &Self::Model) -> &str;
}

impl History for consent::Entity {
    fn columns() -> (Self::Column, Self::Column) {
        (consent::Column::Pseudonym, consent::Column::LedgerSeq)
    }
    fn pseudonym(row: &Self::Model) -> &str {
        &row.pseudonym
    }
}

impl History for invitation::Entity {
    fn columns() -> (Self::Column, Self::Column) {
        (invitation::Column::Pseudonym, invitation::Column::LedgerSeq)
    }
    fn pseudonym(row: &Self::Model) -> &str {
        &row.pseudonym
    }
}

impl History for enrollment::Entity {
    fn columns() -> (Self::Column, Self::Column) {
        (enrollment::Column::Pseudonym, enrollment::Column::LedgerSeq)
    }
    fn pseudonym(row: &Self::Model) -> &str {
        &row.pseudonym
    }
}

/// The rows of `E` (consents, invitations or enrollments) of each of `pseudonyms`, newest
/// first, in one query: a page of patients costs one query per kind instead of one per
/// patient. The caller has checked the patients are its site's own.
pub async fn histories<E: History>(
    db: &impl ConnectionTrait,
    pseudonyms: &[String],
) -> AppResult<HashMap<String, Vec<E::Model>>> {
    let (pseudonym, seq) = E::columns();
    let rows = E::find()
        .filter(pseudonym.is_in(pseudonyms.iter().cloned()))
        .order_by_desc(seq)
        .all(db)
        .await?;
    let mut by_patient: HashMap<String, Vec<E::Model>> = pseudonyms
        .iter()
        .map(|pseudonym| (pseudonym.clone(), Vec::new()))
        .collect();
    for row in rows {
        if let Some(history) = by_patient.get_mut(E::pseudonym(&row)) {
            history.push(row);
        }
    }
    Ok(by_patient)
}
