//! What each scenario is for, judged after the run from the report's own series:
//!
//! - **stress**: every stage judged against the run-wide `http.*` thresholds; the breaking
//!   point is the last hold that passed before the first hold that failed;
//! - **spike**: the time from the end of the jump stage until a second's p95 is back within
//!   [`RECOVERY_FACTOR`] of the baseline stage's p95;
//! - **endurance**: least-squares slopes per minute of the service's gauges.
//!
//! Pure report → report functions, so a run and `gauntlet report merge` judge the same way
//! (see [`crate::finalize`]).

use crate::histogram::{add_clamped, merge_encoded, new_histogram, quantile_us};
use crate::model::{
    Report, SecondPoint, SpikeResult, StageKind, StageVerdict, StressResult, Trend,
};
use crate::threshold::{HttpMetric, Metric, Threshold};

/// A spike has recovered when a second's p95 is within this factor of the baseline's.
pub const RECOVERY_FACTOR: f64 = 1.2;

/// The seconds of the series inside stage `i` (by the second's start).
fn stage_points(report: &Report, i: usize) -> impl Iterator<Item = &SecondPoint> {
    let base = report.run.started_at_unix_us;
    let stage = &report.stages[i];
    let (from, to) = (base + stage.start_offset_us, base + stage.end_offset_us);
    report
        .series
        .iter()
        .filter(move |p| (from..to).contains(&(p.unix_s * 1_000_000)))
}

/// Count, errors and p95 over some seconds: exact from the per-second histograms when kept,
/// else the worst second's p95 (an overestimate, never an underestimate).
struct Window {
    count: u64,
    errors: u64,
    hist: hdrhistogram::Histogram<u64>,
}

fn window<'a>(points: impl Iterator<Item = &'a SecondPoint>) -> Window {
    let mut w = Window {
        count: 0,
        errors: 0,
        hist: new_histogram(),
    };
    let mut fallback = Vec::new();
    for p in points {
        w.count += p.count;
        w.errors += p.errors;
        match p.histogram.as_deref().map(|h| merge_encoded([h])) {
            Some(Ok(h)) => add_clamped(&mut w.hist, &h),
            _ => fallback.push(p.p95_us),
        }
    }
    if let Some(worst) = fallback.into_iter().max() {
        let _ = w.hist.record(worst.max(1));
    }
    w
}

impl Window {
    fn observe(&self, metric: HttpMetric, secs: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = |q: f64| Some(quantile_us(&self.hist, q) as f64);
        match metric {
            HttpMetric::P50 => q(0.5),
            HttpMetric::P90 => q(0.9),
            HttpMetric::P95 => q(0.95),
            HttpMetric::P99 => q(0.99),
            HttpMetric::P999 => q(0.999),
            HttpMetric::Max => Some(self.hist.max() as f64),
            HttpMetric::Avg => Some(self.hist.mean()),
            HttpMetric::ErrorRate => Some(self.errors as f64 / self.count as f64),
            HttpMetric::Rps => Some(self.count as f64 / secs.max(1.0)),
            HttpMetric::Count => Some(self.count as f64),
            // 429s are counted per tenant over the whole run, not per second.
            HttpMetric::RateLimited => None,
        }
    }
}

/// Judges every stage of `report` (whose kinds, in order, are `kinds`) on its own against
/// the run-wide `http.*` thresholds.
pub fn stress(kinds: &[StageKind], report: &Report, thresholds: &[Threshold]) -> StressResult {
    let applicable: Vec<(&Threshold, HttpMetric)> = thresholds
        .iter()
        .filter(|t| t.phase.is_none() && t.endpoint.is_none() && t.tenant.is_none())
        .filter_map(|t| match t.metric {
            Metric::Http(HttpMetric::RateLimited) => None,
            Metric::Http(m) => Some((t, m)),
            _ => None,
        })
        .collect();
    let mut stages = Vec::with_capacity(report.stages.len());
    for (i, (stage, kind)) in report.stages.iter().zip(kinds).enumerate() {
        let w = window(stage_points(report, i));
        let secs = (stage.end_offset_us - stage.start_offset_us) as f64 / 1e6;
        let failed = applicable
            .iter()
            .filter(|(t, m)| w.observe(*m, secs).is_none_or(|v| !t.op.holds(v, t.limit)))
            .map(|(t, _)| t.to_string())
            .collect();
        stages.push(StageVerdict {
            name: stage.name.clone(),
            kind: *kind,
            users: stage.target_users,
            target_rps: stage.target_rps,
            count: w.count,
            error_rate: w.observe(HttpMetric::ErrorRate, secs).unwrap_or(0.0),
            p95_us: quantile_us(&w.hist, 0.95),
            pass: applicable.is_empty() || w.count > 0 && Vec::is_empty(&failed),
            failed,
        });
    }
    breaking_point(stages)
}

/// The last hold (or spike) that passed before the first that failed; every stage when the
/// plan has no holds.
fn breaking_point(stages: Vec<StageVerdict>) -> StressResult {
    let holds = |s: &&StageVerdict| matches!(s.kind, StageKind::Hold | StageKind::Spike);
    let candidates: Vec<&StageVerdict> = if stages.iter().any(|s| holds(&s)) {
        stages.iter().filter(holds).collect()
    } else {
        stages.iter().collect()
    };
    let first_fail = candidates.iter().position(|s| !s.pass);
    let last_pass = match first_fail {
        Some(0) => None,
        Some(i) => Some(candidates[i - 1]),
        None => candidates.last().copied(),
    };
    StressResult {
        breaking_point: last_pass.map(|s| s.name.clone()),
        first_failure: first_fail.map(|i| candidates[i].name.clone()),
        held_rps: last_pass.and_then(|s| s.target_rps),
        broke_at_rps: first_fail.and_then(|i| candidates[i].target_rps),
        stages,
    }
}

/// The spike analysis with stage `i` as the jump and stage `i - 1` as its baseline; `None`
/// when `i` is the first stage or not a stage of `report`.
pub fn spike(i: usize, report: &Report) -> Option<SpikeResult> {
    if i == 0 || i >= report.stages.len() {
        return None;
    }
    let baseline = window(stage_points(report, i - 1));
    let during = window(stage_points(report, i));
    let baseline_p95 = quantile_us(&baseline.hist, 0.95);
    let spike_end = report.run.started_at_unix_us + report.stages[i].end_offset_us;
    let within = (baseline_p95 as f64 * RECOVERY_FACTOR).max(1.0);
    let recovery_us = report
        .series
        .iter()
        .filter(|p| (p.unix_s + 1) * 1_000_000 > spike_end && p.count > 0)
        .find(|p| p.p95_us as f64 <= within)
        .map(|p| (p.unix_s * 1_000_000).saturating_sub(spike_end));
    Some(SpikeResult {
        baseline_stage: report.stages[i - 1].name.clone(),
        spike_stage: report.stages[i].name.clone(),
        baseline_p95_us: baseline_p95,
        spike_p95_us: quantile_us(&during.hist, 0.95),
        recovery_factor: RECOVERY_FACTOR,
        recovery_us: (baseline.count > 0).then_some(recovery_us).flatten(),
    })
}

/// Least-squares slope of `points` (x in seconds), per minute.
pub fn slope_per_minute(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(sxy, sxx), p| {
        (sxy + (p.0 - mx) * (p.1 - my), sxx + (p.0 - mx) * (p.0 - mx))
    });
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}

/// One monitored gauge of the service (`rss_bytes`, `db_pool_connections`, ...): the seconds
/// it was read at, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauge {
    /// The series' name in the report.
    pub name: String,
    /// The readings.
    pub samples: Vec<GaugeSample>,
}

/// One reading of a gauge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaugeSample {
    /// Seconds from the start of monitoring.
    pub offset_s: f64,
    /// The value read.
    pub value: u64,
}

/// The trend of every gauge, in the order given.
pub fn trends(gauges: &[Gauge]) -> Vec<Trend> {
    gauges
        .iter()
        .map(|g| {
            let points: Vec<(f64, f64)> = g
                .samples
                .iter()
                .map(|s| (s.offset_s, s.value as f64))
                .collect();
            Trend {
                series: g.name.clone(),
                samples: g.samples.len() as u64,
                slope_per_minute: slope_per_minute(&points),
                first: g.samples.first().map(|s| s.value),
                last: g.samples.last().map(|s| s.value),
            }
        })
        .collect()
}
