//! The GraphQL API: thin resolvers that check who is asking, call one service and map errors.

mod accounts;
mod codes;
mod cohorts;
mod data;
mod ledger;
mod patient_histories;
mod patients;
mod signatures;
mod trials;
mod worklist;

#[cfg(test)]
mod limits_tests;

use async_graphql::{Context, EmptySubscription, ErrorExtensions, MergedObject, Schema};

use patient_histories::Histories;

use crate::auth::Caller;
use crate::entities::{consent, enrollment, invitation};
use crate::error::AppError;
use crate::state::AppState;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 12;
/// Most complex query accepted (fields, weighted by list sizes and by [`cost`]).
pub const MAX_COMPLEXITY: usize = 2_000;

/// Complexity of the expensive fields, on top of their selected sub-fields, so a request
/// cannot multiply them with aliases past [`MAX_COMPLEXITY`]: 500 aliases of `verifyLedger`
/// or 50 of `cohort` are refused before anything runs, while the web app's queries (a few
/// dozen each) pass.
pub mod cost {
    /// `verifyLedger`: reads and hashes the whole ledger (at most 9 per request).
    pub const VERIFY_LEDGER: usize = 200;
    /// `cohort`: a count, a funnel and per-site counts on the profile index.
    pub const COHORT: usize = 50;
    /// `auditTrail`: every ledger entry about a trial, with its versions.
    pub const AUDIT_TRAIL: usize = 50;
    /// `matchingTrials`: a BM25 search of the trial index, up to 20 trials.
    pub const TRIAL_SEARCH: usize = 30;
    /// `inclusionProof`, `consistencyProof`: a logarithmic number of Merkle nodes.
    pub const PROOF: usize = 20;
    /// `ledgerEntries`: per page of `first` entries, each entry's selection counts a tenth.
    pub const LEDGER_PAGE: usize = 5;

    /// `ledgerEntries(first)`: [`LEDGER_PAGE`] plus a tenth of `first` times the selection.
    pub fn ledger_entries(first: u64, child_complexity: usize) -> usize {
        let first = usize::try_from(first).unwrap_or(usize::MAX);
        LEDGER_PAGE.saturating_add(first.saturating_mul(child_complexity) / 10)
    }
}

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    accounts::AccountQuery,
    ledger::LedgerQuery,
    trials::TrialQuery,
    patients::PatientQuery,
    cohorts::CohortQuery,
    worklist::WorklistQuery,
    data::DataQueryRoot,
    codes::CodeQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    accounts::AccountMutation,
    trials::TrialMutation,
    patients::PatientMutation,
    ledger::LedgerMutation,
    worklist::WorklistMutation,
    data::DataQueryMutation,
);

/// The executable schema.
pub type VeritrialSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema with its limits, serving `state`.
pub fn build_schema(state: AppState) -> VeritrialSchema {
    let db = state.db.clone();
    schema_builder()
        .data(state)
        .data(Histories::<consent::Entity>::loader(db.clone()))
        .data(Histories::<invitation::Entity>::loader(db.clone()))
        .data(Histories::<enrollment::Entity>::loader(db))
        .finish()
}

/// The schema's SDL: the API contract checked in as `graph-schema/schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

fn schema_builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
}

/// An error as a GraphQL client sees it: a human message and a stable `code` extension.
///
/// Resolvers return [`ApiResult`], so `?` on a service's [`AppError`] always attaches the
/// code (a plain `async_graphql::Error` would silently drop it).
#[derive(Clone, Debug)]
pub struct ApiError(async_graphql::Error);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(inner) = &err {
            tracing::error!(error = ?inner, "internal error while serving a request");
        }
        let code = err.code();
        let fields = match &err {
            AppError::InvalidFields { fields, .. } => Some(fields.clone()),
            _ => None,
        };
        ApiError(
            async_graphql::Error::new(err.to_string()).extend_with(|_, ext| {
                ext.set("code", code);
                if let Some(fields) = fields {
                    ext.set("fields", fields);
                }
            }),
        )
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.0
    }
}

/// What every resolver returns.
pub type ApiResult<T> = Result<T, ApiError>;

/// The application state and the caller of a request.
fn parts<'a>(ctx: &'a Context<'_>) -> (&'a AppState, &'a Caller) {
    static ANONYMOUS: Caller = Caller::Anonymous;
    let state = ctx.data_unchecked::<AppState>();
    let caller = ctx.data_opt::<Caller>().unwrap_or(&ANONYMOUS);
    (state, caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_code_and_hide_internal_causes() {
        let internal: async_graphql::Error = ApiError::from(AppError::Internal(anyhow::anyhow!(
            "password column missing"
        )))
        .into();
        assert_eq!(internal.message, "internal error");
        let forbidden: async_graphql::Error = ApiError::from(AppError::forbidden("no")).into();
        let code = forbidden
            .extensions
            .and_then(|ext| ext.get("code").cloned());
        assert_eq!(code, Some(async_graphql::Value::from("FORBIDDEN")));
    }

    /// The checked-in contract must be exactly what the code produces; regenerate it with
    /// `cargo run -- schema > graph-schema/schema.graphql`.
    #[test]
    fn checked_in_schema_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../graph-schema/schema.graphql"
        );
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == super::sdl(),
            "graph-schema/schema.graphql is stale: run `cargo run -- schema > graph-schema/schema.graphql`"
        );
    }
}
