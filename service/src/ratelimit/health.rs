//! Whether to ask Redis at all, and logging the switch to/from the local buckets exactly once.
//!
//! After a failure, asking Redis on every request would put its timeout (or a connection
//! attempt) on every request's latency and hammer a server that is restarting. Instead one
//! probe is allowed per retry interval; everyone else decides locally in the meantime.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shared, lock-free health state of the Redis path.
#[derive(Debug)]
pub(crate) struct RedisHealth {
    /// Reference point for the millisecond clock kept in `next_probe_ms`.
    epoch: Instant,
    /// True from the first failure until Redis answers again.
    degraded: AtomicBool,
    /// Milliseconds since `epoch` before which no probe is sent while degraded.
    next_probe_ms: AtomicU64,
    /// Spacing of probes while degraded.
    retry_interval: Duration,
}

impl RedisHealth {
    /// Healthy (or, without Redis, permanently degraded) state.
    pub fn new(epoch: Instant, retry_interval: Duration, degraded: bool) -> Self {
        Self {
            epoch,
            degraded: AtomicBool::new(degraded),
            next_probe_ms: AtomicU64::new(0),
            retry_interval,
        }
    }

    fn ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// True while decisions are not coming from Redis.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Whether this request should ask Redis. While degraded, exactly one caller per interval
    /// wins the compare-exchange and becomes the probe.
    pub fn should_try(&self, now: Instant) -> bool {
        if !self.is_degraded() {
            return true;
        }
        let now_ms = self.ms(now);
        let next = self.next_probe_ms.load(Ordering::Acquire);
        now_ms >= next
            && self
                .next_probe_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.interval_ms()),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    fn interval_ms(&self) -> u64 {
        u64::try_from(self.retry_interval.as_millis()).unwrap_or(u64::MAX)
    }

    /// Redis answered. Returns true when this ends an outage (the caller logs nothing itself).
    pub fn record_success(&self) -> bool {
        let was_degraded = self.degraded.swap(false, Ordering::AcqRel);
        if was_degraded {
            tracing::info!("redis answers again; rate limiting is back on the shared buckets");
        }
        was_degraded
    }

    /// Redis failed. Returns true when this starts an outage; only then is a warning logged,
    /// so an outage under load costs one log line, not one per request.
    pub fn record_failure(&self, now: Instant, error: &dyn std::fmt::Display) -> bool {
        self.next_probe_ms.store(
            self.ms(now).saturating_add(self.interval_ms()),
            Ordering::Release,
        );
        let started = !self.degraded.swap(true, Ordering::AcqRel);
        if started {
            tracing::warn!(
                %error,
                retry_ms = self.interval_ms(),
                "redis rate limiting unavailable; deciding with per-process buckets"
            );
        }
        started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_always_tries_redis() {
        let t0 = Instant::now();
        let h = RedisHealth::new(t0, Duration::from_secs(1), false);
        assert!(h.should_try(t0));
        assert!(h.should_try(t0));
    }

    #[test]
    fn after_failure_one_probe_per_interval() {
        let t0 = Instant::now();
        let h = RedisHealth::new(t0, Duration::from_secs(1), false);
        assert!(h.record_failure(t0, &"refused"));
        assert!(
            !h.record_failure(t0, &"refused again"),
            "outage start reported once"
        );
        assert!(h.is_degraded());
        assert!(!h.should_try(t0 + Duration::from_millis(500)));
        let t1 = t0 + Duration::from_millis(1000);
        assert!(
            h.should_try(t1),
            "the first caller after the interval probes"
        );
        assert!(!h.should_try(t1), "concurrent callers stay local");
        assert!(h.should_try(t1 + Duration::from_millis(1000)));
    }

    #[test]
    fn success_ends_the_outage_once() {
        let t0 = Instant::now();
        let h = RedisHealth::new(t0, Duration::from_secs(1), true);
        assert!(
            h.should_try(t0),
            "a degraded start still probes immediately"
        );
        assert!(h.record_success());
        assert!(!h.record_success());
        assert!(!h.is_degraded());
        assert!(h.should_try(t0));
    }
}
