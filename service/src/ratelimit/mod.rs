//! Per-tenant rate limiting: a token bucket per (tenant, endpoint class).
//!
//! Map of the module:
//! - `config`: tiers, endpoint classes, bucket shapes, the typed [`RateLimitConfig`];
//!   `duration` reads its durations (`"50ms"` or seconds).
//! - `redis_bucket`: the fleet-wide bucket, one Lua script per decision (one round trip).
//! - `local_bucket`: the same math in process memory, used while Redis cannot answer.
//! - `health`: when to ask Redis, one probe per interval after a failure, one log per switch.
//! - `usage`: per-bucket usage for metrics and the near-the-limit webhook.
//! - `headers`: the `RateLimit-*` / `Retry-After` response headers.
//!
//! How callers map a [`Decision`] to HTTP: allowed → pass on, adding [`Decision::headers`];
//! refused with `unavailable == false` → 429; refused with `unavailable == true` (Redis down and
//! `fail_open = false`) → 503. [`Decision::status`] does exactly this mapping.

mod config;
mod duration;
mod headers;
mod health;
mod local_bucket;
mod redis_bucket;
mod usage;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use redis::aio::ConnectionManager;
use uuid::Uuid;

pub use config::{
    ClassLimits, ConfigError, EndpointClass, RateLimitConfig, Tier, TierLimits, TierTable,
};
pub use headers::{RATELIMIT_LIMIT, RATELIMIT_REMAINING, RATELIMIT_RESET};
pub use redis_bucket::{RedisBucketError, bucket_key};
pub use usage::{TenantUsage, UsageWarning};

use health::RedisHealth;
use local_bucket::{BucketOutcome, LocalBuckets};
use redis_bucket::RedisBucket;
use usage::{Observation, UsageTracker, Webhook};

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Serve the request.
    pub allowed: bool,
    /// Bucket capacity (`RateLimit-Limit`).
    pub limit: u32,
    /// Whole requests left (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Until the bucket is full again (`RateLimit-Reset`).
    pub reset_after: Duration,
    /// When refused: until a retry can succeed (`Retry-After`). `None` when allowed.
    pub retry_after: Option<Duration>,
    /// The decision did not come from Redis (local bucket, or refused for lack of Redis).
    pub degraded: bool,
    /// Refused because Redis is unreachable and the config fails closed: answer 503, not 429.
    /// Always implies `degraded && !allowed`.
    pub unavailable: bool,
}

impl Decision {
    fn from_outcome(limits: ClassLimits, o: BucketOutcome, degraded: bool) -> Self {
        Self {
            allowed: o.allowed,
            limit: limits.capacity,
            remaining: o.remaining,
            reset_after: o.reset_after,
            retry_after: (!o.allowed).then_some(o.retry_after),
            degraded,
            unavailable: false,
        }
    }

    /// Fail-closed refusal: no bucket was consulted, so nothing is known to remain.
    fn unavailable(limits: ClassLimits, retry: Duration) -> Self {
        Self {
            allowed: false,
            limit: limits.capacity,
            remaining: 0,
            reset_after: retry,
            retry_after: Some(retry),
            degraded: true,
            unavailable: true,
        }
    }

    /// The status to answer with instead of serving: `None` when allowed, 429 when rate
    /// limited, 503 when the limiter could not decide and fails closed.
    pub fn status(&self) -> Option<StatusCode> {
        match (self.allowed, self.unavailable) {
            (true, _) => None,
            (false, false) => Some(StatusCode::TOO_MANY_REQUESTS),
            (false, true) => Some(StatusCode::SERVICE_UNAVAILABLE),
        }
    }
}

/// The limiter; cheap to clone (shared state behind an `Arc`), meant to live in app state.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    config: RateLimitConfig,
    /// `None`: no Redis configured, every decision is local and `degraded`.
    redis: Option<RedisBucket>,
    health: RedisHealth,
    local: LocalBuckets,
    /// Operator overrides; read on every request, written rarely, hence `RwLock`.
    overrides: RwLock<HashMap<(Uuid, EndpointClass), ClassLimits>>,
    usage: UsageTracker,
    webhook: Option<Webhook>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("redis", &self.inner.redis.is_some())
            .field("degraded", &self.inner.health.is_degraded())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter over `redis` (`None`: local buckets only). Give the `ConnectionManager` short
    /// connection/response timeouts and a small `max_delay` so it reconnects promptly.
    pub fn new(redis: Option<ConnectionManager>, config: RateLimitConfig) -> Self {
        if redis.is_none() {
            tracing::warn!("no redis for rate limiting; limits apply per process only");
        }
        let webhook = config.webhook_url.clone().and_then(|url| {
            Webhook::new(url, config.webhook_timeout)
                .inspect_err(|error| tracing::error!(%error, "usage webhook disabled"))
                .ok()
        });
        let inner = Inner {
            health: RedisHealth::new(Instant::now(), config.redis_retry_interval, redis.is_none()),
            redis: redis.map(RedisBucket::new),
            local: LocalBuckets::default(),
            overrides: RwLock::default(),
            usage: UsageTracker::new(config.warn_ratio, config.webhook_window),
            webhook,
            config,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Decides one request of `tenant` (on plan `tier`) to an endpoint of `class`.
    pub async fn check(&self, tenant: Uuid, tier: Tier, class: EndpointClass) -> Decision {
        let limits = self.limits_for(tenant, tier, class).normalized();
        let decision = match self.try_redis(tenant, class, limits).await {
            Some(outcome) => Decision::from_outcome(limits, outcome, false),
            None if self.inner.config.fail_open => {
                let outcome = self.inner.local.take(tenant, class, limits, Instant::now());
                Decision::from_outcome(limits, outcome, true)
            }
            None => Decision::unavailable(limits, self.inner.config.redis_retry_interval),
        };
        let used_ratio = (!decision.unavailable)
            .then(|| 1.0 - f64::from(decision.remaining) / f64::from(decision.limit.max(1)));
        let obs = Observation {
            refill_ratio_per_sec: limits.refill_per_sec / f64::from(limits.capacity.max(1)),
            allowed: decision.allowed,
            degraded: decision.degraded,
            used_ratio,
        };
        if let Some(warning) = self.inner.usage.record(tenant, class, obs, Instant::now()) {
            tracing::info!(%tenant, %class, ratio = warning.ratio, "tenant near its rate limit");
            if let Some(webhook) = &self.inner.webhook {
                webhook.send(warning);
            }
        }
        decision
    }

    /// Asks Redis unless it is known to be down; `None` means "decide without Redis".
    async fn try_redis(
        &self,
        tenant: Uuid,
        class: EndpointClass,
        limits: ClassLimits,
    ) -> Option<BucketOutcome> {
        let redis = self.inner.redis.as_ref()?;
        let health = &self.inner.health;
        if !health.should_try(Instant::now()) {
            return None;
        }
        let bound = self.inner.config.redis_timeout;
        let result = match tokio::time::timeout(bound, redis.take(tenant, class, limits)).await {
            Ok(result) => result,
            Err(_) => Err(RedisBucketError::Timeout(bound)),
        };
        match result {
            Ok(outcome) => {
                health.record_success();
                Some(outcome)
            }
            Err(error) => {
                health.record_failure(Instant::now(), &error);
                None
            }
        }
    }

    /// Sets (`Some`) or clears (`None`) the limits of one tenant's class; an override wins
    /// over the tier table. Hand-built invalid limits are clamped, never rejected.
    pub fn set_override(&self, tenant: Uuid, class: EndpointClass, limits: Option<ClassLimits>) {
        let mut map = self
            .inner
            .overrides
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match limits {
            Some(l) => map.insert((tenant, class), l.normalized()),
            None => map.remove(&(tenant, class)),
        };
    }

    /// The limits that apply: the tenant's override if any, else its tier's row.
    pub fn limits_for(&self, tenant: Uuid, tier: Tier, class: EndpointClass) -> ClassLimits {
        let overrides = self
            .inner
            .overrides
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        overrides
            .get(&(tenant, class))
            .copied()
            .unwrap_or_else(|| self.inner.config.tiers.get(tier, class))
    }

    /// Usage of every bucket this process has decided on, sorted by tenant and class.
    pub fn usage_snapshot(&self) -> Vec<TenantUsage> {
        self.inner.usage.snapshot()
    }

    /// Usage warnings raised since start (each is POSTed when a webhook URL is configured).
    pub fn warnings_fired(&self) -> u64 {
        self.inner.usage.warnings_fired()
    }

    /// Webhook calls answered 2xx, and calls that failed (error, timeout, non-2xx).
    pub fn webhook_calls(&self) -> (u64, u64) {
        self.inner
            .webhook
            .as_ref()
            .map_or((0, 0), |w| (w.delivered(), w.failed()))
    }

    /// True while decisions are made without Redis.
    pub fn is_degraded(&self) -> bool {
        self.inner.health.is_degraded()
    }

    /// The configuration in force.
    pub fn config(&self) -> &RateLimitConfig {
        &self.inner.config
    }
}

#[cfg(test)]
mod tests;
