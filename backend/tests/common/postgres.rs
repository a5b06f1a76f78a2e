//! A PostgreSQL database of its own for one test, dropped afterwards.
//!
//! The server is `VERITRIAL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it is unreachable, PostgreSQL tests
//! are skipped with a loud message, except under `CI=true`, where they fail.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A freshly created database.
pub struct PgDatabase {
    /// Connection URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates a uniquely named database, or returns `None` (outside CI) when no server answers.
    pub async fn create() -> Option<Self> {
        let admin_url = std::env::var("VERITRIAL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string());
        let admin = match Database::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(err) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("CI=true but PostgreSQL at {admin_url} is unreachable: {err}");
                }
                eprintln!("SKIPPED (PostgreSQL leg): cannot connect to {admin_url}: {err}");
                return None;
            }
        };
        let name = format!("vt_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Some(Self {
            url: format!("{base}/{name}"),
            admin_url: admin_url.clone(),
            name,
        })
    }

    /// A direct connection to the test database, for tests that look behind the app's back.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(&self.url)
            .await
            .expect("connect to test database")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs outside any async context: use a short-lived runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin.execute_unprepared(&sql).await.ok()
            })
        })
        .join();
    }
}
