//! Batches the history fields of patients (`Patient.consents`, `.invitations`,
//! `.enrollments`): a page of up to 100 patients costs three queries, not three per patient.
//!
//! Keys are pseudonyms the caller already holds as its site's own patients (a `Patient`
//! object is made only after that check), and each caller gets back only its own keys, so
//! batching the requests of several sites together shows none of them another's patients.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use super::ApiError;
use crate::services::site_patients::{self, History};

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
        Ok(site_patients::histories::<E>(&self.db, keys).await?)
    }
}
