use proptest::prelude::*;

use super::*;
use crate::profile::Sex;
use crate::testgen;

fn clause(c: Clause) -> Expr {
    Expr::Clause(c)
}

fn ok(text: &str) -> Expr {
    match parse(text) {
        Ok(e) => e,
        Err(e) => panic!("{text:?} failed: {e}"),
    }
}

#[test]
fn parses_required_forms() {
    assert_eq!(ok("age >= 18"), clause(Clause::Age(Cmp::Ge(18.0))));
    assert_eq!(ok("age <= 65"), clause(Clause::Age(Cmp::Le(65.0))));
    assert_eq!(
        ok("age between 18 and 65"),
        clause(Clause::Age(Cmp::Between(18.0, 65.0)))
    );
    assert_eq!(ok("sex = female"), clause(Clause::Sex(Sex::Female)));
    assert_eq!(ok("SEX = Male"), clause(Clause::Sex(Sex::Male)));
    assert_eq!(
        ok("condition = icd10:E11*"),
        clause(Clause::Code {
            field: CodeField::Condition,
            code: "icd10:E11".into(),
            prefix: true
        })
    );
    assert_eq!(
        ok("medication = ATC:a10ba02"),
        clause(Clause::Code {
            field: CodeField::Medication,
            code: "atc:A10BA02".into(),
            prefix: false
        })
    );
    assert_eq!(
        ok("procedure = snomed:73761001"),
        clause(Clause::Code {
            field: CodeField::Procedure,
            code: "snomed:73761001".into(),
            prefix: false
        })
    );
    assert_eq!(
        ok("lab loinc:4548-4 between 7.0 and 10.0"),
        clause(Clause::Lab {
            code: "loinc:4548-4".into(),
            cmp: Cmp::Between(7.0, 10.0)
        })
    );
    assert_eq!(
        ok("lab loinc:2160-0 < 1.5"),
        clause(Clause::Lab {
            code: "loinc:2160-0".into(),
            cmp: Cmp::Lt(1.5)
        })
    );
    assert_eq!(
        ok("zip3 in (021, 022, 024)"),
        clause(Clause::Zip3In(vec![
            "021".into(),
            "022".into(),
            "024".into()
        ]))
    );
}

#[test]
fn precedence_and_parentheses() {
    let a = clause(Clause::Sex(Sex::Female));
    let b = clause(Clause::Age(Cmp::Ge(18.0)));
    let c = clause(Clause::Age(Cmp::Le(65.0)));
    assert_eq!(
        ok("sex = female or age >= 18 AND age <= 65"),
        Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        ok("(sex = female or age >= 18)\n and age <= 65"),
        Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(
        ok("not sex = female and age >= 18"),
        Expr::And(vec![Expr::Not(Box::new(a.clone())), b.clone()])
    );
    assert_eq!(
        ok("not (sex = female and age >= 18)"),
        Expr::Not(Box::new(Expr::And(vec![a, b])))
    );
}

/// The syntax error `text` gives; panics on any other outcome.
fn syntax(text: &str) -> SyntaxError {
    match parse(text) {
        Err(ParseError::Syntax(e)) => e,
        other => panic!("{text:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn errors_have_positions() {
    let e = syntax("age >= 18 and\nage == 5");
    assert_eq!((e.line, e.column), (2, 5));
    assert_eq!(e.expected, "a comparison operator");
    assert_eq!(
        e.to_string(),
        "line 2, column 5: expected a comparison operator, found \"==\""
    );
    let e = syntax("age >=");
    assert_eq!(e.found, "end of input");
    assert_eq!(e.expected, "a number");
    let e = syntax("sex = woman");
    assert_eq!(e.column, 7);
    assert!(parse("zip3 in (21)").is_err());
    assert!(parse("zip3 in ()").is_err());
    assert!(parse("condition = E11").is_err());
    assert!(parse("condition = icd10:").is_err());
    assert!(parse("lab loinc:4548-4* > 1").is_err());
    assert!(parse("age > 1 age").is_err());
    assert!(parse("(age > 1").is_err());
    assert!(parse("").is_err());
    assert!(parse("age > 1e5").is_err());
    let huge = format!("age > {}", "9".repeat(400));
    assert_eq!(syntax(&huge).expected, "a finite number");
}

#[test]
fn display_is_canonical() {
    let e = ok("NOT (Condition = ICD10:e11* Or age>=18) and lab loinc:4548-4 between 7.0 and 10");
    assert_eq!(
        e.to_string(),
        "not (condition = icd10:E11* or age >= 18) and lab loinc:4548-4 between 7 and 10"
    );
}

#[test]
fn json_form_round_trips() {
    let e = ok("age >= 18 and (sex = female or zip3 in (021)) and not lab loinc:2160-0 < 1.5");
    let json = serde_json::to_string(&e).unwrap();
    let back: Expr = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
    assert!(json.starts_with("{\"and\":[{\"clause\":{\"age\":{\"ge\":18.0}}}"));
}

#[test]
fn conjuncts_are_top_level_and_operands() {
    let e = ok("age >= 18 and (sex = female or sex = male) and not condition = icd10:N18*");
    assert_eq!(e.conjuncts().len(), 3);
    assert_eq!(ok("age >= 18 or sex = male").conjuncts().len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_reparses_to_same_ast(e in testgen::expr()) {
        let text = e.to_string();
        let back = parse(&text);
        prop_assert_eq!(back, Ok(e), "text: {}", text);
    }

    #[test]
    fn never_panics_on_random_text(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn never_panics_on_token_soup(
        words in proptest::collection::vec(
            proptest::sample::select(vec![
                "age", "sex", "=", "==", "!=", "<", ">=", "between", "and", "or", "not", "(",
                ")", ",", "in", "zip3", "021", "lab", "loinc:4548-4", "condition",
                "icd10:E11*", "female", "7.5", "-3", "*", ":", "\n", "#",
            ]),
            0..20,
        )
    ) {
        let text = words.join(" ");
        if let Ok(e) = parse(&text) {
            prop_assert_eq!(parse(&e.to_string()), Ok(e));
        }
    }
}
