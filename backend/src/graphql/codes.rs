//! Names for clinical codes, for pickers and for showing names beside codes.

use async_graphql::{Context, Object, SimpleObject};

use super::{ApiResult, parts};
use crate::codes;
use crate::error::AppError;

/// Most codes named in one request.
const MAX_NAMED: usize = 500;

/// A code with its name (from a public-domain code table).
#[derive(SimpleObject)]
pub struct CodeName {
    /// `system:code` as profiles and criteria write it, e.g. `icd10:E11.9`.
    code: String,
    /// The code's name, or its nearest listed ancestor's.
    name: String,
    /// Whether `name` is the code's own (false: a broader category's).
    exact: bool,
}

impl From<codes::CodeName> for CodeName {
    fn from(c: codes::CodeName) -> Self {
        Self {
            code: c.code,
            name: c.name.to_string(),
            exact: c.exact,
        }
    }
}

#[derive(Default)]
pub struct CodeQuery;

#[Object]
impl CodeQuery {
    /// Codes for a picker: those starting with `query` (`E11`, `icd10:E11.6`), then those
    /// whose name holds every word of it (`type 2 diabetes`); at most `first` (50).
    /// ICD-10-CM only: ATC and LOINC names are not free to ship.
    async fn codes(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = 20)] first: usize,
    ) -> ApiResult<Vec<CodeName>> {
        parts(ctx).1.principal()?;
        Ok(codes::search(&query, first)
            .into_iter()
            .map(CodeName::from)
            .collect())
    }

    /// The names of `codes` (`system:code`, at most 500) that a table names; others are
    /// left out.
    async fn code_names(&self, ctx: &Context<'_>, codes: Vec<String>) -> ApiResult<Vec<CodeName>> {
        parts(ctx).1.principal()?;
        if codes.len() > MAX_NAMED {
            return Err(AppError::bad_input(format!("at most {MAX_NAMED} codes at a time")).into());
        }
        Ok(codes
            .iter()
            .filter_map(|code| codes::name_of(code))
            .map(CodeName::from)
            .collect())
    }
}
