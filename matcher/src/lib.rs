//! # Veritrial matcher
//!
//! A library that indexes anonymised patient [`profile::Profile`]s in Tantivy, evaluates
//! eligibility criteria written in a small language, and searches trials for a patient.
//!
//! - [`criteria`]: lexer, recursive-descent parser and AST ([`criteria::Expr`]) of the
//!   criteria language, with a canonical `Display` and a serde JSON form.
//! - [`eval`]: brute-force reference evaluation ([`eval::matches`]) and
//!   [`eval::explain`] (which conjuncts a profile meets and fails).
//! - [`index`]: [`index::ProfileIndex`], the Tantivy profile index: cohort counts, funnels,
//!   per-site counts, matching pseudonyms; batched, read-your-writes updates.
//! - [`suppress`]: small-cell suppression of counts ([`suppress::Suppression`]).
//! - [`trials`]: [`trials::TrialIndex`], BM25 search of recruiting trials for a patient.
//! - [`synth`]: deterministic synthetic profiles for tests, demos and benchmarks.
//! - [`watermark`]: [`watermark::Watermark`], the change-log position an index's content
//!   reflects, committed with every batch so that a projection resumes where it stopped.
//!
//! ## Criteria grammar
//!
//! Keywords are case-insensitive; whitespace (including newlines) separates tokens. `and`
//! binds tighter than `or`; `not` binds tighter than both.
//!
//! ```text
//! criteria   = or_expr ;
//! or_expr    = and_expr , { "or" , and_expr } ;
//! and_expr   = unary , { "and" , unary } ;
//! unary      = "not" , unary | "(" , or_expr , ")" | clause ;
//! clause     = "age" , comparison
//!            | "sex" , "=" , ( "female" | "male" | "other" | "unknown" )
//!            | ( "condition" | "medication" | "procedure" ) , "=" , code , [ "*" ]
//!            | "lab" , code , comparison
//!            | "zip3" , "in" , "(" , zip3 , { "," , zip3 } , ")" ;
//! comparison = ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) , number
//!            | "between" , number , "and" , number ;          (* inclusive *)
//! code       = system , ":" , codechar , { codechar } ;        (* e.g. icd10:E11.9 *)
//! system     = letter , { letter | digit | "_" } ;
//! codechar   = letter | digit | "." | "-" | "_" | "/" ;
//! number     = [ "-" ] , digit , { digit } , [ "." , { digit } ] ;
//! zip3       = digit , digit , digit ;
//! ```
//!
//! Semantics:
//!
//! - Codes are normalised: system lower case, code upper case (`ICD10:e11.9` is
//!   `icd10:E11.9`). A trailing `*` matches the code and every code that starts with it
//!   (`icd10:E11*` matches `icd10:E11`, `icd10:E11.9`, `icd10:E11.65`, …).
//! - `lab CODE cmp` holds when the profile has a result for `CODE` (the latest one, see
//!   [`profile::Profile::normalised`]) whose value satisfies `cmp`; a profile without that lab
//!   never matches a lab clause (so `not lab … < 1.5` includes patients without the lab).
//! - `age` compares whole years; 90 and over is 90.
//! - Limits: at most [`criteria::MAX_CRITERIA_BYTES`] bytes of text (8 KiB),
//!   [`criteria::MAX_CLAUSES`] clauses (64) and [`criteria::MAX_DEPTH`] levels of nested
//!   parentheses and `not` (64). Within them every stage (parse, print, compile, evaluate) is
//!   linear in the text and runs on a small stack.
//!
//! Examples:
//!
//! ```text
//! age between 18 and 65 and sex = female
//! condition = icd10:E11* and medication = atc:A10BA02
//! lab loinc:4548-4 between 7.0 and 10.0 and not condition = icd10:N18*
//! (zip3 in (021, 022, 024) or lab loinc:2160-0 < 1.5) and age >= 18
//! ```
//!
//! ```
//! use matcher::criteria::{parse, Clause, Cmp, Expr};
//!
//! let expr = parse("AGE >= 18 and\n  not condition = icd10:n18*").unwrap();
//! assert_eq!(expr.conjuncts()[0], Expr::Clause(Clause::Age(Cmp::Ge(18.0))));
//! assert_eq!(expr.to_string(), "age >= 18 and not condition = icd10:N18*");
//!
//! let err = parse("age >= 18 and\nage == 5").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"line 2, column 5: expected a comparison operator, found "==""#
//! );
//! ```
//!
//! Errors are [`criteria::ParseError`]s: syntax and nesting errors with a 1-based line and
//! column, size limits with the figures (`the criteria have 2,000 clauses; at most 64 are
//! allowed`); parsing never panics.

#![warn(missing_docs)]

pub mod criteria;
pub mod eval;
pub mod index;
pub mod profile;
pub mod suppress;
pub mod synth;
pub mod trials;
pub mod watermark;

mod codes;
mod error;
mod store;

#[cfg(test)]
mod testgen;

pub use codes::normalise_code;
pub use error::{Error, Result};
pub use store::{IndexConfig, Opened};
pub use watermark::Watermark;
