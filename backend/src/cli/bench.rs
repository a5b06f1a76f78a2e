//! `veritrial bench …`: measurements of the real service on this machine's stores.

use std::collections::BTreeMap;
use std::time::Instant;

use clap::Subcommand;
use ledger::EntryKind;

use super::StoreArgs;
use crate::server::open_stores;
use crate::services::ledger::{self as service, Actor, NewEntry};

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable ledger appends through the service (one transaction and one signed checkpoint
    /// per batch), then a full verification of the stored ledger.
    Ledger {
        #[command(flatten)]
        store: StoreArgs,
        /// Entries to append.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Entries per transaction (group commit).
        #[arg(long, default_value_t = 1_000)]
        batch: u64,
        /// Print `committed <size>` after every commit (used by the crash-recovery test).
        #[arg(long, hide = true)]
        echo_commits: bool,
    },
}

impl BenchCommand {
    /// Runs the benchmark and prints its figures.
    pub async fn run(self, default_dir: &str) -> anyhow::Result<()> {
        match self {
            BenchCommand::Ledger {
                store,
                entries,
                batch,
                echo_commits,
            } => {
                anyhow::ensure!(batch > 0, "--batch must be at least 1");
                let stores = open_stores(&store.config(default_dir)).await?;
                let actor = Actor {
                    user_id: "bench".into(),
                    org_id: "bench".into(),
                };
                let started = Instant::now();
                let mut done = 0u64;
                while done < entries {
                    let n = batch.min(entries - done);
                    let txn = service::begin_write(&stores.db).await?;
                    let new = (done..done + n)
                        .map(|i| synthetic_entry(&actor, i))
                        .collect();
                    let appended = service::append(&txn, &stores.ledger, new).await?;
                    txn.commit().await?;
                    done += n;
                    if let (true, Some(last)) = (echo_commits, appended.last()) {
                        println!("committed {}", last.seq + 1);
                    }
                }
                let append_secs = started.elapsed().as_secs_f64();
                let started = Instant::now();
                let report = service::verify(&stores.db, &stores.ledger).await?;
                let verify_secs = started.elapsed().as_secs_f64();
                println!(
                    "durable appends: {entries} entries in batches of {batch}: {append_secs:.2} s, {:.0} entries/s",
                    entries as f64 / append_secs
                );
                println!(
                    "stored-ledger verification: {} entries in {verify_secs:.2} s (ok: {})",
                    report.entries_checked, report.ok
                );
                Ok(())
            }
        }
    }
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
