//! `veritrial witness`: run a witness node, or print its verifier key.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::server::shutdown_signal;
use crate::witness::{BoundWitness, WitnessConfig, WitnessedLog, identity};

/// Where the witness keeps its data when `--data-dir` is not given.
const WITNESS_DIR: &str = "./veritrial-witness";

/// What `witness` does.
#[derive(Debug, Args)]
pub struct WitnessArgs {
    /// Data directory: the witness key (keys/witness.seed) and the embedded SQLite database
    /// (witness.db) [default: ./veritrial-witness].
    #[arg(long, env = "VERITRIAL_WITNESS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite file (a database of its own, not the
    /// log's), e.g. postgres://user@host:5432/witness.
    #[arg(long, env = "VERITRIAL_WITNESS_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDR")]
    listen: SocketAddr,
    /// The witness's key name, e.g. witness.example.org/w1
    /// [default: witness-<key id>.veritrial, from its key].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A log to witness: its origin, its verifier key (as `veritrial keys show` prints it)
    /// and, optionally, its URL. Repeat for several logs.
    #[arg(long = "log", value_name = "ORIGIN=VERIFIER_KEY[=URL]")]
    logs: Vec<WitnessedLog>,
    /// Print the witness's verifier key (give it to the logs) and exit.
    #[arg(long)]
    show_key: bool,
}

impl WitnessArgs {
    /// Runs the witness until Ctrl-C or SIGTERM, or prints its key.
    pub async fn run(self) -> anyhow::Result<()> {
        let config = WitnessConfig {
            data_dir: self.data_dir.unwrap_or_else(|| WITNESS_DIR.into()),
            database_url: self.database_url,
            listen: self.listen,
            name: self.name,
            logs: self.logs,
        };
        if self.show_key {
            crate::datadir::DataDir::open(&config.data_dir)?;
            let cosigner = identity::load_cosigner(&config.data_dir, config.name.as_deref())?;
            println!("{}", cosigner.verifier_key());
            return Ok(());
        }
        anyhow::ensure!(
            !config.logs.is_empty(),
            "no log to witness: give at least one --log ORIGIN=VERIFIER_KEY[=URL]"
        );
        let bound = BoundWitness::bind(&config).await?;
        let addr = bound.local_addr()?;
        tracing::info!(%addr, "witness listening");
        println!(
            "witness {} listening on http://{addr}",
            bound.node().cosigner.verifier_key()
        );
        bound.run(shutdown_signal()).await
    }
}
