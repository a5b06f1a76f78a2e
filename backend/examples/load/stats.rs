//! What a phase measured: latencies of the requests that succeeded, the requests the server
//! shed, and a count of every failure by its cause.

use std::collections::BTreeMap;
use std::time::Duration;

/// The outcome of one request: `Err` names the failure (a GraphQL error code, an HTTP
/// status or a transport error), so failures of one kind are counted together.
pub type Outcome = Result<(), String>;

/// The error code by which a server sheds load by design (a full queue of its blocking
/// pool): counted apart, neither served nor failed.
pub const SHED: &str = "RATE_LIMITED";

/// Latencies and failures of one phase.
#[derive(Default)]
pub struct Tally {
    latencies: Vec<Duration>,
    shed: u64,
    failures: BTreeMap<String, u64>,
}

impl Tally {
    /// Records one request.
    pub fn record(&mut self, latency: Duration, outcome: Outcome) {
        match outcome {
            Ok(()) => self.latencies.push(latency),
            Err(cause) if cause == SHED => self.shed += 1,
            Err(cause) => *self.failures.entry(cause).or_default() += 1,
        }
    }

    /// Adds another tally's requests to this one.
    pub fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.shed += other.shed;
        for (cause, n) in other.failures {
            *self.failures.entry(cause).or_default() += n;
        }
    }

    /// Requests that succeeded.
    pub fn ok(&self) -> usize {
        self.latencies.len()
    }

    /// Requests the server shed with [`SHED`].
    pub fn shed(&self) -> u64 {
        self.shed
    }

    /// Requests that failed.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The `p`th percentile (nearest rank) of the successful requests' latencies.
    pub fn percentile(&mut self, p: usize) -> Option<Duration> {
        self.latencies.sort_unstable();
        let rank = (self.latencies.len() * p).div_ceil(100).saturating_sub(1);
        self.latencies.get(rank).copied()
    }

    /// The failures, e.g. `none` or `CONFLICT × 3, HTTP 503 × 1`.
    pub fn failures(&self) -> String {
        if self.failures.is_empty() {
            return "none".to_string();
        }
        self.failures
            .iter()
            .map(|(cause, n)| format!("{cause} × {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A latency in milliseconds with one decimal, or `-` when there is none.
pub fn ms(latency: Option<Duration>) -> String {
    latency.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64() * 1e3))
}
