//! Helpers shared by the lifecycle tests: short client round trips with their own deadlines.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::Connection;
use url::Url;

/// Opens a connection, runs `sql`, returns the first column of the first row as text.
pub async fn pg_query(url: &Url, sql: &str, within: Duration) -> anyhow::Result<Option<String>> {
    let attempt = async {
        let mut conn = sqlx::PgConnection::connect(url.as_str()).await?;
        let value: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_optional(&mut conn)
            .await?;
        let _ = conn.close().await;
        anyhow::Ok(value)
    };
    tokio::time::timeout(within, attempt)
        .await
        .with_context(|| format!("no answer within {within:?}"))?
}

/// Runs statements that return nothing (several allowed, unprepared).
pub async fn pg_exec(url: &Url, sql: &str, within: Duration) -> anyhow::Result<()> {
    let attempt = async {
        let mut conn = sqlx::PgConnection::connect(url.as_str()).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await?;
        let _ = conn.close().await;
        anyhow::Ok(())
    };
    tokio::time::timeout(within, attempt)
        .await
        .with_context(|| format!("no answer within {within:?}"))?
}

/// Runs a Redis command that returns a string.
pub async fn redis_cmd(
    url: &Url,
    args: &[&str],
    within: Duration,
) -> anyhow::Result<Option<String>> {
    let attempt = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let value: Option<String> = cmd.query_async(&mut conn).await?;
        anyhow::Ok(value)
    };
    tokio::time::timeout(within, attempt)
        .await
        .with_context(|| format!("no answer within {within:?}"))?
}

/// How often [`poll_until`] asks: soon after the moment (the image test measures
/// start-to-ready with it), without loading a 2-core machine.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Awaits `probe` every [`POLL_INTERVAL`] until it succeeds, for at most `within`; then the
/// error names `what` was awaited and the probe's last error.
pub async fn poll_until<F, Fut, T>(within: Duration, what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() >= deadline => {
                bail!("{what}: not within {within:?}; last: {e:#}")
            }
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// For the tests in `needs_docker` modules: an error saying what to do when no Docker engine
/// answers. `cargo xtask test` filters these tests out on such a machine (and lists them as
/// skipped), so this message is for a direct `cargo test`.
pub async fn require_docker() -> anyhow::Result<()> {
    gauntlet_testcontainers::docker::connect(Duration::from_secs(2))
        .await
        .map(drop)
        .context(
            "this test needs a Docker engine and none answers. Start one, or skip the docker \
             tests: `cargo test -- --skip needs_docker`, which `cargo xtask test` does by itself \
             when no engine answers or GAUNTLET_SKIP_DOCKER_TESTS=1",
        )
}

/// Whether any process's command line mentions `needle` (a data dir path, say).
pub fn process_mentioning(needle: &str) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        // A zombie's cmdline is empty; a live server's names its directory.
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            return Some(pid);
        }
    }
    None
}

/// Whether a TCP connection to the URL's port is refused (nothing listens any more).
pub fn port_closed(url: &Url) -> bool {
    let port = url.port().expect("provisioned URLs carry a port");
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
        .is_err()
}
