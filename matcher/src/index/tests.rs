use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::criteria::{Clause, Cmp, CodeField, parse};
use crate::eval::matches;
use crate::profile::{Lab, Sex};
use crate::store::VERSION_FILE;
use crate::testgen;

fn open_temp() -> (tempfile::TempDir, ProfileIndex) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (index, opened) =
        ProfileIndex::open(dir.path().join("profiles"), IndexConfig::default()).expect("open");
    assert_eq!(opened, Opened::Fresh);
    (dir, index)
}

fn profile(pseudonym: &str, age: u8, conditions: &[&str]) -> Profile {
    Profile {
        pseudonym: pseudonym.into(),
        site_id: "site-a".into(),
        age,
        sex: Sex::Female,
        zip3: "021".into(),
        conditions: conditions.iter().map(|c| c.to_string()).collect(),
        medications: vec![],
        procedures: vec![],
        labs: vec![Lab {
            code: "loinc:4548-4".into(),
            value: 8.0,
            unit: "%".into(),
            year: 2024,
        }],
        terms: vec![],
    }
}

fn expr(text: &str) -> Expr {
    parse(text).expect("valid criteria")
}

#[test]
fn a_closed_index_frees_its_directory_and_keeps_answering_queries() {
    let (dir, index) = open_temp();
    index
        .apply(&[IndexChange::Upsert(profile("a", 50, &[]))])
        .unwrap();
    index.close();
    let refused = index.apply(&[IndexChange::Upsert(profile("b", 60, &[]))]);
    assert!(matches!(refused, Err(crate::Error::Closed)), "{refused:?}");
    assert_eq!(index.len(), 1, "the closed handle still reads");

    let (reopened, opened) =
        ProfileIndex::open(dir.path().join("profiles"), IndexConfig::default())
            .expect("the directory lock is free while the closed handle lives");
    assert_eq!(opened, Opened::Existing);
    reopened
        .apply(&[IndexChange::Upsert(profile("c", 70, &[]))])
        .unwrap();
    assert_eq!(reopened.len(), 2);
    index.close();
}

#[test]
fn upsert_and_remove_are_visible_immediately() {
    let (_dir, index) = open_temp();
    let e = expr("condition = icd10:E11*");
    index
        .apply(&[
            IndexChange::Upsert(profile("a", 50, &["icd10:E11.9"])),
            IndexChange::Upsert(profile("b", 60, &["icd10:I10"])),
        ])
        .unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.count(&e).unwrap(), 1);
    assert_eq!(
        index.matching_pseudonyms(&e).unwrap(),
        vec!["a".to_string()]
    );

    // Upsert replaces by pseudonym.
    index
        .apply(&[IndexChange::Upsert(profile("b", 61, &["icd10:e11.65"]))])
        .unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.count(&e).unwrap(), 2);

    // Consent withdrawn: gone at once.
    index
        .apply(&[IndexChange::Remove {
            pseudonym: "a".into(),
        }])
        .unwrap();
    assert_eq!(index.count(&e).unwrap(), 1);
    assert_eq!(
        index.matching_pseudonyms(&e).unwrap(),
        vec!["b".to_string()]
    );

    // Order within a batch is respected.
    index
        .apply(&[
            IndexChange::Upsert(profile("c", 30, &["icd10:E11"])),
            IndexChange::Remove {
                pseudonym: "c".into(),
            },
            IndexChange::Upsert(profile("d", 30, &["icd10:E11"])),
            IndexChange::Upsert(profile("d", 30, &["icd10:E10"])),
        ])
        .unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.count(&e).unwrap(), 1);
}

#[test]
fn reopen_keeps_content_and_version_mismatch_recreates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles");
    {
        let (index, opened) = ProfileIndex::open(&path, IndexConfig::default()).unwrap();
        assert_eq!(opened, Opened::Fresh);
        index
            .apply(&[IndexChange::Upsert(profile("a", 50, &[]))])
            .unwrap();
    }
    {
        let (index, opened) = ProfileIndex::open(&path, IndexConfig::default()).unwrap();
        assert_eq!(opened, Opened::Existing);
        assert_eq!(index.len(), 1);
    }
    std::fs::write(path.join(VERSION_FILE), "profiles-0").unwrap();
    let (index, opened) = ProfileIndex::open(&path, IndexConfig::default()).unwrap();
    assert_eq!(opened, Opened::Fresh);
    assert_eq!(index.len(), 0);
}

#[test]
fn refuses_foreign_directory_and_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let err = ProfileIndex::open(dir.path(), IndexConfig::default())
        .err()
        .expect("must refuse");
    assert!(matches!(err, crate::Error::ForeignDirectory(_)));
    assert!(dir.path().join("precious.txt").exists());

    let cfg = IndexConfig {
        writer_heap_bytes: 1_000,
        threads: 1,
    };
    assert!(matches!(
        ProfileIndex::open(dir.path().join("x"), cfg),
        Err(crate::Error::Config(_))
    ));
}

#[test]
fn rebuild_replaces_content() {
    let (_dir, index) = open_temp();
    index
        .apply(&[IndexChange::Upsert(profile("old", 50, &[]))])
        .unwrap();
    let n = index
        .rebuild(
            vec![
                profile("a", 40, &["icd10:E11"]),
                profile("b", 41, &[]),
                profile("a", 42, &[]),
            ]
            .into_iter(),
        )
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(index.len(), 2);
    assert_eq!(
        index.matching_pseudonyms(&expr("age >= 0")).unwrap(),
        vec!["a".to_string(), "b".to_string()]
    );
    assert_eq!(index.count(&expr("condition = icd10:E11*")).unwrap(), 0);
}

#[test]
fn funnel_and_sites() {
    let (_dir, index) = open_temp();
    let mut b = profile("b", 70, &["icd10:E11.9"]);
    b.site_id = "site-b".into();
    index
        .apply(&[
            IndexChange::Upsert(profile("a", 50, &["icd10:E11.9"])),
            IndexChange::Upsert(b),
            IndexChange::Upsert(profile("c", 20, &["icd10:I10"])),
        ])
        .unwrap();
    let e = expr("age >= 40 and condition = icd10:E11* and lab loinc:4548-4 > 9");
    let funnel = index.funnel(&e).unwrap();
    let remaining: Vec<u64> = funnel.iter().map(|s| s.remaining).collect();
    assert_eq!(remaining, vec![2, 2, 0]);
    assert_eq!(funnel[1].clause, "condition = icd10:E11*");
    assert_eq!(
        index.count_by_site(&expr("age >= 0")).unwrap(),
        vec![("site-a".to_string(), 2), ("site-b".to_string(), 1)]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The heart of correctness: the Tantivy query answers exactly like the brute-force
    /// evaluator, for counts, funnels, per-site counts and pseudonym lists.
    #[test]
    fn index_agrees_with_brute_force(
        profiles in testgen::profiles(60),
        exprs in proptest::collection::vec(testgen::expr(), 1..12),
        removed in proptest::collection::vec(0usize..60, 0..5),
    ) {
        let (_dir, index) = open_temp();
        let (first, second) = profiles.split_at(profiles.len() / 2);
        let batch: Vec<IndexChange> = first.iter().cloned().map(IndexChange::Upsert).collect();
        index.apply(&batch).unwrap();
        let mut changes: Vec<IndexChange> =
            second.iter().cloned().map(IndexChange::Upsert).collect();
        changes.extend(removed.iter().map(|i| IndexChange::Remove { pseudonym: format!("p{i}") }));
        index.apply(&changes).unwrap();
        let live: Vec<&Profile> = profiles
            .iter()
            .filter(|p| !removed.iter().any(|i| p.pseudonym == format!("p{i}")))
            .collect();
        prop_assert_eq!(index.len(), live.len() as u64);

        for e in &exprs {
            let expected: Vec<&&Profile> = live.iter().filter(|p| matches(e, p)).collect();
            prop_assert_eq!(index.count(e).unwrap(), expected.len() as u64, "criteria: {}", e);

            let mut names: Vec<String> = expected.iter().map(|p| p.pseudonym.clone()).collect();
            names.sort();
            prop_assert_eq!(index.matching_pseudonyms(e).unwrap(), names);

            let mut sites: BTreeMap<String, u64> = BTreeMap::new();
            for p in &expected {
                *sites.entry(p.site_id.clone()).or_insert(0) += 1;
            }
            prop_assert_eq!(index.count_by_site(e).unwrap(), sites.clone().into_iter().collect::<Vec<_>>());

            let cohort = index.cohort(e, None).unwrap();
            prop_assert_eq!(cohort.total, expected.len() as u64);
            prop_assert_eq!(&cohort.by_site, &sites);
            for (site, n) in &sites {
                let mine = index.cohort(e, Some(site)).unwrap();
                prop_assert_eq!(mine.total, *n);
                prop_assert_eq!(mine.by_site.len(), 1);
            }

            let conjuncts = e.conjuncts();
            let funnel = index.funnel(e).unwrap();
            prop_assert_eq!(funnel.len(), conjuncts.len());
            for (k, step) in funnel.iter().enumerate() {
                let prefix = Expr::And(conjuncts[..=k].to_vec());
                let n = live.iter().filter(|p| matches(&prefix, p)).count() as u64;
                prop_assert_eq!(step.remaining, n);
                prop_assert_eq!(&step.clause, &conjuncts[k].to_string());
            }
        }
    }
}

fn arbitrary_profile(i: usize) -> impl Strategy<Value = Profile> {
    let code = "[a-zA-Z0-9:.é\u{10FFFF}\u{0}-]{0,6}";
    (
        any::<u8>(),
        proptest::collection::vec(code, 0..3),
        proptest::collection::vec((code, any::<f64>(), any::<i32>()), 0..3),
        "\\PC{0,4}",
    )
        .prop_map(move |(age, conditions, labs, zip3)| Profile {
            pseudonym: format!(" q{i} "),
            site_id: String::new(),
            age,
            sex: Sex::Other,
            zip3,
            conditions,
            medications: vec![],
            procedures: vec![],
            labs: labs
                .into_iter()
                .map(|(code, value, year)| Lab {
                    code,
                    value,
                    unit: String::new(),
                    year,
                })
                .collect(),
            terms: vec![],
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Hostile profile content and hand-built ASTs (as could arrive as JSON) never panic and
    /// still agree with the evaluator, including non-ASCII code prefixes and NaN operands.
    #[test]
    fn arbitrary_content_agrees_with_brute_force(
        profiles in (0usize..20).prop_flat_map(|n| (0..n).map(arbitrary_profile).collect::<Vec<_>>()),
        patterns in proptest::collection::vec(("[a-zA-Z0-9:.é\u{10FFFF}\u{0}-]{0,4}", any::<bool>()), 1..6),
        values in proptest::collection::vec(any::<f64>(), 1..6),
    ) {
        let (_dir, index) = open_temp();
        index.apply(&profiles.iter().cloned().map(IndexChange::Upsert).collect::<Vec<_>>()).unwrap();
        let mut exprs: Vec<Expr> = Vec::new();
        for (code, prefix) in &patterns {
            exprs.push(Expr::Clause(Clause::Code {
                field: CodeField::Condition,
                code: code.clone(),
                prefix: *prefix,
            }));
            for v in &values {
                for cmp in [Cmp::Eq(*v), Cmp::Ne(*v), Cmp::Lt(*v), Cmp::Ge(*v), Cmp::Between(*v, 10.0)] {
                    exprs.push(Expr::Clause(Clause::Lab { code: code.clone(), cmp }));
                    exprs.push(Expr::Clause(Clause::Age(cmp)));
                }
            }
        }
        exprs.push(Expr::And(vec![]));
        exprs.push(Expr::Or(vec![]));
        exprs.push(Expr::Not(Box::new(Expr::And(vec![]))));
        for e in &exprs {
            let expected = profiles.iter().filter(|p| matches(e, p)).count() as u64;
            prop_assert_eq!(index.count(e).unwrap(), expected, "criteria: {:?}", e);
            let _ = e.to_string();
        }
    }
}

fn reopen(dir: &tempfile::TempDir) -> ProfileIndex {
    let (index, opened) =
        ProfileIndex::open(dir.path().join("profiles"), IndexConfig::default()).expect("open");
    assert_eq!(opened, Opened::Existing);
    index
}

#[test]
fn watermarks_are_committed_with_the_batch_and_read_back_on_open() {
    let (dir, index) = open_temp();
    assert_eq!(index.watermark(), None, "a fresh index is at no position");
    let at = Watermark::new("db-a", 7);
    index
        .apply_at(&[IndexChange::Upsert(profile("a", 50, &[]))], &at)
        .unwrap();
    assert_eq!(index.watermark(), Some(at.clone()));
    let e = expr("age >= 0");
    let counts = index.cohort(&e, None).unwrap();
    assert_eq!((counts.total, counts.watermark), (1, Some(at.clone())));
    drop(index);
    let index = reopen(&dir);
    assert_eq!(index.watermark(), Some(at));
    assert_eq!(index.len(), 1);
}

#[test]
fn an_empty_batch_moves_the_watermark_without_a_commit() {
    let (dir, index) = open_temp();
    index
        .apply_at(
            &[IndexChange::Upsert(profile("a", 50, &[]))],
            &Watermark::new("db-a", 3),
        )
        .unwrap();
    index.apply_at(&[], &Watermark::new("db-a", 9)).unwrap();
    assert_eq!(index.watermark(), Some(Watermark::new("db-a", 9)));
    index.apply_at(&[], &Watermark::new("db-a", 5)).unwrap();
    assert_eq!(
        index.watermark(),
        Some(Watermark::new("db-a", 9)),
        "never moves back"
    );
    drop(index);
    // Nothing was committed: a restart replays from 3, which changes nothing.
    assert_eq!(reopen(&dir).watermark(), Some(Watermark::new("db-a", 3)));
}

#[test]
fn an_empty_batch_of_another_database_commits_its_watermark() {
    let (dir, index) = open_temp();
    index.apply_at(&[], &Watermark::new("db-b", 4)).unwrap();
    assert_eq!(index.watermark(), Some(Watermark::new("db-b", 4)));
    drop(index);
    assert_eq!(reopen(&dir).watermark(), Some(Watermark::new("db-b", 4)));
}

#[test]
fn writes_without_a_watermark_clear_it() {
    let (dir, index) = open_temp();
    index
        .rebuild_at(
            vec![profile("a", 50, &[]), profile("b", 60, &[])].into_iter(),
            &Watermark::new("db-a", 11),
        )
        .unwrap();
    assert_eq!(index.watermark(), Some(Watermark::new("db-a", 11)));
    assert_eq!(index.len(), 2);
    index
        .apply(&[IndexChange::Remove {
            pseudonym: "a".into(),
        }])
        .unwrap();
    assert_eq!(index.watermark(), None);
    assert_eq!(
        index.cohort(&expr("age >= 0"), None).unwrap().watermark,
        None
    );
    drop(index);
    assert_eq!(reopen(&dir).watermark(), None);
}

#[test]
fn a_thousand_clause_funnel_counts_every_step() {
    let (_dir, index) = open_temp();
    index
        .apply(&[IndexChange::Upsert(profile("a", 50, &[]))])
        .unwrap();
    let clauses: Vec<Expr> = (0..1_000).map(|_| expr("age >= 18")).collect();
    let cohort = index.cohort(&Expr::And(clauses), None).unwrap();
    assert_eq!(cohort.funnel.len(), 1_000);
    assert!(cohort.funnel.iter().all(|step| step.remaining == 1));
}

#[test]
fn indexes_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ProfileIndex>();
    assert_send_sync::<crate::trials::TrialIndex>();
}
