//! Syntax errors in criteria text.

/// A criteria syntax error, positioned at the offending token.
///
/// Displays as `line 2, column 7: expected a comparison operator, found "=="`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
    /// What the parser expected at that point, e.g. `a comparison operator`.
    pub expected: String,
    /// What it found: the quoted token text (`"=="`) or `end of input`.
    pub found: String,
}
