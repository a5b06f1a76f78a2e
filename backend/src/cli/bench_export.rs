//! `veritrial bench export`: streams a trial of many case-report records as CDISC ODM and as
//! CSV, and reports the time, the bytes and the process's peak resident memory while each
//! export runs (against the resident memory before it), to show that exports stream in
//! constant memory.

use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Serialize;
use serde_json::json;

use crate::auth::Principal;
use crate::domain::{Role, TrialStatus};
use crate::entities::{ledger_payload, submission, submission_version};
use crate::server::{ServeConfig, StoreConfig, load_state};
use crate::services::exports::{self, ExportKind};
use crate::services::protocols::{self, Assignment, ProtocolInput};
use crate::services::signatures::Attest;
use crate::state::AppState;

/// Records per multi-row insert while seeding.
const SEED_CHUNK: usize = 500;
/// Where seeded payloads start, far above any real ledger entry of a fresh store.
const FIRST_SEQ: i64 = 1_000_000_000;

/// The benchmark's settings.
pub struct ExportBench {
    pub store: StoreConfig,
    /// Case-report records to seed.
    pub records: u64,
    /// Records per participant.
    pub per_participant: u64,
}

/// What one export measured.
#[derive(Debug, Serialize)]
pub struct ExportFigures {
    pub export: &'static str,
    pub records: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub records_per_second: f64,
    /// Resident memory just before the export, KiB.
    pub rss_before_kib: u64,
    /// Highest resident memory sampled during the export, KiB.
    pub rss_peak_kib: u64,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct ExportReport {
    pub seed_seconds: f64,
    pub exports: Vec<ExportFigures>,
}

impl ExportBench {
    /// Seeds the records (once), then times each export.
    pub async fn run(&self) -> anyhow::Result<ExportReport> {
        anyhow::ensure!(
            self.per_participant > 0,
            "--per-participant must be at least 1"
        );
        let state = load_state(&ServeConfig::for_tools(self.store.clone())).await?;
        let started = Instant::now();
        let trial_id = self.seed(&state).await?;
        let seed_seconds = started.elapsed().as_secs_f64();
        let admin = Principal {
            user_id: "bench-export-admin".into(),
            org_id: "bench-export".into(),
            role: Role::Admin,
        };
        let mut figures = Vec::new();
        for (name, kind) in [
            ("odm", ExportKind::Odm),
            ("csv", ExportKind::FormCsv("vitals".into())),
        ] {
            figures.push(self.measure(&state, &admin, &trial_id, name, kind).await?);
        }
        Ok(ExportReport {
            seed_seconds,
            exports: figures,
        })
    }

    async fn measure(
        &self,
        state: &AppState,
        who: &Principal,
        trial_id: &str,
        name: &'static str,
        kind: ExportKind,
    ) -> anyhow::Result<ExportFigures> {
        let rss_before_kib = resident_kib()?;
        let mut rss_peak_kib = rss_before_kib;
        let started = Instant::now();
        let mut export = exports::start(state, who, trial_id, kind).await?;
        let mut bytes = 0u64;
        while let Some(chunk) = export.chunks.recv().await {
            bytes += chunk.context("the export failed")?.len() as u64;
            rss_peak_kib = rss_peak_kib.max(resident_kib()?);
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(ExportFigures {
            export: name,
            records: self.records,
            bytes,
            seconds,
            records_per_second: self.records as f64 / seconds,
            rss_before_kib,
            rss_peak_kib,
        })
    }

    /// A trial with the demo's vital-signs form and `records` records, one version each and
    /// a correction for every tenth, written straight to the tables an export reads.
    async fn seed(&self, state: &AppState) -> anyhow::Result<String> {
        let sponsor = Principal {
            user_id: "bench-export-sponsor".into(),
            org_id: "bench-export-sponsor-org".into(),
            role: Role::Sponsor,
        };
        let input = ProtocolInput {
            title: "Export benchmark".into(),
            summary: String::new(),
            phase: "PHASE3".into(),
            primary_endpoint: "Systolic blood pressure".into(),
            secondary_endpoints: Vec::new(),
            target_enrollment: 1,
            criteria: String::new(),
            eligibility_text: String::new(),
            site_ids: None,
            ethics_board_id: None,
            conditions: Vec::new(),
            keywords: Vec::new(),
            status: TrialStatus::Closed,
            nct_id: None,
            forms: Some(serde_json::from_value(json!([{
            "id": "vitals", "title": "Vital signs", "fields": [
                {"id": "visitDate", "label": "Visit date", "type": "date", "required": true},
                {"id": "systolic", "label": "Systolic", "type": "integer", "unit": "mmHg", "min": 60, "max": 250},
                {"id": "weight", "label": "Weight", "type": "number", "unit": "kg"},
                {"id": "smoker", "label": "Smoker", "type": "yesno"},
                {"id": "note", "label": "Note", "type": "text"}
            ]}]))?),
        };
        let view = protocols::publish(
            state,
            &sponsor,
            input,
            Assignment::Deferred,
            Attest::Imported,
        )
        .await?;
        let trial_id = view.trial.id.clone();
        let now = Utc::now();
        let mut seq = FIRST_SEQ;
        let mut n = 0u64;
        while n < self.records {
            let end = (n + SEED_CHUNK as u64).min(self.records);
            let (mut subs, mut versions, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
            for i in n..end {
                let id = format!("bench-record-{i:08}");
                let enrollment = format!("bench-enrollment-{:06}", i / self.per_participant);
                let corrected = i % 10 == 0;
                subs.push(submission::ActiveModel {
                    id: Set(id.clone()),
                    enrollment_id: Set(enrollment),
                    trial_id: Set(trial_id.clone()),
                    site_org_id: Set(format!("bench-site-{}", i % 7)),
                    form: Set("vitals".into()),
                    visit: Set(format!("visit {}", i % self.per_participant)),
                    current_version: Set(if corrected { 2 } else { 1 }),
                    created_at: Set(now),
                });
                for version in 1..=if corrected { 2 } else { 1 } {
                    let data = json!({
                        "visitDate": "2026-03-01",
                        "systolic": 100 + (i % 90) as i64 + i64::from(version),
                        "weight": 50.5 + (i % 40) as f64,
                        "smoker": i % 3 == 0,
                        "note": format!("record {i}, \"version\" {version} <ok>"),
                    });
                    seq += 1;
                    payloads.push(ledger_payload::ActiveModel {
                        seq: Set(seq),
                        body: Set(Some(
                            json!({ "data": data, "version": version }).to_string(),
                        )),
                        erased: Set(false),
                    });
                    versions.push(submission_version::ActiveModel {
                        id: Set(format!("{id}-v{version}")),
                        submission_id: Set(id.clone()),
                        version: Set(version),
                        ledger_seq: Set(seq),
                        content_hash: Set(String::new()),
                        reason: Set((version > 1).then(|| "re-measured".to_string())),
                        created_by: Set("bench-export-site-user".into()),
                        created_at: Set(now),
                    });
                }
            }
            submission::Entity::insert_many(subs)
                .exec(&state.db)
                .await?;
            submission_version::Entity::insert_many(versions)
                .exec(&state.db)
                .await?;
            ledger_payload::Entity::insert_many(payloads)
                .exec(&state.db)
                .await?;
            n = end;
        }
        Ok(trial_id)
    }
}

/// This process's resident memory now, KiB (Linux `/proc/self/status`).
fn resident_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/self/status")
}
