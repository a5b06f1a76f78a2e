//! Criterion benchmarks: parsing, brute-force evaluation, and index count/funnel over
//! 100,000 synthetic profiles. Run with `cargo bench -p matcher`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use matcher::criteria::parse;
use matcher::eval::matches_normalised;
use matcher::index::{IndexConfig, ProfileIndex};
use matcher::profile::Profile;
use matcher::synth;

const CRITERIA: &str = "age between 40 and 75 and sex = female and condition = icd10:E11* \
    and lab loinc:4548-4 between 7.0 and 10.0 and not condition = icd10:N18* \
    and medication = atc:A10BA02";
const PROFILES: usize = 100_000;

fn bench(c: &mut Criterion) {
    c.bench_function("parse 6-clause criteria", |b| {
        b.iter(|| parse(black_box(CRITERIA)))
    });

    let expr = match parse(CRITERIA) {
        Ok(e) => e,
        Err(e) => panic!("benchmark criteria must parse: {e}"),
    };
    let profiles: Vec<Profile> = synth::profiles(42, PROFILES, &["site-1", "site-2"]).collect();
    c.bench_function("brute-force count 100k", |b| {
        b.iter(|| {
            profiles
                .iter()
                .filter(|p| matches_normalised(&expr, p))
                .count()
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let (index, _) = ProfileIndex::open(dir.path().join("profiles"), IndexConfig::default())
        .expect("open index");
    index.rebuild(profiles.into_iter()).expect("rebuild");
    c.bench_function("index count 100k", |b| b.iter(|| index.count(&expr)));
    c.bench_function("index funnel 100k", |b| b.iter(|| index.funnel(&expr)));
    c.bench_function("index count_by_site 100k", |b| {
        b.iter(|| index.count_by_site(&expr))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
