//! Results specific to what a scenario is for: the stress breaking point, the spike recovery
//! time and the endurance trends. [`crate::analysis`] computes them after the run from the
//! series and the monitor's samples; scenarios that have none leave the section empty.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The scenario's own results. Every field is empty unless the scenario computes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioResults {
    /// Stress: each stage judged on its own against the run-wide `http.*` thresholds.
    pub stress: Option<StressResult>,
    /// Spike: how far p95 jumped and how long it took to come back.
    pub spike: Option<SpikeResult>,
    /// Endurance: least-squares trends of the service's gauges; empty for other scenarios.
    pub trends: Vec<Trend>,
}

impl ScenarioResults {
    /// True when no analysis applied to this run.
    pub fn is_empty(&self) -> bool {
        self.stress.is_none() && self.spike.is_none() && self.trends.is_empty()
    }
}

/// How a stage moves from the previous stage's user count to its own: the spec's stage kinds,
/// owned here so that the report's schema lists them and specs cannot drift from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Linear change to the target over the stage.
    Ramp,
    /// Target reached at the stage's start and held.
    Hold,
    /// Sudden jump to the target at the stage's start, held; a spike is a hold whose name
    /// tells the report that the jump is the point.
    Spike,
    /// Linear decrease to the target over the stage.
    RampDown,
}

impl StageKind {
    /// Whether users change gradually across the stage (rather than all at its start).
    pub fn is_gradual(self) -> bool {
        matches!(self, StageKind::Ramp | StageKind::RampDown)
    }

    /// The name as written in spec files and in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Ramp => "ramp",
            StageKind::Hold => "hold",
            StageKind::Spike => "spike",
            StageKind::RampDown => "ramp_down",
        }
    }
}

/// The stress scenario's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StressResult {
    /// Highest hold stage that passed before the first failing hold; null: the first one failed.
    pub breaking_point: Option<String>,
    /// The first hold stage that failed; null: none failed.
    pub first_failure: Option<String>,
    /// Every stage, in time order.
    pub stages: Vec<StageVerdict>,
    /// Open model: the arrival rate of the breaking point's stage, iterations per second
    /// ("held 400 req/s"); null for a users curve or when none held.
    #[serde(default)]
    pub held_rps: Option<f64>,
    /// Open model: the arrival rate of the first failing stage ("broke at 500 req/s").
    #[serde(default)]
    pub broke_at_rps: Option<f64>,
}

impl StressResult {
    /// The breaking point in rate terms, for an open-model run: `held 400 req/s, broke at
    /// 500 req/s` (either half may be missing); `None` for a users curve.
    pub fn in_rate_terms(&self) -> Option<String> {
        let rate = |r: f64| format!("{} req/s", crate::format::trim(r));
        match (self.held_rps, self.broke_at_rps) {
            (None, None) => None,
            (Some(h), None) => Some(format!("held {}, did not break", rate(h))),
            (None, Some(b)) => Some(format!("broke at {} (the first step)", rate(b))),
            (Some(h), Some(b)) => Some(format!("held {}, broke at {}", rate(h), rate(b))),
        }
    }
}

/// One stage judged on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageVerdict {
    /// Stage name from the spec.
    pub name: String,
    /// How the stage moved users.
    pub kind: StageKind,
    /// Virtual users at the stage's end (open model: the pool).
    pub users: u32,
    /// Open model: the stage's arrival rate at its end, iterations per second.
    #[serde(default)]
    pub target_rps: Option<f64>,
    /// Requests completed in the stage's seconds.
    pub count: u64,
    /// Failed / all requests of the stage, a fraction in 0..=1.
    pub error_rate: f64,
    /// p95 of the stage's requests, microseconds.
    pub p95_us: u64,
    /// Whether every applicable threshold held during the stage.
    pub pass: bool,
    /// The thresholds that failed, in canonical text form.
    pub failed: Vec<String>,
}

/// The spike scenario's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SpikeResult {
    /// The stage before the jump.
    pub baseline_stage: String,
    /// The jump.
    pub spike_stage: String,
    /// p95 over the baseline stage, microseconds.
    pub baseline_p95_us: u64,
    /// p95 over the spike stage, microseconds.
    pub spike_p95_us: u64,
    /// Factor on the baseline p95 a second must be within to count as recovered (e.g. 1.2).
    pub recovery_factor: f64,
    /// Time from the spike's end until a second's p95 was back within `recovery_factor` of
    /// the baseline, microseconds; null: it never came back during the run.
    pub recovery_us: Option<u64>,
}

impl SpikeResult {
    /// A spike passes its recovery check when p95 came back before the run ended.
    pub fn recovered(&self) -> bool {
        self.recovery_us.is_some()
    }
}

/// A least-squares trend of one monitored series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trend {
    /// The series, e.g. `rss_bytes`, `db_pool_connections`, `job_queue_depth`.
    pub series: String,
    /// Samples used.
    pub samples: u64,
    /// Change per minute; null with fewer than two samples.
    pub slope_per_minute: Option<f64>,
    /// First value seen.
    pub first: Option<u64>,
    /// Last value seen.
    pub last: Option<u64>,
}
