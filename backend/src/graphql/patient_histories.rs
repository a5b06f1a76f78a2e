//! Batches the history fields of patients (`Patient.consents`, `.invitations`,
//! `.enrollments`): a page of up to 100 patients costs three queries, not three per patient.
//!
//! Keys are pseudonyms the caller already holds as its site's own patients (a `Patient`
//! object is made only after that check), and each caller gets back only its own keys, so
//! batching the requests of several sites together shows none of them another's patients.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::ApiError;
use crate::entities::{consent, enrollment, invitation};
use crate::services::site_patients;

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

/// Loads one kind of history for many patients at once, keyed by pseudonym.
pub struct Histories<E> {
    db: DatabaseConnection,
    kind: PhantomData<fn() -> E>,
}

impl<E> Histories<E> {
    /// A batching loader of `E` rows, reading through `db`.
    pub fn loader(db: DatabaseConnection) -> DataLoader<Self> {
        DataLoader::new(
            Self {
                db,
                kind: PhantomData,
            },
            tokio::spawn,
        )
    }
}

impl<E> Loader<String> for Histories<E>
where
    E: History + 'static,
    E::Model: Sync,
{
    type Value = Vec<E::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let (pseudonym, seq) = E::columns();
        Ok(site_patients::histories::<E>(&self.db, keys, pseudonym, seq, E::pseudonym).await?)
    }
}
