//! The witness node (`veritrial witness`): an organisation's own C2SP `tlog-witness`. It
//! holds its own Ed25519 cosigning key and its own database, and for each configured log
//! cosigns a checkpoint only if it is signed by the log's key and consistent with the latest
//! checkpoint it cosigned before. A checkpoint that contradicts that one is refused (409 for
//! the same size with another root, 422 for a consistency proof that does not lead from the
//! cosigned root, as C2SP `tlog-witness` specifies), both signed notes are
//! kept as evidence, and the alarm is raised: an `error!` line, `veritrial_witness_evidence`
//! and `veritrial_witness_alarms_total` at `GET /metrics`, and `GET /status`.
//!
//! The formats and the decision itself are pure and live in [`ledger::witness`]; this
//! module adds the key file ([`identity`]), the store ([`store`]), the transaction around
//! one request ([`submit`]), the alarm ([`alarm`]) and the HTTP routes ([`server`]).
//!
//! Start one with [`serve`] (tests, other components) or [`BoundWitness::bind`] +
//! [`BoundWitness::run`] (the command line).

pub mod alarm;
pub mod config;
pub mod identity;
pub mod mirror;
pub mod mirror_http;
pub mod mirror_store;
pub mod server;
pub mod store;
pub mod submit;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use ledger::witness::Cosigner;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

pub use config::{WitnessConfig, WitnessedLog};
use store::WitnessStore;

/// A witness node's state, shared by its request handlers.
#[derive(Debug)]
pub struct WitnessNode {
    /// Its cosigning key.
    pub cosigner: Cosigner,
    /// The logs it witnesses.
    pub logs: Vec<WitnessedLog>,
    /// Its database.
    pub store: WitnessStore,
    /// Its counters and alarm.
    pub alarm: alarm::Alarm,
    /// Serialises add-checkpoint requests (checked and stored in one transaction each).
    lock: Mutex<()>,
    /// The logs it mirrors, set once when it starts serving.
    mirrors: std::sync::OnceLock<mirror::Mirrors>,
}

impl WitnessNode {
    /// Opens the key and the store of `config`.
    pub async fn open(config: &WitnessConfig) -> anyhow::Result<Self> {
        crate::datadir::DataDir::open(&config.data_dir)?;
        let cosigner = identity::load_cosigner(&config.data_dir, config.name.as_deref())?;
        let store = WitnessStore::open(&config.data_dir, config.database_url.as_deref()).await?;
        tracing::info!(
            name = cosigner.name(),
            verifier_key = %cosigner.verifier_key(),
            database = %store.describe(),
            logs = config.logs.len(),
            "witness open"
        );
        Ok(Self {
            cosigner,
            logs: config.logs.clone(),
            store,
            alarm: alarm::Alarm::default(),
            lock: Mutex::new(()),
            mirrors: std::sync::OnceLock::new(),
        })
    }

    /// The logs it mirrors (none before it serves).
    pub fn mirrors(&self) -> Option<&mirror::Mirrors> {
        self.mirrors.get()
    }
}

/// A witness node bound to its address, ready to run.
pub struct BoundWitness {
    listener: TcpListener,
    node: Arc<WitnessNode>,
    mirror: mirror::MirrorConfig,
}

impl BoundWitness {
    /// Opens the node and binds its listening socket.
    pub async fn bind(config: &WitnessConfig) -> anyhow::Result<Self> {
        let node = Arc::new(WitnessNode::open(config).await?);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self {
            listener,
            node,
            mirror: mirror::MirrorConfig::default(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The node (its key, logs and store).
    pub fn node(&self) -> &Arc<WitnessNode> {
        &self.node
    }

    /// How it mirrors the logs it follows (by default: every log with a URL, every second,
    /// without tokens, its copy's bundles not served).
    pub fn mirroring(mut self, config: mirror::MirrorConfig) -> Self {
        self.mirror = config;
        self
    }

    /// Serves (and mirrors) until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mirrors = mirror::Mirrors::new(&self.node.logs, &self.mirror);
        if self.node.mirrors.set(mirrors).is_err() {
            anyhow::bail!("the witness node is served twice");
        }
        let follower = mirror::start(&self.node, self.mirror.interval);
        let copy = mirror_http::router(mirror_http::MirrorServing::new(&self.node, &self.mirror)?);
        let served = axum::serve(self.listener, server::router(self.node).merge(copy))
            .with_graceful_shutdown(shutdown)
            .await
            .context("the witness HTTP server failed");
        follower.abort();
        served
    }
}

/// A witness node running in this process.
pub struct RunningWitness {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The node (its verifier key: `node.cosigner.verifier_key()`).
    pub node: Arc<WitnessNode>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningWitness {
    /// Its base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it and waits until it has stopped.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.context("the witness task panicked")?
    }
}

/// Opens, binds and starts a witness node in the background.
pub async fn serve(config: WitnessConfig) -> anyhow::Result<RunningWitness> {
    let bound = BoundWitness::bind(&config).await?;
    let addr = bound.local_addr()?;
    let node = bound.node().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.run(async {
        let _ = stopped.await;
    }));
    Ok(RunningWitness {
        addr,
        node,
        shutdown,
        task,
    })
}
