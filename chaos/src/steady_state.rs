//! Steady-state hypotheses: "during the fault, p95 stays under 500 ms".
//!
//! Only the vocabulary and the evaluation against numbers the caller supplies; measuring is
//! the load generator's job, so nothing here does I/O.

use crate::phases::Phase;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// What is measured. Each metric has one canonical unit, see [`Metric::unit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Median latency, milliseconds.
    P50,
    /// 95th percentile latency, milliseconds.
    P95,
    /// 99th percentile latency, milliseconds.
    P99,
    /// Failed / total requests, a fraction in `0.0..=1.0`.
    ErrorRate,
    /// Completed requests per second.
    Throughput,
    /// Seconds from the last fault removal until back within the baseline band.
    RecoveryTime,
}

impl Metric {
    /// The unit values of this metric are expressed in.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::P50 | Metric::P95 | Metric::P99 => "ms",
            Metric::ErrorRate => "fraction",
            Metric::Throughput => "req/s",
            Metric::RecoveryTime => "s",
        }
    }
}

/// Which part of the run a hypothesis is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole run.
    Run,
    /// Only one phase.
    #[serde(untagged)]
    Phase(Phase),
}

/// A comparison operator, k6-style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
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
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        })
    }
}

/// `observed <op> limit`, in the metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The operator.
    pub op: Comparison,
    /// The right-hand side.
    pub limit: f64,
}

impl Bound {
    /// Whether `observed` satisfies the bound.
    pub fn admits(&self, observed: f64) -> bool {
        match self.op {
            Comparison::Lt => observed < self.limit,
            Comparison::Le => observed <= self.limit,
            Comparison::Gt => observed > self.limit,
            Comparison::Ge => observed >= self.limit,
        }
    }
}

/// A named claim about the system under fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    /// Human name shown in reports.
    pub name: String,
    /// What is measured.
    pub metric: Metric,
    /// The condition it must meet.
    pub bound: Bound,
    /// Over which part of the run.
    pub scope: Scope,
}

/// Measured values keyed by scope and metric, supplied by the caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    values: HashMap<(Scope, Metric), f64>,
}

impl Observations {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` (in the metric's unit) for `metric` over `scope`.
    pub fn set(&mut self, scope: Scope, metric: Metric, value: f64) -> &mut Self {
        self.values.insert((scope, metric), value);
        self
    }

    /// The recorded value, if any.
    pub fn get(&self, scope: Scope, metric: Metric) -> Option<f64> {
        self.values.get(&(scope, metric)).copied()
    }
}

/// The result of checking one hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The bound holds.
    Held,
    /// The bound does not hold.
    Violated,
    /// Nothing (or NaN) was measured: neither a pass nor a fail, reports decide.
    NoData,
}

/// One hypothesis with what was observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The hypothesis' name.
    pub name: String,
    /// The observed value, if any.
    pub observed: Option<f64>,
    /// The verdict.
    pub status: Status,
}

impl Hypothesis {
    /// Checks the hypothesis against `obs`.
    pub fn evaluate(&self, obs: &Observations) -> Evaluation {
        let observed = obs.get(self.scope, self.metric).filter(|v| !v.is_nan());
        let status = match observed {
            None => Status::NoData,
            Some(v) if self.bound.admits(v) => Status::Held,
            Some(_) => Status::Violated,
        };
        Evaluation {
            name: self.name.clone(),
            observed,
            status,
        }
    }
}

/// Evaluates every hypothesis, in order.
pub fn evaluate_all(hypotheses: &[Hypothesis], obs: &Observations) -> Vec<Evaluation> {
    hypotheses.iter().map(|h| h.evaluate(obs)).collect()
}
