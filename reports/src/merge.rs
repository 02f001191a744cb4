//! Merge several reports (e.g. from generators that ran side by side) into one.
//!
//! Whole-run statistics are exact: every histogram shares one layout, so merging is bucket-wise
//! addition and the percentiles of the merged report equal those of a single histogram of all
//! samples. Per-second entries are aligned by their absolute unix second; when every input
//! second carries its histogram the merged percentiles are recomputed exactly, otherwise they
//! are the maximum of the inputs (documented on [`SecondPoint::histogram`]). Offsets are
//! re-based onto the earliest start. Thresholds are re-evaluated and the verdict recomputed by
//! [`crate::finalize`], as for a run.

use std::collections::BTreeMap;

use crate::finalize::{Analyses, FinalizeError, Inputs, Recovery, finalize};
use crate::histogram::{self, HistogramError};
use crate::model::{
    AlertRecord, BaselineSection, EndpointReport, PhaseKind, PhaseReport, ProbeResult,
    ProbesSection, Report, ScenarioResults, SecondPoint, Span,
};
use crate::record::{EndpointStats, summarize_map};
use crate::threshold::{self, Threshold, ThresholdParseError};

/// Examples kept per merged list (probe examples, ledger examples).
const MAX_EXAMPLES: usize = 20;

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// A histogram in an input is corrupt.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
    /// A threshold expression stored in an input does not parse.
    #[error("threshold in an input report does not parse")]
    Threshold(#[from] ThresholdParseError),
    /// The merged report could not be judged.
    #[error(transparent)]
    Finalize(#[from] FinalizeError),
    /// The inputs are parts of a split run but not all of one.
    #[error(transparent)]
    Parts(#[from] crate::parts::PartsError),
}

/// Merge `reports` into one report (run identity taken from the first), thresholds and
/// verdict judged again; the scenario results are left out (see [`merge_judging_scenarios`]).
pub fn merge(reports: &[Report]) -> Result<Report, MergeError> {
    let (merged, thresholds) = combine(reports)?;
    finalized(merged, &thresholds, &Analyses::default())
}

/// [`merge`], with the scenario analyses the inputs ran (stress, spike) judged again on the
/// merged seconds: each input judged only its own share of the load. What `gauntlet report
/// merge` writes.
pub fn merge_judging_scenarios(reports: &[Report]) -> Result<Report, MergeError> {
    let (merged, thresholds) = combine(reports)?;
    let analyses = Analyses::of_inputs(reports, &merged);
    finalized(merged, &thresholds, &analyses)
}

fn finalized(
    merged: Report,
    thresholds: &[Threshold],
    analyses: &Analyses,
) -> Result<Report, MergeError> {
    let inputs = Inputs {
        thresholds,
        // Each input measured its recovery against its own baseline; the merge keeps the
        // longest (see `merge_sections`).
        recovery: Recovery::Keep,
        baseline: None,
        analyses,
    };
    Ok(finalize(merged, &inputs)?)
}

/// The merged data and the thresholds of all inputs (each once, in first-seen order). Parts
/// of a split run are checked to be the whole of one run first ([`crate::parts::check`]).
fn combine(reports: &[Report]) -> Result<(Report, Vec<Threshold>), MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    let parts = crate::parts::check(reports)?;
    let start = reports
        .iter()
        .map(|r| r.run.started_at_unix_us)
        .min()
        .unwrap_or(0);
    let end = reports
        .iter()
        .map(|r| r.run.finished_at_unix_us)
        .max()
        .unwrap_or(start)
        .max(start);
    let duration = end - start;
    let shift = |r: &Report| r.run.started_at_unix_us - start;

    let mut out = first.clone();
    out.run.started_at_unix_us = start;
    out.run.finished_at_unix_us = end;
    out.run.duration_us = duration;
    out.run.interrupted = reports.iter().any(|r| r.run.interrupted);
    // Relative to each input's own directory; the merged file is written somewhere else.
    out.run.service_log = None;
    // The merge is the whole run, not its first part.
    out.run.shard = None;
    out.run.parts = parts.unwrap_or_default();
    merge_generator(&mut out, reports);
    out.stages.iter_mut().for_each(|s| {
        s.start_offset_us += shift(first);
        s.end_offset_us += shift(first);
    });

    let (total, endpoints) = merge_endpoints(
        reports.iter().map(|r| (&r.total, r.endpoints.as_slice())),
        duration,
    )?;
    out.total = total;
    out.endpoints = endpoints;
    merge_open_model(&mut out, reports)?;
    out.phases = merge_phases(reports, start)?;
    out.series = merge_series(reports)?;
    out.endpoint_series =
        crate::endpoint_series::merge(reports.iter().map(|r| r.endpoint_series.as_slice()));
    // The busiest input's machine speaks for the merge: comparability is a worst case.
    out.environment = reports
        .iter()
        .map(|r| &r.environment)
        .max_by(|a, b| {
            let busy = |e: &crate::model::EnvironmentSection| {
                e.summary.map_or(0.0, |s| s.elsewhere_cpu_percent_mean)
            };
            busy(a).total_cmp(&busy(b))
        })
        .cloned()
        .unwrap_or_default();
    merge_sections(&mut out, reports, start);
    out.tenants = crate::tenant_stats::merge(reports.iter().map(|r| &r.tenants[..]), duration)?;
    out.tenants_during_flood = crate::tenant_stats::merge(
        reports.iter().map(|r| &r.tenants_during_flood[..]),
        duration,
    )?;
    out.noisy_neighbour = crate::tenant_stats::merge_noisy_neighbour(reports, shift);
    // Each process judged its own share of the load; those verdicts say nothing exact about
    // the sum, so none is copied ([`merge_judging_scenarios`] judges the merged seconds).
    out.scenario_results = ScenarioResults::default();
    out.baseline = BaselineSection::default();

    let mut exprs: Vec<&str> = Vec::new();
    for t in reports.iter().flat_map(|r| &r.thresholds) {
        if !exprs.contains(&t.expression.as_str()) {
            exprs.push(&t.expression);
        }
    }
    let parsed = exprs
        .iter()
        .map(|e| threshold::parse_threshold(e))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, parsed))
}

fn merge_generator(out: &mut Report, reports: &[Report]) {
    let g = &mut out.generator;
    g.saturated = reports.iter().any(|r| r.generator.saturated);
    g.reasons = reports
        .iter()
        .flat_map(|r| r.generator.reasons.iter().cloned())
        .collect();
    g.cpu_percent_max = reports
        .iter()
        .filter_map(|r| r.generator.cpu_percent_max)
        .reduce(f64::max);
    g.late_iterations = reports.iter().map(|r| r.generator.late_iterations).sum();
}

/// Shards of one open-model run: their schedules add up, and so do their service times.
fn merge_open_model(out: &mut Report, reports: &[Report]) -> Result<(), HistogramError> {
    let open: Vec<_> = reports
        .iter()
        .map(|r| &r.open_model)
        .filter(|o| o.enabled)
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    let hist = crate::histogram::merge_encoded(
        open.iter()
            .map(|o| o.service_time_histogram.as_str())
            .filter(|h| !h.is_empty()),
    )?;
    out.open_model = crate::model::OpenModelSection {
        enabled: true,
        pool_users: open.iter().map(|o| o.pool_users).sum(),
        scheduled_iterations: open.iter().map(|o| o.scheduled_iterations).sum(),
        started_iterations: open.iter().map(|o| o.started_iterations).sum(),
        dropped_iterations: open.iter().map(|o| o.dropped_iterations).sum(),
        response_time: out.total.latency,
        service_time: crate::record::summarize_latency(&hist),
        service_time_histogram: crate::histogram::encode(&hist)?,
    };
    Ok(())
}

/// Merge `total` + per-endpoint statistics of several inputs over `duration_us`.
fn merge_endpoints<'a>(
    inputs: impl Iterator<Item = (&'a EndpointReport, &'a [EndpointReport])>,
    duration_us: u64,
) -> Result<(EndpointReport, Vec<EndpointReport>), HistogramError> {
    let mut total = EndpointStats::new();
    let mut by_name: BTreeMap<String, EndpointStats> = BTreeMap::new();
    for (t, endpoints) in inputs {
        total.merge(&stats_of(t)?);
        for e in endpoints {
            by_name
                .entry(e.name.clone())
                .or_default()
                .merge(&stats_of(e)?);
        }
    }
    Ok((
        total.summarize("all", duration_us)?,
        summarize_map(&by_name, duration_us)?,
    ))
}

fn stats_of(e: &EndpointReport) -> Result<EndpointStats, HistogramError> {
    Ok(EndpointStats::from_parts(
        histogram::decode(&e.histogram)?,
        e.ok,
        e.errors,
    ))
}

fn merge_phases(reports: &[Report], start: u64) -> Result<Vec<PhaseReport>, HistogramError> {
    let mut out = Vec::new();
    for kind in PhaseKind::ALL {
        let inputs: Vec<(&Report, &PhaseReport)> = reports
            .iter()
            .filter_map(|r| r.phase(kind).map(|p| (r, p)))
            .collect();
        if inputs.is_empty() {
            continue;
        }
        let mut spans: Vec<Span> = inputs
            .iter()
            .flat_map(|(r, p)| {
                let d = r.run.started_at_unix_us - start;
                p.spans.iter().map(move |s| Span {
                    start_offset_us: s.start_offset_us + d,
                    end_offset_us: s.end_offset_us + d,
                })
            })
            .collect();
        spans = union_spans(spans);
        let duration_us = spans
            .iter()
            .map(|s| s.end_offset_us - s.start_offset_us)
            .sum();
        let (total, endpoints) = merge_endpoints(
            inputs
                .iter()
                .map(|(_, p)| (&p.total, p.endpoints.as_slice())),
            duration_us,
        )?;
        out.push(PhaseReport {
            kind,
            spans,
            duration_us,
            total,
            endpoints,
        });
    }
    Ok(out)
}

/// Sort and coalesce overlapping spans so concurrent generators do not double the duration.
fn union_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.start_offset_us, s.end_offset_us));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start_offset_us <= last.end_offset_us => {
                last.end_offset_us = last.end_offset_us.max(s.end_offset_us);
            }
            _ => out.push(s),
        }
    }
    out
}

fn merge_series(reports: &[Report]) -> Result<Vec<SecondPoint>, HistogramError> {
    let mut by_second: BTreeMap<u64, Vec<&SecondPoint>> = BTreeMap::new();
    for p in reports.iter().flat_map(|r| &r.series) {
        by_second.entry(p.unix_s).or_default().push(p);
    }
    by_second
        .into_iter()
        .map(|(unix_s, points)| merge_second(unix_s, &points))
        .collect()
}

fn merge_second(unix_s: u64, points: &[&SecondPoint]) -> Result<SecondPoint, HistogramError> {
    let count = points.iter().map(|p| p.count).sum();
    let errors = points.iter().map(|p| p.errors).sum();
    if let Some(texts) = points
        .iter()
        .map(|p| p.histogram.as_deref())
        .collect::<Option<Vec<&str>>>()
    {
        let h = histogram::merge_encoded(texts)?;
        return Ok(SecondPoint {
            unix_s,
            count,
            errors,
            p50_us: histogram::quantile_us(&h, 0.50),
            p95_us: histogram::quantile_us(&h, 0.95),
            p99_us: histogram::quantile_us(&h, 0.99),
            max_us: if h.is_empty() { 0 } else { h.max() },
            histogram: Some(histogram::encode(&h)?),
        });
    }
    // Without histograms exact percentiles are impossible; the max is a safe upper bound.
    let max = |f: fn(&SecondPoint) -> u64| points.iter().map(|p| f(p)).max().unwrap_or(0);
    Ok(SecondPoint {
        unix_s,
        count,
        errors,
        p50_us: max(|p| p.p50_us),
        p95_us: max(|p| p.p95_us),
        p99_us: max(|p| p.p99_us),
        max_us: max(|p| p.max_us),
        histogram: None,
    })
}

fn merge_sections(out: &mut Report, reports: &[Report], start: u64) {
    out.probes.results = merge_probes(reports);
    let chaos = &mut out.chaos;
    chaos.faults.clear();
    chaos.events.clear();
    // Hypotheses are re-derived from the merged thresholds below.
    chaos.hypotheses.clear();
    for r in reports {
        let d = r.run.started_at_unix_us - start;
        chaos
            .faults
            .extend(r.chaos.faults.iter().cloned().map(|mut f| {
                f.start_offset_us += d;
                f.end_offset_us = f.end_offset_us.map(|e| e + d);
                f
            }));
        chaos
            .events
            .extend(r.chaos.events.iter().cloned().map(|mut e| {
                e.at_offset_us += d;
                e
            }));
    }
    chaos.faults.sort_by_key(|f| f.start_offset_us);
    chaos.events.sort_by_key(|e| e.at_offset_us);
    chaos.recovery_time_us = reports
        .iter()
        .filter_map(|r| r.chaos.recovery_time_us)
        .max();

    let l = &mut out.ledger;
    l.enabled = reports.iter().any(|r| r.ledger.enabled);
    l.acked = reports.iter().map(|r| r.ledger.acked).sum();
    l.verified = reports.iter().map(|r| r.ledger.verified).sum();
    l.lost = reports.iter().map(|r| r.ledger.lost).sum();
    l.duplicated = reports.iter().map(|r| r.ledger.duplicated).sum();
    l.unacknowledged_but_present = reports
        .iter()
        .map(|r| r.ledger.unacknowledged_but_present)
        .sum();
    l.examples = reports
        .iter()
        .flat_map(|r| r.ledger.examples.iter().cloned())
        .take(MAX_EXAMPLES)
        .collect();

    out.alerts.enabled = reports.iter().any(|r| r.alerts.enabled);
    out.alerts.prometheus = reports.iter().find_map(|r| r.alerts.prometheus.clone());
    out.alerts.alerts = merge_alerts(reports, start);

    out.resources.samples = reports
        .iter()
        .flat_map(|r| r.resources.samples.iter().cloned())
        .collect();
    out.resources
        .samples
        .sort_by(|a, b| (a.unix_s, &a.source).cmp(&(b.unix_s, &b.source)));
}

fn merge_probes(reports: &[Report]) -> Vec<ProbeResult> {
    let mut merged = ProbesSection::default();
    for r in reports {
        merged.absorb(r.probes.results.clone(), MAX_EXAMPLES);
    }
    let mut results = merged.results;
    results.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    results
}

fn merge_alerts(reports: &[Report], start: u64) -> Vec<AlertRecord> {
    let mut by_name: BTreeMap<String, AlertRecord> = BTreeMap::new();
    for r in reports {
        let d = r.run.started_at_unix_us - start;
        for a in &r.alerts.alerts {
            let m = by_name
                .entry(a.name.clone())
                .or_insert_with(|| AlertRecord {
                    name: a.name.clone(),
                    ..AlertRecord::default()
                });
            m.expected |= a.expected;
            let pending = a.pending_at_offset_us.map(|x| x + d);
            m.pending_at_offset_us = match (m.pending_at_offset_us, pending) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let fired = a.fired_at_offset_us.map(|x| x + d);
            m.fired_at_offset_us = match (m.fired_at_offset_us, fired) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let resolved = a.resolved_at_offset_us.map(|x| x + d);
            m.resolved_at_offset_us = m.resolved_at_offset_us.max(resolved);
        }
    }
    by_name.into_values().collect()
}
