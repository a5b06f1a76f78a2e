//! `veritrial bench …`: measurements of the real service on this machine's stores.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::Subcommand;
use ledger::{EntryKind, Report};
use matcher::criteria::{Expr, parse};
use matcher::index::{IndexConfig, ProfileIndex};
use matcher::profile::Profile;
use matcher::synth;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};

use super::StoreArgs;
use super::bench_export::ExportBench;
use super::bench_privacy::Attack;
use crate::db::{self, DatabaseTarget};
use crate::server::{PrivacySettings, Stores, open_stores};
use crate::services::cohort_sql;
use crate::services::ledger::{self as service, Actor, LedgerWriter, NewEntry, Scope};

/// The 6-clause criteria of the cohort benchmark (the same as `matcher`'s `bench_index`).
const COHORT_CRITERIA: &str = "age between 40 and 75 and sex = female \
    and condition = icd10:E11* and lab loinc:4548-4 between 7.0 and 10.0 \
    and not condition = icd10:N18* and medication = atc:A10BA02";

/// Seed of the synthetic population.
const COHORT_SEED: u64 = 42;

/// The fresh SQLite file of the cohort benchmark, under the data directory.
const COHORT_SQLITE_FILE: &str = "bench-cohort.sqlite";

/// The benchmark's own Tantivy index directory under the data directory (rebuilt each run).
const COHORT_INDEX_DIR: &str = "bench-cohort-index";

/// Profiles per loading transaction.
const LOAD_PROFILES_PER_TXN: usize = 20_000;

/// Bound parameters per multi-row `INSERT` (SQLite allows 32,766, PostgreSQL 65,535).
const LOAD_PARAMS_PER_INSERT: usize = 30_000;

/// SQL runs are slow: at most this many are timed.
const MAX_SQL_RUNS: usize = 10;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable ledger appends through the service (one transaction and one signed checkpoint
    /// per batch), then a full verification of the stored ledger; then `--then-append` more
    /// entries, and an incremental verification (from the watermark the first one stored)
    /// against a full one.
    Ledger {
        #[command(flatten)]
        store: StoreArgs,
        /// Entries to append.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Entries per unit of work.
        #[arg(long, default_value_t = 1_000)]
        batch: u64,
        /// Concurrent writers, each handing the ledger writer its own units of work (which
        /// group commit then shares transactions among).
        #[arg(long, default_value_t = 1)]
        writers: u64,
        /// Print `committed <size>` after every commit (used by the crash-recovery test).
        #[arg(long, hide = true)]
        echo_commits: bool,
        /// Entries appended after the first verification, before timing an incremental
        /// verification against a full one (0: skip that part).
        #[arg(long, default_value_t = 0)]
        then_append: u64,
        /// Ask this witness to cosign checkpoints while appending, as `serve --witness` does
        /// (`NAME+KEYID+KEY=URL`); repeatable. Cosigning runs beside the appends, never in them.
        #[arg(long = "witness", value_name = "NAME+KEY=URL")]
        witnesses: Vec<service::WitnessSpec>,
    },
    /// Cohort counts of a 6-clause criteria: the Tantivy index against the most natural SQL
    /// over the relational patient tables, on the same synthetic profiles, in a fresh SQLite
    /// file under the data directory and optionally in an empty PostgreSQL database.
    Cohort {
        #[command(flatten)]
        store: StoreArgs,
        /// Synthetic profiles to generate.
        #[arg(long, default_value_t = 1_000_000)]
        profiles: u64,
        /// Sites the profiles are spread over.
        #[arg(long, default_value_t = 8)]
        sites: u32,
        /// Timed index queries (SQL queries: at most 10).
        #[arg(long, default_value_t = 50)]
        runs: u64,
        /// Also load and query this PostgreSQL database, which must have no patients
        /// (e.g. postgres://postgres@127.0.0.1:5432/vt_bench).
        #[arg(long, value_name = "URL")]
        postgres_url: Option<String>,
    },
    /// The differencing attack on one-patient cells against the real cohort service, with
    /// its exact-count baseline (docs/privacy.md). Use a fresh data directory or database.
    Privacy {
        #[command(flatten)]
        store: StoreArgs,
        /// One-patient cells to attack.
        #[arg(long, default_value_t = 400)]
        cells: u64,
        /// Queries each attacker may try.
        #[arg(long, default_value_t = 1_000)]
        attempts: u64,
        /// Patients outside the cells.
        #[arg(long, default_value_t = 2_000)]
        background: u64,
        /// Noise standard deviation.
        #[arg(long, default_value_t = PrivacySettings::default().noise_sigma)]
        noise_sigma: u32,
        /// Per-user zCDP budget.
        #[arg(long, default_value_t = PrivacySettings::default().budget)]
        budget: f64,
        /// Seed of the population.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Streams a trial of `--records` case-report records (a tenth of them corrected) as
    /// CDISC ODM and as CSV, with time and peak resident memory. Use a fresh data directory
    /// or database.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// Records to seed.
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Records per participant.
        #[arg(long, default_value_t = 20)]
        per_participant: u64,
    },
}

impl BenchCommand {
    /// Runs the benchmark and prints its figures.
    pub async fn run(self, default_dir: &str) -> anyhow::Result<()> {
        match self {
            BenchCommand::Export {
                store,
                records,
                per_participant,
            } => {
                let bench = ExportBench {
                    store: store.config(default_dir),
                    records,
                    per_participant,
                };
                println!("{}", serde_json::to_string_pretty(&bench.run().await?)?);
                Ok(())
            }
            BenchCommand::Privacy {
                store,
                cells,
                attempts,
                background,
                noise_sigma,
                budget,
                seed,
            } => {
                let attack = Attack {
                    store: store.config(default_dir),
                    privacy: PrivacySettings {
                        noise_sigma,
                        budget,
                        ..PrivacySettings::default()
                    },
                    cells,
                    attempts,
                    background,
                    seed,
                };
                let report = attack.run().await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                Ok(())
            }
            BenchCommand::Ledger {
                store,
                entries,
                batch,
                writers,
                echo_commits,
                then_append,
                witnesses,
            } => {
                anyhow::ensure!(batch > 0, "--batch must be at least 1");
                anyhow::ensure!(writers > 0, "--writers must be at least 1");
                let stores = open_stores(&store.config(default_dir)).await?;
                let settings = service::WitnessSettings {
                    quorum: witnesses.len(),
                    witnesses,
                };
                let cosigning = service::Cosigning::start(
                    stores.db.clone(),
                    stores.ledger.clone(),
                    &settings,
                    stores.writer.checkpoint_watch(),
                );
                let started = Instant::now();
                let tasks: Vec<_> = (0..writers)
                    .map(|w| {
                        let share = entries / writers + u64::from(w < entries % writers);
                        let writer = stores.writer.clone();
                        tokio::spawn(append_units(writer, w, share, batch, echo_commits))
                    })
                    .collect();
                for task in tasks {
                    task.await??;
                }
                let append_secs = started.elapsed().as_secs_f64();
                let cosigned = cosigning_caught_up(&cosigning, &stores.db, &stores.ledger).await?;
                let (report, verify_secs) = timed_verification(&stores, Scope::Full).await?;
                println!(
                    "durable appends: {entries} entries in units of {batch} from {writers} writers: {append_secs:.2} s, {:.0} entries/s",
                    entries as f64 / append_secs
                );
                if let Some(lag) = cosigned {
                    println!(
                        "cosigned by all {} witnesses {:.0} ms after the last append",
                        settings.witnesses.len(),
                        lag.as_secs_f64() * 1000.0
                    );
                }
                println!(
                    "stored-ledger verification: {} entries in {verify_secs:.2} s (ok: {})",
                    report.entries_checked, report.ok
                );
                if then_append > 0 {
                    append_units(stores.writer.clone(), writers, then_append, batch, false).await?;
                    for scope in [Scope::Incremental, Scope::Full] {
                        let (report, secs) = timed_verification(&stores, scope).await?;
                        println!(
                            "{scope:?} verification after {then_append} more: {} entries, {} read, in {secs:.3} s (ok: {})",
                            report.entries_checked,
                            report.entries_checked - report.resumed_at,
                            report.ok
                        );
                    }
                }
                Ok(())
            }
            BenchCommand::Cohort {
                store,
                profiles,
                sites,
                runs,
                postgres_url,
            } => {
                let config = store.config(default_dir);
                anyhow::ensure!(
                    config.database_url.is_none(),
                    "bench cohort loads a fresh SQLite file under the data directory; \
                     give PostgreSQL with --postgres-url, not --database-url / DATABASE_URL"
                );
                let n = usize::try_from(profiles).context("--profiles is too large")?;
                let runs = usize::try_from(runs).context("--runs is too large")?.max(1);
                bench_cohort(&config.data_dir, n, sites.max(1), runs, postgres_url).await
            }
        }
    }
}

/// With witnesses: how long after the appends every witness had cosigned the final
/// checkpoint (at most 60 s); `None` without witnesses.
async fn cosigning_caught_up(
    cosigning: &service::Cosigning,
    db: &DatabaseConnection,
    keys: &service::LedgerKeys,
) -> anyhow::Result<Option<Duration>> {
    let witnesses = cosigning.statuses().len();
    if witnesses == 0 {
        return Ok(None);
    }
    let everyone = cosigning.quorum().of(witnesses);
    let started = Instant::now();
    let size = service::head(db, keys).await?.map_or(0, |h| h.size);
    while started.elapsed() < Duration::from_secs(60) {
        let done = service::latest_cosigned(db, keys, size, &everyone)
            .await?
            .is_some();
        if done {
            return Ok(Some(started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!(
        "the witnesses did not cosign the final checkpoint within 60 s: {:?}",
        cosigning.statuses()
    )
}

/// Latency percentiles of repeated runs, in milliseconds.
struct Latency {
    p50: f64,
    p99: f64,
}

impl Latency {
    /// Percentiles of `times` (not empty).
    fn of(mut times: Vec<Duration>) -> Latency {
        times.sort();
        let at = |p: f64| {
            let i = ((times.len() as f64 - 1.0) * p).round() as usize;
            times[i.min(times.len() - 1)].as_secs_f64() * 1000.0
        };
        Latency {
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {:.2} ms, p99 {:.2} ms", self.p50, self.p99)
    }
}

/// One database of the cohort benchmark, loaded with the profiles.
struct SqlBaseline {
    name: &'static str,
    db: DatabaseConnection,
}

async fn bench_cohort(
    data_dir: &Path,
    n: usize,
    sites: u32,
    runs: usize,
    postgres_url: Option<String>,
) -> anyhow::Result<()> {
    let expr = parse(COHORT_CRITERIA)?;
    let site_ids: Vec<String> = (1..=sites).map(|i| format!("site-{i:02}")).collect();
    let started = Instant::now();
    let population: Vec<Profile> = synth::profiles(COHORT_SEED, n, &site_ids)
        .map(|p| p.normalised())
        .collect();
    println!(
        "generated {n} synthetic profiles over {sites} sites in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let sqlite_path = data_dir.join(COHORT_SQLITE_FILE);
    for suffix in ["", "-wal", "-shm"] {
        let path = sqlite_path.with_file_name(format!("{COHORT_SQLITE_FILE}{suffix}"));
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
    }
    let mut targets = vec![("SQLite", DatabaseTarget::Sqlite(sqlite_path))];
    if let Some(url) = postgres_url {
        targets.push(("PostgreSQL", DatabaseTarget::Postgres(url)));
    }
    let mut baselines = Vec::new();
    for (name, target) in targets {
        let db = db::connect(&target, 2).await?;
        db::migrate(&db).await?;
        let existing = count_rows(&db, "SELECT COUNT(*) FROM patients").await?;
        anyhow::ensure!(
            existing == 0,
            "{} already holds {existing} patients: bench cohort loads synthetic patients and \
             only runs on an empty database (create a fresh one for it)",
            target.describe()
        );
        let started = Instant::now();
        let rows = load(&db, &population).await?;
        let load_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        analyze(&db).await?;
        println!(
            "{name}: loaded {n} patients ({rows} rows) into {} in {load_secs:.1} s, \
             ANALYZE {:.1} s",
            target.describe(),
            started.elapsed().as_secs_f64()
        );
        baselines.push(SqlBaseline { name, db });
    }

    let index_dir = data_dir.join(COHORT_INDEX_DIR);
    let (index, _) = ProfileIndex::open(&index_dir, IndexConfig::default())?;
    let started = Instant::now();
    let indexed = index.rebuild(population.iter().cloned())?;
    println!(
        "index: built from {indexed} profiles in {:.1} s at {}",
        started.elapsed().as_secs_f64(),
        index_dir.display()
    );
    drop(population);

    println!("criteria: {expr}");
    let index_count = index.count(&expr)?;
    let index_latency = time_index(runs, || index.count(&expr))?;
    println!("index count: {index_count}; latency over {runs} runs: {index_latency}");
    for step in index.funnel(&expr)? {
        println!("  funnel {:>9}  {}", step.remaining, step.clause);
    }
    let funnel_latency = time_index(runs, || index.funnel(&expr))?;
    println!("index funnel latency over {runs} runs: {funnel_latency}");

    let sql_runs = runs.min(MAX_SQL_RUNS);
    for baseline in &baselines {
        let (sql_count, latency) = time_sql(&baseline.db, &expr, sql_runs).await?;
        let agreement = if sql_count == index_count {
            "agrees with the index".to_string()
        } else {
            format!("DISAGREES with the index ({index_count})")
        };
        println!(
            "{} SQL count: {sql_count} ({agreement}); latency over {sql_runs} runs: {latency}; \
             SQL p50 / index p50 = {:.0}x",
            baseline.name,
            latency.p50 / index_latency.p50
        );
    }
    Ok(())
}

/// Times `runs` index queries after one warm-up.
fn time_index<T>(
    runs: usize,
    mut query: impl FnMut() -> matcher::Result<T>,
) -> anyhow::Result<Latency> {
    query()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        query()?;
        times.push(started.elapsed());
    }
    Ok(Latency::of(times))
}

/// The SQL count and its latency over `runs` queries after one warm-up.
async fn time_sql(
    db: &DatabaseConnection,
    expr: &Expr,
    runs: usize,
) -> anyhow::Result<(u64, Latency)> {
    let count = cohort_sql::count(db, expr).await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        cohort_sql::count(db, expr).await?;
        times.push(started.elapsed());
    }
    Ok((count, Latency::of(times)))
}

/// The single integer a `SELECT COUNT(*)` returns.
async fn count_rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = db
        .query_one_raw(statement)
        .await?
        .context("COUNT(*) returned no row")?;
    Ok(row.try_get_by_index(0)?)
}

/// Collects planner statistics on the patient tables.
async fn analyze(db: &DatabaseConnection) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "ANALYZE patients, patient_codes, patient_labs",
        _ => "ANALYZE",
    };
    db.execute_raw(Statement::from_string(backend, sql)).await?;
    Ok(())
}

/// Writes the rows of `profiles` (normalised, unique pseudonyms) as `store_profile` would,
/// with multi-row `INSERT`s in large transactions. Returns the number of rows written.
async fn load(db: &DatabaseConnection, profiles: &[Profile]) -> anyhow::Result<u64> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let mut written = 0u64;
    for chunk in profiles.chunks(LOAD_PROFILES_PER_TXN) {
        let mut patients: Vec<[Value; 6]> = Vec::with_capacity(chunk.len());
        let mut codes: Vec<[Value; 3]> = Vec::new();
        let mut labs: Vec<[Value; 5]> = Vec::new();
        for p in chunk {
            patients.push([
                p.pseudonym.clone().into(),
                p.site_id.clone().into(),
                i16::from(p.age).into(),
                p.sex.as_str().into(),
                p.zip3.clone().into(),
                now.into(),
            ]);
            for (kind, list) in [
                ("condition", &p.conditions),
                ("medication", &p.medications),
                ("procedure", &p.procedures),
                ("term", &p.terms),
            ] {
                let mut unique: Vec<&String> = list.iter().collect();
                unique.sort();
                unique.dedup();
                codes.extend(
                    unique
                        .into_iter()
                        .map(|code| [p.pseudonym.clone().into(), kind.into(), code.clone().into()]),
                );
            }
            labs.extend(p.labs.iter().map(|lab| {
                [
                    p.pseudonym.clone().into(),
                    lab.code.clone().into(),
                    lab.value.into(),
                    lab.unit.clone().into(),
                    lab.year.into(),
                ]
            }));
        }
        let txn = db.begin().await?;
        written += insert_rows(
            &txn,
            backend,
            "patients (pseudonym, site_org_id, age, sex, zip3, updated_at)",
            patients,
        )
        .await?;
        written += insert_rows(
            &txn,
            backend,
            "patient_codes (pseudonym, kind, code)",
            codes,
        )
        .await?;
        written += insert_rows(
            &txn,
            backend,
            "patient_labs (pseudonym, code, value, unit, year)",
            labs,
        )
        .await?;
        txn.commit().await?;
    }
    Ok(written)
}

/// `INSERT INTO {table_columns} VALUES (…), (…), …` of `rows`, in statements of at most
/// [`LOAD_PARAMS_PER_INSERT`] bound values. Returns the number of rows.
async fn insert_rows<const N: usize>(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    table_columns: &str,
    rows: Vec<[Value; N]>,
) -> anyhow::Result<u64> {
    let total = rows.len() as u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<[Value; N]> = rows.by_ref().take(LOAD_PARAMS_PER_INSERT / N).collect();
        let mut sql = format!("INSERT INTO {table_columns} VALUES ");
        let mut values = Vec::with_capacity(batch.len() * N);
        for (r, row) in batch.into_iter().enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (c, value) in row.into_iter().enumerate() {
                if c > 0 {
                    sql.push_str(", ");
                }
                values.push(value);
                match backend {
                    DbBackend::Postgres => sql.push_str(&format!("${}", values.len())),
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(total)
}

/// A verification of the stored ledger and how long it took, in seconds.
async fn timed_verification(stores: &Stores, scope: Scope) -> anyhow::Result<(Report, f64)> {
    let started = Instant::now();
    let report = service::verify_scoped(&stores.db, &stores.ledger, scope).await?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// One writer of `bench ledger`: appends `entries` entries in units of `batch`.
async fn append_units(
    writer: LedgerWriter,
    writer_id: u64,
    entries: u64,
    batch: u64,
    echo_commits: bool,
) -> anyhow::Result<()> {
    let actor = Actor {
        user_id: format!("bench-{writer_id}"),
        org_id: "bench".into(),
    };
    let mut done = 0u64;
    while done < entries {
        let n = batch.min(entries - done);
        let new: Vec<_> = (done..done + n)
            .map(|i| synthetic_entry(&actor, i))
            .collect();
        let appended = writer
            .run(move |work| Box::pin(async move { work.append(new) }))
            .await?;
        done += n;
        if let (true, Some(last)) = (echo_commits, appended.last()) {
            println!("committed {}", last.seq + 1);
        }
    }
    Ok(())
}

/// A data-submission entry with a realistic case-report-form payload.
fn synthetic_entry(actor: &Actor, i: u64) -> NewEntry {
    let mut subjects = BTreeMap::new();
    subjects.insert("trial".to_string(), format!("bench-trial-{}", i % 7));
    subjects.insert("submission".to_string(), format!("bench-submission-{i}"));
    NewEntry {
        kind: EntryKind::DataSubmitted,
        actor: actor.clone(),
        subjects,
        payload: serde_json::json!({
            "form": "vitals",
            "visit": format!("week-{}", i % 52),
            "data": { "systolic": 110 + i % 40, "diastolic": 70 + i % 20, "heartRate": 60 + i % 30 },
        }),
    }
}
