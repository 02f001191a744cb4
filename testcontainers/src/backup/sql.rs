//! The SQL side of a drill: connections to the server under drill, and the row counts a drill
//! compares before and after.

use std::time::Duration;

use sqlx::Connection;

use super::{BackupError, sql_error};
use crate::Server;

/// Tables whose rows a drill counts before and after.
pub const COUNTED_TABLES: [&str; 5] = [
    "tenants",
    "users",
    "employees",
    "attendance",
    "leave_requests",
];

/// Rows per table of [`COUNTED_TABLES`] (a table that cannot be read, e.g. after a dropped
/// database, counts as `None`).
pub async fn row_counts(server: &Server) -> Vec<(&'static str, Option<u64>)> {
    let mut out = Vec::new();
    let mut conn = connect(server).await.ok();
    for table in COUNTED_TABLES {
        let count = match conn.as_mut() {
            Some(c) => {
                // Table names from the constant list above.
                let sql = sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"));
                sqlx::query_scalar::<_, i64>(sql)
            }
            .fetch_one(c)
            .await
            .ok()
            .and_then(|n| u64::try_from(n).ok()),
            None => None,
        };
        out.push((table, count));
    }
    out
}

pub(super) async fn connect(server: &Server) -> Result<sqlx::PgConnection, BackupError> {
    connect_to(server, "postgres").await
}

pub(super) async fn connect_to(
    server: &Server,
    database: &str,
) -> Result<sqlx::PgConnection, BackupError> {
    let mut url = server.url().clone();
    url.set_path(database);
    let attempt = sqlx::PgConnection::connect(url.as_str());
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(result) => result.map_err(sql_error("connecting to Postgres")),
        Err(_) => Err(BackupError::Tool {
            what: "connecting to Postgres".into(),
            status: "timeout".into(),
            output: "no answer within 10 s".into(),
        }),
    }
}

/// A SQL string literal.
pub(super) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
