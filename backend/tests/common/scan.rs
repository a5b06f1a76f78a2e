//! Everything a node has stored, as text, for the tests that prove an identifier is not in it.

use std::path::Path;

use sea_orm::{ConnectionTrait, Statement};
use veritrial::server::open_stores;

use super::{Backend, TestServer};

/// Every byte the server stored: each file under its data directory (the SQLite database
/// after a WAL checkpoint, the search indexes, keys, attachments), and on PostgreSQL every
/// row of every table, as JSON. Binary bytes are read lossily: an ASCII identifier shows.
pub async fn stored_text(server: &TestServer, backend: Backend) -> String {
    let stores = open_stores(&server.store.config()).await.expect("stores");
    let mut text = String::new();
    match backend {
        Backend::Sqlite => {
            stores
                .db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .expect("checkpoint");
        }
        Backend::Postgres => {
            let tables = stores
                .db
                .query_all_raw(Statement::from_string(
                    stores.db.get_database_backend(),
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                ))
                .await
                .expect("tables");
            for row in tables {
                let table: String = row.try_get("", "tablename").expect("name");
                let rows = stores
                    .db
                    .query_all_raw(Statement::from_string(
                        stores.db.get_database_backend(),
                        format!("SELECT row_to_json(t)::text AS j FROM \"{table}\" t"),
                    ))
                    .await
                    .expect("rows");
                for row in rows {
                    text.push_str(&row.try_get::<String>("", "j").expect("JSON"));
                }
            }
        }
    }
    files_text(&server.data_dir(), &mut text);
    text
}

/// Appends the bytes of every file under `dir`.
fn files_text(dir: &Path, text: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_text(&path, text);
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
}
