//! Connecting to the database (SQLite by default, PostgreSQL when configured) and migrating it.

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::datadir::DataDir;

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// The embedded SQLite file under the data directory.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL server.
    Postgres(String),
}

impl DatabaseTarget {
    /// The target for an optional `--database-url`: SQLite under `data_dir` when absent.
    pub fn resolve(database_url: Option<&str>, data_dir: &DataDir) -> anyhow::Result<Self> {
        match database_url {
            None => Ok(Self::Sqlite(data_dir.sqlite_path())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_string()))
            }
            Some(url) => match url.strip_prefix("sqlite://") {
                Some(path) => Ok(Self::Sqlite(path.into())),
                None => anyhow::bail!(
                    "unsupported database URL {}: use postgres://… or sqlite://PATH, or leave it out for the embedded SQLite database",
                    redact(url)
                ),
            },
        }
    }

    /// A description safe to log: the password of a URL is hidden.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite at {}", path.display()),
            Self::Postgres(url) => format!("PostgreSQL at {}", redact(url)),
        }
    }
}

/// Opens a connection pool to `target`, with SQLite in WAL mode and a busy timeout.
pub async fn connect(
    target: &DatabaseTarget,
    max_connections: u32,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = match target {
        DatabaseTarget::Sqlite(path) => {
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
            options.map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
            });
            options
        }
        DatabaseTarget::Postgres(url) => {
            probe_postgres(url).await.with_context(|| {
                format!("cannot connect to the database ({})", target.describe())
            })?;
            ConnectOptions::new(url.clone())
        }
    };
    options
        .max_connections(max_connections)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database ({})", target.describe()))
}

/// One direct connection attempt: it fails at once with the real cause (refused, unknown
/// host, bad password), where a pool would retry until its timeout and hide the cause.
async fn probe_postgres(url: &str) -> Result<(), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Connection;
    let connection = tokio::time::timeout(
        Duration::from_secs(10),
        sea_orm::sqlx::postgres::PgConnection::connect(url),
    )
    .await
    .map_err(|_| sea_orm::sqlx::Error::PoolTimedOut)??;
    connection.close().await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("migrating the database failed")
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/vt"),
            "postgres://app:***@db:5432/vt"
        );
        assert_eq!(redact("postgres://app@db/vt"), "postgres://app@db/vt");
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let err = DatabaseTarget::resolve(Some("mysql://root:pw@x/db"), &dir).unwrap_err();
        assert!(err.to_string().contains("mysql://root:***@x/db"), "{err}");
        assert_eq!(
            DatabaseTarget::resolve(None, &dir).unwrap(),
            DatabaseTarget::Sqlite(dir.sqlite_path())
        );
    }
}
