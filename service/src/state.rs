//! Shared application state handed to every handler.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::auth::{Passwords, TokenKeys};
use crate::config::Secret;
use crate::jobs::JobQueue;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// Cheap-to-clone handle on everything the handlers share.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts.
pub struct Inner {
    /// Postgres pool (tenant work goes through [`crate::db::begin_tenant`]).
    pub db: PgPool,
    /// Redis; reconnects by itself after an outage.
    pub redis: ConnectionManager,
    /// Access-token keys.
    pub tokens: TokenKeys,
    /// Password hashing.
    pub passwords: Passwords,
    /// A hash verified when the login email is unknown, so "no such user" takes as long as
    /// "wrong password" and response time does not reveal which emails exist.
    pub dummy_hash: String,
    /// Per-tenant rate limiter.
    pub limiter: RateLimiter,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Payroll job queue.
    pub jobs: JobQueue,
    /// The platform operator's bearer token (`None` disables `/admin/*`).
    pub operator_token: Option<Secret>,
    /// Timeout for readiness probes of Postgres and Redis.
    pub probe_timeout: std::time::Duration,
    /// Body limit and request timeout for the router.
    pub server: crate::config::ServerSettings,
    /// Seeded defects switched on (all off in a correct service).
    pub defects: crate::defects::Defects,
    /// Short-TTL cache of read-heavy responses.
    pub cache: crate::cache::ResponseCache,
    /// Recently checked account statuses: deactivation ends tokens within `sessions::TTL`.
    pub accounts: crate::sessions::AccountStatus,
    /// The write-behind buffer of the `ack_before_durable` defect; `None` unless it is on.
    pub write_behind: Option<crate::write_behind::WriteBehind>,
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
