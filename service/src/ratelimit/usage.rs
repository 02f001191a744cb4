//! Per-(tenant, class) usage for metrics, and the "near the limit" webhook.
//!
//! Deciding whether to warn is pure (clock passed in) and happens under the usage lock; the
//! HTTP call happens on a spawned task so a slow receiver never delays a request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use url::Url;
use uuid::Uuid;

use super::config::EndpointClass;

/// Usage of one (tenant, class) bucket as last seen by this process.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TenantUsage {
    /// The tenant.
    pub tenant: Uuid,
    /// The endpoint class.
    pub class: EndpointClass,
    /// `1 - remaining / capacity` after the latest decision, within `0..=1`.
    pub used_ratio: f64,
    /// Requests allowed so far.
    pub allowed: u64,
    /// Requests refused so far (rate limited, or unavailable when failing closed).
    pub limited: u64,
    /// The latest decision did not come from Redis.
    pub degraded: bool,
    /// Usage warnings raised for this bucket.
    pub warnings: u64,
}

/// The JSON body POSTed to the webhook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageWarning {
    /// The tenant near its limit.
    pub tenant: Uuid,
    /// Which bucket.
    pub class: EndpointClass,
    /// The used ratio that crossed the threshold.
    pub ratio: f64,
    /// When, in milliseconds since the Unix epoch (UTC).
    pub at: u64,
}

/// One decision, as the tracker needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observation {
    pub allowed: bool,
    pub degraded: bool,
    /// `None` when no bucket was consulted (fail-closed outage): the ratio is unknown and must
    /// not trigger a warning.
    pub used_ratio: Option<f64>,
    /// Share of the bucket refilled per second (`refill_per_sec / capacity`).
    pub refill_ratio_per_sec: f64,
}

#[derive(Debug, Default)]
struct Entry {
    used_ratio: f64,
    /// When `used_ratio` was measured, and how fast it falls while nobody asks: a tenant
    /// that stopped sending must not look near its limit forever (the usage alert would
    /// never resolve).
    measured_at: Option<Instant>,
    refill_ratio_per_sec: f64,
    allowed: u64,
    limited: u64,
    degraded: bool,
    warnings: u64,
    last_warning: Option<Instant>,
}

/// Usage table plus warning policy.
#[derive(Debug)]
pub(crate) struct UsageTracker {
    entries: Mutex<HashMap<(Uuid, EndpointClass), Entry>>,
    warn_ratio: f64,
    window: Duration,
    warnings_fired: AtomicU64,
}

impl UsageTracker {
    /// A tracker warning at `warn_ratio`, at most once per `window` per bucket.
    pub fn new(warn_ratio: f64, window: Duration) -> Self {
        Self {
            entries: Mutex::default(),
            warn_ratio,
            window,
            warnings_fired: AtomicU64::new(0),
        }
    }

    /// Records a decision; returns the warning to send when this one crossed the threshold
    /// and the bucket has not warned within the window.
    pub fn record(
        &self,
        tenant: Uuid,
        class: EndpointClass,
        obs: Observation,
        now: Instant,
    ) -> Option<UsageWarning> {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let e = map.entry((tenant, class)).or_default();
        if obs.allowed {
            e.allowed += 1;
        } else {
            e.limited += 1;
        }
        e.degraded = obs.degraded;
        let ratio = obs.used_ratio?.clamp(0.0, 1.0);
        e.used_ratio = ratio;
        e.measured_at = Some(now);
        e.refill_ratio_per_sec = obs.refill_ratio_per_sec;
        if ratio < self.warn_ratio {
            return None;
        }
        let quiet = e
            .last_warning
            .is_none_or(|last| now.saturating_duration_since(last) >= self.window);
        if !quiet {
            return None;
        }
        e.last_warning = Some(now);
        e.warnings += 1;
        self.warnings_fired.fetch_add(1, Ordering::Relaxed);
        Some(UsageWarning {
            tenant,
            class,
            ratio,
            at: unix_ms(SystemTime::now()),
        })
    }

    /// Warnings raised since start (each one is POSTed when a webhook is configured).
    pub fn warnings_fired(&self) -> u64 {
        self.warnings_fired.load(Ordering::Relaxed)
    }

    /// Copy of the table as of now, sorted by tenant then class so output is stable.
    pub fn snapshot(&self) -> Vec<TenantUsage> {
        self.snapshot_at(Instant::now())
    }

    /// Copy of the table at `now`: each used ratio less what its bucket has refilled since.
    fn snapshot_at(&self, now: Instant) -> Vec<TenantUsage> {
        let map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<TenantUsage> = map
            .iter()
            .map(|((tenant, class), e)| TenantUsage {
                tenant: *tenant,
                class: *class,
                used_ratio: e.measured_at.map_or(e.used_ratio, |at| {
                    let idle = now.saturating_duration_since(at).as_secs_f64();
                    (e.used_ratio - e.refill_ratio_per_sec * idle).max(0.0)
                }),
                allowed: e.allowed,
                limited: e.limited,
                degraded: e.degraded,
                warnings: e.warnings,
            })
            .collect();
        out.sort_by_key(|u| (u.tenant, u.class.as_str()));
        out
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Delivery of warnings; counts outcomes so `/metrics` can show a broken receiver.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    client: reqwest::Client,
    url: Url,
    delivered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Webhook {
    /// A webhook POSTing to `url`, abandoning a call after `timeout`.
    pub fn new(url: Url, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            url,
            delivered: Arc::default(),
            failed: Arc::default(),
        })
    }

    /// Fire-and-forget: the request path never waits for the receiver.
    pub fn send(&self, warning: UsageWarning) {
        let this = self.clone();
        tokio::spawn(async move {
            let sent = this
                .client
                .post(this.url.clone())
                .json(&warning)
                .send()
                .await;
            match sent.and_then(|r| r.error_for_status()) {
                Ok(_) => {
                    this.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    this.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, tenant = %warning.tenant, class = %warning.class,
                        "usage webhook delivery failed");
                }
            }
        });
    }

    /// Calls answered with a 2xx.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Calls that errored, timed out or got a non-2xx answer.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(ratio: f64) -> Observation {
        Observation {
            allowed: ratio < 1.0,
            degraded: false,
            used_ratio: Some(ratio),
            refill_ratio_per_sec: 0.0,
        }
    }

    #[test]
    fn an_idle_bucket_refills_in_the_snapshot() {
        let t0 = Instant::now();
        let u = UsageTracker::new(0.9, Duration::from_secs(60));
        let t = Uuid::from_u128(3);
        let full = Observation {
            refill_ratio_per_sec: 0.5,
            ..obs(1.0)
        };
        u.record(t, EndpointClass::Read, full, t0);
        assert_eq!(u.snapshot_at(t0)[0].used_ratio, 1.0);
        let later = u.snapshot_at(t0 + Duration::from_secs(1))[0].used_ratio;
        assert!((later - 0.5).abs() < 1e-9, "{later}");
        assert_eq!(
            u.snapshot_at(t0 + Duration::from_secs(5))[0].used_ratio,
            0.0
        );
    }

    #[test]
    fn warns_once_per_window_per_bucket() {
        let t0 = Instant::now();
        let u = UsageTracker::new(0.9, Duration::from_secs(60));
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let r = EndpointClass::Read;
        assert!(u.record(a, r, obs(0.5), t0).is_none(), "below threshold");
        let w = u.record(a, r, obs(0.95), t0).expect("crossing warns");
        assert_eq!((w.tenant, w.class, w.ratio), (a, r, 0.95));
        assert!(
            u.record(a, r, obs(1.0), t0 + Duration::from_secs(59))
                .is_none()
        );
        assert!(
            u.record(a, EndpointClass::Write, obs(1.0), t0).is_some(),
            "other class"
        );
        assert!(u.record(b, r, obs(1.0), t0).is_some(), "other tenant");
        assert!(
            u.record(a, r, obs(1.0), t0 + Duration::from_secs(60))
                .is_some()
        );
        assert_eq!(u.warnings_fired(), 4);
    }

    #[test]
    fn unknown_ratio_counts_but_never_warns() {
        let t0 = Instant::now();
        let u = UsageTracker::new(0.5, Duration::from_secs(60));
        let t = Uuid::from_u128(7);
        let closed = Observation {
            allowed: false,
            degraded: true,
            used_ratio: None,
            refill_ratio_per_sec: 0.0,
        };
        assert!(u.record(t, EndpointClass::Heavy, closed, t0).is_none());
        let snap = u.snapshot();
        assert_eq!(snap.len(), 1);
        assert_eq!((snap[0].allowed, snap[0].limited), (0, 1));
        assert!(snap[0].degraded);
        assert_eq!(u.warnings_fired(), 0);
    }

    #[test]
    fn snapshot_counts_and_is_sorted() {
        let t0 = Instant::now();
        let u = UsageTracker::new(0.9, Duration::from_secs(60));
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        u.record(b, EndpointClass::Read, obs(0.2), t0);
        u.record(a, EndpointClass::Write, obs(0.3), t0);
        u.record(a, EndpointClass::Write, obs(1.0), t0);
        let snap = u.snapshot();
        assert_eq!(snap[0].tenant, a);
        assert_eq!(
            (snap[0].allowed, snap[0].limited, snap[0].warnings),
            (1, 1, 1)
        );
        assert_eq!(snap[0].used_ratio, 1.0);
        assert_eq!(snap[1].tenant, b);
        assert_eq!(snap[1].used_ratio, 0.2);
    }
}
