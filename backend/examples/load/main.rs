//! Load generator for `scripts/load.sh`: several `veritrial serve` processes on one
//! database, measured over HTTP on 127.0.0.1.
//!
//! ```sh
//! cargo run --release -p veritrial --example load -- --veritrial target/release/veritrial \
//!     [--legs sqlite:1,sqlite:2,sqlite:3,postgres:1,postgres:2,postgres:3] [--seconds 20] \
//!     [--clients 64] [--keys jwt-secret-file|keys-dir] \
//!     [--postgres-admin-url postgres://postgres@127.0.0.1:5432/test] [--postgres-database NAME]
//! ```
//! Each leg (a database and a number of processes) gets a fresh store: a SQLite file, or the
//! PostgreSQL database `NAME` (default `veritrial_load_<pid>`) created afresh and dropped at
//! the end. It starts the processes, each with its own data directory, sharing their
//! secrets (`--keys`), seeds a trial with one enrolled participant per client through the
//! first process, then measures for `--seconds` each, with the clients spreading their
//! requests round robin over the processes:
//! - ledgered writes: `submitTrialData`, per second, with p50/p99 latency;
//! - cohort queries: a site's exact count of its own patients, per second, p50/p99;
//! - index freshness: a new patient consenting through one process, then the time until the
//!   next process counts them (by its `/healthz` watermark when it reports one, else by its
//!   count), p50/p99, and how many probes it did not reflect within 5 s.
//!
//! Every failed request is counted by cause and printed; the run exits 1 when any request
//! failed, or when the processes report an index watermark (they promise freshness) and a
//! probe was not reflected in time. Requests a server sheds by design (`RATE_LIMITED`: the
//! queue of its search pool is full) are counted apart: neither served nor failed.

mod client;
mod cluster;
mod phases;
mod seed;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use client::Client;
use cluster::{Backend, PgTarget, SharedKeys, Store};
use phases::{FRESH_WITHIN, Freshness, Measured};
use stats::ms;

struct Args {
    veritrial: PathBuf,
    legs: Vec<(Backend, usize)>,
    seconds: u64,
    clients: usize,
    keys: SharedKeys,
    pg: PgTarget,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        veritrial: PathBuf::new(),
        legs: legs("sqlite:1,sqlite:2,sqlite:3,postgres:1,postgres:2,postgres:3")?,
        seconds: 20,
        clients: 64,
        keys: SharedKeys::JwtSecretFile,
        pg: PgTarget {
            admin_url: "postgres://postgres@127.0.0.1:5432/test".into(),
            name: format!("veritrial_load_{}", std::process::id()),
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--veritrial" => args.veritrial = value.into(),
            "--legs" => args.legs = legs(&value)?,
            "--seconds" => args.seconds = value.parse().map_err(|_| "--seconds: a number")?,
            "--clients" => args.clients = value.parse().map_err(|_| "--clients: a number")?,
            "--keys" => {
                args.keys = match value.as_str() {
                    "jwt-secret-file" => SharedKeys::JwtSecretFile,
                    "keys-dir" => SharedKeys::KeysDir,
                    _ => return Err("--keys: jwt-secret-file or keys-dir".into()),
                }
            }
            "--postgres-admin-url" => args.pg.admin_url = value,
            "--postgres-database" => args.pg.name = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.veritrial.as_os_str().is_empty() {
        return Err("--veritrial is required".into());
    }
    if !args
        .pg
        .admin_url
        .starts_with("postgres://postgres@127.0.0.1:")
    {
        return Err("--postgres-admin-url must be postgres://postgres@127.0.0.1:PORT/DB: this tool only loads its own host".into());
    }
    if args.pg.name.is_empty()
        || !args
            .pg
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err("--postgres-database: lower-case letters, digits and _".into());
    }
    if args.clients == 0 || args.seconds == 0 {
        return Err("--clients and --seconds must be at least 1".into());
    }
    Ok(args)
}

/// `sqlite:1,postgres:3` → the legs.
fn legs(text: &str) -> Result<Vec<(Backend, usize)>, String> {
    text.split(',')
        .map(|leg| {
            let (backend, n) = leg
                .split_once(':')
                .ok_or(format!("--legs: {leg} is not DATABASE:PROCESSES"))?;
            let backend = match backend {
                "sqlite" => Backend::Sqlite,
                "postgres" => Backend::Postgres,
                _ => return Err(format!("--legs: unknown database {backend}")),
            };
            match n.parse() {
                Ok(n @ 1..=8) => Ok((backend, n)),
                _ => Err(format!("--legs: {n} processes (1 to 8)")),
            }
        })
        .collect()
}

/// What one leg measured.
struct Leg {
    writes: Measured,
    cohorts: Measured,
    freshness: Freshness,
}

impl Leg {
    fn failed_requests(&self) -> u64 {
        self.writes.tally.failed() + self.cohorts.tally.failed() + self.freshness.lags.failed()
    }

    /// Failed requests, or stale probes where the processes promise freshness.
    fn passed(&self) -> bool {
        self.failed_requests() == 0 && !(self.freshness.watermarked && self.freshness.stale > 0)
    }

    fn print(&mut self, clients: usize) {
        println!(
            "  ledgered writes (submitTrialData, {clients} clients): {}",
            self.writes.summary()
        );
        println!(
            "  cohort queries (site, exact, {clients} clients): {}",
            self.cohorts.summary()
        );
        let f = &mut self.freshness;
        println!(
            "  index freshness ({}): {} probes reflected, p50 {} ms, p99 {} ms; {} not reflected within {} s; failed: {}",
            if f.watermarked {
                "by /healthz watermark, then count"
            } else {
                "by count; no watermark in /healthz"
            },
            f.lags.ok(),
            ms(f.lags.percentile(50)),
            ms(f.lags.percentile(99)),
            f.stale,
            FRESH_WITHIN.as_secs(),
            f.lags.failures()
        );
    }

    fn row(&mut self, backend: Backend, n: usize) -> String {
        let probes = self.freshness.lags.ok() + self.freshness.stale;
        format!(
            "| {} | {n} | {:.0} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} of {probes} | {} |",
            backend.name(),
            self.writes.per_second(),
            ms(self.writes.tally.percentile(50)),
            ms(self.writes.tally.percentile(99)),
            self.cohorts.per_second(),
            ms(self.cohorts.tally.percentile(50)),
            ms(self.cohorts.tally.percentile(99)),
            self.writes.tally.shed() + self.cohorts.tally.shed(),
            ms(self.freshness.lags.percentile(50)),
            ms(self.freshness.lags.percentile(99)),
            self.freshness.stale,
            self.failed_requests(),
        )
    }
}

/// Runs one leg on a fresh store, and drops the store whatever happened.
async fn leg(args: &Args, backend: Backend, n: usize) -> Result<Leg, String> {
    let store = Store::create(&args.veritrial, backend, &args.pg).await?;
    let measured = measure(&store, args, n).await;
    let closed = store.close().await;
    let leg = measured?;
    closed?;
    Ok(leg)
}

async fn measure(store: &Store, args: &Args, n: usize) -> Result<Leg, String> {
    store.account(
        "Load Sponsor",
        "sponsor",
        seed::SPONSOR,
        "sponsor",
        seed::PASSWORD,
    )?;
    store.account("Load Site", "site", seed::SITE, "site", seed::PASSWORD)?;
    store.account(
        "Load Board",
        "ethics",
        seed::BOARD,
        "ethics",
        seed::PASSWORD,
    )?;
    let processes = store.serve(n, args.keys).await?;
    let urls: Vec<String> = processes.iter().map(|p| p.url.clone()).collect();
    let servers = Client::for_each(&urls);
    let world = seed::world(&servers[0], args.clients).await?;
    let duration = Duration::from_secs(args.seconds);
    let leg = Leg {
        writes: phases::writes(&servers, &world, duration).await,
        cohorts: phases::cohorts(&servers, &world, args.clients, duration).await,
        freshness: phases::freshness(&servers, &world, duration).await,
    };
    drop(processes);
    Ok(leg)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("load: {err}");
            return ExitCode::from(2);
        }
    };
    let mut rows = Vec::new();
    let mut all_passed = true;
    for &(backend, n) in &args.legs {
        println!(
            "== {}, {n} process(es), {} s per phase ==",
            backend.name(),
            args.seconds
        );
        match leg(&args, backend, n).await {
            Ok(mut leg) => {
                leg.print(args.clients);
                let passed = leg.passed();
                println!("  {}", if passed { "PASS" } else { "FAIL" });
                all_passed &= passed;
                rows.push(leg.row(backend, n));
            }
            Err(err) => {
                println!("  FAIL: {err}");
                all_passed = false;
            }
        }
    }
    println!();
    println!(
        "| database | processes | ledgered writes/s | p50 ms | p99 ms | cohort queries/s | p50 ms | p99 ms | shed (`RATE_LIMITED`) | freshness lag p50 ms | p99 ms | not reflected within {} s | failed requests |",
        FRESH_WITHIN.as_secs()
    );
    println!("|{}", " --- |".repeat(13));
    for row in rows {
        println!("{row}");
    }
    if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
