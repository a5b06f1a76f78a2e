//! `veritrial import ctgov|fhir`: bring real records in, with a progress bar, a line per
//! record that could not be imported, and a summary; non-zero exit if anything failed.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use super::StoreArgs;
use crate::auth::Principal;
use crate::domain::{OrgKind, Role, from_stored};
use crate::import::{ctgov, fhir};
use crate::server::{self, ServeConfig};
use crate::services::accounts;
use crate::services::imports::{self, Outcome};
use crate::state::AppState;

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// ClinicalTrials.gov API v2 JSON (`{"studies": [...]}` or one study; plain or .gz):
    /// each study becomes a ledgered protocol of the sponsor; a re-imported study is amended
    /// only when its record changed.
    Ctgov {
        #[command(flatten)]
        store: StoreArgs,
        /// The JSON file.
        file: PathBuf,
        /// Name of the sponsor organisation that owns the imported trials.
        #[arg(long, value_name = "ORG")]
        sponsor: String,
    },
    /// FHIR R4 Bundles (a file or a folder of them; plain or .gz): one anonymised profile per
    /// Patient. Names, addresses, identifiers, telecom and exact dates are dropped.
    Fhir {
        #[command(flatten)]
        store: StoreArgs,
        /// A bundle file or a folder of bundle files.
        path: PathBuf,
        /// Name of the site organisation the patients belong to.
        #[arg(long, value_name = "ORG")]
        site: String,
        /// Record that these patients consented to recruitment contact (the site attests it),
        /// which makes them count in cohort queries.
        #[arg(long)]
        consent_recruitment: bool,
    },
}

/// Counts of what happened.
#[derive(Default)]
struct Summary {
    imported: u64,
    updated: u64,
    unchanged: u64,
    skipped: u64,
    failed: u64,
}

impl Summary {
    fn record(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Imported => self.imported += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Skipped(_) => self.skipped += 1,
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        println!(
            "imported {}, updated {}, unchanged {}, skipped {}, failed {}",
            self.imported, self.updated, self.unchanged, self.skipped, self.failed
        );
        anyhow::ensure!(
            self.failed == 0,
            "{} records could not be imported",
            self.failed
        );
        Ok(())
    }
}

impl ImportCommand {
    /// Runs the import against the stores named in its arguments.
    pub async fn run(self, default_dir: &str) -> anyhow::Result<()> {
        match self {
            ImportCommand::Ctgov {
                store,
                file,
                sponsor,
            } => {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let studies =
                    ctgov::parse_studies(&bytes).with_context(|| format!("{}", file.display()))?;
                let state = load(&store, default_dir).await?;
                let who = acting_as(&state, &sponsor, OrgKind::Sponsor, Role::Sponsor).await?;
                let bar = progress(studies.len() as u64, "studies");
                let mut summary = Summary::default();
                for (position, parsed) in studies {
                    let result = match parsed {
                        Ok(study) => {
                            imports::import_study(&state, &who, &study)
                                .await
                                .map_err(|err| {
                                    format!(
                                        "study at position {position} ({}): {err}",
                                        study.nct_id
                                    )
                                })
                        }
                        Err(problem) => Err(problem.to_string()),
                    };
                    report(&bar, &mut summary, result);
                    bar.inc(1);
                }
                bar.finish_and_clear();
                summary.finish()
            }
            ImportCommand::Fhir {
                store,
                path,
                site,
                consent_recruitment,
            } => {
                let files = fhir::read_path(&path);
                anyhow::ensure!(
                    !files.is_empty(),
                    "no FHIR bundle files (*.json, *.json.gz) in {}",
                    path.display()
                );
                let state = load(&store, default_dir).await?;
                let who = acting_as(&state, &site, OrgKind::Site, Role::Site).await?;
                let bar = progress(files.len() as u64, "files");
                let mut summary = Summary::default();
                for (file, parsed) in files {
                    match parsed {
                        Ok(bundle) => {
                            for (entry, patient) in bundle.patients {
                                let result = match patient {
                                    Ok(patient) => imports::import_patient(
                                        &state,
                                        &who,
                                        &patient,
                                        consent_recruitment,
                                    )
                                    .await
                                    .map_err(|err| format!("{file}, entry {entry}: {err}")),
                                    Err(problem) => Err(format!("{file}: {problem}")),
                                };
                                report(&bar, &mut summary, result);
                            }
                        }
                        Err(err) => report(&bar, &mut summary, Err(format!("{file}: {err}"))),
                    }
                    bar.inc(1);
                }
                bar.finish_and_clear();
                summary.finish()
            }
        }
    }
}

fn report(bar: &ProgressBar, summary: &mut Summary, result: Result<Outcome, String>) {
    match result {
        Ok(outcome) => {
            if let Outcome::Skipped(reason) = &outcome {
                say(bar, &format!("skipped: {reason}"));
            }
            summary.record(&outcome);
        }
        Err(message) => {
            say(bar, &format!("failed: {message}"));
            summary.failed += 1;
        }
    }
}

/// Prints a line to stderr above the progress bar. Unlike `ProgressBar::println`, the line
/// is printed even when the bar is hidden (stderr is not a terminal).
fn say(bar: &ProgressBar, line: &str) {
    bar.suspend(|| eprintln!("{line}"));
}

fn progress(len: u64, unit: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(unit);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

async fn load(store: &StoreArgs, default_dir: &str) -> anyhow::Result<AppState> {
    let config = ServeConfig::for_tools(store.config(default_dir));
    server::load_state(&config).await
}

/// Imports act as the organisation itself (ledger actor `import`).
async fn acting_as(
    state: &AppState,
    name: &str,
    kind: OrgKind,
    role: Role,
) -> anyhow::Result<Principal> {
    let org = accounts::organization_by_name(&state.db, name).await?;
    let actual: OrgKind = from_stored(&org.kind)?;
    anyhow::ensure!(
        actual == kind,
        "{name:?} is a {actual} organisation, not a {kind} organisation"
    );
    Ok(Principal {
        user_id: "import".to_string(),
        org_id: org.id,
        role,
    })
}
