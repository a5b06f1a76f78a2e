//! One leg's store (a SQLite file or a fresh PostgreSQL database) and the `veritrial serve`
//! processes on it, each with its own data directory, all sharing their secrets.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;

use crate::client::Client;

/// How long a process may take to answer `/healthz` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Which database a leg runs on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// How the processes share their secrets: today a common JWT secret file (each process
/// keeps its own ledger and pseudonym keys); with `--keys-dir`, one key directory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SharedKeys {
    JwtSecretFile,
    KeysDir,
}

/// Where the PostgreSQL legs create their database.
pub struct PgTarget {
    /// An existing database on 127.0.0.1 to connect to for `CREATE DATABASE`.
    pub admin_url: String,
    /// The database each PostgreSQL leg creates afresh and drops at its end.
    pub name: String,
}

/// A fresh store: a temporary directory (data directories, secrets, logs) and the database.
pub struct Store {
    veritrial: PathBuf,
    dir: TempDir,
    database_url: String,
    pg: Option<String>,
    admin_url: String,
}

impl Store {
    /// A fresh store on `backend`; for PostgreSQL the database `pg.name` is (re)created.
    pub async fn create(veritrial: &Path, backend: Backend, pg: &PgTarget) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let (database_url, pg_name) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("veritrial.db").display()),
                None,
            ),
            Backend::Postgres => {
                recreate_database(&pg.admin_url, &pg.name).await?;
                let base = pg
                    .admin_url
                    .rsplit_once('/')
                    .map_or(pg.admin_url.as_str(), |(base, _)| base);
                (format!("{base}/{}", pg.name), Some(pg.name.clone()))
            }
        };
        let store = Self {
            veritrial: veritrial.to_path_buf(),
            dir,
            database_url,
            pg: pg_name,
            admin_url: pg.admin_url.clone(),
        };
        store.run(&["migrate"], None)?;
        Ok(store)
    }

    /// Drops the PostgreSQL database, if any; the directory goes with `self`.
    pub async fn close(self) -> Result<(), String> {
        match &self.pg {
            Some(name) => drop_database(&self.admin_url, name).await,
            None => Ok(()),
        }
    }

    /// Adds an organisation of `kind` and one user of `role` in it.
    pub fn account(
        &self,
        org: &str,
        kind: &str,
        email: &str,
        role: &str,
        password: &str,
    ) -> Result<(), String> {
        self.run(&["org", "add", "--name", org, "--kind", kind], None)?;
        self.run(
            &[
                "user",
                "add",
                "--email",
                email,
                "--name",
                role,
                "--org",
                org,
                "--role",
                role,
                "--password-stdin",
            ],
            Some(password),
        )
    }

    /// `n` processes on this store, the first started alone (it may create shared keys).
    pub async fn serve(&self, n: usize, keys: SharedKeys) -> Result<Vec<Process>, String> {
        let shared = self.shared_key_flags(keys)?;
        let mut processes = vec![self.start(0, &shared)?];
        processes[0].healthy().await?;
        for i in 1..n {
            processes.push(self.start(i, &shared)?);
        }
        for process in &processes[1..] {
            process.healthy().await?;
        }
        Ok(processes)
    }

    fn shared_key_flags(&self, keys: SharedKeys) -> Result<Vec<String>, String> {
        Ok(match keys {
            SharedKeys::JwtSecretFile => {
                let path = self.dir.path().join("jwt.secret");
                write_private(&path, &rand::random::<[u8; 32]>())?;
                vec!["--jwt-secret-file".into(), path.display().to_string()]
            }
            SharedKeys::KeysDir => {
                let path = self.dir.path().join("keys");
                std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                vec!["--keys-dir".into(), path.display().to_string()]
            }
        })
    }

    /// Process `i`'s data directory (process 0's is also the CLI's).
    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("data-{i}"))
    }

    fn command(&self, i: usize) -> Command {
        let mut command = Command::new(&self.veritrial);
        command
            .env("VERITRIAL_DATA_DIR", self.data_dir(i))
            .env("DATABASE_URL", &self.database_url);
        command
    }

    /// Runs a CLI command on the store; `Err` carries its standard error.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<(), String> {
        use std::io::Write;
        let mut child = self
            .command(0)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.veritrial.display()))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            writeln!(pipe, "{text}").map_err(|e| format!("veritrial {}: {e}", args[0]))?;
        }
        let output = child.wait_with_output().map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`veritrial {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    fn start(&self, i: usize, shared: &[String]) -> Result<Process, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = self.dir.path().join(format!("serve-{i}.log"));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = self
            .command(i)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(shared)
            .stdout(file.try_clone().map_err(|e| e.to_string())?)
            .stderr(file)
            .spawn()
            .map_err(|e| format!("cannot start veritrial serve: {e}"))?;
        Ok(Process {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        })
    }
}

/// A `veritrial serve` process, killed when dropped.
pub struct Process {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: PathBuf,
}

impl Process {
    async fn healthy(&self) -> Result<(), String> {
        let client = Client::for_each(std::slice::from_ref(&self.url)).remove(0);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if client.health().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        Err(format!(
            "{} did not become healthy within {} s; its log:\n{log}",
            self.url,
            START_TIMEOUT.as_secs()
        ))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `bytes` to a new owner-only file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}

async fn admin(admin_url: &str, sql: &str) -> Result<(), String> {
    let db = Database::connect(admin_url)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL at {admin_url}: {e}"))?;
    db.execute_unprepared(sql)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    db.close().await.map_err(|e| e.to_string())
}

async fn recreate_database(admin_url: &str, name: &str) -> Result<(), String> {
    drop_database(admin_url, name).await?;
    admin(admin_url, &format!("CREATE DATABASE \"{name}\"")).await
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    admin(
        admin_url,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
}
