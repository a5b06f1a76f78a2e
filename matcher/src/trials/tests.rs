use super::*;
use crate::criteria::parse;

fn trial(id: &str, title: &str, conditions: &[&str]) -> TrialDoc {
    TrialDoc {
        trial_id: id.into(),
        title: title.into(),
        conditions: conditions.iter().map(|c| c.to_string()).collect(),
        keywords: vec![],
        eligibility_text: String::new(),
        min_age: None,
        max_age: None,
        sex: None,
        criteria: None,
        recruiting: true,
    }
}

fn patient() -> Profile {
    Profile {
        pseudonym: "p".into(),
        site_id: "s".into(),
        age: 58,
        sex: Sex::Female,
        zip3: "021".into(),
        conditions: vec!["icd10:E11.9".into(), "icd10:I10".into()],
        medications: vec!["atc:A10BA02".into()],
        procedures: vec![],
        labs: vec![],
        terms: vec![
            "Type 2 diabetes mellitus".into(),
            "Essential hypertension".into(),
        ],
    }
}

fn ids(hits: &[TrialHit]) -> Vec<&str> {
    hits.iter().map(|h| h.trial_id.as_str()).collect()
}

fn open() -> (tempfile::TempDir, TrialIndex) {
    let dir = tempfile::tempdir().unwrap();
    let (index, opened) =
        TrialIndex::open(dir.path().join("trials"), IndexConfig::default()).unwrap();
    assert_eq!(opened, Opened::Fresh);
    (dir, index)
}

#[test]
fn ranks_and_filters_trials() {
    let (_dir, index) = open();
    let mut diabetes = trial(
        "T-DIAB",
        "Once-weekly insulin in type 2 diabetes",
        &["Type 2 diabetes mellitus", "icd10:E11"],
    );
    diabetes.keywords = vec!["diabetes".into(), "glycaemic control".into()];
    diabetes.eligibility_text = "Adults with type 2 diabetes on metformin".into();
    let hypertension = trial(
        "T-HTN",
        "Salt reduction for hypertension",
        &["Hypertension"],
    );
    let asthma = trial(
        "T-ASTHMA",
        "Biologic therapy for severe asthma",
        &["Asthma"],
    );
    let mut closed = trial("T-CLOSED", "Diabetes prevention", &["Type 2 diabetes"]);
    closed.recruiting = false;
    let mut men_only = trial("T-MEN", "Diabetes in men", &["Type 2 diabetes"]);
    men_only.sex = Some(Sex::Male);
    let mut young = trial("T-YOUNG", "Diabetes in young adults", &["Type 2 diabetes"]);
    young.max_age = Some(40);
    let mut strict = trial(
        "T-STRICT",
        "Diabetes with kidney disease",
        &["Type 2 diabetes"],
    );
    strict.criteria = Some(parse("condition = icd10:N18*").unwrap());
    let mut fits = trial(
        "T-FITS",
        "Diabetes and metformin outcomes",
        &["Type 2 diabetes"],
    );
    fits.criteria = Some(parse("medication = atc:A10BA02 and age between 18 and 75").unwrap());
    fits.min_age = Some(18);

    index
        .apply(&[
            TrialChange::Upsert(diabetes),
            TrialChange::Upsert(hypertension),
            TrialChange::Upsert(asthma),
            TrialChange::Upsert(closed),
            TrialChange::Upsert(men_only),
            TrialChange::Upsert(young),
            TrialChange::Upsert(strict),
            TrialChange::Upsert(fits),
        ])
        .unwrap();
    assert_eq!(index.len(), 8);

    let hits = index.search_for_patient(&patient(), 10).unwrap();
    let found = ids(&hits);
    assert_eq!(found.first(), Some(&"T-DIAB"), "{hits:?}");
    for excluded in ["T-ASTHMA", "T-CLOSED", "T-MEN", "T-YOUNG", "T-STRICT"] {
        assert!(!found.contains(&excluded), "{excluded} in {found:?}");
    }
    assert!(
        found.contains(&"T-HTN") && found.contains(&"T-FITS"),
        "{found:?}"
    );
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));

    assert_eq!(index.search_for_patient(&patient(), 1).unwrap().len(), 1);

    // Removal is immediate; an upsert replaces.
    index
        .apply(&[TrialChange::Remove {
            trial_id: "T-DIAB".into(),
        }])
        .unwrap();
    let found_after = index.search_for_patient(&patient(), 10).unwrap();
    assert!(!ids(&found_after).contains(&"T-DIAB"));
}

#[test]
fn codes_match_ancestors_and_empty_patients_get_nothing() {
    let (_dir, index) = open();
    index
        .rebuild(
            vec![
                trial("T-CODE", "Study A", &["ICD10:e11"]),
                trial("T-OTHER", "Study B", &["icd10:J45"]),
            ]
            .into_iter(),
        )
        .unwrap();
    let mut p = patient();
    p.terms.clear();
    assert_eq!(
        ids(&index.search_for_patient(&p, 5).unwrap()),
        vec!["T-CODE"]
    );
    p.conditions.clear();
    p.medications.clear();
    assert!(index.search_for_patient(&p, 5).unwrap().is_empty());
}

#[test]
fn ancestors_of_codes() {
    assert_eq!(
        code_ancestors("icd10:E11.65"),
        vec!["icd10:E11.65", "icd10:E11.6", "icd10:E11"]
    );
    assert_eq!(
        code_ancestors("atc:A10BA02"),
        vec![
            "atc:A10BA02",
            "atc:A10BA0",
            "atc:A10BA",
            "atc:A10B",
            "atc:A10"
        ]
    );
    assert_eq!(code_ancestors("snomed:1"), vec!["snomed:1"]);
}

#[test]
fn trial_watermarks_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let at = crate::Watermark::new("db-a", 5);
    {
        let (index, _) = TrialIndex::open(dir.path(), IndexConfig::default()).unwrap();
        index
            .rebuild_at(vec![trial("T-1", "Study", &["icd10:E11"])].into_iter(), &at)
            .unwrap();
        index
            .apply_at(
                &[TrialChange::Remove {
                    trial_id: "T-1".into(),
                }],
                &crate::Watermark::new("db-a", 6),
            )
            .unwrap();
        assert_eq!(index.len(), 0);
    }
    let (index, opened) = TrialIndex::open(dir.path(), IndexConfig::default()).unwrap();
    assert_eq!(opened, Opened::Existing);
    assert_eq!(index.watermark(), Some(crate::Watermark::new("db-a", 6)));
}
