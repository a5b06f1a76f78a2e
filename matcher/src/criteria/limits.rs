//! Limits on criteria text, checked before and while parsing, so that hostile input costs
//! little: parsing, printing, compiling and evaluating are each linear in the text, and the
//! limits bound that text.

use super::error::ParseError;
use super::lexer::{Token, TokenKind};

/// Longest criteria text accepted, in bytes (8 KiB). Real eligibility criteria take a few
/// hundred bytes; 64 long clauses with a ZIP3 list still fit.
pub const MAX_CRITERIA_BYTES: usize = 8 * 1024;

/// Most clauses (leaf criteria such as `age >= 18`) in one criteria text. Real trials use
/// ten or twenty; each clause is one step of a funnel and one sub-query of a count.
pub const MAX_CLAUSES: usize = 64;

/// Deepest nesting of parentheses and `not`, so hostile input cannot exhaust the stack of the
/// recursive parser, printer, compiler or evaluator.
pub const MAX_DEPTH: usize = 64;

/// The keywords that start a clause; they appear nowhere else in valid text.
const CLAUSE_KEYWORDS: &[&str] = &[
    "age",
    "sex",
    "condition",
    "medication",
    "procedure",
    "lab",
    "zip3",
];

/// Refuses text longer than [`MAX_CRITERIA_BYTES`], before it is tokenised.
pub(crate) fn check_length(input: &str) -> Result<(), ParseError> {
    if input.len() > MAX_CRITERIA_BYTES {
        return Err(ParseError::TooLong { bytes: input.len() });
    }
    Ok(())
}

/// Refuses token streams with more than [`MAX_CLAUSES`] clause keywords, before parsing.
pub(crate) fn check_clauses(tokens: &[Token]) -> Result<(), ParseError> {
    let clauses = tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Word && CLAUSE_KEYWORDS.iter().any(|k| t.is_word(k)))
        .count();
    if clauses > MAX_CLAUSES {
        return Err(ParseError::TooManyClauses { clauses });
    }
    Ok(())
}
