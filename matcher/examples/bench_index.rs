//! Index benchmark over synthetic profiles.
//!
//! ```text
//! cargo run --release -p matcher --example bench_index -- --profiles 1000000 [--runs 200]
//!     [--threads 1] [--heap-mb 50] [--dir PATH] [--seed 42]
//! ```
//!
//! Reports index build time and peak RSS (VmHWM), cohort count latency p50/p99 for a
//! 6-clause criteria, and funnel latency for the same 6 clauses.

use std::time::{Duration, Instant};

use matcher::criteria::parse;
use matcher::index::{IndexConfig, ProfileIndex};
use matcher::synth;

const CRITERIA: &str = "age between 40 and 75 and sex = female and condition = icd10:E11* \
    and lab loinc:4548-4 between 7.0 and 10.0 and not condition = icd10:N18* \
    and medication = atc:A10BA02";

struct Args {
    profiles: usize,
    runs: usize,
    threads: usize,
    heap_mb: usize,
    seed: u64,
    dir: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        profiles: 100_000,
        runs: 200,
        threads: 1,
        heap_mb: 50,
        seed: 42,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--profiles" => args.profiles = num()?,
            "--runs" => args.runs = num()?.max(1),
            "--threads" => args.threads = num()?,
            "--heap-mb" => args.heap_mb = num()?,
            "--seed" => args.seed = num()? as u64,
            "--dir" => args.dir = Some(value.into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn time_runs(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().join("profiles")
        }
    };
    let config = IndexConfig {
        writer_heap_bytes: args.heap_mb * 1_000_000,
        threads: args.threads,
    };
    let (index, opened) = ProfileIndex::open(&dir, config)?;
    let sites: Vec<String> = (1..=20).map(|i| format!("site-{i:02}")).collect();

    let t = Instant::now();
    let n = index.rebuild(synth::profiles(args.seed, args.profiles, &sites))?;
    let build = t.elapsed();
    println!("opened: {opened:?}; dir: {}", dir.display());
    println!(
        "build: {n} profiles in {:.1} s ({:.0} profiles/s), threads {}, heap {} MB, peak RSS {:.0} MB",
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64(),
        args.threads,
        args.heap_mb,
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    let expr = parse(CRITERIA)?;
    println!("criteria: {expr}");
    let count = index.count(&expr)?;
    println!("count: {count} of {}", index.len());
    let (p50, p99) = time_runs(args.runs, || {
        let _ = index.count(&expr);
    });
    println!(
        "count latency ({} runs): p50 {p50:.2} ms, p99 {p99:.2} ms",
        args.runs
    );
    for step in index.funnel(&expr)? {
        println!("  funnel {:>9}  {}", step.remaining, step.clause);
    }
    let (p50, p99) = time_runs(args.runs, || {
        let _ = index.funnel(&expr);
    });
    println!(
        "funnel latency ({} runs): p50 {p50:.2} ms, p99 {p99:.2} ms",
        args.runs
    );
    let (p50, p99) = time_runs(args.runs, || {
        let _ = index.count_by_site(&expr);
    });
    println!("per-site count latency: p50 {p50:.2} ms, p99 {p99:.2} ms");
    println!(
        "peak RSS overall: {:.0} MB",
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    Ok(())
}
