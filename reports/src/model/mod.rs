//! The `report.json` data model: the single source of truth every renderer reads.
//!
//! Conventions that hold for every type here:
//! - durations and latencies are integers in microseconds, with the unit in the field name
//!   (`p95_us`, `start_offset_us`); absolute instants are unix time (`*_unix_us`, `unix_s`);
//! - offsets (`*_offset_us`) are measured from [`RunInfo::started_at_unix_us`];
//! - every section is always present; a feature the run did not use leaves its section empty
//!   (and `enabled: false` where an empty list would be ambiguous), never missing;
//! - maps are `BTreeMap` and lists keep a defined order so the same data always serializes, and
//!   renders, byte for byte the same.

mod baseline;
mod diagnosis;
mod drill;
mod noise;
mod open_model;
mod run;
mod scenario;
mod sections;
mod tenants;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::threshold::{Metric, Op};

pub use baseline::{BaselineDelta, BaselineSection, DeltaStatus, NoiseModel};
pub use diagnosis::{
    DiagnosisSection, EndpointDiagnosis, PoolUsage, PostgresActivity, QueueUsage, StatementStat,
    TableScan,
};
pub use drill::{DrillBackup, DrillDisaster, DrillSection, DrillStrategy, TableCounts};
pub use noise::{
    EndpointSecond, EndpointSeries, EnvironmentSample, EnvironmentSection, EnvironmentSummary,
    MAX_SERIES_POINTS,
};
pub use open_model::OpenModelSection;
pub use run::{Backend, RunInfo, ShardInfo, Wiring};
pub use scenario::{ScenarioResults, SpikeResult, StageKind, StageVerdict, StressResult, Trend};
pub use sections::{
    AlertRecord, AlertsSection, ChaosEvent, ChaosEventKind, ChaosSection, FaultWindow, Hypothesis,
    LedgerSection, ProbeResult, ProbesSection, ResourceSample, ResourcesSection,
};
pub use tenants::{NoisyNeighbourSection, TenantReport};

/// Version of the `report.json` layout. Bumped on any incompatible change.
///
/// 2: `run.backend` is one of `docker`/`native`/`external` (or `null`), and whether the fault
/// proxies were in the path is `run.wiring`, no longer words appended to the backend.
pub const SCHEMA_VERSION: u32 = 2;

/// One run's complete result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Layout version of this document; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The overall outcome.
    pub verdict: Verdict,
    /// Human-readable reasons behind the verdict (empty for a clean pass).
    pub reasons: Vec<String>,
    /// What ran, where, and with which inputs.
    pub run: RunInfo,
    /// Whether the load generator itself kept up; a saturated generator makes the run invalid.
    pub generator: GeneratorHealth,
    /// How the `histogram` strings in this document are encoded and how precise they are.
    pub histogram_format: HistogramFormat,
    /// Load-profile stages (ramp-up, steady, spike, ...) in time order.
    pub stages: Vec<Stage>,
    /// Statistics per chaos phase kind (baseline / fault / recovery); empty without chaos.
    pub phases: Vec<PhaseReport>,
    /// Every threshold with its observed value and outcome, in declaration order.
    pub thresholds: Vec<ThresholdResult>,
    /// All endpoints together over the whole run (`name` is `"all"`).
    pub total: EndpointReport,
    /// One entry per endpoint over the whole run, sorted by name.
    pub endpoints: Vec<EndpointReport>,
    /// One entry per wall-clock second that saw at least one request, in time order.
    pub series: Vec<SecondPoint>,
    /// Cross-tenant security probe results.
    pub probes: ProbesSection,
    /// Injected faults, their timeline and the hypotheses checked against them.
    pub chaos: ChaosSection,
    /// Acknowledged-write ledger read back at the end of the run.
    pub ledger: LedgerSection,
    /// Alerts the monitor saw fire while the run went on.
    pub alerts: AlertsSection,
    /// CPU / memory samples of the generator, the service and the backends.
    pub resources: ResourcesSection,
    /// Stress breaking point, spike recovery, endurance trends; empty for other scenarios.
    /// Defaulted when absent (it was added within `schema_version` 1, as an optional section).
    #[serde(default)]
    pub scenario_results: ScenarioResults,
    /// The comparison against `--baseline`; a regression in it fails the verdict. Defaulted
    /// when absent, like `scenario_results`.
    #[serde(default)]
    pub baseline: BaselineSection,
    /// The machine during the run (CPU used elsewhere, steal, load average): what makes two
    /// runs comparable or not. Defaulted when absent, like `scenario_results`.
    #[serde(default)]
    pub environment: EnvironmentSection,
    /// Each endpoint's per-second means, sorted by name (compare tests a change over them).
    /// Defaulted when absent, like `scenario_results`.
    #[serde(default)]
    pub endpoint_series: Vec<EndpointSeries>,
    /// The virtual users' requests per tenant, in the fixture's order (empty when the run
    /// did not know its tenants). Defaulted when absent, like `scenario_results`.
    #[serde(default)]
    pub tenants: Vec<TenantReport>,
    /// The same, counting only requests sent while the noisy neighbour flooded (empty without
    /// one): what `tenant.*` thresholds judge when the run had a flood. Defaulted when absent.
    #[serde(default)]
    pub tenants_during_flood: Vec<TenantReport>,
    /// The noisy-neighbour flood, when the scenario had one. Defaulted when absent.
    #[serde(default)]
    pub noisy_neighbour: NoisyNeighbourSection,
    /// The backup-and-restore drill's measurements (RTO, RPO, backups); `enabled: false` for
    /// every other run. Defaulted when absent, like `scenario_results`.
    #[serde(default)]
    pub drill: DrillSection,
    /// Arrival-rate stages: iterations scheduled, started and dropped, and service time beside
    /// response time; `enabled: false` for a closed-model run. Defaulted when absent.
    #[serde(default)]
    pub open_model: OpenModelSection,
    /// Where the time went per endpoint (DB, pool wait, Redis, the service itself) and the
    /// cause named when one dominates; `enabled: false` when the target exports no per-route
    /// cost metrics. Defaulted when absent.
    #[serde(default)]
    pub diagnosis: DiagnosisSection,
}

/// The overall outcome of a run. Precedence when several apply: aborted, invalid, fail.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every threshold held and the measurement is trustworthy.
    Pass,
    /// At least one threshold failed.
    Fail,
    /// The numbers cannot support a verdict: the generator, not the system under test, was
    /// the bottleneck, or the baseline comparison was not comparable (a machine busy elsewhere).
    Invalid,
    /// The run was interrupted; the report is partial.
    Aborted,
}

impl Verdict {
    /// Lower-case name as it appears in the JSON (`"pass"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Invalid => "invalid",
            Verdict::Aborted => "aborted",
        }
    }
}

/// Health of the load generator, set by the loadgen from its own measurements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GeneratorHealth {
    /// True when the generator could not keep the planned rate (CPU-bound, scheduling lag, too
    /// few connections). Makes the verdict `invalid`.
    pub saturated: bool,
    /// Why the loadgen judged itself saturated, one sentence each.
    pub reasons: Vec<String>,
    /// Highest CPU use of the generator process seen during the run, in percent of one core.
    pub cpu_percent_max: Option<f64>,
    /// Iterations that started later than scheduled by more than the loadgen's tolerance.
    pub late_iterations: u64,
}

/// Describes the histogram strings embedded in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistogramFormat {
    /// Encoding of every `histogram` field: base64 of the HdrHistogram V2 deflate format.
    pub encoding: String,
    /// Significant decimal digits kept by the histograms (3 = values within 0.1%).
    pub significant_digits: u8,
    /// Smallest distinguishable latency, in microseconds.
    pub lowest_discernible_us: u64,
    /// Largest stored latency, in microseconds; larger values were clamped to it.
    pub highest_trackable_us: u64,
}

impl Default for HistogramFormat {
    fn default() -> Self {
        HistogramFormat {
            encoding: crate::histogram::ENCODING.to_owned(),
            significant_digits: crate::histogram::SIGNIFICANT_DIGITS,
            lowest_discernible_us: crate::histogram::LOWEST_DISCERNIBLE_US,
            highest_trackable_us: crate::histogram::HIGHEST_TRACKABLE_US,
        }
    }
}

/// One stage of the load profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stage {
    /// Stage name as written in the scenario (e.g. `ramp-up`, `steady`, `spike`).
    pub name: String,
    /// Start, in microseconds from run start.
    pub start_offset_us: u64,
    /// End, in microseconds from run start.
    pub end_offset_us: u64,
    /// Virtual users the stage aims for by its end.
    pub target_users: u32,
    /// Target request rate by the stage's end, when the profile is rate-based.
    pub target_rps: Option<f64>,
}

/// Chaos phase kinds that thresholds can select with `during <kind>:`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Before any fault: the steady state that faults are compared against.
    Baseline,
    /// While a fault is active.
    Fault,
    /// After a fault was removed, until the end of the run or the next fault.
    Recovery,
}

impl PhaseKind {
    /// All kinds, in the order reports list them.
    pub const ALL: [PhaseKind; 3] = [PhaseKind::Baseline, PhaseKind::Fault, PhaseKind::Recovery];

    /// Lower-case name as written in thresholds and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Baseline => "baseline",
            PhaseKind::Fault => "fault",
            PhaseKind::Recovery => "recovery",
        }
    }
}

/// A half-open time interval `[start, end)` relative to run start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Span {
    /// Start, in microseconds from run start.
    pub start_offset_us: u64,
    /// End, in microseconds from run start.
    pub end_offset_us: u64,
}

/// Statistics for every interval of one phase kind taken together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseReport {
    /// Which phase kind this is.
    pub kind: PhaseKind,
    /// The intervals the run spent in this phase, in time order.
    pub spans: Vec<Span>,
    /// Sum of the spans' lengths, in microseconds (the denominator of `rps`).
    pub duration_us: u64,
    /// All endpoints together during this phase (`name` is `"all"`).
    pub total: EndpointReport,
    /// Per-endpoint statistics during this phase, sorted by name.
    pub endpoints: Vec<EndpointReport>,
}

/// Request statistics for one endpoint (or all of them) over some time range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointReport {
    /// Endpoint label, e.g. `GET /employees` (user data: renderers escape it), or `all`.
    pub name: String,
    /// Requests completed (successful or not).
    pub count: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: ErrorCounts,
    /// `errors.total / count` (0 when `count` is 0), as a fraction in 0..=1.
    pub error_rate: f64,
    /// `count` divided by the measured duration in seconds.
    pub rps: f64,
    /// Latency summary computed from `histogram`.
    pub latency: LatencySummary,
    /// Latency histogram of every request that completed or timed out (see `histogram_format`).
    pub histogram: String,
}

/// Failed requests broken down by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorCounts {
    /// Responses with a 4xx status the scenario did not expect.
    pub http_4xx: u64,
    /// Responses with a 5xx status.
    pub http_5xx: u64,
    /// Requests that hit the client timeout.
    pub timeout: u64,
    /// Connection refused / reset / DNS failures: no HTTP response at all.
    pub connection: u64,
    /// Anything else (body decode failures, failed checks on a 2xx response).
    pub other: u64,
    /// Sum of all the above.
    pub total: u64,
}

/// Latency percentiles, read from an HDR histogram with 3 significant digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencySummary {
    /// Smallest latency, microseconds.
    pub min_us: u64,
    /// Mean latency, microseconds (rounded).
    pub mean_us: u64,
    /// Median, microseconds.
    pub p50_us: u64,
    /// 90th percentile, microseconds.
    pub p90_us: u64,
    /// 95th percentile, microseconds.
    pub p95_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// 99.9th percentile, microseconds.
    pub p999_us: u64,
    /// Largest latency, microseconds.
    pub max_us: u64,
}

/// One wall-clock second of the run, all endpoints together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecondPoint {
    /// The second, as unix time in whole seconds (absolute, so runs can be aligned and merged).
    pub unix_s: u64,
    /// Requests completed in this second.
    pub count: u64,
    /// Failed requests in this second.
    pub errors: u64,
    /// Median latency in this second, microseconds.
    pub p50_us: u64,
    /// 95th percentile latency in this second, microseconds.
    pub p95_us: u64,
    /// 99th percentile latency in this second, microseconds.
    pub p99_us: u64,
    /// Largest latency in this second, microseconds.
    pub max_us: u64,
    /// This second's histogram, when the recorder kept it (lets merge recompute percentiles
    /// exactly; without it merged per-second percentiles are the max of the inputs).
    pub histogram: Option<String>,
}

/// A threshold's evaluation against this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdResult {
    /// The threshold in canonical text form (re-parsable), e.g. `http.p95 < 300ms`.
    pub expression: String,
    /// The metric, e.g. `http.p95`.
    pub metric: Metric,
    /// Phase the threshold is restricted to, if any.
    pub phase: Option<PhaseKind>,
    /// Endpoint the threshold is restricted to, if any.
    pub endpoint: Option<String>,
    /// Tenant the threshold is restricted to (a label, or `*` for each tenant), if any.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The alert rule of an `alert.<name>.fired` threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// Comparison operator.
    pub op: Op,
    /// The limit, in `unit`.
    pub limit: f64,
    /// The observed value, in `unit`; null when the run has no data for it.
    pub observed: Option<f64>,
    /// Unit of `limit` and `observed`.
    pub unit: ValueUnit,
    /// Whether the threshold held. Missing data is a failure.
    pub pass: bool,
    /// Why it failed (e.g. `no data`), when it did.
    pub reason: Option<String>,
}

/// Units a threshold value can be expressed in, after normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueUnit {
    /// Microseconds.
    Microseconds,
    /// A fraction in 0..=1 (thresholds written as `1%` are stored as 0.01).
    Ratio,
    /// A plain count.
    Count,
    /// Requests per second.
    PerSecond,
    /// Change per minute of a monitored series, in the series' own unit (MiB for memory).
    PerMinute,
}

impl Report {
    /// An empty report for `run`: every section present and empty, verdict `pass`.
    pub fn empty(run: RunInfo) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            verdict: Verdict::Pass,
            reasons: Vec::new(),
            run,
            generator: GeneratorHealth::default(),
            histogram_format: HistogramFormat::default(),
            stages: Vec::new(),
            phases: Vec::new(),
            thresholds: Vec::new(),
            total: EndpointReport::empty("all"),
            endpoints: Vec::new(),
            series: Vec::new(),
            probes: ProbesSection::default(),
            chaos: ChaosSection::default(),
            ledger: LedgerSection::default(),
            alerts: AlertsSection::default(),
            resources: ResourcesSection::default(),
            scenario_results: ScenarioResults::default(),
            baseline: BaselineSection::default(),
            environment: EnvironmentSection::default(),
            endpoint_series: Vec::new(),
            tenants: Vec::new(),
            tenants_during_flood: Vec::new(),
            noisy_neighbour: NoisyNeighbourSection::default(),
            drill: DrillSection::default(),
            open_model: OpenModelSection::default(),
            diagnosis: DiagnosisSection::default(),
        }
    }

    /// The phase report of `kind`, if the run had that phase.
    pub fn phase(&self, kind: PhaseKind) -> Option<&PhaseReport> {
        self.phases.iter().find(|p| p.kind == kind)
    }
}

impl EndpointReport {
    /// Statistics with no requests, carrying an encoded empty histogram.
    pub fn empty(name: &str) -> EndpointReport {
        let histogram =
            crate::histogram::encode(&crate::histogram::new_histogram()).unwrap_or_default();
        EndpointReport {
            name: name.to_owned(),
            histogram,
            ..EndpointReport::default()
        }
    }
}
