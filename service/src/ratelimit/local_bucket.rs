//! Per-process token buckets: the fallback while Redis cannot answer.
//!
//! The math mirrors the Lua script in `redis_bucket.rs` exactly (refill by elapsed time, cap at
//! capacity, take one whole token), so a tenant sees the same limits in either mode; only the
//! scope differs (one process instead of the whole fleet).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::config::{ClassLimits, EndpointClass};

/// The result of taking (or failing to take) one token, from either bucket implementation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BucketOutcome {
    /// A token was taken.
    pub allowed: bool,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Until the next whole token exists (zero when one is already there).
    pub retry_after: Duration,
    /// Until the bucket is full again: the `RateLimit-Reset` of the IETF draft.
    pub reset_after: Duration,
}

/// Upper bound on the waits reported, so absurd limits cannot overflow a `Duration`.
const MAX_WAIT: Duration = Duration::from_secs(86_400);

/// Converts fractional seconds to a `Duration`, rounded up to the millisecond like the Lua
/// script does, so both implementations report identical waits.
pub(crate) fn wait(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    let ms = (secs * 1000.0).ceil();
    Duration::from_millis(ms.min(MAX_WAIT.as_millis() as f64) as u64)
}

/// One bucket's state: fractional tokens and when they were last brought up to date.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A new bucket starts full: an idle tenant may burst.
    pub fn full(limits: ClassLimits, now: Instant) -> Self {
        Self {
            tokens: f64::from(limits.capacity),
            updated: now,
        }
    }

    /// Refills by the time since the last update, then takes one token if a whole one exists.
    ///
    /// `now` is passed in (never read here) so tests can drive the clock.
    pub fn take(&mut self, limits: ClassLimits, now: Instant) -> BucketOutcome {
        let limits = limits.normalized();
        let capacity = f64::from(limits.capacity);
        let rate = limits.refill_per_sec;
        // `saturating_duration_since`: an `Instant` from a racing caller may be slightly older.
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        // `min` also shrinks a bucket whose capacity was lowered by an override.
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.updated = now.max(self.updated);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        BucketOutcome {
            allowed,
            remaining: self.tokens.floor() as u32,
            retry_after: wait((1.0 - self.tokens) / rate),
            reset_after: wait((capacity - self.tokens) / rate),
        }
    }

    /// True when the bucket has refilled completely by `now`, i.e. forgetting it loses nothing.
    fn is_full_at(&self, limits: ClassLimits, now: Instant) -> bool {
        let limits = limits.normalized();
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * limits.refill_per_sec >= f64::from(limits.capacity)
    }
}

/// Above this many buckets a sweep drops the ones that have refilled completely, so the map
/// tracks active tenants rather than every tenant ever seen.
const SWEEP_THRESHOLD: usize = 10_000;

type Key = (Uuid, EndpointClass);

/// All local buckets of this process. One mutex: the critical section is a few float ops.
#[derive(Debug, Default)]
pub(crate) struct LocalBuckets {
    buckets: Mutex<HashMap<Key, (TokenBucket, ClassLimits)>>,
}

impl LocalBuckets {
    /// Takes a token from the bucket of `(tenant, class)`, creating it full if absent.
    pub fn take(
        &self,
        tenant: Uuid,
        class: EndpointClass,
        limits: ClassLimits,
        now: Instant,
    ) -> BucketOutcome {
        // A poisoned lock only means another request panicked mid-update of plain numbers;
        // the state is still usable, and the limiter must not panic.
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= SWEEP_THRESHOLD && !map.contains_key(&(tenant, class)) {
            map.retain(|_, (bucket, l)| !bucket.is_full_at(*l, now));
        }
        let entry = map
            .entry((tenant, class))
            .or_insert_with(|| (TokenBucket::full(limits, now), limits));
        entry.1 = limits;
        entry.0.take(limits, now)
    }

    /// Number of buckets held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(capacity: u32, rate: f64) -> ClassLimits {
        ClassLimits::new(capacity, rate).unwrap()
    }

    #[test]
    fn allows_exactly_capacity_then_denies() {
        let t0 = Instant::now();
        let l = limits(5, 1.0);
        let mut b = TokenBucket::full(l, t0);
        for left in (0..5).rev() {
            let o = b.take(l, t0);
            assert!(o.allowed);
            assert_eq!(o.remaining, left);
        }
        let denied = b.take(l, t0);
        assert!(!denied.allowed);
        assert_eq!(denied.remaining, 0);
        assert_eq!(denied.retry_after, Duration::from_secs(1));
        assert_eq!(denied.reset_after, Duration::from_secs(5));
    }

    #[test]
    fn refills_by_elapsed_time_and_caps_at_capacity() {
        let t0 = Instant::now();
        let l = limits(4, 2.0);
        let mut b = TokenBucket::full(l, t0);
        for _ in 0..4 {
            assert!(b.take(l, t0).allowed);
        }
        assert!(!b.take(l, t0).allowed);
        // 2 tokens/s: after 250 ms only half a token, after 500 ms one whole token.
        let half = b.take(l, t0 + Duration::from_millis(250));
        assert!(!half.allowed);
        assert_eq!(half.retry_after, Duration::from_millis(250));
        assert!(b.take(l, t0 + Duration::from_millis(500)).allowed);
        // An hour idle refills to capacity, not beyond.
        let later = b.take(l, t0 + Duration::from_secs(3600));
        assert!(later.allowed);
        assert_eq!(later.remaining, 3);
        assert_eq!(later.reset_after, Duration::from_millis(500));
    }

    #[test]
    fn lowering_capacity_shrinks_a_full_bucket() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(limits(100, 1.0), t0);
        let o = b.take(limits(3, 1.0), t0);
        assert!(o.allowed);
        assert_eq!(o.remaining, 2);
    }

    #[test]
    fn hand_built_invalid_limits_do_not_panic() {
        let t0 = Instant::now();
        let bad = ClassLimits {
            capacity: 0,
            refill_per_sec: f64::NAN,
        };
        let mut b = TokenBucket::full(bad, t0);
        let o = b.take(bad, t0);
        assert!(!o.allowed);
        assert!(o.retry_after <= MAX_WAIT);
        let o = b.take(bad, t0 + Duration::from_secs(2000));
        assert!(
            o.allowed,
            "normalized to capacity 1 and a slow but positive refill"
        );
    }

    #[test]
    fn buckets_are_isolated_per_tenant_and_class() {
        let t0 = Instant::now();
        let local = LocalBuckets::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let l = limits(2, 0.5);
        assert!(local.take(a, EndpointClass::Read, l, t0).allowed);
        assert!(local.take(a, EndpointClass::Read, l, t0).allowed);
        assert!(!local.take(a, EndpointClass::Read, l, t0).allowed);
        assert!(local.take(a, EndpointClass::Write, l, t0).allowed);
        assert!(local.take(b, EndpointClass::Read, l, t0).allowed);
        assert_eq!(local.len(), 3);
    }

    #[test]
    fn sweep_forgets_only_refilled_buckets() {
        let t0 = Instant::now();
        let local = LocalBuckets::default();
        let l = limits(1, 1.0);
        for i in 0..SWEEP_THRESHOLD as u128 {
            local.take(Uuid::from_u128(i), EndpointClass::Read, l, t0);
        }
        // Two seconds later every bucket is full again except the one drained just now.
        let t1 = t0 + Duration::from_secs(2);
        local.take(Uuid::from_u128(0), EndpointClass::Read, l, t1);
        local.take(Uuid::from_u128(u128::MAX), EndpointClass::Read, l, t1);
        assert_eq!(local.len(), 2);
    }
}
