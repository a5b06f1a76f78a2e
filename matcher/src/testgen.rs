//! Proptest strategies over small value domains, so that generated clauses often hit.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::criteria::{Clause, Cmp, CodeField, Expr};
use crate::profile::{Lab, Profile, Sex};

const CONDITIONS: &[&str] = &[
    "icd10:E11",
    "icd10:E11.9",
    "ICD10:e11.65",
    "icd10:E10",
    "icd10:N18.3",
    "icd10:N18",
    "icd10:I10",
    "snomed:44054006",
];
const MEDICATIONS: &[&str] = &["atc:A10BA02", "atc:A10B", "rxnorm:860975", "atc:C10AA05"];
const PROCEDURES: &[&str] = &["snomed:73761001", "cpt:99213", "icd10pcs:0DTJ4ZZ"];
const LABS: &[&str] = &["loinc:4548-4", "LOINC:2160-0"];
const LAB_VALUES: &[f64] = &[-1.0, -0.0, 0.0, 1.5, 7.0, 8.25, 10.0, 12.0];
pub(crate) const ZIPS: &[&str] = &["021", "022", "024", "100", "000"];
pub(crate) const SITES: &[&str] = &["site-a", "site-b", "site-c"];

const CODE_PATTERNS: &[&str] = &[
    "icd10:E1",
    "icd10:E11",
    "icd10:E11.9",
    "icd10:N18",
    "snomed:44054006",
    "atc:A10",
    "atc:A10BA02",
    "rxnorm:860975",
    "cpt:99213",
    "snomed:73761001",
];
const CMP_VALUES: &[f64] = &[
    -1.0, 0.0, 1.5, 7.0, 8.25, 10.0, 17.5, 18.0, 40.0, 65.0, 90.0, 95.0,
];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn sex() -> impl Strategy<Value = Sex> {
    pick(&Sex::ALL)
}

fn codes(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    vec(pick(pool).prop_map(String::from), 0..4)
}

fn lab() -> impl Strategy<Value = Lab> {
    (pick(LABS), pick(LAB_VALUES), 2018i32..2023).prop_map(|(code, value, year)| Lab {
        code: code.to_string(),
        value,
        unit: "u".to_string(),
        year,
    })
}

/// A profile with pseudonym `p{i}`.
pub(crate) fn profile(i: usize) -> impl Strategy<Value = Profile> {
    (
        pick(SITES),
        0u8..=100,
        sex(),
        pick(ZIPS),
        codes(CONDITIONS),
        codes(MEDICATIONS),
        codes(PROCEDURES),
        vec(lab(), 0..4),
    )
        .prop_map(
            move |(site, age, sex, zip, conditions, medications, procedures, labs)| Profile {
                pseudonym: format!("p{i}"),
                site_id: site.to_string(),
                age,
                sex,
                zip3: zip.to_string(),
                conditions,
                medications,
                procedures,
                labs,
                terms: vec![],
            },
        )
}

/// Between 0 and `max` profiles with distinct pseudonyms.
pub(crate) fn profiles(max: usize) -> impl Strategy<Value = Vec<Profile>> {
    (0..=max).prop_flat_map(|n| (0..n).map(profile).collect::<Vec<_>>())
}

fn cmp() -> impl Strategy<Value = Cmp> {
    let v = || pick(CMP_VALUES);
    prop_oneof![
        v().prop_map(Cmp::Eq),
        v().prop_map(Cmp::Ne),
        v().prop_map(Cmp::Lt),
        v().prop_map(Cmp::Le),
        v().prop_map(Cmp::Gt),
        v().prop_map(Cmp::Ge),
        (v(), v()).prop_map(|(a, b)| Cmp::Between(a, b)),
    ]
}

fn clause() -> impl Strategy<Value = Clause> {
    let field = pick(&[
        CodeField::Condition,
        CodeField::Medication,
        CodeField::Procedure,
    ]);
    prop_oneof![
        cmp().prop_map(Clause::Age),
        sex().prop_map(Clause::Sex),
        (field, pick(CODE_PATTERNS), any::<bool>()).prop_map(|(field, code, prefix)| {
            Clause::Code {
                field,
                code: code.to_string(),
                prefix,
            }
        }),
        (
            pick(&["loinc:4548-4", "loinc:2160-0", "loinc:13457-7"]),
            cmp()
        )
            .prop_map(|(code, cmp)| Clause::Lab {
                code: code.to_string(),
                cmp
            }),
        vec(pick(ZIPS).prop_map(String::from), 1..3).prop_map(Clause::Zip3In),
    ]
}

/// Random expressions of the shape the parser produces (`and`/`or` with 2+ operands).
pub(crate) fn expr() -> impl Strategy<Value = Expr> {
    clause()
        .prop_map(Expr::Clause)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 2..4).prop_map(Expr::And),
                vec(inner.clone(), 2..4).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
}
