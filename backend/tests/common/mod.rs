//! Shared integration-test harness: a real server on a free port with a fresh data
//! directory, on SQLite or on a fresh PostgreSQL database of its own.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod moto;
pub mod postgres;
pub mod rewrite;
pub mod scan;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::Child;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use veritrial::auth::limiter::Rate;
use veritrial::auth::throttle::SignInPolicy;
use veritrial::domain::{OrgKind, Role};
use veritrial::http::HttpLimits;
use veritrial::server::{BoundServer, PrivacySettings, ServeConfig, StoreConfig, open_stores};
use veritrial::services::accounts::{self, NewUser};
use veritrial::services::attachments::AttachmentsConfig;
use veritrial::services::indexer::DEFAULT_OUTBOX_RETENTION;

pub use moto::MotoServer;
pub use postgres::PgDatabase;

/// The code of a response's first error, or `"none"` when it has none.
pub fn code_of(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

/// Which database a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's attachments are stored.
#[derive(Clone, Copy, Debug)]
pub enum Storage {
    /// The local filesystem: `DIR/attachments`.
    Local,
    /// A bucket on a local S3-compatible server ([`MotoServer`]).
    S3,
}

/// An HTTP client (reqwest needs the process's TLS provider installed first).
pub fn http_client() -> reqwest::Client {
    veritrial::tls::install_crypto_provider();
    reqwest::Client::new()
}

/// The password of every account the harness creates.
pub const PASSWORD: &str = "test-password-123";

/// A fresh store: a temporary data directory and, for PostgreSQL, a database of its own.
pub struct TestStore {
    pub data_dir: TempDir,
    pub pg: Option<PgDatabase>,
    /// Another store's database, for a second server on the same database.
    pub shared_database_url: Option<String>,
    /// Another store's key directory, for a second server on the same database.
    pub shared_keys_dir: Option<PathBuf>,
    /// Where attachments are stored (default: `DIR/attachments`).
    pub attachments: AttachmentsConfig,
    /// The S3 server behind `attachments`, when this store started one.
    pub s3: Option<MotoServer>,
}

impl TestStore {
    /// A fresh store, or `None` when PostgreSQL is wanted but unreachable outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        Self::with_storage(backend, Storage::Local).await
    }

    /// A fresh store with attachments in `storage`, or `None` when PostgreSQL or the S3
    /// server is wanted but unavailable outside CI.
    pub async fn with_storage(backend: Backend, storage: Storage) -> Option<Self> {
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await?),
        };
        let s3 = match storage {
            Storage::Local => None,
            Storage::S3 => Some(MotoServer::start().await?),
        };
        Some(Self {
            data_dir: tempfile::tempdir().expect("temporary directory"),
            pg,
            shared_database_url: None,
            shared_keys_dir: None,
            attachments: s3
                .as_ref()
                .map(MotoServer::attachments_config)
                .unwrap_or_default(),
            s3,
        })
    }

    /// Attachment storage that another process can share: this store's own, with the
    /// default `DIR/attachments` spelled out as a `file://` URL.
    pub fn shared_attachments(&self) -> AttachmentsConfig {
        if self.attachments.url.is_some() {
            return self.attachments.clone();
        }
        let dir = self.data_dir.path().join("data").join("attachments");
        AttachmentsConfig {
            url: Some(
                url::Url::from_directory_path(&dir)
                    .expect("an absolute path")
                    .to_string(),
            ),
            ..AttachmentsConfig::default()
        }
    }

    /// Every stored attachment file (name relative to the store's root, size), including
    /// staged, unfinished uploads: local files by walking the directory, S3 objects and
    /// open multipart uploads by listing the bucket.
    pub async fn stored_attachments(&self) -> Vec<(String, u64)> {
        if let Some(s3) = &self.s3 {
            return s3.contents().await;
        }
        let root = match &self.attachments.url {
            Some(url) => url::Url::parse(url)
                .ok()
                .and_then(|url| url.to_file_path().ok())
                .expect("a file:// URL"),
            None => self.data_dir.path().join("data").join("attachments"),
        };
        let mut found = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("attachments directory") {
                let entry = entry.expect("directory entry");
                let meta = entry.metadata().expect("metadata");
                if meta.is_dir() {
                    dirs.push(entry.path());
                } else {
                    let name = entry
                        .path()
                        .strip_prefix(&root)
                        .expect("under root")
                        .display()
                        .to_string();
                    found.push((name, meta.len()));
                }
            }
        }
        found.sort();
        found
    }

    pub fn database_url(&self) -> Option<String> {
        self.shared_database_url
            .clone()
            .or_else(|| self.pg.as_ref().map(|pg| pg.url.clone()))
    }

    pub fn config(&self) -> StoreConfig {
        StoreConfig {
            data_dir: self.data_dir.path().join("data"),
            keys_dir: self.shared_keys_dir.clone(),
            database_url: self.database_url(),
            max_connections: 5,
            ledger_origin: veritrial::services::ledger::DEFAULT_ORIGIN.to_string(),
            attachments: self.attachments.clone(),
        }
    }

    /// Creates an organisation directly through the service layer.
    pub async fn org(&self, name: &str, kind: OrgKind) -> String {
        let stores = open_stores(&self.config()).await.expect("stores");
        accounts::create_organization(&stores.db, name, kind)
            .await
            .expect("organisation created")
            .id
    }

    /// Creates a user with the harness password.
    pub async fn user(&self, email: &str, org: &str, role: Role) {
        let stores = open_stores(&self.config()).await.expect("stores");
        let new = NewUser {
            email,
            display_name: &name_of(email),
            org_name: org,
            role,
            password: PASSWORD,
        };
        accounts::create_user(&stores.db, new)
            .await
            .expect("user created");
    }

    /// The `veritrial` binary, pointed at this store.
    pub fn cli(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"));
        cmd.env_remove("DATABASE_URL")
            .env("VERITRIAL_DATA_DIR", self.data_dir.path().join("data"));
        if let Some(url) = self.database_url() {
            cmd.env("DATABASE_URL", url);
        }
        match &self.shared_keys_dir {
            Some(keys) => cmd.env("VERITRIAL_KEYS_DIR", keys),
            None => cmd.env_remove("VERITRIAL_KEYS_DIR"),
        };
        if let Some(url) = &self.attachments.url {
            cmd.env("VERITRIAL_ATTACHMENTS_URL", url);
        }
        if let Some(endpoint) = &self.attachments.s3_endpoint {
            cmd.env("VERITRIAL_S3_ENDPOINT", endpoint);
        }
        for (key, value) in &self.attachments.s3_settings {
            cmd.env(key.as_ref().to_ascii_uppercase(), value);
        }
        cmd
    }
}

/// The sign-in limits of test servers: the defaults, but with rates that the many sign-ins
/// of a test, all from 127.0.0.1, never reach.
/// How the harness serves `store` in process.
fn test_config(store: &TestStore, limits: HttpLimits, sign_in: SignInPolicy) -> ServeConfig {
    ServeConfig {
        store: store.config(),
        listen: "127.0.0.1:0".parse().expect("address"),
        jwt_secret_file: None,
        token_lifetime: Duration::from_secs(600),
        limits,
        suppression_threshold: 11,
        privacy: PrivacySettings::default(),
        sign_in,
        index_freshness_timeout: Duration::from_secs(2),
        outbox_retention: Some(DEFAULT_OUTBOX_RETENTION),
        witnesses: Default::default(),
    }
}

pub fn test_sign_in_policy() -> SignInPolicy {
    let generous = Rate::per_minute(NonZeroU32::new(10_000).expect("non-zero"));
    SignInPolicy {
        per_address: generous,
        per_email: generous,
        ..SignInPolicy::default()
    }
}

/// A running server and the store behind it.
pub struct TestServer {
    pub store: TestStore,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    running: Running,
}

/// How the server runs: as a task of the test process (its shutdown signal and task), or
/// as a `veritrial serve` process (with the flags it was started with, to restart it).
enum Running {
    InProcess(
        Option<oneshot::Sender<()>>,
        Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    ),
    Process {
        child: Mutex<Child>,
        flags: Vec<String>,
    },
}

impl TestServer {
    /// Starts a server on a free port, or `None` when the backend is unavailable outside CI.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, HttpLimits::default()).await
    }

    /// Like [`TestServer::start`] with explicit HTTP limits.
    pub async fn start_with(backend: Backend, limits: HttpLimits) -> Option<Self> {
        Some(Self::start_on(TestStore::new(backend).await?, limits).await)
    }

    /// Like [`TestServer::start_with`], with attachments in `storage`.
    pub async fn start_with_storage(
        backend: Backend,
        storage: Storage,
        limits: HttpLimits,
    ) -> Option<Self> {
        let store = TestStore::with_storage(backend, storage).await?;
        Some(Self::start_on(store, limits).await)
    }

    /// Like [`TestServer::start`] with explicit sign-in limits.
    pub async fn start_with_sign_in(backend: Backend, sign_in: SignInPolicy) -> Option<Self> {
        let store = TestStore::new(backend).await?;
        Some(Self::start_on_with(store, HttpLimits::default(), sign_in).await)
    }

    /// Starts a server on an existing store (e.g. one a CLI command filled first).
    pub async fn start_on(store: TestStore, limits: HttpLimits) -> Self {
        Self::start_on_with(store, limits, test_sign_in_policy()).await
    }

    async fn start_on_with(store: TestStore, limits: HttpLimits, sign_in: SignInPolicy) -> Self {
        let config = test_config(&store, limits, sign_in);
        Self::run_in_process(store, config).await
    }

    /// A second server on this server's database, as another process behind a load balancer
    /// would be: its own data directory (and so its own search index), the same key
    /// directory (ledger key, pseudonym keys, sign-in secret, noise key) and the same
    /// attachment storage. Keep `self` alive: it owns the database, the keys (and the S3
    /// server, if any).
    pub async fn second_on_same_database(&self) -> Self {
        self.second_on_same_database_with(DEFAULT_OUTBOX_RETENTION)
            .await
    }

    /// [`TestServer::second_on_same_database`], keeping only `outbox_retention` outbox
    /// positions behind its index watermark.
    pub async fn second_on_same_database_with(&self, outbox_retention: u64) -> Self {
        let store = TestStore {
            data_dir: tempfile::tempdir().expect("temporary directory"),
            pg: None,
            shared_database_url: Some(self.database_url()),
            shared_keys_dir: Some(self.store.config().keys_dir()),
            attachments: self.store.shared_attachments(),
            s3: None,
        };
        let config = ServeConfig {
            outbox_retention: Some(outbox_retention),
            ..test_config(&store, HttpLimits::default(), test_sign_in_policy())
        };
        Self::run_in_process(store, config).await
    }

    async fn run_in_process(store: TestStore, config: ServeConfig) -> Self {
        let bound = BoundServer::bind(&config).await.expect("server binds");
        let addr = bound.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(bound.run(async {
            let _ = rx.await;
        }));
        Self {
            store,
            addr,
            http: http_client(),
            running: Running::InProcess(Some(tx), Some(task)),
        }
    }

    /// Stops an in-process server and waits until it has let go of its data directory (its
    /// search index); returns the store, to start another server on it.
    pub async fn stop(mut self) -> TestStore {
        if let Running::InProcess(shutdown, task) = &mut self.running {
            if let Some(tx) = shutdown.take() {
                let _ = tx.send(());
            }
            if let Some(task) = task.take() {
                task.await.expect("server task").expect("server ran");
            }
        }
        let placeholder = TestStore {
            data_dir: tempfile::tempdir().expect("temporary directory"),
            pg: None,
            shared_database_url: None,
            shared_keys_dir: None,
            attachments: AttachmentsConfig::default(),
            s3: None,
        };
        std::mem::replace(&mut self.store, placeholder)
    }

    /// Starts `veritrial serve` as a child process on a free port, for tests that measure
    /// the server alone (its memory, its crash behaviour).
    pub async fn spawn_process(backend: Backend) -> Option<Self> {
        Self::spawn_process_with(backend, &[]).await
    }

    /// Like [`TestServer::spawn_process`] with extra `veritrial serve` flags.
    pub async fn spawn_process_with(backend: Backend, flags: &[&str]) -> Option<Self> {
        Some(Self::spawn_process_on(TestStore::new(backend).await?, flags).await)
    }

    /// Starts `veritrial serve` as a child process on `store`, with extra flags.
    pub async fn spawn_process_on(store: TestStore, flags: &[&str]) -> Self {
        open_stores(&store.config()).await.expect("stores migrate");
        let flags = flags.iter().map(|f| f.to_string()).collect();
        Self::launch(store, flags).await
    }

    /// `n` `veritrial serve` processes on one fresh database, as behind a load balancer:
    /// each with its own data directory (and so its own search index), all sharing the
    /// first one's key directory and attachment storage. The first starts alone (it creates
    /// the keys), the others together. The first one owns the database: keep it alive.
    pub async fn spawn_processes(backend: Backend, n: usize) -> Option<Vec<Self>> {
        let store = TestStore::new(backend).await?;
        open_stores(&store.config()).await.expect("stores migrate");
        let first = Self::launch(store, Vec::new()).await;
        let url = first.database_url();
        let keys = first.store.config().keys_dir();
        let attachments = first.store.shared_attachments();
        let others = (1..n).map(|_| {
            let store = TestStore {
                data_dir: tempfile::tempdir().expect("temporary directory"),
                pg: None,
                shared_database_url: Some(url.clone()),
                shared_keys_dir: Some(keys.clone()),
                attachments: attachments.clone(),
                s3: None,
            };
            Self::launch(store, Vec::new())
        });
        let mut servers = vec![first];
        servers.extend(futures::future::join_all(others).await);
        Some(servers)
    }

    /// This server's database as a URL another server can be pointed at.
    fn database_url(&self) -> String {
        self.store.database_url().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir().join("veritrial.db").display()
            )
        })
    }

    /// Starts `veritrial serve` with `flags` on `store` and waits until it is healthy.
    async fn launch(store: TestStore, flags: Vec<String>) -> Self {
        let (addr, child) = serve_process(&store, &flags);
        let server = Self {
            store,
            addr,
            http: http_client(),
            running: Running::Process {
                child: Mutex::new(child),
                flags,
            },
        };
        server.wait_until_healthy().await;
        server
    }

    async fn wait_until_healthy(&self) {
        for _ in 0..200 {
            let healthy = self.http.get(self.url("/healthz")).send().await;
            if healthy.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("veritrial serve did not become healthy");
    }

    /// The server process, locked; panics for an in-process server.
    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        let Running::Process { child, .. } = &self.running else {
            panic!("not a veritrial serve process");
        };
        child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Kills the server process with SIGKILL (`kill -9`): no shutdown, no flush.
    pub fn kill_hard(&self) {
        let mut child = self.child();
        child.kill().expect("SIGKILL sent");
        child.wait().expect("killed process reaped");
    }

    /// Starts the server process again after [`TestServer::kill_hard`], on the same data
    /// directory and flags (on a new port), and waits until it is healthy.
    pub async fn restart(&mut self) {
        let Running::Process { child, flags } = &mut self.running else {
            panic!("not a veritrial serve process");
        };
        let (addr, restarted) = serve_process(&self.store, flags);
        *child.get_mut().unwrap_or_else(PoisonError::into_inner) = restarted;
        self.addr = addr;
        self.wait_until_healthy().await;
    }

    /// The server process's peak resident memory (VmHWM) in KiB; `None` when in-process.
    pub fn process_peak_rss_kib(&self) -> Option<u64> {
        if let Running::InProcess(..) = self.running {
            return None;
        }
        let pid = self.child().id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.store.data_dir.path().join("data")
    }

    /// Runs a GraphQL operation and returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        response.json().await.expect("JSON response")
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs an operation that must fail and returns the first error's `code`.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let body = self.gql(token, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {body}"))
            .to_string()
    }

    /// Creates an organisation directly through the service layer.
    pub async fn org(&self, name: &str, kind: OrgKind) -> String {
        let stores = open_stores(&self.store.config()).await.expect("stores");
        accounts::create_organization(&stores.db, name, kind)
            .await
            .expect("organisation created")
            .id
    }

    /// Creates a user in `org` and signs them in; returns the token.
    pub async fn user(&self, email: &str, org: &str, role: Role) -> String {
        let stores = open_stores(&self.store.config()).await.expect("stores");
        let new = NewUser {
            email,
            display_name: &name_of(email),
            org_name: org,
            role,
            password: PASSWORD,
        };
        accounts::create_user(&stores.db, new)
            .await
            .expect("user created");
        self.login(email).await
    }

    /// The trial's ethics board (`board`: a member's token) approves protocol version
    /// `version`, signed with the harness password, which opens invitations and enrollment.
    pub async fn approve(&self, board: &str, trial: impl serde::Serialize, version: i32) {
        self.ok(
            Some(board),
            "mutation($t: ID!, $v: Int!, $pw: String!) { reviewProtocol(trialId: $t, version: $v, decision: APPROVED, password: $pw) { id } }",
            json!({ "t": trial, "v": version, "pw": PASSWORD }),
        )
        .await;
    }

    /// Signs in `email` with the harness password.
    pub async fn login(&self, email: &str) -> String {
        let data = self
            .ok(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({ "e": email, "p": PASSWORD }),
            )
            .await;
        data["login"]["token"].as_str().expect("token").to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match &mut self.running {
            Running::InProcess(shutdown, _) => {
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
            }
            Running::Process { child, .. } => {
                let child = child.get_mut().unwrap_or_else(PoisonError::into_inner);
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Starts `veritrial serve` with `flags` on `store` on a free port; its output is discarded.
fn serve_process(store: &TestStore, flags: &[String]) -> (SocketAddr, Child) {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let child = store
        .cli()
        .args(["serve", "--listen", &addr.to_string()])
        .args(flags)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("veritrial serve starts");
    (addr, child)
}

/// A sponsor's trial ("Helix") and a site ("St Mary's") with one enrolled participant and
/// one submission; returns (site token, submission id).
pub async fn site_with_submission(server: &TestServer) -> (String, String) {
    server.org("Helix", OrgKind::Sponsor).await;
    let site_id = server.org("St Mary's", OrgKind::Site).await;
    let board_id = server.org("IRB", OrgKind::Ethics).await;
    let sponsor = server.user("s@helix.com", "Helix", Role::Sponsor).await;
    let site = server
        .user("crc@stmarys.org", "St Mary's", Role::Site)
        .await;
    let protocol = json!({ "i": { "title": "T", "primaryEndpoint": "E", "targetEnrollment": 5,
                                  "siteIds": [site_id], "ethicsBoardId": board_id } });
    let trial = server
        .ok(
            Some(&sponsor),
            "mutation($i: PublishProtocolInput!) { publishProtocol(input: $i, password: \"test-password-123\") { id } }",
            protocol,
        )
        .await["publishProtocol"]["id"]
        .clone();
    let board = server.user("board@irb.test", "IRB", Role::Ethics).await;
    server.approve(&board, &trial, 1).await;
    let p = server
        .ok(Some(&site), "mutation { registerPatient(input: {localId: \"A\", birthDate: \"1980-01-01\", sex: MALE, zip: \"10001\"}) { pseudonym } }", json!({}))
        .await["registerPatient"]["pseudonym"]
        .clone();
    server
        .ok(Some(&site), "mutation($p: String!, $t: ID) { recordConsent(pseudonym: $p, scope: TRIAL_PARTICIPATION, trialId: $t, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { id } }", json!({ "p": p, "t": trial }))
        .await;
    let e = server
        .ok(Some(&site), "mutation($t: ID!, $p: String!) { enrollParticipant(trialId: $t, pseudonym: $p) { id } }", json!({ "t": trial, "p": p }))
        .await["enrollParticipant"]["id"]
        .clone();
    let s = server
        .ok(Some(&site), "mutation($e: ID!) { submitTrialData(enrollmentId: $e, form: \"imaging\", visit: \"baseline\", data: {modality: \"MRI\"}) { id } }", json!({ "e": e }))
        .await["submitTrialData"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (site, s)
}

/// Declares each listed `async fn name(backend: Backend)` as two tests,
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )+
        }
    };
}

/// The display name the harness gives the user with `email`: "Ana Lima" for
/// `ana.lima@…`, so that audit trails and signatures show a person's name.
pub fn name_of(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or(email)
        .split(['.', '_', '-'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
