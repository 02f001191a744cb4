//! k6-style thresholds: parsed from text into typed values ([`parse`]) and evaluated against a
//! report ([`eval`]).
//!
//! Grammar (whitespace between tokens is free):
//!
//! ```text
//! threshold := [ "during" PHASE ":" ] METRIC [ "{" "endpoint" "=" STRING "}" ] OP NUMBER [UNIT]
//!            | "tenant." TENANT "." STAT OP NUMBER [UNIT]
//! PHASE     := baseline | fault | recovery
//! METRIC    := http.(p50|p90|p95|p99|p999|max|avg|error_rate|rps|count|rate_limited)
//!            | probes.(leaks|failures) | ledger.(lost|duplicated|acked)
//!            | recovery.time | alerts.fired | noisy_neighbour.rate_limited | drill.(rto|rpo|lost)
//!            | alert.NAME.fired
//!            | trend.(rss_mib|db_connections|job_queue)_per_min | diagnosis.causes
//! TENANT    := a tenant's label ([A-Za-z0-9_-]+) | "*"   (each tenant but the noisy neighbour)
//! STAT      := p50|p90|p95|p99|p999|max|avg|error_rate|rps|count|rate_limited
//! OP        := < | <= | > | >= | == | !=
//! UNIT      := us | ms | s | m | h    (latency metrics, recovery.time, drill.rto|rpo: required)
//!            | %                     (error_rate: optional, a bare number is a fraction)
//! ```
//!
//! In a run with a noisy neighbour, `tenant.<label>.*` judges the requests sent while it
//! flooded (`tenants_during_flood`); otherwise the whole run (`tenants`).
//!
//! `trend.*` are the least-squares slopes of the service's gauges over the held stages (the
//! service's resident memory in MiB, open DB connections, payroll queue depth, each per
//! minute): an endurance run's "does it creep up?", with the number it crept by.
//!
//! `diagnosis.causes` counts the bottlenecks the run's diagnosis named (one resource that
//! dominates an endpoint's latency, or a job queue that outgrew its workers;
//! `docs/bottlenecks.md`); a failure lists them.
//!
//! Phases and endpoint selectors apply to `http.*` metrics only, and not to
//! `http.rate_limited` (429s are counted per tenant, over the whole run).

pub mod eval;
pub mod parse;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{PhaseKind, ValueUnit};

pub use eval::{evaluate, evaluate_all};
pub use parse::{ParseErrorKind, ThresholdParseError, parse_threshold};

/// An `http.*` statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMetric {
    /// Median latency.
    P50,
    /// 90th percentile latency.
    P90,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Largest latency.
    Max,
    /// Mean latency.
    Avg,
    /// Failed requests / all requests.
    ErrorRate,
    /// Requests per second.
    Rps,
    /// Number of requests.
    Count,
    /// Requests answered 429 / all requests (counted per tenant; whole run only).
    RateLimited,
}

impl HttpMetric {
    /// The statistic's name after `http.` or `tenant.<label>.`.
    pub fn stat_name(self) -> &'static str {
        Metric::Http(self)
            .name()
            .strip_prefix("http.")
            .unwrap_or("unknown")
    }
}

/// Which tenants a `tenant.<label>.<stat>` threshold judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// `tenant.*`: each tenant that carried virtual users, judged one by one (the noisy
    /// neighbour carries none, so it is never among them).
    Each,
    /// One tenant, by its label.
    Named(String),
}

impl TenantScope {
    /// As written between `tenant.` and the statistic.
    pub fn as_str(&self) -> &str {
        match self {
            TenantScope::Each => "*",
            TenantScope::Named(label) => label,
        }
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Request statistics.
    Http(HttpMetric),
    /// `probes.leaks`: cross-tenant leaks over all probes.
    ProbeLeaks,
    /// `probes.failures`: probes that failed to conclude.
    ProbeFailures,
    /// `ledger.lost`: acknowledged writes missing at the end.
    LedgerLost,
    /// `ledger.duplicated`: writes found more than once.
    LedgerDuplicated,
    /// `ledger.acked`: acknowledged writes.
    LedgerAcked,
    /// `recovery.time`: longest time to steady state after a fault.
    RecoveryTime,
    /// `alerts.fired`: alert rules that fired.
    AlertsFired,
    /// `noisy_neighbour.rate_limited`: the share of the flood answered 429.
    NoisyNeighbourRateLimited,
    /// `drill.rto`: from a drill's disaster until the service answered with restored data.
    DrillRto,
    /// `drill.rpo`: a drill's data-loss window.
    DrillRpo,
    /// `drill.lost`: acknowledged writes a drill's restore lost.
    DrillLost,
    /// `dropped_iterations`: arrival-rate iterations dropped for want of a free virtual user.
    DroppedIterations,
    /// `alert.<name>.fired`: 1 when the named rule fired, else 0 (the name is
    /// [`Threshold::alert`]).
    AlertFired,
    /// `trend.rss_mib_per_min`: the service's resident memory, MiB gained per minute.
    TrendRss,
    /// `trend.db_connections_per_min`: open DB pool connections gained per minute.
    TrendDbConnections,
    /// `trend.job_queue_per_min`: payroll jobs queued, gained per minute.
    TrendJobQueue,
    /// `diagnosis.causes`: bottlenecks the diagnosis named.
    DiagnosisCauses,
}

/// Every metric with its textual name, for parsing and printing.
pub(crate) const METRIC_NAMES: [(&str, Metric); 28] = [
    ("http.p50", Metric::Http(HttpMetric::P50)),
    ("http.p90", Metric::Http(HttpMetric::P90)),
    ("http.p95", Metric::Http(HttpMetric::P95)),
    ("http.p99", Metric::Http(HttpMetric::P99)),
    ("http.p999", Metric::Http(HttpMetric::P999)),
    ("http.max", Metric::Http(HttpMetric::Max)),
    ("http.avg", Metric::Http(HttpMetric::Avg)),
    ("http.error_rate", Metric::Http(HttpMetric::ErrorRate)),
    ("http.rps", Metric::Http(HttpMetric::Rps)),
    ("http.count", Metric::Http(HttpMetric::Count)),
    ("http.rate_limited", Metric::Http(HttpMetric::RateLimited)),
    ("probes.leaks", Metric::ProbeLeaks),
    ("probes.failures", Metric::ProbeFailures),
    ("ledger.lost", Metric::LedgerLost),
    ("ledger.duplicated", Metric::LedgerDuplicated),
    ("ledger.acked", Metric::LedgerAcked),
    ("recovery.time", Metric::RecoveryTime),
    ("alerts.fired", Metric::AlertsFired),
    (
        "noisy_neighbour.rate_limited",
        Metric::NoisyNeighbourRateLimited,
    ),
    ("drill.rto", Metric::DrillRto),
    ("drill.rpo", Metric::DrillRpo),
    ("drill.lost", Metric::DrillLost),
    ("dropped_iterations", Metric::DroppedIterations),
    ("trend.rss_mib_per_min", Metric::TrendRss),
    ("trend.db_connections_per_min", Metric::TrendDbConnections),
    ("trend.job_queue_per_min", Metric::TrendJobQueue),
    ("diagnosis.causes", Metric::DiagnosisCauses),
    // Written with the rule's name in place of `<name>`; never matched literally.
    ("alert.<name>.fired", Metric::AlertFired),
];

impl Metric {
    /// The metric's name as written in thresholds, e.g. `http.p95`.
    pub fn name(self) -> &'static str {
        METRIC_NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap_or("unknown")
    }

    /// The unit observed values and limits of this metric are expressed in.
    pub fn unit(self) -> ValueUnit {
        use HttpMetric as H;
        match self {
            Metric::Http(H::ErrorRate | H::RateLimited) | Metric::NoisyNeighbourRateLimited => {
                ValueUnit::Ratio
            }
            Metric::Http(H::Rps) => ValueUnit::PerSecond,
            Metric::Http(H::Count) => ValueUnit::Count,
            Metric::Http(_) | Metric::RecoveryTime | Metric::DrillRto | Metric::DrillRpo => {
                ValueUnit::Microseconds
            }
            Metric::TrendRss | Metric::TrendDbConnections | Metric::TrendJobQueue => {
                ValueUnit::PerMinute
            }
            _ => ValueUnit::Count,
        }
    }

    /// Whether `during <phase>:` and `{endpoint="..."}` may be applied to this metric.
    pub fn is_http(self) -> bool {
        matches!(self, Metric::Http(_))
    }

    /// Whether the metric is one of the acknowledged-write ledger's (`ledger.*`), which is
    /// read back once, after the run.
    pub fn is_ledger(self) -> bool {
        matches!(
            self,
            Metric::LedgerLost | Metric::LedgerDuplicated | Metric::LedgerAcked
        )
    }

    /// The monitored series a `trend.*` metric reads, and the divisor from the series' unit
    /// to the threshold's (bytes to MiB); `None` for other metrics.
    pub fn trend_series(self) -> Option<(&'static str, f64)> {
        match self {
            Metric::TrendRss => Some(("rss_bytes", 1024.0 * 1024.0)),
            Metric::TrendDbConnections => Some(("db_pool_connections", 1.0)),
            Metric::TrendJobQueue => Some(("job_queue_depth", 1.0)),
            _ => None,
        }
    }

    /// The metric named `name` as written in thresholds (`http.p95`).
    pub fn from_name(name: &str) -> Option<Metric> {
        METRIC_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// In the JSON a metric is its name as written in thresholds (`"http.p95"`).
impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Metric::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown metric `{name}`")))
    }
}

impl JsonSchema for Metric {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Metric".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = METRIC_NAMES.iter().map(|(n, _)| *n).collect();
        schemars::json_schema!({
            "description": "A threshold metric as written, e.g. `http.p95`.",
            "type": "string",
            "enum": names
        })
    }
}

/// Comparison operators; in the JSON as written (`"<"`, `"=="`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// `observed <op> limit`.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
        }
    }
}

/// The unit suffix a limit was written with (kept so the threshold prints as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    /// No suffix.
    None,
    /// `us`
    Micros,
    /// `ms`
    Millis,
    /// `s`
    Seconds,
    /// `m`
    Minutes,
    /// `h` (a drill's RTO and RPO are claimed in hours)
    Hours,
    /// `%`
    Percent,
}

impl Suffix {
    /// The suffix as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Suffix::None => "",
            Suffix::Micros => "us",
            Suffix::Millis => "ms",
            Suffix::Seconds => "s",
            Suffix::Minutes => "m",
            Suffix::Hours => "h",
            Suffix::Percent => "%",
        }
    }

    /// Factor from the written number to the metric's normalised unit (µs or fraction).
    pub(crate) fn factor(self) -> f64 {
        match self {
            Suffix::None | Suffix::Micros => 1.0,
            Suffix::Millis => 1e3,
            Suffix::Seconds => 1e6,
            Suffix::Minutes => 60e6,
            Suffix::Hours => 3600e6,
            Suffix::Percent => 0.01,
        }
    }
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Phase restriction (`during fault:`), if any.
    pub phase: Option<PhaseKind>,
    /// The measured metric.
    pub metric: Metric,
    /// Endpoint restriction (`{endpoint="GET /employees"}`), if any.
    pub endpoint: Option<String>,
    /// Tenant restriction (`tenant.<label>.p95`), if any; the metric is then an `http.*` one.
    pub tenant: Option<TenantScope>,
    /// The alert rule of `alert.<name>.fired`.
    pub alert: Option<String>,
    /// Comparison operator.
    pub op: Op,
    /// The number as written (e.g. `300`), so printing reproduces the input.
    pub literal: String,
    /// The unit suffix as written.
    pub suffix: Suffix,
    /// The limit normalised to [`Metric::unit`] (µs for times, a fraction for `%`).
    pub limit: f64,
}

impl std::str::FromStr for Threshold {
    type Err = ThresholdParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_threshold(s)
    }
}

impl fmt::Display for Threshold {
    /// The canonical form: single spaces, re-parsable to an equal threshold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.phase {
            write!(f, "during {}: ", p.as_str())?;
        }
        match (&self.alert, &self.tenant, self.metric) {
            (Some(name), _, _) => write!(f, "alert.{name}.fired")?,
            (None, Some(scope), Metric::Http(stat)) => {
                write!(f, "tenant.{}.{}", scope.as_str(), stat.stat_name())?
            }
            _ => f.write_str(self.metric.name())?,
        }
        if let Some(e) = &self.endpoint {
            write!(
                f,
                "{{endpoint=\"{}\"}}",
                e.replace('\\', "\\\\").replace('"', "\\\"")
            )?;
        }
        write!(
            f,
            " {} {}{}",
            self.op.as_str(),
            self.literal,
            self.suffix.as_str()
        )
    }
}
