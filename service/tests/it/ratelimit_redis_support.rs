//! A provisioned Redis for the limiter's bucket-level tests, and the small helpers they share.
//!
//! The stack comes from `gauntlet_testcontainers` like every other test's, so the faults
//! (`kill`, `start`, `pause`, `unpause`) are the same ones the harness injects and the URL stays
//! valid across them. Its Postgres goes unused: one shared provisioning path is worth more
//! than the ~0.3 s it costs.

use std::time::Duration;

use gauntlet_testcontainers::{ProvisionConfig, Server, Stack};
use hrms::ratelimit::{ClassLimits, Decision, EndpointClass, RateLimitConfig, RateLimiter, Tier};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use uuid::Uuid;

use crate::helpers::poll_until;

/// How long a fault test waits for Redis decisions to come back after Redis does. Generous:
/// a docker `start` plus a reconnect on a loaded 2-core machine can take seconds.
pub const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);

/// Own Redis (and an idle Postgres) for one test; both are removed on drop.
pub struct RedisFixture {
    stack: Stack,
}

impl RedisFixture {
    /// Provisions with the backend chosen by `GAUNTLET_BACKEND` (default: auto).
    pub async fn provision() -> Self {
        let config = ProvisionConfig::from_env().expect("provisioning config");
        let stack = Stack::provision(&config)
            .await
            .expect("provision postgres and redis");
        Self { stack }
    }

    /// The Redis server, for its lifecycle controls.
    pub fn redis(&self) -> &Server {
        &self.stack.redis
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(self.stack.redis.url().as_str()).expect("redis url")
    }

    /// A connection manager tuned as the service should tune it: short timeouts and quick
    /// reconnects, so an outage is noticed fast and recovery is prompt.
    pub async fn manager(&self) -> ConnectionManager {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(200)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(200));
        ConnectionManager::new_with_config(self.client(), config)
            .await
            .expect("connect to redis")
    }

    /// A limiter over a fresh connection manager.
    pub async fn limiter(&self, config: RateLimitConfig) -> RateLimiter {
        RateLimiter::new(Some(self.manager().await), config)
    }

    /// A plain connection for looking at the limiter's keys behind its back.
    pub async fn raw(&self) -> MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("raw redis connection")
    }

    /// Whether `key` is present in Redis right now.
    pub async fn key_exists(&self, key: &str) -> bool {
        let mut raw = self.raw().await;
        redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut raw)
            .await
            .expect("EXISTS")
    }
}

/// Checked limits; the arguments in these tests are always valid.
pub fn limits(capacity: u32, refill_per_sec: f64) -> ClassLimits {
    ClassLimits::new(capacity, refill_per_sec).expect("valid limits")
}

/// Checks `(tenant, class)` on the free tier until `done` accepts a decision, within
/// `deadline`. Returns the accepted decision.
pub async fn check_until(
    rl: &RateLimiter,
    tenant: Uuid,
    class: EndpointClass,
    deadline: Duration,
    what: &str,
    done: impl Fn(&Decision) -> bool,
) -> Decision {
    poll_until(deadline, what, || async {
        let d = rl.check(tenant, Tier::Free, class).await;
        if done(&d) {
            Ok(d)
        } else {
            Err(format!("{d:?}"))
        }
    })
    .await
}

/// Checks until a decision comes from Redis (not degraded), within [`RECOVERY_DEADLINE`].
pub async fn until_redis_decides(rl: &RateLimiter, tenant: Uuid, class: EndpointClass) -> Decision {
    check_until(
        rl,
        tenant,
        class,
        RECOVERY_DEADLINE,
        "decisions back on redis",
        |d| !d.degraded,
    )
    .await
}
