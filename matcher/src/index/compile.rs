//! Compilation of a criteria [`Expr`] into a Tantivy query over the profile schema.
//!
//! The compiled query matches exactly the profiles for which [`crate::eval::matches`] holds
//! (checked by property tests).

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, InvertedIndexRangeQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::schema::{Fields, lab_key};
use crate::codes::normalise_code;
use crate::criteria::{Clause, Cmp, CodeField, Expr};
use crate::profile::MAX_AGE;

/// Compiles `expr` to a query.
pub(crate) fn compile(f: &Fields, expr: &Expr) -> Box<dyn Query> {
    match expr {
        Expr::Clause(c) => clause(f, c),
        Expr::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery)),
            (Occur::MustNot, compile(f, inner)),
        ])),
        Expr::And(items) => {
            let mut subs: Vec<(Occur, Box<dyn Query>)> = items
                .iter()
                .map(|item| match item {
                    Expr::Not(inner) => (Occur::MustNot, compile(f, inner)),
                    other => (Occur::Must, compile(f, other)),
                })
                .collect();
            if !subs.iter().any(|(occur, _)| *occur == Occur::Must) {
                subs.push((Occur::Must, Box::new(AllQuery)));
            }
            Box::new(BooleanQuery::new(subs))
        }
        Expr::Or(items) => {
            if items.is_empty() {
                return Box::new(EmptyQuery);
            }
            any(items.iter().map(|item| compile(f, item)).collect())
        }
    }
}

fn any(mut queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    match queries.len() {
        0 => Box::new(EmptyQuery),
        1 => queries.remove(0),
        _ => Box::new(BooleanQuery::new(
            queries.into_iter().map(|q| (Occur::Should, q)).collect(),
        )),
    }
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn clause(f: &Fields, c: &Clause) -> Box<dyn Query> {
    match c {
        Clause::Age(cmp) => age(f.age, cmp),
        Clause::Sex(sex) => term(f.sex, sex.as_str()),
        Clause::Zip3In(zips) => any(zips.iter().map(|z| term(f.zip3, z)).collect()),
        Clause::Code {
            field,
            code,
            prefix,
        } => {
            let field = match field {
                CodeField::Condition => f.condition,
                CodeField::Medication => f.medication,
                CodeField::Procedure => f.procedure,
            };
            let code = normalise_code(code);
            if *prefix {
                prefix_query(field, &code)
            } else {
                term(field, &code)
            }
        }
        Clause::Lab { code, cmp } => lab(f.lab, &normalise_code(code), cmp),
    }
}

/// Ages are whole numbers in `0..=90`: enumerate them and emit one range per run of ages
/// satisfying `cmp`, which keeps the semantics identical to the evaluator's.
fn age(field: Field, cmp: &Cmp) -> Box<dyn Query> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for a in 0..=u64::from(MAX_AGE) {
        if !cmp.test(a as f64) {
            continue;
        }
        match ranges.last_mut() {
            Some((_, hi)) if *hi + 1 == a => *hi = a,
            _ => ranges.push((a, a)),
        }
    }
    any(ranges
        .into_iter()
        .map(|(lo, hi)| -> Box<dyn Query> {
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_u64(field, lo)),
                Bound::Included(Term::from_field_u64(field, hi)),
            ))
        })
        .collect())
}

/// The smallest string greater than every string starting with `prefix`, if any.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// All terms of `field` starting with `prefix`, as a term-dictionary range.
fn prefix_query(field: Field, prefix: &str) -> Box<dyn Query> {
    let lower = Bound::Included(Term::from_field_text(field, prefix));
    let upper = match prefix_successor(prefix) {
        Some(s) => Bound::Excluded(Term::from_field_text(field, &s)),
        None => Bound::Unbounded,
    };
    Box::new(InvertedIndexRangeQuery::new(lower, upper))
}

fn lab(field: Field, code: &str, cmp: &Cmp) -> Box<dyn Query> {
    if code.contains('\0') {
        return Box::new(EmptyQuery);
    }
    let key = |v: f64| Term::from_field_bytes(field, &lab_key(code, v));
    let range = |lo: Bound<f64>, hi: Bound<f64>| -> Box<dyn Query> {
        let lo = match lo {
            Bound::Included(v) => Bound::Included(key(v)),
            Bound::Excluded(v) => Bound::Excluded(key(v)),
            Bound::Unbounded => Bound::Included(key(f64::NEG_INFINITY)),
        };
        let hi = match hi {
            Bound::Included(v) => Bound::Included(key(v)),
            Bound::Excluded(v) => Bound::Excluded(key(v)),
            Bound::Unbounded => Bound::Included(key(f64::INFINITY)),
        };
        Box::new(InvertedIndexRangeQuery::new(lo, hi))
    };
    use Bound::{Excluded, Included, Unbounded};
    let operands_nan = match *cmp {
        Cmp::Between(lo, hi) => lo.is_nan() || hi.is_nan(),
        Cmp::Eq(x) | Cmp::Ne(x) | Cmp::Lt(x) | Cmp::Le(x) | Cmp::Gt(x) | Cmp::Ge(x) => x.is_nan(),
    };
    if operands_nan {
        // Every comparison with NaN is false, except `!=`, which holds for every value.
        return match cmp {
            Cmp::Ne(_) => range(Unbounded, Unbounded),
            _ => Box::new(EmptyQuery),
        };
    }
    match *cmp {
        Cmp::Eq(x) => range(Included(x), Included(x)),
        Cmp::Ne(x) => any(vec![
            range(Unbounded, Excluded(x)),
            range(Excluded(x), Unbounded),
        ]),
        Cmp::Lt(x) => range(Unbounded, Excluded(x)),
        Cmp::Le(x) => range(Unbounded, Included(x)),
        Cmp::Gt(x) => range(Excluded(x), Unbounded),
        Cmp::Ge(x) => range(Included(x), Unbounded),
        Cmp::Between(lo, hi) if lo <= hi => range(Included(lo), Included(hi)),
        Cmp::Between(..) => Box::new(EmptyQuery),
    }
}

#[cfg(test)]
mod tests {
    use super::{compile, prefix_successor};
    use crate::criteria::{MAX_CLAUSES, MAX_DEPTH, parse};
    use crate::index::schema;

    /// The deepest and the widest criteria the parser accepts compile on a small stack.
    #[test]
    fn maximal_criteria_compile_on_a_small_stack() {
        let deepest = format!("{}age > 1", "not ".repeat(MAX_DEPTH));
        let widest = vec!["lab loinc:1-1 != 2"; MAX_CLAUSES].join(" or ");
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let (_, fields) = schema::build();
                for text in [deepest, widest] {
                    let expr = parse(&text).expect("within the limits");
                    drop(compile(&fields, &expr));
                }
            })
            .expect("thread starts");
        assert!(handle.join().is_ok());
    }

    #[test]
    fn successor_of_prefix() {
        assert_eq!(prefix_successor("icd10:E11").as_deref(), Some("icd10:E12"));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
    }
}
