//! The cost of one rate-limit decision, [`RateLimiter::check`], on its two paths:
//!
//! - `check/redis`: the fleet-wide bucket, one Lua script round trip to a native Redis on
//!   loopback (what every tenant request pays while Redis is healthy);
//! - `check/local`: the per-process bucket the limiter falls back to (`RateLimiter::new(None,
//!   ..)`), i.e. the price of a decision while Redis is down and `fail_open` holds.
//!
//! Decisions run one after another on one task: this is latency per decision, not the
//! limiter's throughput under concurrency. The buckets are too large to empty, so every
//! decision is an "allowed" one and the usage webhook never fires.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use gauntlet_testcontainers::{BackendChoice, ProvisionConfig, Stack};
use hrms::ratelimit::{ClassLimits, EndpointClass, RateLimitConfig, RateLimiter, Tier};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// A config whose buckets no benchmark can drain, with a Redis bound generous enough that a
/// loaded 2-core machine does not turn Redis decisions into (cheaper) local ones.
fn config() -> RateLimitConfig {
    let mut config = RateLimitConfig {
        redis_timeout: Duration::from_secs(2),
        ..RateLimitConfig::default()
    };
    let endless = ClassLimits {
        capacity: 1_000_000_000,
        refill_per_sec: 1_000_000_000.0,
    };
    config.tiers.enterprise.read = endless;
    config
}

/// A connection manager set up the way the service sets up its own.
async fn redis_manager(stack: &Stack) -> ConnectionManager {
    let client = redis::Client::open(stack.redis.url().as_str()).expect("redis URL");
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    ConnectionManager::new_with_config(client, config)
        .await
        .expect("connect to redis")
}

/// Runs `n` decisions back to back; panics if any was refused or (for the Redis limiter)
/// decided without Redis, since the timing would then describe another path.
async fn decide(limiter: &RateLimiter, tenant: Uuid, n: u64, expect_degraded: bool) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        let decision = limiter
            .check(tenant, Tier::Enterprise, EndpointClass::Read)
            .await;
        assert!(decision.allowed, "decision refused: {decision:?}");
        assert_eq!(decision.degraded, expect_degraded, "wrong limiter path");
        black_box(decision);
    }
    started.elapsed()
}

fn bench(c: &mut Criterion, rt: &Runtime, redis: &RateLimiter, local: &RateLimiter) {
    let tenant = Uuid::new_v4();
    let mut group = c.benchmark_group("rate_limit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("check/redis", |b| {
        b.iter_custom(|n| rt.block_on(decide(redis, tenant, n, false)))
    });
    group.bench_function("check/local", |b| {
        b.iter_custom(|n| rt.block_on(decide(local, tenant, n, true)))
    });
    group.finish();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let provision = ProvisionConfig::from_env()
        .expect("provisioning config from the environment")
        .with_backend(BackendChoice::Native);
    let stack = rt
        .block_on(Stack::provision(&provision))
        .expect("provision native postgres and redis");
    let manager = rt.block_on(redis_manager(&stack));
    let redis = RateLimiter::new(Some(manager), config());
    let local = RateLimiter::new(None, config());
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &rt, &redis, &local);
    criterion.final_summary();
    drop((redis, local));
    rt.block_on(stack.shutdown());
}
