//! The criteria language: lexer, recursive-descent parser, AST and canonical printing.
//!
//! See the crate documentation for the grammar.

mod ast;
mod display;
mod error;
mod lexer;
mod parser;

pub use ast::{Clause, Cmp, CodeField, Expr};
pub use error::ParseError;
pub use parser::{MAX_DEPTH, parse};

#[cfg(test)]
mod tests;
