//! Typed configuration of the limiter: tiers, endpoint classes and the per-class bucket shape.
//!
//! Every value that reaches a bucket went through a validating constructor (or `normalized`),
//! so the bucket math never divides by zero or refills at a negative rate.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// Why a tier, class or limit read from configuration or a request was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text names no tier.
    #[error("unknown tier `{0}` (expected free, starter, professional or enterprise)")]
    UnknownTier(String),
    /// The text names no endpoint class.
    #[error("unknown endpoint class `{0}` (expected read, write or heavy)")]
    UnknownClass(String),
    /// A bucket that holds no token would deny everything; that is a misconfiguration.
    #[error("capacity must be at least 1")]
    ZeroCapacity,
    /// Zero, negative or non-finite refill rates make the wait time meaningless.
    #[error("refill_per_sec must be a finite number above 0, got {0}")]
    BadRefill(f64),
    /// The warning threshold is a fraction of the bucket.
    #[error("warn_ratio must be within (0, 1], got {0}")]
    BadWarnRatio(f64),
    /// Durations are written as a non-negative number of seconds.
    #[error("duration must be a finite, non-negative number of seconds, got {0}")]
    BadDuration(f64),
}

/// A tenant's plan; decides which row of the limits table applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Trial and hobby tenants.
    Free,
    /// Small paying tenants.
    Starter,
    /// Mid-size tenants.
    Professional,
    /// The largest tenants; the "enterprise load" of the design brief.
    Enterprise,
}

/// How expensive an endpoint is; each class has its own bucket so that a burst of exports
/// cannot starve a tenant's ordinary reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointClass {
    /// GET of single records and lists.
    Read,
    /// Creates, updates, deletes.
    Write,
    /// Reports, exports, bulk imports: few allowed, slow refill.
    Heavy,
}

impl EndpointClass {
    /// All classes, for iteration in tests and metrics.
    pub const ALL: [EndpointClass; 3] = [Self::Read, Self::Write, Self::Heavy];

    /// The lowercase name used in keys, headers and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Heavy => "heavy",
        }
    }
}

impl Tier {
    /// The lowercase name used in configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Starter => "starter",
            Self::Professional => "professional",
            Self::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for EndpointClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Ok(Self::Free),
            "starter" => Ok(Self::Starter),
            "professional" => Ok(Self::Professional),
            "enterprise" => Ok(Self::Enterprise),
            _ => Err(ConfigError::UnknownTier(s.to_owned())),
        }
    }
}

impl FromStr for EndpointClass {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "heavy" => Ok(Self::Heavy),
            _ => Err(ConfigError::UnknownClass(s.to_owned())),
        }
    }
}

/// Shape of one token bucket: `capacity` is the burst, `refill_per_sec` the sustained rate.
///
/// The fields are public for reading and struct literals; values built that way are clamped by
/// [`ClassLimits::normalized`] before any bucket uses them, so a bad literal cannot panic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawClassLimits")]
pub struct ClassLimits {
    /// Most requests allowed back to back; also the `RateLimit-Limit` header.
    pub capacity: u32,
    /// Tokens added per second of elapsed time.
    pub refill_per_sec: f64,
}

/// Unvalidated mirror used only so that deserialisation goes through [`ClassLimits::new`].
#[derive(Deserialize)]
struct RawClassLimits {
    capacity: u32,
    refill_per_sec: f64,
}

impl TryFrom<RawClassLimits> for ClassLimits {
    type Error = ConfigError;

    fn try_from(raw: RawClassLimits) -> Result<Self, Self::Error> {
        Self::new(raw.capacity, raw.refill_per_sec)
    }
}

/// Slowest refill a normalized bucket uses: one token per ~17 minutes keeps wait times finite.
const MIN_REFILL_PER_SEC: f64 = 0.001;

impl ClassLimits {
    /// The only checked way to build limits: capacity ≥ 1, refill finite and > 0.
    pub fn new(capacity: u32, refill_per_sec: f64) -> Result<Self, ConfigError> {
        if capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        if !(refill_per_sec.is_finite() && refill_per_sec > 0.0) {
            return Err(ConfigError::BadRefill(refill_per_sec));
        }
        Ok(Self {
            capacity,
            refill_per_sec,
        })
    }

    /// Clamps a possibly hand-built value into the range the bucket math assumes.
    pub fn normalized(self) -> Self {
        let refill = if self.refill_per_sec.is_finite() {
            self.refill_per_sec.max(MIN_REFILL_PER_SEC)
        } else {
            MIN_REFILL_PER_SEC
        };
        Self {
            capacity: self.capacity.max(1),
            refill_per_sec: refill,
        }
    }

    /// `const` helper for the default table, whose literals are known to be valid.
    const fn of(capacity: u32, refill_per_sec: f64) -> Self {
        Self {
            capacity,
            refill_per_sec,
        }
    }
}

/// One row of the limits table: a bucket shape per endpoint class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierLimits {
    /// Limits of [`EndpointClass::Read`].
    pub read: ClassLimits,
    /// Limits of [`EndpointClass::Write`].
    pub write: ClassLimits,
    /// Limits of [`EndpointClass::Heavy`].
    pub heavy: ClassLimits,
}

impl TierLimits {
    /// The limits of one class.
    pub fn get(&self, class: EndpointClass) -> ClassLimits {
        match class {
            EndpointClass::Read => self.read,
            EndpointClass::Write => self.write,
            EndpointClass::Heavy => self.heavy,
        }
    }
}

/// The per-tier table. Defaults scale roughly ×5 per tier; heavy stays an order of magnitude
/// below write because one export costs as much as hundreds of reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TierTable {
    /// Row for [`Tier::Free`].
    pub free: TierLimits,
    /// Row for [`Tier::Starter`].
    pub starter: TierLimits,
    /// Row for [`Tier::Professional`].
    pub professional: TierLimits,
    /// Row for [`Tier::Enterprise`].
    pub enterprise: TierLimits,
}

impl TierTable {
    /// The limits of one tier and class.
    pub fn get(&self, tier: Tier, class: EndpointClass) -> ClassLimits {
        let row = match tier {
            Tier::Free => &self.free,
            Tier::Starter => &self.starter,
            Tier::Professional => &self.professional,
            Tier::Enterprise => &self.enterprise,
        };
        row.get(class)
    }
}

impl Default for TierTable {
    fn default() -> Self {
        let row = |r: (u32, f64), w: (u32, f64), h: (u32, f64)| TierLimits {
            read: ClassLimits::of(r.0, r.1),
            write: ClassLimits::of(w.0, w.1),
            heavy: ClassLimits::of(h.0, h.1),
        };
        Self {
            free: row((20, 10.0), (10, 5.0), (2, 0.2)),
            starter: row((100, 50.0), (50, 25.0), (5, 0.5)),
            professional: row((500, 250.0), (250, 125.0), (20, 2.0)),
            enterprise: row((2000, 1000.0), (1000, 500.0), (50, 5.0)),
        }
    }
}

/// Everything the limiter needs. Durations are written like the rest of the service's config
/// (`"50ms"`, `"1s"`, `"2m"`) or as a plain number of seconds (`0.05`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Bucket shapes per tier and class.
    pub tiers: TierTable,
    /// When Redis cannot answer: `true` decides from per-process buckets, `false` refuses
    /// (the caller answers 503, see `Decision::status`).
    pub fail_open: bool,
    /// Used fraction of a bucket at which the usage webhook fires.
    #[serde(deserialize_with = "de_ratio")]
    pub warn_ratio: f64,
    /// Where usage warnings are POSTed; `None` only counts them.
    pub webhook_url: Option<Url>,
    /// At most one warning per (tenant, class) within this window.
    #[serde(with = "super::duration")]
    pub webhook_window: Duration,
    /// A webhook call taking longer is abandoned (and counted as failed).
    #[serde(with = "super::duration")]
    pub webhook_timeout: Duration,
    /// A Redis answer slower than this is treated as an outage: the request path must not
    /// inherit Redis's latency.
    #[serde(with = "super::duration")]
    pub redis_timeout: Duration,
    /// After a Redis failure, how long to decide locally before probing Redis again.
    #[serde(with = "super::duration")]
    pub redis_retry_interval: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            tiers: TierTable::default(),
            fail_open: true,
            warn_ratio: 0.9,
            webhook_url: None,
            webhook_window: Duration::from_secs(60),
            webhook_timeout: Duration::from_secs(2),
            redis_timeout: Duration::from_millis(50),
            redis_retry_interval: Duration::from_secs(1),
        }
    }
}

fn de_ratio<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(ConfigError::BadWarnRatio(v)))
    }
}
