//! The three measurements of a leg: ledgered writes, cohort queries and index freshness.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::Client;
use crate::seed::{CRITERIA, World, consenting_patient};
use crate::stats::{Outcome, SHED, Tally, ms};

const SUBMIT: &str = "mutation($e: ID!, $v: String!, $d: JSON!) { submitTrialData(enrollmentId: $e, form: \"vitals\", visit: $v, data: $d) { id } }";
const COHORT: &str = "query($c: String!) { cohort(criteria: $c) { count approximate } }";
/// How long a freshness probe waits for the other process to reflect a write.
pub const FRESH_WITHIN: Duration = Duration::from_secs(5);
/// At most this many freshness probes per leg.
const MAX_PROBES: usize = 100;
/// How long a client waits after its request was shed before it sends the next.
const BACK_OFF: Duration = Duration::from_millis(10);
/// Pause between two polls of the reading process.
const POLL_EVERY: Duration = Duration::from_millis(2);

/// What one phase measured, and over how long.
pub struct Measured {
    pub tally: Tally,
    pub elapsed: Duration,
}

impl Measured {
    /// Successful requests per second.
    pub fn per_second(&self) -> f64 {
        self.tally.ok() as f64 / self.elapsed.as_secs_f64()
    }

    /// One line: how many were served and how fast, how many were shed or failed.
    pub fn summary(&mut self) -> String {
        format!(
            "{} in {:.1} s = {:.0}/s; p50 {} ms, p99 {} ms; shed: {}; failed: {}",
            self.tally.ok(),
            self.elapsed.as_secs_f64(),
            self.per_second(),
            ms(self.tally.percentile(50)),
            ms(self.tally.percentile(99)),
            self.tally.shed(),
            self.tally.failures()
        )
    }
}

/// `clients` concurrent clients each send one request after another for `duration`, each
/// request to the next server in turn (client `c`'s `k`th request goes to server
/// `(c + k) mod n`). A client whose request was shed waits [`BACK_OFF`] first. Requests in
/// flight at the deadline are waited for and counted.
async fn closed_loop<F, Fut>(
    servers: &[Client],
    clients: usize,
    duration: Duration,
    request: F,
) -> Measured
where
    F: Fn(Client, usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (servers, request) = (servers.to_vec(), Arc::clone(&request));
        workers.spawn(async move {
            let mut tally = Tally::default();
            let mut k = 0u64;
            while Instant::now() < deadline {
                let server = servers[(c + k as usize) % servers.len()].clone();
                let sent = Instant::now();
                let outcome = request(server, c, k).await;
                let shed = outcome.as_ref().is_err_and(|cause| cause == SHED);
                tally.record(sent.elapsed(), outcome);
                if shed {
                    tokio::time::sleep(BACK_OFF).await;
                }
                k += 1;
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(worker) = workers.join_next().await {
        match worker {
            Ok(worker) => tally.merge(worker),
            Err(err) => tally.record(Duration::ZERO, Err(format!("client task failed: {err}"))),
        }
    }
    Measured {
        tally,
        elapsed: started.elapsed(),
    }
}

/// Ledgered writes: each client submits case-report data for its own enrollment.
pub async fn writes(servers: &[Client], world: &World, duration: Duration) -> Measured {
    let (site, enrollments) = (world.site.clone(), Arc::new(world.enrollments.clone()));
    closed_loop(servers, enrollments.len(), duration, move |server, c, k| {
        let (site, enrollments) = (site.clone(), Arc::clone(&enrollments));
        async move {
            let variables = json!({ "e": enrollments[c], "v": format!("visit-{k}"), "d": { "heartRate": 60 + k % 40 } });
            server.outcome(&site, SUBMIT, variables, "submitTrialData").await
        }
    })
    .await
}

/// Cohort queries: the site counts its own patients (exact counts, no privacy budget).
pub async fn cohorts(
    servers: &[Client],
    world: &World,
    clients: usize,
    duration: Duration,
) -> Measured {
    let site = world.site.clone();
    closed_loop(servers, clients, duration, move |server, _, _| {
        let site = site.clone();
        async move { exact_count(&server, &site).await.map(drop) }
    })
    .await
}

/// The site's exact count of its consenting patients who fit [`CRITERIA`].
async fn exact_count(server: &Client, site: &str) -> Result<u64, String> {
    let cohort = server
        .field(Some(site), COHORT, json!({ "c": CRITERIA }), "cohort")
        .await?;
    match (cohort["count"].as_u64(), cohort["approximate"].as_bool()) {
        (Some(count), Some(false)) => Ok(count),
        _ => Err(format!("cohort: not an exact count: {cohort}")),
    }
}

/// What the freshness probes found.
#[derive(Default)]
pub struct Freshness {
    /// How long after the write's acknowledgement the reading process reflected it.
    pub lags: Tally,
    /// Probes whose write the reading process had not reflected after [`FRESH_WITHIN`].
    pub stale: usize,
    /// Whether the processes report an index watermark in `/healthz` (then it was polled).
    pub watermarked: bool,
}

/// Sequential probes for about `duration`: probe `i` registers a new patient who consents
/// to be contacted through server `i mod n` and measures, from the consent's
/// acknowledgement, until server `i + 1 mod n` counts them. Each probe raises the count by
/// one, so a stale reader never matches by chance. With a watermark in `/healthz`, the
/// reader's watermark is polled until it passes the value it had before the write, then its
/// count is checked; without one, its count is polled.
pub async fn freshness(servers: &[Client], world: &World, duration: Duration) -> Freshness {
    let mut found = Freshness::default();
    let started = Instant::now();
    let mut consenting = world.consenting;
    for i in 0..MAX_PROBES {
        if started.elapsed() >= duration {
            break;
        }
        let (writer, reader) = (
            &servers[i % servers.len()],
            &servers[(i + 1) % servers.len()],
        );
        let before = watermark(reader).await;
        found.watermarked |= before.is_some();
        let sent = Instant::now();
        if let Err(err) = consenting_patient(writer, &world.site, &format!("PROBE-{i}")).await {
            found
                .lags
                .record(sent.elapsed(), Err(format!("probe patient: {err}")));
            continue;
        }
        let acknowledged = Instant::now();
        consenting += 1;
        match reflected(
            reader,
            &world.site,
            before,
            consenting,
            acknowledged + FRESH_WITHIN,
        )
        .await
        {
            Ok(true) => found.lags.record(acknowledged.elapsed(), Ok(())),
            Ok(false) => found.stale += 1,
            Err(err) => found.lags.record(acknowledged.elapsed(), Err(err)),
        }
    }
    found
}

/// Polls `reader` until it counts `expected` (after its watermark, if any, passed
/// `before`); `Ok(false)` at the deadline.
async fn reflected(
    reader: &Client,
    site: &str,
    before: Option<u64>,
    expected: u64,
    deadline: Instant,
) -> Result<bool, String> {
    while Instant::now() < deadline {
        let passed = match before {
            Some(before) => watermark(reader).await.is_some_and(|now| now > before),
            None => true,
        };
        if passed && exact_count(reader, site).await? == expected {
            return Ok(true);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    Ok(false)
}

/// The index watermark a process reports in `/healthz` (`watermark`, or `index.watermark`),
/// if it reports one.
async fn watermark(server: &Client) -> Option<u64> {
    let health = server.health().await.ok()?;
    let field = |body: &Value| body["watermark"].as_u64();
    field(&health).or_else(|| field(&health["index"]))
}
