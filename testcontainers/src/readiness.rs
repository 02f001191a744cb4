//! "Ready" means the server answers a real query, not that its port accepts TCP: Postgres
//! accepts connections during recovery and refuses them with "the database system is starting
//! up", and a paused container's port is still open.

use std::time::{Duration, Instant};

use sqlx::Connection;
use url::Url;

use crate::{Role, error::ProvisionError};

/// One attempt never waits longer than this, so a frozen server cannot eat the whole deadline
/// in a single connect.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Between attempts. Short: native Postgres is ready ~50 ms after spawn.
const RETRY_INTERVAL: Duration = Duration::from_millis(20);

/// Runs `SELECT 1` (Postgres) or `PING` (Redis) once.
pub async fn probe(role: Role, url: &Url) -> Result<(), String> {
    let attempt = async {
        match role {
            Role::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                let one: i32 = sqlx::query_scalar("SELECT 1")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                if one == 1 {
                    Ok(())
                } else {
                    Err(format!("SELECT 1 returned {one}"))
                }
            }
            Role::Redis => {
                let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| e.to_string())?;
                let pong: String = redis::cmd("PING")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                if pong == "PONG" {
                    Ok(())
                } else {
                    Err(format!("PING answered {pong:?}"))
                }
            }
        }
    };
    match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {ATTEMPT_TIMEOUT:?}")),
    }
}

/// Polls [`probe`] until it succeeds or `timeout` passes. `log_tail` is called only on failure,
/// to attach the server's own explanation to the error.
pub async fn wait_ready(
    role: Role,
    url: &Url,
    timeout: Duration,
    log_tail: impl Fn() -> String,
) -> Result<Duration, ProvisionError> {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        let last_error = match probe(role, url).await {
            Ok(()) => return Ok(started.elapsed()),
            Err(e) => e,
        };
        if Instant::now() + RETRY_INTERVAL >= deadline {
            return Err(ProvisionError::NotReady {
                role,
                url: crate::redact(url),
                timeout,
                last_error,
                log_tail: log_tail(),
            });
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}
