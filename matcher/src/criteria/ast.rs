//! The criteria AST and its serde JSON form.

use serde::{Deserialize, Serialize};

use crate::profile::Sex;

/// A criteria expression.
///
/// JSON form (externally tagged, camelCase), e.g.
/// `{"and":[{"clause":{"age":{"ge":18.0}}},{"not":{"clause":{"sex":"male"}}}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Expr {
    /// All operands hold (an empty list is true).
    And(Vec<Expr>),
    /// At least one operand holds (an empty list is false).
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// A leaf clause.
    Clause(Clause),
}

/// Which coded list of a profile a code clause looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CodeField {
    /// `condition = …`
    Condition,
    /// `medication = …`
    Medication,
    /// `procedure = …`
    Procedure,
}

impl CodeField {
    /// The keyword used in criteria text.
    pub fn keyword(self) -> &'static str {
        match self {
            CodeField::Condition => "condition",
            CodeField::Medication => "medication",
            CodeField::Procedure => "procedure",
        }
    }
}

/// A leaf criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Clause {
    /// Age in whole years compared with a number.
    Age(Cmp),
    /// Administrative sex equals.
    Sex(Sex),
    /// The profile has a code in `field`: exactly `code`, or, with `prefix`, any code
    /// starting with `code`. `code` is normalised (`system:CODE`).
    Code {
        /// The coded list to look at.
        field: CodeField,
        /// Normalised `system:code`.
        code: String,
        /// Trailing `*`: match the code and every code that starts with it.
        prefix: bool,
    },
    /// The profile has a lab with this (normalised) code whose value satisfies `cmp`.
    Lab {
        /// Normalised LOINC code, e.g. `loinc:4548-4`.
        code: String,
        /// The comparison.
        cmp: Cmp,
    },
    /// The profile's ZIP3 is one of these.
    Zip3In(Vec<String>),
}

/// A numeric comparison `value <op> operand`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cmp {
    /// `= x`
    Eq(f64),
    /// `!= x`
    Ne(f64),
    /// `< x`
    Lt(f64),
    /// `<= x`
    Le(f64),
    /// `> x`
    Gt(f64),
    /// `>= x`
    Ge(f64),
    /// `between lo and hi`, both inclusive.
    Between(f64, f64),
}

impl Cmp {
    /// Whether `value` satisfies the comparison.
    pub fn test(&self, value: f64) -> bool {
        match *self {
            Cmp::Eq(x) => value == x,
            Cmp::Ne(x) => value != x,
            Cmp::Lt(x) => value < x,
            Cmp::Le(x) => value <= x,
            Cmp::Gt(x) => value > x,
            Cmp::Ge(x) => value >= x,
            Cmp::Between(lo, hi) => lo <= value && value <= hi,
        }
    }
}

impl Expr {
    /// The top-level `and` operands (the expression itself when it is not an `and`).
    /// These are the steps of a funnel.
    pub fn conjuncts(&self) -> Vec<Expr> {
        match self {
            Expr::And(items) => items.clone(),
            other => vec![other.clone()],
        }
    }

    /// Builds the conjunction of `items`, without wrapping a single item.
    pub fn and(mut items: Vec<Expr>) -> Expr {
        if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        }
    }
}
