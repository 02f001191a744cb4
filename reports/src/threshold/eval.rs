//! Threshold evaluation: look up the observed value in a report and compare. A threshold whose
//! data the run does not have fails with a reason instead of panicking or silently passing.

use super::{HttpMetric, Metric, TenantScope, Threshold};
use crate::format;
use crate::model::{EndpointReport, LatencySummary, Report, TenantReport, ThresholdResult};

/// Evaluate one threshold against `report`.
pub fn evaluate(t: &Threshold, report: &Report) -> ThresholdResult {
    let (observed, pass, reason) = match (&t.tenant, t.metric) {
        (Some(TenantScope::Each), Metric::Http(stat)) => judge_each_tenant(t, stat, report),
        _ => {
            let (observed, why) = match observe(t, report) {
                Ok(v) => (Some(v), None),
                Err(why) => (None, Some(why)),
            };
            let pass = observed.is_some_and(|v| t.op.holds(v, t.limit));
            let reason = match (pass, observed) {
                (true, _) => None,
                (false, Some(v)) if t.metric == Metric::AlertFired => {
                    Some(alert_failure(t, v > 0.0, report))
                }
                (false, Some(v)) if t.metric == Metric::DiagnosisCauses => Some(format!(
                    "{}: {}",
                    mismatch(t, v),
                    report.diagnosis.causes.join("; ")
                )),
                (false, Some(v)) => Some(mismatch(t, v)),
                (false, None) => why,
            };
            (observed, pass, reason)
        }
    };
    ThresholdResult {
        expression: t.to_string(),
        metric: t.metric,
        phase: t.phase,
        endpoint: t.endpoint.clone(),
        tenant: t.tenant.as_ref().map(|s| s.as_str().to_owned()),
        alert: t.alert.clone(),
        op: t.op,
        limit: t.limit,
        observed,
        unit: t.metric.unit(),
        pass,
        reason,
    }
}

fn mismatch(t: &Threshold, observed: f64) -> String {
    format!(
        "observed {} but expected {} {}",
        format::value(observed, t.metric.unit()),
        t.op.as_str(),
        format::value(t.limit, t.metric.unit())
    )
}

/// `tenant.*`: every tenant that sent requests is judged on its own. The observed value is
/// the worst one (the first failing tenant's when some failed), and the reason names every
/// tenant that failed, so one bad tenant cannot hide behind the others' average.
fn judge_each_tenant(
    t: &Threshold,
    stat: HttpMetric,
    report: &Report,
) -> (Option<f64>, bool, Option<String>) {
    let judged: Vec<(&str, f64)> = judged_tenants(report)
        .iter()
        .filter(|r| r.count > 0 && r.label != report.noisy_neighbour.tenant)
        .filter_map(|r| Some((r.label.as_str(), tenant_value(stat, r).ok()?)))
        .collect();
    if judged.is_empty() {
        return (
            None,
            false,
            Some("no data: no tenant's requests were recorded".to_owned()),
        );
    }
    let failed: Vec<&(&str, f64)> = judged
        .iter()
        .filter(|(_, v)| !t.op.holds(*v, t.limit))
        .collect();
    if let Some((label, value)) = failed.first() {
        let names: Vec<&str> = failed.iter().map(|(l, _)| *l).collect();
        let reason = format!(
            "tenant {label}: {} ({} of {} tenants failed: {})",
            mismatch(t, *value),
            failed.len(),
            judged.len(),
            names.join(", ")
        );
        return (Some(*value), false, Some(reason));
    }
    // All held: report the one closest to the limit.
    let worst = judged
        .iter()
        .map(|(_, v)| *v)
        .max_by(|a, b| {
            let (a, b) = ((a - t.limit).abs(), (b - t.limit).abs());
            b.total_cmp(&a)
        })
        .unwrap_or(0.0);
    (Some(worst), true, None)
}

/// What `tenant.<label>.*` judges: with a noisy neighbour, the requests sent while it
/// flooded (the question those thresholds exist for); otherwise the whole run.
fn judged_tenants(report: &Report) -> &[TenantReport] {
    if report.noisy_neighbour.enabled && !report.tenants_during_flood.is_empty() {
        &report.tenants_during_flood
    } else {
        &report.tenants
    }
}

/// A statistic of one tenant's requests.
fn tenant_value(stat: HttpMetric, r: &TenantReport) -> Result<f64, String> {
    let figures = Figures {
        count: r.count,
        error_rate: r.error_rate,
        rps: r.rps,
        latency: &r.latency,
        rate_limited: Some(r.rate_limited_rate),
    };
    read(stat, &figures, || {
        format!("no data: tenant {} sent no requests", r.label)
    })
}

/// What any `http.*` statistic is read from, whoever the requests were (the run, a phase,
/// an endpoint, a tenant).
struct Figures<'a> {
    count: u64,
    error_rate: f64,
    rps: f64,
    latency: &'a LatencySummary,
    /// The share answered 429, where it was counted (per tenant only).
    rate_limited: Option<f64>,
}

fn read(
    stat: HttpMetric,
    f: &Figures<'_>,
    no_requests: impl FnOnce() -> String,
) -> Result<f64, String> {
    let needs_requests = !matches!(stat, HttpMetric::Count | HttpMetric::Rps);
    if needs_requests && f.count == 0 {
        return Err(no_requests());
    }
    let l = f.latency;
    Ok(match stat {
        HttpMetric::P50 => l.p50_us as f64,
        HttpMetric::P90 => l.p90_us as f64,
        HttpMetric::P95 => l.p95_us as f64,
        HttpMetric::P99 => l.p99_us as f64,
        HttpMetric::P999 => l.p999_us as f64,
        HttpMetric::Max => l.max_us as f64,
        HttpMetric::Avg => l.mean_us as f64,
        HttpMetric::ErrorRate => f.error_rate,
        HttpMetric::Rps => f.rps,
        HttpMetric::Count => f.count as f64,
        HttpMetric::RateLimited => f
            .rate_limited
            .ok_or_else(|| "no data: 429s are counted per tenant only".to_owned())?,
    })
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
        Metric::NoisyNeighbourRateLimited => {
            let n = &report.noisy_neighbour;
            if !n.enabled {
                return Err("no data: the run had no noisy neighbour".to_owned());
            }
            n.rate_limited_rate().ok_or_else(|| {
                format!(
                    "no data: the noisy neighbour sent {} requests, not more than its plan's burst ({})",
                    n.sent,
                    n.plan_burst.map_or_else(|| "unknown".to_owned(), |b| b.to_string())
                )
            })
        }
        Metric::DrillRto | Metric::DrillRpo | Metric::DrillLost => observe_drill(t.metric, report),
        Metric::DroppedIterations => {
            let o = &report.open_model;
            if !o.enabled {
                return Err("no data: the run had no arrival-rate stages".to_owned());
            }
            Ok(o.dropped_iterations as f64)
        }
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
        Metric::TrendRss | Metric::TrendDbConnections | Metric::TrendJobQueue => {
            observe_trend(t.metric, report)
        }
        Metric::DiagnosisCauses => {
            if !report.diagnosis.enabled {
                return Err("no data: the service's route costs were not read".to_owned());
            }
            Ok(report.diagnosis.causes.len() as f64)
        }
    }
}

/// A `trend.*` slope, converted to the threshold's unit. A slope needs a few minutes'
/// worth of seconds to mean anything; fewer than [`MIN_TREND_SAMPLES`] is no data, not a pass.
fn observe_trend(metric: Metric, report: &Report) -> Result<f64, String> {
    let (series, divisor) = metric.trend_series().unwrap_or(("", 1.0));
    let trend = report
        .scenario_results
        .trends
        .iter()
        .find(|t| t.series == series)
        .ok_or_else(|| format!("no data: the service's {series} was not monitored"))?;
    match trend.slope_per_minute {
        Some(slope) if trend.samples >= MIN_TREND_SAMPLES => Ok(slope / divisor),
        _ => Err(format!(
            "no data: {} samples of {series}, a trend needs {MIN_TREND_SAMPLES}",
            trend.samples
        )),
    }
}

/// Seconds of a monitored series a `trend.*` threshold needs.
pub const MIN_TREND_SAMPLES: u64 = 20;

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

/// A drill that failed has no honest figures: every `drill.*` threshold fails with its reason.
fn observe_drill(metric: Metric, report: &Report) -> Result<f64, String> {
    let d = &report.drill;
    if !d.enabled {
        return Err("no data: the run was not a backup drill".to_owned());
    }
    if let Some(why) = &d.failure {
        return Err(format!("the drill failed: {why}"));
    }
    let value = match metric {
        Metric::DrillRto => d.rto_us,
        Metric::DrillRpo => d.rpo_us,
        _ => d.lost,
    };
    value
        .map(|v| v as f64)
        .ok_or_else(|| "no data: the drill did not get that far".to_owned())
}

fn observe_http(t: &Threshold, m: HttpMetric, report: &Report) -> Result<f64, String> {
    if let Some(TenantScope::Named(label)) = &t.tenant {
        let tenants = judged_tenants(report);
        let tenant = tenants.iter().find(|r| &r.label == label).ok_or_else(|| {
            let known: Vec<&str> = tenants.iter().map(|r| r.label.as_str()).collect();
            format!(
                "no data: no tenant labelled {label:?} (the run's tenants: {})",
                known.join(", ")
            )
        })?;
        return tenant_value(m, tenant);
    }
    if m == HttpMetric::RateLimited {
        // 429s are counted per tenant; the whole run's share is their sum.
        let count: u64 = report.tenants.iter().map(|r| r.count).sum();
        if count == 0 {
            return Err("no data: no tenant's requests were recorded".to_owned());
        }
        let limited: u64 = report.tenants.iter().map(|r| r.rate_limited).sum();
        return Ok(limited as f64 / count as f64);
    }
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
    let figures = Figures {
        count: stats.count,
        error_rate: stats.error_rate,
        rps: stats.rps,
        latency: &stats.latency,
        rate_limited: None,
    };
    read(m, &figures, || {
        "no data: no requests were recorded".to_owned()
    })
}
