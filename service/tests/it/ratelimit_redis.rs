//! The rate limiter's Redis bucket against a real, provisioned Redis, below the HTTP layer.
//!
//! `ratelimit.rs` drives tiers, overrides and Redis outages through the HTTP API; these tests
//! look at what HTTP cannot show: the bucket's state and expiry in Redis, exact burst and
//! refill, two limiter instances sharing one bucket, atomicity under concurrency, and the
//! limiter's decisions (degraded / unavailable) across kill, start, pause and unpause.
//!
//! Bucket tests use refill rates of ~0.01 token/s so that counts are exact however slowly a
//! loaded machine runs them, and a 5 s Redis bound so that a slow answer is not mistaken for
//! an outage (the production bound is 50 ms).

/// Burst, refill, isolation, overrides, sharing and concurrency with Redis healthy.
mod bucket {
    use std::time::Duration;

    use hrms::ratelimit::{EndpointClass, RateLimitConfig, RateLimiter, Tier, bucket_key};
    use uuid::Uuid;

    use crate::ratelimit_redis_support::{RedisFixture, check_until, limits};

    /// Default config with a generous Redis bound: these tests are about the bucket, not about
    /// latency.
    fn config() -> RateLimitConfig {
        RateLimitConfig {
            redis_timeout: Duration::from_secs(5),
            ..RateLimitConfig::default()
        }
    }

    async fn limiter(redis: &RedisFixture) -> RateLimiter {
        redis.limiter(config()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn allows_exactly_capacity_then_denies_and_the_key_expires() {
        let redis = RedisFixture::provision().await;
        let rl = limiter(&redis).await;
        let t = Uuid::new_v4();
        rl.set_override(t, EndpointClass::Read, Some(limits(5, 0.01)));
        for left in (0..5).rev() {
            let d = rl.check(t, Tier::Free, EndpointClass::Read).await;
            assert!(d.allowed && !d.degraded, "{d:?}");
            assert_eq!((d.limit, d.remaining), (5, left));
        }
        let d = rl.check(t, Tier::Free, EndpointClass::Read).await;
        assert!(!d.allowed && !d.degraded && !d.unavailable, "{d:?}");
        let retry = d.retry_after.expect("a refusal says when to retry");
        assert!(retry >= Duration::from_secs(90), "0.01/s is ~100 s a token");

        // The state lives in Redis, with an expiry so that idle buckets vanish.
        let key = bucket_key(t, EndpointClass::Read);
        let mut raw = redis.raw().await;
        let tokens: f64 = redis::cmd("HGET")
            .arg(&key)
            .arg("tokens")
            .query_async(&mut raw)
            .await
            .expect("HGET tokens");
        assert!(tokens < 1.0, "drained bucket holds {tokens} tokens");
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .expect("PTTL");
        assert!(pttl > 0, "bucket key must expire, PTTL = {pttl}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_waiting_retry_after_finds_a_token() {
        let redis = RedisFixture::provision().await;
        let rl = limiter(&redis).await;
        let t = Uuid::new_v4();
        // 1 token/s: slow enough that draining 2 tokens outruns the refill even on a loaded
        // machine, fast enough that the wait stays short.
        rl.set_override(t, EndpointClass::Write, Some(limits(2, 1.0)));
        let denied = check_until(
            &rl,
            t,
            EndpointClass::Write,
            Duration::from_secs(30),
            "bucket drained",
            |d| !d.allowed,
        )
        .await;
        assert!(!denied.degraded, "{denied:?}");
        let retry = denied.retry_after.expect("a refusal says when to retry");
        assert!(
            retry > Duration::ZERO && retry <= Duration::from_secs(1),
            "one token at 1/s: {retry:?}"
        );
        // Waits are rounded up and measured on Redis's clock, which advances at least as far
        // as ours while we sleep: after `retry` a token must be there.
        tokio::time::sleep(retry).await;
        let d = rl.check(t, Tier::Free, EndpointClass::Write).await;
        assert!(d.allowed && !d.degraded, "refilled after {retry:?}: {d:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn buckets_are_isolated_per_tenant_and_class() {
        let redis = RedisFixture::provision().await;
        let mut config = config();
        // The free row from the tier table (no overrides), with refills too slow to matter.
        config.tiers.free.read = limits(4, 0.01);
        config.tiers.free.write = limits(3, 0.01);
        config.tiers.free.heavy = limits(2, 0.01);
        let rl = redis.limiter(config).await;
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..2 {
            assert!(rl.check(a, Tier::Free, EndpointClass::Heavy).await.allowed);
        }
        let d = rl.check(a, Tier::Free, EndpointClass::Heavy).await;
        assert!(!d.allowed && !d.degraded, "a's heavy drained: {d:?}");

        let d = rl.check(a, Tier::Free, EndpointClass::Read).await;
        assert!(d.allowed && d.remaining == 3, "a's read untouched: {d:?}");
        let d = rl.check(a, Tier::Free, EndpointClass::Write).await;
        assert!(d.allowed && d.remaining == 2, "a's write untouched: {d:?}");
        let d = rl.check(b, Tier::Free, EndpointClass::Heavy).await;
        assert!(d.allowed && d.remaining == 1, "b's heavy untouched: {d:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn override_is_applied_and_cleared() {
        let redis = RedisFixture::provision().await;
        let rl = limiter(&redis).await;
        let t = Uuid::new_v4();
        let enterprise_read = RateLimitConfig::default().tiers.enterprise.read.capacity;
        rl.set_override(t, EndpointClass::Read, Some(limits(2, 0.01)));
        for _ in 0..2 {
            let d = rl.check(t, Tier::Enterprise, EndpointClass::Read).await;
            assert!(d.allowed && d.limit == 2, "{d:?}");
        }
        let d = rl.check(t, Tier::Enterprise, EndpointClass::Read).await;
        assert!(!d.allowed && !d.degraded, "override's burst spent: {d:?}");

        rl.set_override(t, EndpointClass::Read, None);
        let d = rl.check(t, Tier::Enterprise, EndpointClass::Read).await;
        assert_eq!(d.limit, enterprise_read, "tier table again: {d:?}");
        // The same Redis bucket now refills at the tier's rate (1000/s): allowed again soon.
        check_until(
            &rl,
            t,
            EndpointClass::Read,
            Duration::from_secs(10),
            "allowed under the tier's limits",
            |d| d.allowed && !d.degraded,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_limiters_share_one_bucket_through_redis() {
        let redis = RedisFixture::provision().await;
        let (r1, r2) = (limiter(&redis).await, limiter(&redis).await);
        let t = Uuid::new_v4();
        for rl in [&r1, &r2] {
            rl.set_override(t, EndpointClass::Write, Some(limits(5, 0.01)));
        }
        let mut allowed = [0usize; 2];
        for i in 0..10 {
            let d = [&r1, &r2][i % 2]
                .check(t, Tier::Free, EndpointClass::Write)
                .await;
            assert!(!d.degraded, "{d:?}");
            allowed[i % 2] += usize::from(d.allowed);
        }
        assert_eq!(
            allowed[0] + allowed[1],
            5,
            "the burst is fleet-wide: {allowed:?}"
        );
        assert!(allowed[0] > 0 && allowed[1] > 0, "both took from it");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_allow_exactly_capacity() {
        let redis = RedisFixture::provision().await;
        let rl = limiter(&redis).await;
        // Load the script first (on another bucket), so the burst below is pure EVALSHA.
        let warm = rl
            .check(Uuid::new_v4(), Tier::Free, EndpointClass::Read)
            .await;
        assert!(warm.allowed && !warm.degraded, "{warm:?}");
        let t = Uuid::new_v4();
        rl.set_override(t, EndpointClass::Read, Some(limits(20, 0.01)));
        let tasks: Vec<_> = (0..60)
            .map(|_| {
                let rl = rl.clone();
                tokio::spawn(async move { rl.check(t, Tier::Free, EndpointClass::Read).await })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            let d = task.await.expect("check task");
            assert!(!d.degraded, "redis healthy but decision degraded: {d:?}");
            allowed += usize::from(d.allowed);
        }
        assert_eq!(allowed, 20, "60 concurrent checks, burst 20");
    }
}

/// Redis killed, started, frozen: each test shows the fault changed the decisions (local, or
/// refused when failing closed) and that Redis decisions came back afterwards.
mod faults {
    use std::time::Duration;

    use axum::http::StatusCode;
    use hrms::ratelimit::{EndpointClass, RateLimitConfig, Tier, bucket_key};
    use tokio::time::Instant;
    use uuid::Uuid;

    use crate::ratelimit_redis_support::{RedisFixture, check_until, limits, until_redis_decides};

    const CLASS: EndpointClass = EndpointClass::Write;

    /// How long the first decisions after a fault may keep coming from Redis: `docker kill`
    /// returns before the connection is seen to drop.
    const FAULT_SEEN: Duration = Duration::from_secs(15);

    fn config(fail_open: bool, redis_timeout: Duration) -> RateLimitConfig {
        RateLimitConfig {
            fail_open,
            redis_timeout,
            // Short so that recovery is observed quickly; production keeps ~1 s.
            redis_retry_interval: Duration::from_millis(200),
            ..RateLimitConfig::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn degrades_to_local_on_kill_and_returns_to_redis_after_start() {
        let redis = RedisFixture::provision().await;
        let rl = redis.limiter(config(true, Duration::from_secs(2))).await;
        let t = Uuid::new_v4();
        rl.set_override(t, CLASS, Some(limits(3, 0.01)));
        for _ in 0..3 {
            let d = rl.check(t, Tier::Free, CLASS).await;
            assert!(d.allowed && !d.degraded, "{d:?}");
        }
        let d = rl.check(t, Tier::Free, CLASS).await;
        assert!(!d.allowed && !d.degraded, "redis bucket drained: {d:?}");

        redis.redis().kill().await.expect("kill redis");
        // Redis's bucket is empty and the local one starts full, so "allowed" proves the
        // decision is no longer Redis's.
        let d = check_until(&rl, t, CLASS, FAULT_SEEN, "degraded after kill", |d| {
            assert!(d.degraded || !d.allowed, "redis bucket was drained: {d:?}");
            d.degraded
        })
        .await;
        assert!(d.allowed && d.remaining == 2, "local bucket, full: {d:?}");
        assert!(rl.is_degraded());
        // The local bucket enforces the same limits: 2 more, then 429 (not 503: fail-open).
        for _ in 0..2 {
            let d = rl.check(t, Tier::Free, CLASS).await;
            assert!(d.allowed && d.degraded, "{d:?}");
        }
        let d = rl.check(t, Tier::Free, CLASS).await;
        assert!(!d.allowed && d.degraded && !d.unavailable, "{d:?}");
        assert_eq!(d.status(), Some(StatusCode::TOO_MANY_REQUESTS));

        redis.redis().start().await.expect("start redis");
        let d = until_redis_decides(&rl, t, CLASS).await;
        // SIGKILL left nothing on disk: the bucket is created full again by the script, which
        // the fresh server first had to load (NOSCRIPT → SCRIPT LOAD).
        assert!(d.allowed && d.remaining == 2, "{d:?}");
        assert!(!rl.is_degraded());
        assert!(redis.key_exists(&bucket_key(t, CLASS)).await);
        let usage = rl.usage_snapshot();
        assert!(usage.iter().all(|u| !u.degraded), "{usage:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fail_closed_is_unavailable_while_redis_is_down_then_recovers() {
        let redis = RedisFixture::provision().await;
        let rl = redis.limiter(config(false, Duration::from_secs(2))).await;
        let t = Uuid::new_v4();
        // A large burst: every check here should be about Redis, never about the limit.
        rl.set_override(t, CLASS, Some(limits(1000, 0.01)));
        let d = rl.check(t, Tier::Free, CLASS).await;
        assert!(d.allowed && !d.degraded, "{d:?}");

        redis.redis().kill().await.expect("kill redis");
        let d = check_until(&rl, t, CLASS, FAULT_SEEN, "refused after kill", |d| {
            assert!(d.allowed || d.unavailable, "only outages refuse: {d:?}");
            !d.allowed
        })
        .await;
        assert!(d.degraded && d.unavailable && d.remaining == 0, "{d:?}");
        assert_eq!(d.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert!(d.headers().contains_key("retry-after"));
        assert!(rl.is_degraded());

        redis.redis().start().await.expect("start redis");
        let d = until_redis_decides(&rl, t, CLASS).await;
        assert!(d.allowed && d.status().is_none(), "{d:?}");
        assert!(!rl.is_degraded());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frozen_redis_costs_a_bounded_wait_then_recovers_on_unpause() {
        let redis = RedisFixture::provision().await;
        let bound = Duration::from_millis(100);
        let rl = redis.limiter(config(true, bound)).await;
        let t = Uuid::new_v4();
        rl.set_override(t, CLASS, Some(limits(1000, 0.01)));
        // Warm up the script and connection (a loaded machine may need a few tries at 100 ms).
        until_redis_decides(&rl, t, CLASS).await;

        redis.redis().pause().await.expect("pause redis");
        // A frozen server accepts connections and never answers, so without the bound each
        // check would hang until unpause. Over ~1 s the limiter re-probes Redis every 200 ms;
        // every check must come back, decided locally. 2 s is far above the 100 ms bound and
        // leaves room for a loaded machine.
        let ceiling = Duration::from_secs(2);
        let pause_end = Instant::now() + Duration::from_secs(1);
        for _ in 0..50 {
            let d = tokio::time::timeout(ceiling, rl.check(t, Tier::Free, CLASS))
                .await
                .expect("a frozen redis stalled a check past the ceiling");
            assert!(d.allowed && d.degraded, "{d:?}");
            if Instant::now() >= pause_end {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(rl.is_degraded());

        redis.redis().unpause().await.expect("unpause redis");
        let d = until_redis_decides(&rl, t, CLASS).await;
        assert!(d.allowed && !d.degraded, "{d:?}");
        assert!(redis.key_exists(&bucket_key(t, CLASS)).await);
    }
}

/// `RateLimitConfig` read from JSON: defaults fill gaps, invalid values are refused.
mod config_serde {
    use std::time::Duration;

    use hrms::ratelimit::{ClassLimits, RateLimitConfig};

    #[test]
    fn partial_config_keeps_defaults() {
        let c: RateLimitConfig = serde_json::from_str(
            r#"{"fail_open": false, "webhook_url": "http://127.0.0.1:9/hook", "webhook_window": 1.5,
                "tiers": {"free": {"read": {"capacity": 7, "refill_per_sec": 0.5},
                                   "write": {"capacity": 3, "refill_per_sec": 1},
                                   "heavy": {"capacity": 1, "refill_per_sec": 0.1}}}}"#,
        )
        .expect("valid partial config");
        let d = RateLimitConfig::default();
        assert!(!c.fail_open);
        assert_eq!(c.warn_ratio, d.warn_ratio);
        assert_eq!(c.webhook_window, Duration::from_millis(1500));
        assert_eq!(c.tiers.free.read, ClassLimits::new(7, 0.5).unwrap());
        assert_eq!(c.tiers.enterprise, d.tiers.enterprise);
        assert_eq!(c.redis_timeout, d.redis_timeout);
        assert_eq!(c.webhook_url.map(|u| u.port()), Some(Some(9)));
    }

    #[test]
    fn invalid_values_are_refused() {
        for bad in [
            r#"{"warn_ratio": 1.5}"#,
            r#"{"warn_ratio": 0}"#,
            r#"{"redis_timeout": -1}"#,
            r#"{"redis_timeout": "fast"}"#,
            r#"{"redis_timeout": "5"}"#,
            r#"{"webhook_url": "not a url"}"#,
            r#"{"tiers": {"free": {"read": {"capacity": 0, "refill_per_sec": 1},
                "write": {"capacity": 1, "refill_per_sec": 1},
                "heavy": {"capacity": 1, "refill_per_sec": 1}}}}"#,
            r#"{"tiers": {"free": {"read": {"capacity": 1, "refill_per_sec": -1},
                "write": {"capacity": 1, "refill_per_sec": 1},
                "heavy": {"capacity": 1, "refill_per_sec": 1}}}}"#,
        ] {
            assert!(
                serde_json::from_str::<RateLimitConfig>(bad).is_err(),
                "accepted {bad}"
            );
        }
    }

    #[test]
    fn config_round_trips_through_json() {
        let d = RateLimitConfig::default();
        let text = serde_json::to_string(&d).expect("serialise");
        let back: RateLimitConfig = serde_json::from_str(&text).expect("deserialise");
        assert_eq!(back, d);
    }

    #[test]
    fn durations_accept_humantime_strings_and_seconds() {
        let c: RateLimitConfig = serde_json::from_str(
            r#"{"redis_timeout": "50ms", "redis_retry_interval": 2, "webhook_window": "2m",
                "webhook_timeout": 0.25}"#,
        )
        .expect("valid durations");
        assert_eq!(c.redis_timeout, Duration::from_millis(50));
        assert_eq!(c.redis_retry_interval, Duration::from_secs(2));
        assert_eq!(c.webhook_window, Duration::from_secs(120));
        assert_eq!(c.webhook_timeout, Duration::from_millis(250));
        let json = serde_json::to_value(&c).expect("serialise");
        assert_eq!(json["redis_timeout"], "50ms");
        assert_eq!(json["webhook_window"], "120s");
    }
}
