//! The alarm an operator sees when a log contradicts itself, and the node's counters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of this process, exported in Prometheus text at `GET /metrics`.
#[derive(Debug, Default)]
pub struct Alarm {
    alarms: AtomicU64,
    cosigned: AtomicU64,
    refused: Mutex<BTreeMap<u16, u64>>,
}

impl Alarm {
    /// Raises the alarm: an `error!` log line naming the log and the evidence, and the
    /// `veritrial_witness_alarms_total` counter.
    pub fn raise(&self, origin: &str, reason: &str, evidence_id: i64) {
        self.alarms.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            origin,
            reason,
            evidence_id,
            "ALARM: the log signed a checkpoint that contradicts one this witness cosigned or \
             mirrored; both signed notes are kept as evidence (GET /status)"
        );
    }

    /// Counts a cosignature given.
    pub fn cosigned(&self) {
        self.cosigned.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refusal with its HTTP status.
    pub fn refused(&self, status: u16) {
        if let Ok(mut refused) = self.refused.lock() {
            *refused.entry(status).or_default() += 1;
        }
    }

    /// Alarms raised by this process.
    pub fn alarms(&self) -> u64 {
        self.alarms.load(Ordering::Relaxed)
    }

    /// The metrics in Prometheus text format; `evidence` and `sizes` come from the store, so
    /// they survive a restart.
    pub fn prometheus(&self, evidence: u64, sizes: &[(String, i64)]) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        metric(
            "veritrial_witness_evidence",
            "gauge",
            "Evidence records held against logs (contradicting signed checkpoints); alert when above 0.",
            &[(String::new(), evidence)],
        );
        metric(
            "veritrial_witness_alarms_total",
            "counter",
            "Alarms raised by this process.",
            &[(String::new(), self.alarms())],
        );
        metric(
            "veritrial_witness_cosignatures_total",
            "counter",
            "Checkpoints cosigned by this process.",
            &[(String::new(), self.cosigned.load(Ordering::Relaxed))],
        );
        let refused: Vec<(String, u64)> = self
            .refused
            .lock()
            .map(|r| {
                r.iter()
                    .map(|(status, n)| (format!("{{status=\"{status}\"}}"), *n))
                    .collect()
            })
            .unwrap_or_default();
        metric(
            "veritrial_witness_refusals_total",
            "counter",
            "add-checkpoint requests refused by this process, by HTTP status.",
            &refused,
        );
        let sizes: Vec<(String, u64)> = sizes
            .iter()
            .map(|(origin, size)| {
                (
                    format!("{{origin=\"{}\"}}", escape_label(origin)),
                    u64::try_from(*size).unwrap_or_default(),
                )
            })
            .collect();
        metric(
            "veritrial_witness_log_size",
            "gauge",
            "Size of the latest checkpoint cosigned, per log.",
            &sizes,
        );
        out
    }
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_text() {
        let alarm = Alarm::default();
        alarm.raise("log.test", "split view", 1);
        alarm.cosigned();
        alarm.refused(409);
        alarm.refused(409);
        let text = alarm.prometheus(3, &[("a\"b".to_owned(), 7)]);
        assert!(text.contains("\nveritrial_witness_evidence 3\n"), "{text}");
        assert!(
            text.contains("\nveritrial_witness_alarms_total 1\n"),
            "{text}"
        );
        assert!(text.contains("veritrial_witness_refusals_total{status=\"409\"} 2\n"));
        assert!(text.contains("veritrial_witness_log_size{origin=\"a\\\"b\"} 7\n"));
    }
}
