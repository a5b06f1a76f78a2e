//! Opening the stores and running the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::throttle::{SignInGuard, SignInPolicy};
use crate::auth::token::TokenKeys;
use crate::datadir::DataDir;
use crate::db::{self, DatabaseTarget};
use crate::graphql::build_schema;
use crate::http::{HttpLimits, router};
use crate::keys_dir::{KeysDir, SecretFormat};
use crate::services::attachments::{AttachmentStore, AttachmentsConfig};
use crate::services::indexer::{
    DEFAULT_FRESHNESS_TIMEOUT, DEFAULT_OUTBOX_RETENTION, IndexerSettings,
};
use crate::services::ledger::{Cosigning, LedgerKeys, LedgerWriter, WitnessSettings};
use crate::services::matching::Matching;
use crate::services::privacy::PrivacyPolicy;
use crate::state::AppState;
use matcher::suppress::Suppression;

/// The JWT secret's file in the key directory (rotating it signs everyone out).
pub const JWT_SECRET_FILE: &str = "jwt.secret";

/// The cohort-noise key's file in the key directory (never rotated: docs/privacy.md).
pub const COHORT_NOISE_KEY_FILE: &str = "cohort-noise.key";

/// Where the data lives: the data directory, the key directory and, optionally, a
/// PostgreSQL URL.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The data directory (SQLite file, index, attachments, and keys unless `keys_dir`).
    pub data_dir: PathBuf,
    /// The key directory (ledger key, pseudonym keys, JWT secret, cohort-noise key); every
    /// process on one database must name the same one. `None`: `DATA_DIR/keys`.
    pub keys_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite file.
    pub database_url: Option<String>,
    /// Size of the database connection pool.
    pub max_connections: u32,
    /// The origin line (log name) of this node's ledger checkpoints.
    pub ledger_origin: String,
    /// Where attachment files are stored (`DIR/attachments` unless set).
    pub attachments: AttachmentsConfig,
}

impl StoreConfig {
    /// The key directory in use: `keys_dir`, or `keys` under the data directory.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where the data lives.
    pub store: StoreConfig,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// A file holding the JWT signing secret; `None`: `jwt.secret` in the key directory,
    /// generated on first start.
    pub jwt_secret_file: Option<PathBuf>,
    /// How long sign-in tokens stay valid.
    pub token_lifetime: Duration,
    /// Body size and time limits.
    pub limits: HttpLimits,
    /// Counts below this are never shown to recruiters and sponsors.
    pub suppression_threshold: u64,
    /// Sign-in rate limits, hashing concurrency and lockout.
    pub sign_in: SignInPolicy,
    /// How cohort counts are released: noise and privacy budget.
    pub privacy: PrivacySettings,
    /// How long a query waits for the search index to catch up with the database before
    /// answering `INDEX_BEHIND`.
    pub index_freshness_timeout: Duration,
    /// Outbox positions kept behind the index watermark (`None`: never prune).
    pub outbox_retention: Option<u64>,
    /// The witnesses asked to cosign checkpoints (none by default).
    pub witnesses: WitnessSettings,
}

/// The privacy mechanism's settings for cohort counts (README, docs/privacy.md).
#[derive(Clone, Copy, Debug)]
pub struct PrivacySettings {
    /// Standard deviation of the discrete Gaussian noise on every released count.
    pub noise_sigma: u32,
    /// zCDP budget ρ of one user over one window.
    pub budget: f64,
    /// The budget's rolling window.
    pub window: Duration,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            noise_sigma: 20,
            budget: 0.1,
            window: Duration::from_secs(24 * 3600),
        }
    }
}

impl ServeConfig {
    /// Defaults for command-line tools that load the application state without serving.
    pub fn for_tools(store: StoreConfig) -> Self {
        Self {
            store,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret_file: None,
            token_lifetime: Duration::from_secs(8 * 3600),
            limits: HttpLimits::default(),
            suppression_threshold: 11,
            sign_in: SignInPolicy::default(),
            privacy: PrivacySettings::default(),
            index_freshness_timeout: DEFAULT_FRESHNESS_TIMEOUT,
            outbox_retention: Some(DEFAULT_OUTBOX_RETENTION),
            witnesses: WitnessSettings::default(),
        }
    }
}

/// The opened stores: a writable data directory, the key directory and a migrated database.
pub struct Stores {
    /// The data directory.
    pub data_dir: DataDir,
    /// The key directory.
    pub keys: KeysDir,
    /// The migrated database.
    pub db: DatabaseConnection,
    /// The ledger's signing identity.
    pub ledger: LedgerKeys,
    /// The process's ledger writer (group commit).
    pub writer: LedgerWriter,
    /// Where attachment files are stored.
    pub attachments: AttachmentStore,
    /// The database it is.
    pub target: DatabaseTarget,
}

/// Opens the data directory and the database, and applies pending migrations.
pub async fn open_stores(config: &StoreConfig) -> anyhow::Result<Stores> {
    let data_dir = DataDir::open(&config.data_dir)?;
    let target = DatabaseTarget::resolve(config.database_url.as_deref(), &data_dir)?;
    let db = db::connect(&target, config.max_connections).await?;
    db::migrate(&db).await?;
    let keys = KeysDir::open(&config.keys_dir())?;
    let ledger = LedgerKeys::load_or_create(&keys, &config.ledger_origin)?;
    let attachments = AttachmentStore::open(&config.attachments, data_dir.root())?;
    tracing::info!(
        database = %target.describe(),
        data_dir = %data_dir.root().display(),
        keys_dir = %keys.root().display(),
        attachments = %attachments.describe(),
        "stores open"
    );
    let writer = LedgerWriter::start(&target, ledger.clone()).await?;
    Ok(Stores {
        data_dir,
        keys,
        db,
        ledger,
        writer,
        attachments,
        target,
    })
}

/// Loads the application state: stores, migrations and keys.
pub async fn load_state(config: &ServeConfig) -> anyhow::Result<AppState> {
    let stores = open_stores(&config.store).await?;
    let secret = match &config.jwt_secret_file {
        Some(path) => std::fs::read(path)
            .with_context(|| format!("cannot read the JWT secret file {}", path.display()))?,
        None => stores
            .keys
            .load_or_create(JWT_SECRET_FILE, SecretFormat::Random32)?,
    };
    let tokens = TokenKeys::new(&secret, config.token_lifetime)?;
    let indexer = IndexerSettings {
        freshness_timeout: config.index_freshness_timeout,
        outbox_retention: config.outbox_retention,
        ..IndexerSettings::default()
    };
    let matching = open_matching(&stores, config.suppression_threshold, indexer).await?;
    let noise_key = stores
        .keys
        .load_or_create(COHORT_NOISE_KEY_FILE, SecretFormat::Random32)?;
    let privacy = PrivacyPolicy::new(
        config.privacy.noise_sigma,
        config.privacy.budget,
        config.privacy.window,
        matching.suppression(),
        &noise_key,
    )?;
    let cosigning = Cosigning::start(
        stores.db.clone(),
        stores.ledger.clone(),
        &config.witnesses,
        stores.writer.checkpoint_watch(),
    );
    Ok(AppState {
        cosigning,
        db: stores.db,
        tokens,
        ledger: stores.ledger,
        writer: stores.writer,
        verifications: Default::default(),
        data_dir: stores.data_dir,
        keys: stores.keys,
        attachments: stores.attachments,
        matching,
        sign_in: Arc::new(SignInGuard::new(config.sign_in.clone())?),
        privacy,
    })
}

/// Opens the search indexes under `DIR/index` and starts their indexer, which brings them
/// up to the database first (see [`crate::services::indexer`]). On PostgreSQL the indexer
/// also listens for other processes' commits.
pub async fn open_matching(
    stores: &Stores,
    suppression_threshold: u64,
    mut indexer: IndexerSettings,
) -> anyhow::Result<Matching> {
    anyhow::ensure!(
        suppression_threshold >= 1,
        "the suppression threshold must be at least 1"
    );
    if let DatabaseTarget::Postgres(url) = &stores.target {
        indexer.listen_url = Some(url.clone());
    }
    Matching::open(
        &stores.data_dir.root().join("index"),
        &stores.db,
        Suppression::new(suppression_threshold),
        indexer,
        stores.writer.index_wake(),
    )
    .await
}

/// A server bound to its address, ready to run.
pub struct BoundServer {
    listener: TcpListener,
    app: axum::Router,
    matching: Matching,
}

impl BoundServer {
    /// Loads the state and binds the listening socket (port 0 picks a free port).
    pub async fn bind(config: &ServeConfig) -> anyhow::Result<Self> {
        Self::bind_with(load_state(config).await?, config).await
    }

    /// Binds the listening socket for an already loaded state.
    pub async fn bind_with(state: AppState, config: &ServeConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let schema = build_schema(state.clone());
        Ok(Self {
            listener,
            matching: state.matching.clone(),
            app: router(state, schema, config.limits),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then stops the indexer.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = self.app.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed");
        self.matching.indexer().stop().await;
        served
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
