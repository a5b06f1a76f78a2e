//! Brute-force reference evaluation of criteria against one profile, and explanations.

use serde::{Deserialize, Serialize};

use crate::codes::{code_matches, normalise_code};
use crate::criteria::{Clause, CodeField, Expr};
use crate::profile::Profile;

/// Whether `profile` satisfies `expr`. The profile is normalised first (see
/// [`Profile::normalised`]); codes in `expr` are normalised too.
pub fn matches(expr: &Expr, profile: &Profile) -> bool {
    matches_normalised(expr, &profile.normalised())
}

/// Like [`matches`] for a profile that is already [`Profile::normalised`] (avoids the copy).
pub fn matches_normalised(expr: &Expr, p: &Profile) -> bool {
    match expr {
        Expr::And(items) => items.iter().all(|e| matches_normalised(e, p)),
        Expr::Or(items) => items.iter().any(|e| matches_normalised(e, p)),
        Expr::Not(inner) => !matches_normalised(inner, p),
        Expr::Clause(c) => clause(c, p),
    }
}

fn clause(c: &Clause, p: &Profile) -> bool {
    match c {
        Clause::Age(cmp) => cmp.test(f64::from(p.age)),
        Clause::Sex(sex) => p.sex == *sex,
        Clause::Zip3In(zips) => zips.contains(&p.zip3),
        Clause::Code {
            field,
            code,
            prefix,
        } => {
            let list = match field {
                CodeField::Condition => &p.conditions,
                CodeField::Medication => &p.medications,
                CodeField::Procedure => &p.procedures,
            };
            let code = normalise_code(code);
            list.iter().any(|c| code_matches(c, &code, *prefix))
        }
        Clause::Lab { code, cmp } => {
            let code = normalise_code(code);
            p.lab(&code).is_some_and(|lab| cmp.test(lab.value))
        }
    }
}

/// Whether one top-level conjunct is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClauseOutcome {
    /// Canonical text of the conjunct, e.g. `age between 18 and 65`.
    pub clause: String,
    /// Whether the profile meets it.
    pub met: bool,
}

/// Which top-level conjuncts of a criteria expression a profile meets and fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// Whether the whole expression matches (all conjuncts met).
    pub matched: bool,
    /// One outcome per top-level conjunct (see [`Expr::conjuncts`]), in order.
    pub clauses: Vec<ClauseOutcome>,
}

/// Explains `expr` for `profile`, conjunct by conjunct (the same steps as a funnel).
pub fn explain(expr: &Expr, profile: &Profile) -> Explanation {
    let p = profile.normalised();
    let clauses: Vec<ClauseOutcome> = expr
        .conjuncts()
        .iter()
        .map(|c| ClauseOutcome {
            clause: c.to_string(),
            met: matches_normalised(c, &p),
        })
        .collect();
    Explanation {
        matched: clauses.iter().all(|c| c.met),
        clauses,
    }
}
