//! Report sections filled by features other than plain load: probes, chaos, ledger, alerts and
//! resource samples. Each is present (and empty) in every report.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Cross-tenant security probes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbesSection {
    /// One entry per probe, in the order the catalogue lists them.
    pub results: Vec<ProbeResult>,
}

impl ProbesSection {
    /// Total leaks over all probes (`probes.leaks`).
    pub fn leaks(&self) -> u64 {
        self.results.iter().map(|r| r.leaks).sum()
    }

    /// Total probe failures (`probes.failures`).
    pub fn failures(&self) -> u64 {
        self.results.iter().map(|r| r.failures).sum()
    }

    /// Adds `results` (another pass of the same probes, e.g. a run's sweeps), summing the
    /// counts of a probe already present and keeping at most `max_examples` examples each.
    pub fn absorb(&mut self, results: Vec<ProbeResult>, max_examples: usize) {
        for r in results {
            match self
                .results
                .iter_mut()
                .find(|p| p.kind == r.kind && p.name == r.name)
            {
                Some(p) => {
                    p.attempts += r.attempts;
                    p.leaks += r.leaks;
                    p.failures += r.failures;
                    let room = max_examples.saturating_sub(p.examples.len());
                    p.examples.extend(r.examples.into_iter().take(room));
                }
                None => self.results.push(r),
            }
        }
    }
}

/// Result of one probe from the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    /// Probe kind, e.g. `cross_tenant_read`, `idor`, `rate_limit_isolation`; JUnit groups by it.
    pub kind: String,
    /// Specific probe name within the kind.
    pub name: String,
    /// Times the probe ran.
    pub attempts: u64,
    /// Attempts where one tenant saw another tenant's data (a security failure).
    pub leaks: u64,
    /// Attempts that could not reach a conclusion or got an unexpected answer.
    pub failures: u64,
    /// A few offending requests for the report (bounded by the prober).
    pub examples: Vec<String>,
}

impl ProbeResult {
    /// A probe passes when it never leaked and never failed.
    pub fn pass(&self) -> bool {
        self.leaks == 0 && self.failures == 0
    }
}

/// Chaos engineering: what was injected, when, and whether the hypotheses held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChaosSection {
    /// Fault windows (used to shade charts), in start order.
    pub faults: Vec<FaultWindow>,
    /// Timeline of chaos events, in time order.
    pub events: Vec<ChaosEvent>,
    /// Steady-state hypotheses checked against the faults.
    pub hypotheses: Vec<Hypothesis>,
    /// Longest time from a fault's removal until steady state returned, in microseconds; null
    /// when no fault was removed or recovery was not measured (`recovery.time`).
    pub recovery_time_us: Option<u64>,
}

/// One injected fault and how long it was active.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultWindow {
    /// Name given in the schedule.
    pub name: String,
    /// Fault type (Toxiproxy names: `latency`, `timeout`, ... or `kill`, `stop`, `pause`, `down`).
    pub fault: String,
    /// What the fault hit: `postgres`, `redis`, `service`.
    pub target: String,
    /// Fault attributes as written (e.g. `latency` -> `200ms`, `toxicity` -> `1.0`).
    pub attributes: BTreeMap<String, String>,
    /// Injection time, microseconds from run start.
    pub start_offset_us: u64,
    /// Removal time, microseconds from run start; null if still active when the run ended.
    pub end_offset_us: Option<u64>,
}

/// Kinds of entries on the chaos timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChaosEventKind {
    /// A fault was injected.
    Inject,
    /// A fault was removed.
    Remove,
    /// The steady-state check started failing.
    SteadyStateLost,
    /// The steady-state check passed again.
    SteadyStateRestored,
    /// Anything else worth a line on the timeline.
    Note,
    /// An alert rule's condition started holding (Prometheus: pending).
    AlertPending,
    /// An alert fired (its condition held for its `for:` duration).
    AlertFiring,
    /// A firing alert resolved.
    AlertResolved,
}

/// One entry on the chaos timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChaosEvent {
    /// When, microseconds from run start.
    pub at_offset_us: u64,
    /// What happened.
    pub kind: ChaosEventKind,
    /// Component concerned (`postgres`, `redis`, `service`).
    pub target: String,
    /// One-line description.
    pub message: String,
}

/// A steady-state hypothesis ("p95 stays under 1s while Redis is down") and its outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hypothesis {
    /// Short name; the JUnit test case name.
    pub name: String,
    /// What was expected, in words.
    pub expected: String,
    /// What was observed, in words.
    pub observed: String,
    /// Whether it held.
    pub pass: bool,
}

/// The acknowledged-write ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LedgerSection {
    /// True when the run kept a ledger; `ledger.*` thresholds have no data otherwise.
    pub enabled: bool,
    /// Writes the service acknowledged (`ledger.acked`).
    pub acked: u64,
    /// Acknowledged writes found intact on read-back.
    pub verified: u64,
    /// Acknowledged writes missing on read-back (`ledger.lost`).
    pub lost: u64,
    /// Writes found more than once (`ledger.duplicated`).
    pub duplicated: u64,
    /// Writes that got no acknowledgement (timeout, connection error, 5xx) but were committed
    /// anyway; informational, not a failure.
    #[serde(default)]
    pub unacknowledged_but_present: u64,
    /// A few lost or duplicated record ids (bounded by the ledger).
    pub examples: Vec<String>,
}

/// Alerts as the run's Prometheus evaluated them (its alerts API, read every second).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertsSection {
    /// True when a Prometheus was watched; `alert*` thresholds have no data otherwise.
    pub enabled: bool,
    /// The Prometheus whose alerts API was read, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    /// One entry per alert rule, sorted by name.
    pub alerts: Vec<AlertRecord>,
}

impl AlertsSection {
    /// Number of alert rules that fired at least once (`alerts.fired`).
    pub fn fired(&self) -> u64 {
        self.alerts
            .iter()
            .filter(|a| a.fired_at_offset_us.is_some())
            .count() as u64
    }
}

/// One alert rule and when it fired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertRecord {
    /// Alert rule name.
    pub name: String,
    /// Whether the scenario expected this alert to fire (e.g. during a fault).
    pub expected: bool,
    /// First time its condition held (pending), microseconds from run start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_at_offset_us: Option<u64>,
    /// First time it fired, microseconds from run start; null if it never fired.
    pub fired_at_offset_us: Option<u64>,
    /// When it resolved, microseconds from run start; null if it never resolved.
    pub resolved_at_offset_us: Option<u64>,
}

/// Resource usage samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourcesSection {
    /// Samples in time order (at most one per source per second).
    pub samples: Vec<ResourceSample>,
}

/// One resource measurement of one process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceSample {
    /// When, unix time in whole seconds.
    pub unix_s: u64,
    /// Which process: `generator`, `service`, `postgres`, `redis`.
    pub source: String,
    /// CPU use over the last interval, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
}
