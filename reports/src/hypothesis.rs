//! Chaos steady-state hypotheses, derived from the thresholds that speak about faults.
//!
//! A run with a chaos schedule states its hypotheses as thresholds: phase-scoped ones
//! (`during fault: http.p95 < 1s`), `recovery.time …` and `ledger.*`. Each becomes one
//! [`Hypothesis`] in words, with the observed value and the threshold's outcome. They are
//! derived from the evaluated thresholds alone, so re-evaluating a report (merge, render)
//! gives the same hypotheses, and a run without faults has none.

use crate::format;
use crate::model::{Hypothesis, PhaseKind, Report, ThresholdResult};

/// The hypotheses of `report`: one per fault-related threshold, in threshold order; empty when
/// no fault was injected.
pub fn derive(report: &Report) -> Vec<Hypothesis> {
    if report.chaos.faults.is_empty() {
        return Vec::new();
    }
    report
        .thresholds
        .iter()
        .filter(|t| is_hypothesis(t))
        .map(hypothesis)
        .collect()
}

/// Whether a threshold states a chaos hypothesis: it targets a phase, recovery or the ledger.
/// JUnit reports these as chaos cases rather than plain thresholds.
pub fn is_hypothesis(t: &ThresholdResult) -> bool {
    t.phase.is_some() || t.metric == "recovery.time" || t.metric.starts_with("ledger.")
}

fn hypothesis(t: &ThresholdResult) -> Hypothesis {
    let subject = subject(t);
    let limit = format::value(t.limit, t.unit);
    let expected = match (t.op.as_str(), t.limit == 0.0, t.unit) {
        // Counts compared with zero read better as "no …" / "some …".
        ("==", true, crate::model::ValueUnit::Count) => format!("no {subject}"),
        (">", true, crate::model::ValueUnit::Count)
        | ("!=", true, crate::model::ValueUnit::Count) => {
            format!("some {subject}")
        }
        (op, _, _) => format!("{subject} {} {limit}", op_words(op)),
    };
    let expected = match when(t) {
        Some(when) => format!("{expected} {when}"),
        None => expected,
    };
    let observed = match (t.observed, &t.reason) {
        (Some(v), _) => format!("{subject}: {}", format::value(v, t.unit)),
        (None, Some(why)) => why.clone(),
        (None, None) => "no data".to_owned(),
    };
    Hypothesis {
        name: t.expression.clone(),
        expected,
        observed,
        pass: t.pass,
    }
}

/// The measured quantity in words, with its endpoint if the threshold names one.
fn subject(t: &ThresholdResult) -> String {
    let what = match t.metric.as_str() {
        "http.p50" => "p50 latency",
        "http.p90" => "p90 latency",
        "http.p95" => "p95 latency",
        "http.p99" => "p99 latency",
        "http.p999" => "p99.9 latency",
        "http.max" => "max latency",
        "http.avg" => "mean latency",
        "http.error_rate" => "error rate",
        "http.rps" => "throughput",
        "http.count" => "requests",
        "ledger.lost" => "lost acknowledged writes",
        "ledger.duplicated" => "duplicated writes",
        "ledger.acked" => "acknowledged writes",
        "recovery.time" => "time to recover after the fault",
        other => other,
    };
    match &t.endpoint {
        Some(e) => format!("{what} of {e}"),
        None => what.to_owned(),
    }
}

fn op_words(op: &str) -> &str {
    match op {
        "<" => "below",
        "<=" => "at most",
        ">" => "above",
        ">=" => "at least",
        "==" => "exactly",
        "!=" => "not",
        other => other,
    }
}

/// When the hypothesis applies, in words; `None` for whole-run metrics.
fn when(t: &ThresholdResult) -> Option<&'static str> {
    match t.phase {
        Some(PhaseKind::Baseline) => Some("before any fault (baseline)"),
        Some(PhaseKind::Fault) => Some("while the fault is active"),
        Some(PhaseKind::Recovery) => Some("after the fault is removed (recovery)"),
        None if t.metric.starts_with("ledger.") => Some("after the run"),
        None => None,
    }
}
