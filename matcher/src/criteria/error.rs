//! Why criteria text was refused: a syntax error, or a limit exceeded.

use super::limits::{MAX_CLAUSES, MAX_CRITERIA_BYTES, MAX_DEPTH};

/// Criteria text that cannot be used.
///
/// Syntax errors and nesting errors carry the position of the offending token and display as
/// `line 2, column 7: expected a comparison operator, found "=="`; size limits display as
/// `the criteria have 2,000 clauses; at most 64 are allowed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text does not follow the grammar.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// The text is longer than [`MAX_CRITERIA_BYTES`].
    #[error(
        "the criteria are {} bytes long; at most {} are allowed",
        thousands(*bytes),
        thousands(MAX_CRITERIA_BYTES)
    )]
    TooLong {
        /// Length of the text in bytes.
        bytes: usize,
    },
    /// The text has more than [`MAX_CLAUSES`] clauses.
    #[error(
        "the criteria have {} clauses; at most {} are allowed",
        thousands(*clauses),
        thousands(MAX_CLAUSES)
    )]
    TooManyClauses {
        /// Clauses in the text.
        clauses: usize,
    },
    /// Parentheses and `not` nest deeper than [`MAX_DEPTH`] levels.
    #[error(
        "line {line}, column {column}: the criteria nest parentheses and \"not\" more than {MAX_DEPTH} levels deep"
    )]
    TooDeep {
        /// 1-based line of the token that went one level too deep.
        line: usize,
        /// 1-based column (in characters) of that token.
        column: usize,
    },
}

/// A criteria syntax error, positioned at the offending token.
///
/// Displays as `line 2, column 7: expected a comparison operator, found "=="`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found}")]
pub struct SyntaxError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
    /// What the parser expected at that point, e.g. `a comparison operator`.
    pub expected: String,
    /// What it found: the quoted token text (`"=="`) or `end of input`.
    pub found: String,
}

/// `2000` as `2,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2_000), "2,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
