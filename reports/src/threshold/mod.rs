//! k6-style thresholds: parsed from text into typed values ([`parse`]) and evaluated against a
//! report ([`eval`]).
//!
//! Grammar (whitespace between tokens is free):
//!
//! ```text
//! threshold := [ "during" PHASE ":" ] METRIC [ "{" "endpoint" "=" STRING "}" ] OP NUMBER [UNIT]
//! PHASE     := baseline | fault | recovery
//! METRIC    := http.(p50|p90|p95|p99|p999|max|avg|error_rate|rps|count)
//!            | probes.(leaks|failures) | ledger.(lost|duplicated|acked)
//!            | recovery.time | alerts.fired | alert.NAME.fired
//! OP        := < | <= | > | >= | == | !=
//! UNIT      := us | ms | s | m        (latency metrics and recovery.time: required)
//!            | %                     (error_rate: optional, a bare number is a fraction)
//! ```
//!
//! Phases and endpoint selectors apply to `http.*` metrics only.

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
    /// `alert.<name>.fired`: 1 when the named rule fired, else 0 (the name is
    /// [`Threshold::alert`]).
    AlertFired,
}

/// Every metric with its textual name, for parsing and printing.
pub(crate) const METRIC_NAMES: [(&str, Metric); 18] = [
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
    ("probes.leaks", Metric::ProbeLeaks),
    ("probes.failures", Metric::ProbeFailures),
    ("ledger.lost", Metric::LedgerLost),
    ("ledger.duplicated", Metric::LedgerDuplicated),
    ("ledger.acked", Metric::LedgerAcked),
    ("recovery.time", Metric::RecoveryTime),
    ("alerts.fired", Metric::AlertsFired),
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
            Metric::Http(H::ErrorRate) => ValueUnit::Ratio,
            Metric::Http(H::Rps) => ValueUnit::PerSecond,
            Metric::Http(H::Count) => ValueUnit::Count,
            Metric::Http(_) | Metric::RecoveryTime => ValueUnit::Microseconds,
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
        match &self.alert {
            Some(name) => write!(f, "alert.{name}.fired")?,
            None => f.write_str(self.metric.name())?,
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
