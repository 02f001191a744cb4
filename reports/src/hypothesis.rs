//! Chaos steady-state hypotheses, derived from the thresholds that speak about faults.
//!
//! A run with a chaos schedule states its hypotheses as thresholds: phase-scoped ones
//! (`during fault: http.p95 < 1s`), `recovery.time …` and `ledger.*`. Each becomes one
//! [`Hypothesis`] in words, with the observed value and the threshold's outcome. They are
//! derived from the evaluated thresholds alone, so re-evaluating a report (merge, render)
//! gives the same hypotheses, and a run without faults has none.

use crate::format;
use crate::model::{Hypothesis, PhaseKind, Report, ThresholdResult, ValueUnit};
use crate::threshold::{HttpMetric, Metric, Op};

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
    t.phase.is_some()
        || t.metric == Metric::RecoveryTime
        || t.metric.is_ledger()
        || t.metric == Metric::AlertFired
}

fn hypothesis(t: &ThresholdResult) -> Hypothesis {
    if t.metric == Metric::AlertFired {
        return alert_hypothesis(t);
    }
    let subject = subject(t);
    let limit = format::value(t.limit, t.unit);
    let expected = match (t.op, t.limit == 0.0, t.unit) {
        // Counts compared with zero read better as "no …" / "some …".
        (Op::Eq, true, ValueUnit::Count) => format!("no {subject}"),
        (Op::Gt | Op::Ne, true, ValueUnit::Count) => format!("some {subject}"),
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
    let what = match t.metric {
        Metric::Http(HttpMetric::P50) => "p50 latency",
        Metric::Http(HttpMetric::P90) => "p90 latency",
        Metric::Http(HttpMetric::P95) => "p95 latency",
        Metric::Http(HttpMetric::P99) => "p99 latency",
        Metric::Http(HttpMetric::P999) => "p99.9 latency",
        Metric::Http(HttpMetric::Max) => "max latency",
        Metric::Http(HttpMetric::Avg) => "mean latency",
        Metric::Http(HttpMetric::ErrorRate) => "error rate",
        Metric::Http(HttpMetric::Rps) => "throughput",
        Metric::Http(HttpMetric::Count) => "requests",
        Metric::Http(HttpMetric::RateLimited) => "share of requests answered 429",
        Metric::NoisyNeighbourRateLimited => "share of the noisy neighbour's flood answered 429",
        Metric::LedgerLost => "lost acknowledged writes",
        Metric::LedgerDuplicated => "duplicated writes",
        Metric::LedgerAcked => "acknowledged writes",
        Metric::RecoveryTime => "time to recover after the fault",
        Metric::DrillRto => "time from the disaster until the restored service answered",
        Metric::DrillRpo => "data-loss window of the restore",
        Metric::DrillLost => "acknowledged writes lost by the restore",
        Metric::DroppedIterations => "arrival-rate iterations dropped (no free virtual user)",
        Metric::TrendRss => "the service's resident memory, MiB per minute",
        Metric::TrendDbConnections => "open DB connections gained per minute",
        Metric::TrendJobQueue => "payroll jobs queued, gained per minute",
        Metric::DiagnosisCauses => "bottlenecks named by the diagnosis",
        other @ (Metric::ProbeLeaks
        | Metric::ProbeFailures
        | Metric::AlertsFired
        | Metric::AlertFired) => other.name(),
    };
    match (&t.endpoint, t.tenant.as_deref()) {
        (Some(e), _) => format!("{what} of {e}"),
        (None, Some("*")) => format!("{what} of each tenant"),
        (None, Some(tenant)) => format!("{what} of tenant {tenant}"),
        (None, None) => what.to_owned(),
    }
}

/// `alert.<name>.fired == 1` (the fault must fire it) or `== 0` (it must stay silent).
fn alert_hypothesis(t: &ThresholdResult) -> Hypothesis {
    let name = t.alert.as_deref().unwrap_or_default();
    // Observed values are 0 (silent) and 1 (fired): the threshold says which one passes.
    let must_fire = t.op.holds(1.0, t.limit) && !t.op.holds(0.0, t.limit);
    let expected = if must_fire {
        format!("alert {name} fires")
    } else {
        format!("alert {name} stays silent")
    };
    let observed = match (&t.reason, t.observed) {
        (Some(why), _) => why.clone(),
        (None, Some(v)) if v > 0.0 => format!("{name} fired"),
        (None, _) => format!("{name} stayed silent"),
    };
    Hypothesis {
        name: t.expression.clone(),
        expected,
        observed,
        pass: t.pass,
    }
}

fn op_words(op: Op) -> &'static str {
    match op {
        Op::Lt => "below",
        Op::Le => "at most",
        Op::Gt => "above",
        Op::Ge => "at least",
        Op::Eq => "exactly",
        Op::Ne => "not",
    }
}

/// When the hypothesis applies, in words; `None` for whole-run metrics.
fn when(t: &ThresholdResult) -> Option<&'static str> {
    match t.phase {
        Some(PhaseKind::Baseline) => Some("before any fault (baseline)"),
        Some(PhaseKind::Fault) => Some("while the fault is active"),
        Some(PhaseKind::Recovery) => Some("after the fault is removed (recovery)"),
        None if t.metric.is_ledger() => Some("after the run"),
        None => None,
    }
}
