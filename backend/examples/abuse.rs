//! Load generator for `scripts/abuse.sh`: runs the abuse checks against a server on
//! 127.0.0.1, prints each check's figures with PASS or FAIL, and exits 1 on any FAIL.
//!
//! ```sh
//! cargo run --release -p veritrial --example abuse -- --url http://127.0.0.1:8090 \
//!     --pid 1234 --seconds 20 --veritrial target/release/veritrial --data-dir DIR
//! ```
//! The accounts are those `scripts/abuse.sh` creates (password `abuse-password-123`):
//! `flood@abuse.test` (site), `ethics@abuse.test`, `recruiter@abuse.test`,
//! `leaver@abuse.test` (site; deactivated during the run).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "abuse-password-123";
const FLOOD_CONCURRENCY: usize = 64;
const HEALTH_EVERY: Duration = Duration::from_millis(50);
const MAX_PEAK_RSS_MB: u64 = 512;
const MAX_HEALTH_P99: Duration = Duration::from_millis(100);
const MAX_CRITERIA_REFUSAL: Duration = Duration::from_millis(100);

struct Args {
    url: String,
    pid: u32,
    seconds: u64,
    veritrial: String,
    data_dir: String,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut url, mut pid, mut seconds, mut veritrial, mut data_dir) = (None, None, 20, None, None);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = Some(value),
            "--pid" => pid = Some(value.parse().map_err(|_| "--pid: a process id")?),
            "--seconds" => seconds = value.parse().map_err(|_| "--seconds: a number")?,
            "--veritrial" => veritrial = Some(value),
            "--data-dir" => data_dir = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let url: String = url.ok_or("--url is required")?;
    if !url.starts_with("http://127.0.0.1:") {
        return Err(
            "--url must be http://127.0.0.1:PORT: this tool only attacks its own host".into(),
        );
    }
    Ok(Args {
        url,
        pid: pid.ok_or("--pid is required")?,
        seconds,
        veritrial: veritrial.ok_or("--veritrial is required")?,
        data_dir: data_dir.ok_or("--data-dir is required")?,
    })
}

/// A GraphQL client for one server.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        response.json().await.map_err(|e| e.to_string())
    }

    async fn login(&self, email: &str, password: &str) -> Result<String, String> {
        let body = self
            .gql(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({ "e": email, "p": password }),
            )
            .await?;
        body["data"]["login"]["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("login of {email} failed: {body}"))
    }
}

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

/// Peak resident memory of `pid` in MiB (VmHWM).
fn peak_rss_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024)
}

fn verdict(name: &str, pass: bool, figures: &str) -> bool {
    println!("{} {name}: {figures}", if pass { "PASS" } else { "FAIL" });
    pass
}

/// 64 clients log in as fast as they can (right and wrong passwords in turn) while
/// `/healthz` is probed every 50 ms.
async fn login_flood(client: &Client, seconds: u64, pid: u32) -> bool {
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<[AtomicU64; 4]> = Arc::new(Default::default()); // ok, limited, refused, other
    let mut workers = Vec::new();
    for worker in 0..FLOOD_CONCURRENCY {
        let (client, stop, counts) = (client.clone(), stop.clone(), counts.clone());
        workers.push(tokio::spawn(async move {
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                let password = if i % 2 == 0 { PASSWORD } else { "wrong-password" };
                i += 1;
                let query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
                let slot = match client
                    .gql(None, query, json!({ "e": "flood@abuse.test", "p": password }))
                    .await
                {
                    Ok(body) if body["data"]["login"]["token"].is_string() => 0,
                    Ok(body) if code(&body) == "RATE_LIMITED" => 1,
                    Ok(body) if code(&body) == "UNAUTHENTICATED" => 2,
                    _ => 3,
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    let mut unhealthy = 0;
    while Instant::now() < deadline {
        let started = Instant::now();
        let ok = client
            .http
            .get(format!("{}/healthz", client.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        latencies.push(started.elapsed());
        if !ok {
            unhealthy += 1;
        }
        tokio::time::sleep(HEALTH_EVERY.saturating_sub(started.elapsed())).await;
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    latencies.sort();
    let p99 = latencies
        .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    let max = latencies.last().copied().unwrap_or_default();
    let rss = peak_rss_mb(pid);
    let [ok, limited, refused, other] = [0, 1, 2, 3].map(|i| counts[i].load(Ordering::Relaxed));
    let pass = p99 < MAX_HEALTH_P99 && unhealthy == 0 && rss.is_some_and(|mb| mb < MAX_PEAK_RSS_MB);
    verdict(
        "login flood",
        pass,
        &format!(
            "{FLOOD_CONCURRENCY} clients for {seconds} s: {ok} signed in, {limited} RATE_LIMITED, \
             {refused} UNAUTHENTICATED, {other} other/failed; /healthz {} probes, p99 {:.1} ms, \
             max {:.1} ms, {unhealthy} not 200; server peak RSS {} MiB (limits: p99 < 100 ms, RSS < {MAX_PEAK_RSS_MB} MiB)",
            latencies.len(),
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            rss.map_or("unknown".to_string(), |mb| mb.to_string()),
        ),
    )
}

async fn huge_criteria(client: &Client, token: &str) -> bool {
    let criteria = vec!["age >= 18"; 2_000].join(" and ");
    let started = Instant::now();
    let body = client
        .gql(
            Some(token),
            "query($c: String!) { cohort(criteria: $c) { count } }",
            json!({ "c": criteria }),
        )
        .await;
    let elapsed = started.elapsed();
    let code = body.as_ref().map_or_else(|e| e.clone(), code);
    verdict(
        "2,000-clause criteria",
        code == "BAD_CRITERIA" && elapsed < MAX_CRITERIA_REFUSAL,
        &format!(
            "answered {code} in {:.1} ms (limit 100 ms)",
            elapsed.as_secs_f64() * 1e3
        ),
    )
}

async fn verify_ledger_aliases(client: &Client, token: &str) -> bool {
    let fields: Vec<String> = (0..500)
        .map(|i| format!("a{i}: verifyLedger {{ ok entriesChecked firstBadSeq problems }}"))
        .collect();
    let started = Instant::now();
    let body = client
        .gql(
            Some(token),
            &format!("{{ {} }}", fields.join(" ")),
            json!({}),
        )
        .await
        .unwrap_or_default();
    let message = body["errors"][0]["message"].as_str().unwrap_or("no error");
    verdict(
        "500 aliases of verifyLedger",
        body["data"].is_null() && message.contains("too complex"),
        &format!(
            "answered \"{message}\" in {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        ),
    )
}

/// A user signs in, is deactivated with `veritrial user deactivate`, and their token must
/// stop working.
async fn deactivated_token(client: &Client, args: &Args) -> bool {
    let token = match client.login("leaver@abuse.test", PASSWORD).await {
        Ok(token) => token,
        Err(err) => return verdict("deactivated user's token", false, &err),
    };
    let deactivated = std::process::Command::new(&args.veritrial)
        .args(["user", "deactivate", "--email", "leaver@abuse.test"])
        .env("VERITRIAL_DATA_DIR", &args.data_dir)
        .output();
    let cli = match deactivated {
        Ok(out) if out.status.success() => "deactivated by the CLI".to_string(),
        Ok(out) => format!(
            "`veritrial user deactivate` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => format!("`veritrial user deactivate` did not run: {err}"),
    };
    let body = client
        .gql(Some(&token), "{ me { email } }", json!({}))
        .await
        .unwrap_or_default();
    let code = code(&body);
    verdict(
        "deactivated user's token",
        code == "UNAUTHENTICATED",
        &format!("{cli}; the old token then got {code}"),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("abuse: {err}");
            return ExitCode::from(2);
        }
    };
    veritrial::tls::install_crypto_provider();
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default(),
        url: args.url.clone(),
    };
    let (ethics, recruiter) = match (
        client.login("ethics@abuse.test", PASSWORD).await,
        client.login("recruiter@abuse.test", PASSWORD).await,
    ) {
        (Ok(e), Ok(r)) => (e, r),
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("abuse: {err}");
            return ExitCode::from(2);
        }
    };
    let results = [
        huge_criteria(&client, &recruiter).await,
        verify_ledger_aliases(&client, &ethics).await,
        deactivated_token(&client, &args).await,
        login_flood(&client, args.seconds, args.pid).await,
    ];
    let failed = results.iter().filter(|pass| !**pass).count();
    println!(
        "{} of {} checks passed",
        results.len() - failed,
        results.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
