//! The `veritrial` command line.

use std::io::BufRead;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

mod bench;
mod bench_export;
mod bench_privacy;
mod import;
mod keys;
mod ledger;
mod witness;
mod witnessed;

use crate::auth::limiter::Rate;
use crate::auth::throttle::SignInPolicy;
use crate::demo;
use crate::domain::{OrgKind, Role};
use crate::http::HttpLimits;
use crate::server::{self, BoundServer, PrivacySettings, ServeConfig, StoreConfig};
use crate::services::accounts;
use crate::services::attachments::AttachmentsConfig;
use crate::services::indexer::{DEFAULT_OUTBOX_RETENTION, IndexerSettings};

/// Veritrial: find consenting patients for clinical trials without seeing who they are,
/// and keep a tamper-evident ledger of everything that happens in a trial.
#[derive(Debug, Parser)]
#[command(name = "veritrial", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: GraphQL API at /graphql (GraphiQL in a browser), web app at /.
    Serve(ServeArgs),
    /// Run the server with a ready-made demo world and print how to sign in.
    Demo(ServeArgs),
    /// Apply pending database migrations and exit (serve also does this on start).
    Migrate(StoreArgs),
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Import ClinicalTrials.gov studies or FHIR R4 patient bundles.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Write a trial's self-contained HTML audit report (prints cleanly to PDF).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Bring this data directory's search indexes (patients, trials) up to the database:
    /// resume from their watermark, or rebuild them with --full.
    Reindex(ReindexArgs),
    /// Export, verify or inspect this node's ledger.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Show or rotate the keys of the key directory (README "Keys").
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Verify a ledger export or a consent receipt offline, with no database.
    Verify(ledger::VerifyArgs),
    /// Measure the service on this machine (see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run a witness node: cosign other logs' checkpoints (C2SP tlog-witness) and keep
    /// evidence when a log contradicts itself (README "Witnesses").
    Witness(witness::WitnessArgs),
    /// Print the GraphQL schema (SDL), the API contract.
    Schema,
}

/// Where the data lives.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Data directory: the embedded SQLite database, keys, index and attachments
    /// [default: ./veritrial-data; ./veritrial-demo for `demo`].
    #[arg(long, env = "VERITRIAL_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Key directory: the ledger signing key, per-site pseudonym keys, the JWT secret and the
    /// cohort-noise key. Every process on one database must use the same one (a shared,
    /// owner-only directory); keys missing from it are generated there
    /// [default: DIR/keys].
    #[arg(long, env = "VERITRIAL_KEYS_DIR", value_name = "PATH")]
    keys_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite file, e.g. postgres://user@host:5432/veritrial.
    #[arg(long, env = "DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Size of the database connection pool.
    #[arg(
        long,
        env = "VERITRIAL_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        value_name = "N"
    )]
    db_max_connections: u32,
    /// Name of this node's ledger: the first line of its signed checkpoints and the name of
    /// its public key. Keep it stable once checkpoints have been handed out.
    #[arg(long, env = "VERITRIAL_LEDGER_ORIGIN", default_value = crate::services::ledger::DEFAULT_ORIGIN, value_name = "NAME")]
    ledger_origin: String,
    /// Where attachment files are stored: s3://bucket/prefix (credentials and region from the
    /// AWS_* environment variables), or file:///directory (e.g. shared by several processes)
    /// [default: DIR/attachments].
    #[arg(long, env = "VERITRIAL_ATTACHMENTS_URL", value_name = "URL")]
    attachments_url: Option<String>,
    /// Endpoint of an S3-compatible server for s3:// attachments, e.g. http://127.0.0.1:9000
    /// [default: AWS_ENDPOINT_URL, else AWS itself].
    #[arg(long, env = "VERITRIAL_S3_ENDPOINT", value_name = "URL")]
    s3_endpoint: Option<String>,
}

impl StoreArgs {
    pub fn config(&self, default_dir: &str) -> StoreConfig {
        StoreConfig {
            data_dir: self.data_dir.clone().unwrap_or_else(|| default_dir.into()),
            keys_dir: self.keys_dir.clone(),
            database_url: self.database_url.clone(),
            max_connections: self.db_max_connections,
            ledger_origin: self.ledger_origin.clone(),
            attachments: AttachmentsConfig {
                url: self.attachments_url.clone(),
                s3_endpoint: self.s3_endpoint.clone(),
                s3_settings: Vec::new(),
            },
        }
    }
}

/// What `reindex` does.
#[derive(Debug, Args)]
struct ReindexArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Rebuild both indexes from the database even when their watermarks are good.
    #[arg(long)]
    full: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address and port to listen on.
    #[arg(
        long,
        env = "VERITRIAL_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    listen: SocketAddr,
    /// File holding the secret that signs sign-in tokens (at least 32 bytes)
    /// [default: jwt.secret in the key directory, generated on first start].
    #[arg(long, env = "VERITRIAL_JWT_SECRET_FILE", value_name = "FILE")]
    jwt_secret_file: Option<PathBuf>,
    /// How long a sign-in token stays valid, in minutes.
    #[arg(
        long,
        env = "VERITRIAL_TOKEN_MINUTES",
        default_value_t = 480,
        value_name = "MIN"
    )]
    token_minutes: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "VERITRIAL_MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_name = "BYTES")]
    max_body_bytes: usize,
    /// Largest attachment accepted, in bytes (uploads are streamed, never held in memory).
    #[arg(long, env = "VERITRIAL_MAX_UPLOAD_BYTES", default_value_t = 4 * 1024 * 1024 * 1024, value_name = "BYTES")]
    max_upload_bytes: u64,
    /// Cohort counts below this are shown as "fewer than N", never as the number.
    #[arg(
        long,
        env = "VERITRIAL_SUPPRESSION_THRESHOLD",
        default_value_t = 11,
        value_name = "N"
    )]
    suppression_threshold: u64,
    /// Standard deviation of the noise added to every cohort count shown to recruiters,
    /// sponsors and admins (docs/privacy.md).
    #[arg(
        long,
        env = "VERITRIAL_COHORT_NOISE_SIGMA",
        default_value_t = PrivacySettings::default().noise_sigma,
        value_name = "SIGMA"
    )]
    cohort_noise_sigma: u32,
    /// Privacy budget (zCDP ρ) of one user over one budget window.
    #[arg(
        long,
        env = "VERITRIAL_COHORT_PRIVACY_BUDGET",
        default_value_t = PrivacySettings::default().budget,
        value_name = "RHO"
    )]
    cohort_privacy_budget: f64,
    /// The privacy budget's rolling window, in hours.
    #[arg(
        long,
        env = "VERITRIAL_COHORT_BUDGET_HOURS",
        default_value_t = 24,
        value_name = "HOURS"
    )]
    cohort_budget_hours: u64,
    /// How long a cohort query or trial search waits for this server's search index to
    /// reflect every change committed before it started (by any server), in milliseconds;
    /// past it the query answers INDEX_BEHIND.
    #[arg(
        long,
        env = "VERITRIAL_INDEX_FRESHNESS_TIMEOUT_MS",
        default_value_t = 2_000,
        value_name = "MS"
    )]
    index_freshness_timeout_ms: u64,
    /// Outbox positions kept behind this process's search-index watermark; older ones are
    /// deleted (a process whose index fell further behind rebuilds it on start).
    #[arg(
        long,
        env = "VERITRIAL_OUTBOX_RETENTION",
        default_value_t = DEFAULT_OUTBOX_RETENTION,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "POSITIONS"
    )]
    outbox_retention: u64,
    /// Longest time a request may take, in seconds.
    #[arg(
        long,
        env = "VERITRIAL_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        value_name = "SECS"
    )]
    request_timeout_secs: u64,
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    witnesses: WitnessArgs,
}

/// Witnesses that cosign the ledger's checkpoints (README "Witnesses").
#[derive(Debug, Args)]
struct WitnessArgs {
    /// A witness to ask for a cosignature of every checkpoint: its cosignature/v1 verifier
    /// key, `=`, and its URL prefix (requests go to URL/add-checkpoint), e.g.
    /// `witness.example+1a2b3c4d+BASE64=https://witness.example/`. Repeatable; in the
    /// environment, separated by commas.
    #[arg(
        long = "witness",
        env = "VERITRIAL_WITNESSES",
        value_delimiter = ',',
        value_name = "NAME+KEY=URL"
    )]
    witness: Vec<crate::services::ledger::WitnessSpec>,
    /// Cosignatures a checkpoint needs to count as witnessed (at most the number of
    /// witnesses) [default: all of them].
    #[arg(long, env = "VERITRIAL_WITNESS_QUORUM", value_name = "K")]
    witness_quorum: Option<usize>,
}

impl WitnessArgs {
    fn settings(&self) -> anyhow::Result<crate::services::ledger::WitnessSettings> {
        let quorum = self.witness_quorum.unwrap_or(self.witness.len());
        anyhow::ensure!(
            quorum <= self.witness.len(),
            "--witness-quorum {quorum} is more than the {} witnesses configured",
            self.witness.len()
        );
        Ok(crate::services::ledger::WitnessSettings {
            witnesses: self.witness.clone(),
            quorum,
        })
    }
}

/// Sign-in limits.
#[derive(Debug, Args)]
struct SignInArgs {
    /// Sign-in attempts allowed per client address (IPv6 by /64) per minute, as seen on
    /// the TCP connection (X-Forwarded-For is not trusted).
    #[arg(
        long,
        env = "VERITRIAL_LOGIN_PER_ADDRESS_PER_MINUTE",
        default_value = "30",
        value_name = "N"
    )]
    login_per_address_per_minute: NonZeroU32,
    /// Sign-in attempts allowed per account email (known or not) per minute.
    #[arg(
        long,
        env = "VERITRIAL_LOGIN_PER_EMAIL_PER_MINUTE",
        default_value = "10",
        value_name = "N"
    )]
    login_per_email_per_minute: NonZeroU32,
    /// Failed sign-ins within the lockout time that lock an email out; 0 turns lockout off.
    #[arg(
        long,
        env = "VERITRIAL_LOGIN_MAX_FAILURES",
        default_value_t = 5,
        value_name = "N"
    )]
    login_max_failures: u32,
    /// How long failed sign-ins are counted for, and how long a lockout lasts, in minutes.
    #[arg(
        long,
        env = "VERITRIAL_LOGIN_LOCKOUT_MINUTES",
        default_value_t = 15,
        value_name = "MIN"
    )]
    login_lockout_minutes: u64,
    /// Password hashes computed at once (each takes about 19 MiB); 0 means one per core.
    #[arg(
        long,
        env = "VERITRIAL_LOGIN_HASH_PERMITS",
        default_value_t = 0,
        value_name = "N"
    )]
    login_hash_permits: usize,
    /// Sign-ins that may wait for a hashing permit; beyond that they get RATE_LIMITED at once.
    #[arg(
        long,
        env = "VERITRIAL_LOGIN_HASH_QUEUE",
        default_value_t = 32,
        value_name = "N"
    )]
    login_hash_queue: usize,
}

impl SignInArgs {
    fn policy(&self) -> SignInPolicy {
        SignInPolicy {
            hash_permits: self.login_hash_permits,
            hash_queue: self.login_hash_queue,
            per_address: Rate::per_minute(self.login_per_address_per_minute),
            per_email: Rate::per_minute(self.login_per_email_per_minute),
            max_failures: self.login_max_failures,
            lockout: Duration::from_secs(self.login_lockout_minutes.saturating_mul(60)),
        }
    }
}

impl ServeArgs {
    fn config(&self, default_dir: &str) -> anyhow::Result<ServeConfig> {
        Ok(ServeConfig {
            store: self.store.config(default_dir),
            listen: self.listen,
            jwt_secret_file: self.jwt_secret_file.clone(),
            token_lifetime: Duration::from_secs(self.token_minutes * 60),
            suppression_threshold: self.suppression_threshold,
            privacy: PrivacySettings {
                noise_sigma: self.cohort_noise_sigma,
                budget: self.cohort_privacy_budget,
                window: Duration::from_secs(self.cohort_budget_hours * 3600),
            },
            limits: HttpLimits {
                max_body_bytes: self.max_body_bytes,
                request_timeout: Duration::from_secs(self.request_timeout_secs),
                max_upload_bytes: self.max_upload_bytes,
            },
            sign_in: self.sign_in.policy(),
            index_freshness_timeout: Duration::from_millis(self.index_freshness_timeout_ms),
            outbox_retention: Some(self.outbox_retention),
            witnesses: self.witnesses.settings()?,
        })
    }
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// The audit report of one trial.
    Trial {
        #[command(flatten)]
        store: StoreArgs,
        /// The trial's id.
        id: String,
        /// The HTML file to write.
        #[arg(long, value_name = "FILE.html")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Add an organisation.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Unique name, e.g. "St Mary's Hospital".
        #[arg(long)]
        name: String,
        /// What the organisation does.
        #[arg(long, value_enum)]
        kind: OrgKind,
    },
    /// List organisations.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user to an existing organisation. The password is read from standard input
    /// (never from the command line): `echo "$PASSWORD" | veritrial user add … --password-stdin`.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// The person's name, printed on their electronic signatures, e.g. "Dr Ada Byron".
        #[arg(long)]
        name: String,
        /// Name of the organisation the user belongs to.
        #[arg(long)]
        org: String,
        /// What the user may do; it must fit the organisation's kind.
        #[arg(long, value_enum)]
        role: Role,
        /// Read the password (at least 10 characters) from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Lift a lockout after repeated failed sign-ins.
    Unlock(UserArgs),
    /// Stop a user from signing in; their tokens are refused from the next request on.
    Deactivate(UserArgs),
    /// Let a deactivated user sign in again.
    Activate(UserArgs),
    /// Change a user's role (it must fit the organisation's kind); their tokens are refused
    /// from the next request on.
    SetRole {
        #[command(flatten)]
        user: UserArgs,
        /// The new role.
        #[arg(long, value_enum)]
        role: Role,
    },
}

/// Which user a `user` command acts on.
#[derive(Debug, Args)]
struct UserArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The user's sign-in email.
    #[arg(long)]
    email: String,
}

impl UserArgs {
    async fn open(&self) -> anyhow::Result<(server::Stores, crate::entities::user::Model)> {
        let stores = server::open_stores(&self.store.config(DATA_DIR)).await?;
        let user = accounts::user_by_email(&stores.db, &self.email).await?;
        Ok((stores, user))
    }
}

const DATA_DIR: &str = "./veritrial-data";
const DEMO_DIR: &str = "./veritrial-demo";

impl Cli {
    /// Runs the parsed command.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve(args.config(DATA_DIR)?).await,
            Command::Demo(args) => {
                let config = args.config(DEMO_DIR)?;
                let state = server::load_state(&config).await?;
                let accounts = demo::ensure_world(&state).await?;
                let bound = BoundServer::bind_with(state, &config).await?;
                demo::print_welcome(bound.local_addr()?, &accounts);
                bound.run(server::shutdown_signal()).await
            }
            Command::Migrate(store) => {
                server::open_stores(&store.config(DATA_DIR)).await?;
                println!("the database is up to date");
                Ok(())
            }
            Command::Org(OrgCommand::Add { store, name, kind }) => {
                let stores = server::open_stores(&store.config(DATA_DIR)).await?;
                let org = accounts::create_organization(&stores.db, &name, kind).await?;
                println!(
                    "added {} organisation {:?} (id {})",
                    org.kind, org.name, org.id
                );
                Ok(())
            }
            Command::Org(OrgCommand::List { store }) => {
                let stores = server::open_stores(&store.config(DATA_DIR)).await?;
                for org in accounts::organizations(&stores.db).await? {
                    println!("{}\t{}\t{}", org.id, org.kind, org.name);
                }
                Ok(())
            }
            Command::User(UserCommand::Add {
                store,
                email,
                name,
                org,
                role,
                password_stdin: _,
            }) => {
                let password = read_password_line()?;
                let stores = server::open_stores(&store.config(DATA_DIR)).await?;
                let new = accounts::NewUser {
                    email: &email,
                    display_name: &name,
                    org_name: &org,
                    role,
                    password: &password,
                };
                let user = accounts::create_user(&stores.db, new).await?;
                println!(
                    "added {} user {} to {:?} (id {})",
                    user.role, user.email, org, user.id
                );
                Ok(())
            }
            Command::User(UserCommand::Unlock(args)) => {
                let (stores, user) = args.open().await?;
                accounts::unlock(&stores.db, &user.id).await?;
                println!("unlocked {}", user.email);
                Ok(())
            }
            Command::User(UserCommand::Deactivate(args)) => {
                let (stores, user) = args.open().await?;
                accounts::set_active(&stores.db, None, &user.id, false).await?;
                println!("deactivated {}; their sessions are revoked", user.email);
                Ok(())
            }
            Command::User(UserCommand::Activate(args)) => {
                let (stores, user) = args.open().await?;
                accounts::set_active(&stores.db, None, &user.id, true).await?;
                println!("activated {}", user.email);
                Ok(())
            }
            Command::User(UserCommand::SetRole { user: args, role }) => {
                let (stores, user) = args.open().await?;
                accounts::set_role(&stores.db, None, &user.id, role).await?;
                println!("{} is now {role}; their sessions are revoked", user.email);
                Ok(())
            }
            Command::Import(command) => command.run(DATA_DIR).await,
            Command::Report(ReportCommand::Trial { store, id, out }) => {
                let state =
                    server::load_state(&ServeConfig::for_tools(store.config(DATA_DIR))).await?;
                let operator = crate::auth::Principal {
                    user_id: "operator".into(),
                    org_id: "operator".into(),
                    role: Role::Admin,
                };
                let html = crate::services::report::trial_report(&state, &operator, &id).await?;
                std::fs::write(&out, html)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                println!("wrote the audit report of trial {id} to {}", out.display());
                Ok(())
            }
            Command::Reindex(args) => {
                let stores = server::open_stores(&args.store.config(DATA_DIR)).await?;
                let settings = IndexerSettings {
                    full_rebuild: args.full,
                    ..IndexerSettings::default()
                };
                let matching = server::open_matching(&stores, 11, settings).await?;
                matching.indexer().stop().await;
                let profiles = matching.run_profiles(|index| index.len()).await?;
                let trials = matching.run_trials(|index| index.len()).await?;
                println!(
                    "the search indexes reflect the database up to change {}: {profiles} consenting patient profiles, {trials} trials",
                    matching.indexer().applied()
                );
                Ok(())
            }
            Command::Ledger(command) => command.run(DATA_DIR).await,
            Command::Keys(command) => command.run(DATA_DIR).await,
            Command::Verify(args) => args.run(),
            Command::Bench(command) => command.run(DATA_DIR).await,
            Command::Witness(args) => args.run().await,
            Command::Schema => {
                print!("{}", crate::graphql::sdl());
                Ok(())
            }
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let bound = BoundServer::bind(&config).await?;
    let addr = bound.local_addr()?;
    println!(
        "Veritrial is listening on http://{addr}/ (GraphQL and GraphiQL at http://{addr}/graphql)"
    );
    bound.run(server::shutdown_signal()).await
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !password.is_empty(),
        "no password on standard input: pipe it in, e.g. `echo \"$PASSWORD\" | veritrial user add … --password-stdin`"
    );
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
