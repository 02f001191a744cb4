//! Capacity isolation inside load: request statistics per tenant, and the noisy neighbour —
//! one tenant flooding past its plan's limit while the others are measured.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::LatencySummary;

/// One tenant's share of the virtual users' requests over the whole run (probe and flood
/// requests are not in it, as they are not in the endpoint statistics).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TenantReport {
    /// The name thresholds use (`tenant.<label>.p95`): the credentials file's `label`, or `t<index>`
    /// in the fixture's order.
    pub label: String,
    /// The tenant's display name, when known (user data: renderers escape it).
    pub name: Option<String>,
    /// The tenant's rate-limit plan, when known (`free`, `starter`, ...).
    pub tier: Option<String>,
    /// Requests completed (successful or not).
    pub count: u64,
    /// Failed requests (any cause, 429s included).
    pub errors: u64,
    /// `errors / count` (0 when `count` is 0).
    pub error_rate: f64,
    /// Requests answered 429 Too Many Requests.
    pub rate_limited: u64,
    /// `rate_limited / count` (0 when `count` is 0).
    pub rate_limited_rate: f64,
    /// `count` divided by the run's duration in seconds.
    pub rps: f64,
    /// Latency summary computed from `histogram`.
    pub latency: LatencySummary,
    /// Latency histogram of the tenant's requests (see `histogram_format`); merge adds them.
    pub histogram: String,
}

/// The flood of the noisy-neighbour stage: what one tenant sent past its limit, and what came
/// back. `enabled` is false in runs without a `[noisy_neighbour]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoisyNeighbourSection {
    /// Whether the run had a noisy-neighbour stage.
    pub enabled: bool,
    /// Label of the flooding tenant (it carries no virtual users, so every tenant in
    /// `tenants` is one of the others).
    pub tenant: String,
    /// Its plan, when known.
    pub tier: Option<String>,
    /// The stage the flood ran through.
    pub stage: String,
    /// The rate the flood was scheduled at, requests per second.
    pub target_rps: f64,
    /// The plan's sustained read limit it was derived from, when known (requests per second).
    pub limit_rps: Option<f64>,
    /// When the flood started and ended (offsets from the run's start).
    pub start_offset_us: u64,
    /// See `start_offset_us`.
    pub end_offset_us: u64,
    /// Flood requests sent.
    pub sent: u64,
    /// Answered 2xx.
    pub ok: u64,
    /// Answered 429: the limiter holding the flooder to its plan.
    pub rate_limited: u64,
    /// Answered before the first 429: the plan's burst allowance draining. Left out of the
    /// share refused, so the share does not depend on how long the stage is.
    #[serde(default)]
    pub burst: u64,
    /// The plan's burst as the service announced it (`RateLimit-Limit`), when it did.
    #[serde(default)]
    pub plan_burst: Option<u64>,
    /// Anything else (other statuses, no answer).
    pub other: u64,
    /// Ticks of the schedule skipped because too many flood requests were still in flight
    /// (a slow service); the flood never queues them up to send in a burst later.
    pub skipped: u64,
    /// Why the flood did not run as planned, when it did not (e.g. the login failed).
    pub problem: Option<String>,
}

impl NoisyNeighbourSection {
    /// The share of the flood refused once its burst was spent: `rate_limited / (sent -
    /// burst)`. When nothing was ever refused it is 0 — unless the flood was too short to
    /// spend the plan's announced burst, or sent nothing, which says nothing (`None`).
    pub fn rate_limited_rate(&self) -> Option<f64> {
        if self.rate_limited == 0 {
            let too_short = self.plan_burst.is_some_and(|b| self.sent <= b);
            return (self.sent > 0 && !too_short).then_some(0.0);
        }
        let past_burst = self.sent.saturating_sub(self.burst).max(1);
        Some(self.rate_limited as f64 / past_burst as f64)
    }
}
