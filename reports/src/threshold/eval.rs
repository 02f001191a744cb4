//! Threshold evaluation: look up the observed value in a report and compare. A threshold whose
//! data the run does not have fails with a reason instead of panicking or silently passing.

use super::{HttpMetric, Metric, Threshold};
use crate::format;
use crate::model::{EndpointReport, Report, ThresholdResult};

/// Evaluate one threshold against `report`.
pub fn evaluate(t: &Threshold, report: &Report) -> ThresholdResult {
    let (observed, reason) = match observe(t, report) {
        Ok(v) => (Some(v), None),
        Err(why) => (None, Some(why)),
    };
    let pass = observed.is_some_and(|v| t.op.holds(v, t.limit));
    let reason = match (pass, observed, reason) {
        (true, _, _) => None,
        (false, Some(v), _) if t.metric == Metric::AlertFired => {
            Some(alert_failure(t, v > 0.0, report))
        }
        (false, Some(v), _) => Some(format!(
            "observed {} but expected {} {}",
            format::value(v, t.metric.unit()),
            t.op.as_str(),
            format::value(t.limit, t.metric.unit())
        )),
        (false, None, why) => why,
    };
    ThresholdResult {
        expression: t.to_string(),
        metric: t.metric,
        phase: t.phase,
        endpoint: t.endpoint.clone(),
        alert: t.alert.clone(),
        op: t.op,
        limit: t.limit,
        observed,
        unit: t.metric.unit(),
        pass,
        reason,
    }
}

/// Evaluate every threshold, store the results in `report.thresholds` (declaration order),
/// derive the chaos hypotheses from them and recompute the verdict.
pub fn evaluate_all(thresholds: &[Threshold], report: &mut Report) {
    report.thresholds = thresholds.iter().map(|t| evaluate(t, report)).collect();
    report.chaos.hypotheses = crate::hypothesis::derive(report);
    crate::verdict::apply(report);
}

/// The observed value, or why there is none (`no data: ...`).
fn observe(t: &Threshold, report: &Report) -> Result<f64, String> {
    match t.metric {
        Metric::Http(m) => observe_http(t, m, report),
        Metric::ProbeLeaks | Metric::ProbeFailures => {
            if report.probes.results.is_empty() {
                return Err("no data: the run had no probes".to_owned());
            }
            Ok(if t.metric == Metric::ProbeLeaks {
                report.probes.leaks() as f64
            } else {
                report.probes.failures() as f64
            })
        }
        Metric::LedgerLost | Metric::LedgerDuplicated | Metric::LedgerAcked => {
            let l = &report.ledger;
            if !l.enabled {
                return Err("no data: the run kept no ledger".to_owned());
            }
            Ok(match t.metric {
                Metric::LedgerLost => l.lost,
                Metric::LedgerDuplicated => l.duplicated,
                _ => l.acked,
            } as f64)
        }
        Metric::RecoveryTime => report
            .chaos
            .recovery_time_us
            .map(|us| us as f64)
            .ok_or_else(|| "no data: no recovery was measured".to_owned()),
        Metric::AlertsFired => {
            if !report.alerts.enabled {
                return Err("no data: alerts were not monitored".to_owned());
            }
            Ok(report.alerts.fired() as f64)
        }
        Metric::AlertFired => {
            if !report.alerts.enabled {
                return Err("no data: alerts were not monitored".to_owned());
            }
            let name = t.alert.as_deref().unwrap_or_default();
            let record = report.alerts.alerts.iter().find(|a| a.name == name);
            match record {
                Some(a) => Ok(if a.fired_at_offset_us.is_some() {
                    1.0
                } else {
                    0.0
                }),
                None => Err(format!("no data: no alert rule named {name:?}")),
            }
        }
    }
}

/// Why an `alert.<name>.fired` threshold failed, in the words of alerting: an expected alert
/// that stayed silent is a gap in the alerting, one that fired unasked is noise.
fn alert_failure(t: &Threshold, fired: bool, report: &Report) -> String {
    let name = t.alert.as_deref().unwrap_or_default();
    let at = report
        .alerts
        .alerts
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| a.fired_at_offset_us);
    match (fired, at) {
        (true, Some(us)) => format!(
            "noisy alert: {name} fired at +{}",
            format::value(us as f64, crate::model::ValueUnit::Microseconds)
        ),
        (true, None) => format!("noisy alert: {name} fired"),
        (false, _) => format!("alerting gap: {name} never fired"),
    }
}

fn observe_http(t: &Threshold, m: HttpMetric, report: &Report) -> Result<f64, String> {
    let (total, endpoints) = match t.phase {
        None => (&report.total, &report.endpoints),
        Some(kind) => match report.phase(kind) {
            Some(p) => (&p.total, &p.endpoints),
            None => return Err(format!("no data: the run had no {} phase", kind.as_str())),
        },
    };
    let stats: &EndpointReport = match &t.endpoint {
        None => total,
        Some(name) => endpoints
            .iter()
            .find(|e| &e.name == name)
            .ok_or_else(|| format!("no data: no requests to endpoint {name:?}"))?,
    };
    let needs_requests = !matches!(m, HttpMetric::Count | HttpMetric::Rps);
    if needs_requests && stats.count == 0 {
        return Err("no data: no requests were recorded".to_owned());
    }
    let l = &stats.latency;
    Ok(match m {
        HttpMetric::P50 => l.p50_us as f64,
        HttpMetric::P90 => l.p90_us as f64,
        HttpMetric::P95 => l.p95_us as f64,
        HttpMetric::P99 => l.p99_us as f64,
        HttpMetric::P999 => l.p999_us as f64,
        HttpMetric::Max => l.max_us as f64,
        HttpMetric::Avg => l.mean_us as f64,
        HttpMetric::ErrorRate => stats.error_rate,
        HttpMetric::Rps => stats.rps,
        HttpMetric::Count => stats.count as f64,
    })
}
