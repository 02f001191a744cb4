//! The noise model of a single-run baseline: a test over the seconds. Each run is a sample of
//! seconds; a metric regresses when the new run's seconds are, by Mann–Whitney U, shifted
//! the worse way against the base run's (and the whole-run change exceeds the allowance).
//! Seconds vary with whatever else happened during them, so a test across them sees the
//! variation within a run that one histogram hides; what it cannot see is a machine busy for
//! the whole of one run, which is the environment check's job.

use super::CompareMetric;
use super::stats::mann_whitney_greater;
use crate::model::{EndpointSeries, Report};

/// One value per second (or coarsened interval) for `metric` of `endpoint` (`all` reads the
/// run-wide series, whose seconds carry percentiles; an endpoint's carry means, so its
/// latency metrics are all tested on the per-second mean).
fn samples(r: &Report, endpoint: &str, metric: CompareMetric) -> Vec<f64> {
    if endpoint == "all" {
        return r
            .series
            .iter()
            .map(|p| match metric {
                CompareMetric::P50 => p.p50_us as f64,
                CompareMetric::P90 | CompareMetric::P95 => p.p95_us as f64,
                CompareMetric::P99 | CompareMetric::P999 => p.p99_us as f64,
                CompareMetric::ErrorRate => p.errors as f64 / p.count.max(1) as f64,
                CompareMetric::Rps => p.count as f64,
            })
            .collect();
    }
    let Some(s) = r.endpoint_series.iter().find(|s| s.name == endpoint) else {
        return Vec::new();
    };
    per_point(s, metric)
}

fn per_point(s: &EndpointSeries, metric: CompareMetric) -> Vec<f64> {
    let interval = f64::from(s.interval_s.max(1));
    s.points
        .iter()
        .map(|p| match metric {
            CompareMetric::ErrorRate => p.errors as f64 / p.count.max(1) as f64,
            CompareMetric::Rps => p.count as f64 / interval,
            _ => p.mean_us as f64,
        })
        .collect()
}

/// The one-sided p-value that `new` is worse than `base` over the seconds (higher latency or
/// error rate, lower throughput); `None` when either side has too few seconds to test.
pub(super) fn p_worse(
    base: &Report,
    new: &Report,
    endpoint: &str,
    m: CompareMetric,
) -> Option<f64> {
    let (b, n) = (samples(base, endpoint, m), samples(new, endpoint, m));
    if m == CompareMetric::Rps {
        mann_whitney_greater(&n, &b)
    } else {
        mann_whitney_greater(&b, &n)
    }
}
