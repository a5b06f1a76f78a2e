//! The criteria language: lexer, recursive-descent parser, AST and canonical printing.
//!
//! See the crate documentation for the grammar.

mod ast;
mod display;
mod error;
mod lexer;
mod limits;
mod parser;

pub use ast::{Clause, Cmp, CodeField, Expr};
pub use error::{ParseError, SyntaxError};
pub use limits::{MAX_CLAUSES, MAX_CRITERIA_BYTES, MAX_DEPTH};
pub use parser::parse;

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod tests;
