//! The limits: refusals with clear messages, and maximal inputs that are accepted and stay
//! cheap to parse, print, compile and evaluate.

use proptest::prelude::*;

use super::*;
use crate::eval::matches;
use crate::profile::{Profile, Sex};

/// `n` clauses joined by `sep`.
fn clauses(n: usize, sep: &str) -> String {
    vec!["age >= 18"; n].join(sep)
}

#[test]
fn too_many_clauses_are_refused_with_the_count() {
    // Short clauses, so the clause limit is hit before the length limit.
    let text = vec!["age=1"; 800].join(" or ");
    assert!(text.len() <= MAX_CRITERIA_BYTES);
    let err = parse(&text).unwrap_err();
    assert_eq!(err, ParseError::TooManyClauses { clauses: 800 });
    assert_eq!(
        err.to_string(),
        "the criteria have 800 clauses; at most 64 are allowed"
    );
    assert!(parse(&clauses(MAX_CLAUSES, " and ")).is_ok());
    assert_eq!(
        parse(&clauses(MAX_CLAUSES + 1, " and ")),
        Err(ParseError::TooManyClauses {
            clauses: MAX_CLAUSES + 1
        })
    );
}

#[test]
fn too_long_text_is_refused_before_tokenising() {
    let text = clauses(2_000, " and ");
    let err = parse(&text).unwrap_err();
    assert_eq!(err, ParseError::TooLong { bytes: text.len() });
    assert_eq!(
        err.to_string(),
        "the criteria are 27,995 bytes long; at most 8,192 are allowed"
    );
    let padded = format!("age >= 18{}", " ".repeat(MAX_CRITERIA_BYTES - 9));
    assert!(parse(&padded).is_ok());
    assert!(matches!(
        parse(&format!("{padded} ")),
        Err(ParseError::TooLong { .. })
    ));
}

#[test]
fn deep_nesting_is_refused_at_its_position() {
    let parens = |n: usize| format!("{}age > 1{}", "(".repeat(n), ")".repeat(n));
    let nots = |n: usize| format!("{}age > 1", "not ".repeat(n));
    assert!(parse(&parens(MAX_DEPTH)).is_ok());
    assert!(parse(&nots(MAX_DEPTH)).is_ok());
    let err = parse(&parens(1_000)).unwrap_err();
    assert_eq!(
        err,
        ParseError::TooDeep {
            line: 1,
            column: MAX_DEPTH + 1
        }
    );
    assert!(
        err.to_string()
            .starts_with("line 1, column 65: the criteria nest")
    );
    assert!(matches!(
        parse(&nots(MAX_DEPTH + 1)),
        Err(ParseError::TooDeep { line: 1, .. })
    ));
    // Mixed nesting counts every level, parentheses and `not` alike.
    let mixed = "not (".repeat(MAX_DEPTH / 2 + 1) + "age > 1" + &")".repeat(MAX_DEPTH / 2 + 1);
    assert!(matches!(parse(&mixed), Err(ParseError::TooDeep { .. })));
}

/// The largest inputs the limits allow go through every recursive stage on a small stack.
#[test]
fn maximal_inputs_run_on_a_small_stack() {
    let deepest = format!(
        "{}age > 1{}",
        "not (".repeat(MAX_DEPTH / 2),
        ")".repeat(MAX_DEPTH / 2)
    );
    let widest = clauses(MAX_CLAUSES, " or ");
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for text in [deepest, widest] {
                let expr = parse(&text).expect("within the limits");
                assert_eq!(parse(&expr.to_string()), Ok(expr.clone()));
                let _ = matches(&expr, &profile());
                let json = serde_json::to_string(&expr).expect("serialises");
                let back: Expr = serde_json::from_str(&json).expect("deserialises");
                assert_eq!(back, expr);
            }
        })
        .expect("thread starts");
    assert!(handle.join().is_ok());
}

/// Parsing does work linear in the text: a maximal input yields at most one AST node per
/// few bytes, and the canonical text is no longer than the input plus its parentheses.
#[test]
fn maximal_input_does_linear_work() {
    let text = clauses(MAX_CLAUSES, "\n and ");
    let expr = parse(&text).expect("within the limits");
    assert_eq!(expr.conjuncts().len(), MAX_CLAUSES);
    assert!(expr.to_string().len() <= text.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Within the clause limit text of any shape parses; one clause over, it never does.
    #[test]
    fn clause_limit_is_exact(n in 1usize..=2 * MAX_CLAUSES, or in any::<bool>()) {
        let text = clauses(n, if or { " or " } else { " and " });
        let outcome = parse(&text);
        if n <= MAX_CLAUSES {
            prop_assert!(outcome.is_ok());
        } else {
            prop_assert_eq!(outcome, Err(ParseError::TooManyClauses { clauses: n }));
        }
    }

    /// Whatever the text, an accepted expression is within every limit.
    #[test]
    fn accepted_text_is_within_the_limits(s in "[a-z0-9 ():=<>,.*-]{0,400}") {
        if let Ok(expr) = parse(&s) {
            prop_assert!(s.len() <= MAX_CRITERIA_BYTES);
            prop_assert!(leaves(&expr) <= MAX_CLAUSES);
        }
    }
}

fn leaves(e: &Expr) -> usize {
    match e {
        Expr::And(items) | Expr::Or(items) => items.iter().map(leaves).sum(),
        Expr::Not(inner) => leaves(inner),
        Expr::Clause(_) => 1,
    }
}

fn profile() -> Profile {
    Profile {
        pseudonym: "p".into(),
        site_id: "s".into(),
        age: 40,
        sex: Sex::Female,
        zip3: "021".into(),
        conditions: Vec::new(),
        medications: Vec::new(),
        procedures: Vec::new(),
        labs: Vec::new(),
        terms: Vec::new(),
    }
}
