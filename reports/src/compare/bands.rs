//! The noise model of a single run's own statistics: distribution-free quantile bands from its
//! histograms, a two-proportion z-test for error rates, and the standard error of the run-wide
//! per-second counts for throughput. It sees sampling noise only, never run-to-run variation,
//! so compare uses it only where nothing better exists: reports without per-second endpoint
//! series (written before them), and metrics with too few seconds to test.

use hdrhistogram::Histogram;

use super::{Allowance, CompareMetric, MetricDelta, Z95, allowed_change, judge, relative};
use crate::histogram;
use crate::model::{EndpointReport, Report, ValueUnit};

/// Distribution-free 95% band for the `q`-quantile: for `n` samples the rank of the
/// `q`-quantile is approximately normal with mean `nq` and standard deviation
/// `sqrt(nq(1-q))` (the binomial count of samples below the true quantile), so the order
/// statistics at ranks `nq ± 1.96·sqrt(nq(1-q))`, read off the histogram, bound it.
pub fn quantile_band(h: &Histogram<u64>, q: f64) -> Option<(f64, f64)> {
    let n = h.len() as f64;
    if n == 0.0 {
        return None;
    }
    let half = Z95 * (n * q * (1.0 - q)).sqrt();
    let lo_rank = (n * q - half).floor().max(1.0);
    let hi_rank = ((n * q + half).ceil() + 1.0).min(n);
    let lo = histogram::quantile_us(h, lo_rank / n) as f64;
    let hi = histogram::quantile_us(h, hi_rank / n) as f64;
    Some((lo, hi))
}

/// A latency quantile; outside noise when the bands do not overlap.
pub(super) fn latency_delta(
    metric: CompareMetric,
    q: f64,
    hb: &Histogram<u64>,
    hn: &Histogram<u64>,
    a: Allowance,
) -> MetricDelta {
    let base = histogram::quantile_us(hb, q) as f64;
    let new = histogram::quantile_us(hn, q) as f64;
    let (base_band, new_band) = (quantile_band(hb, q), quantile_band(hn, q));
    let outside = match (base_band, new_band) {
        (Some((_, b_hi)), Some((n_lo, _))) => n_lo > b_hi,
        _ => false,
    };
    MetricDelta {
        metric,
        unit: ValueUnit::Microseconds,
        base,
        new,
        delta: new - base,
        relative: relative(base, new),
        allowance: a,
        base_band,
        new_band,
        p_value: None,
        status: judge(new - base, allowed_change(base, a), outside),
    }
}

/// Error rate; outside noise when the increase exceeds 1.96 pooled standard errors.
pub(super) fn error_rate_delta(
    b: &EndpointReport,
    n: &EndpointReport,
    a: Allowance,
) -> MetricDelta {
    let (p1, p2) = (b.error_rate, n.error_rate);
    let (n1, n2) = (b.count as f64, n.count as f64);
    let outside = if n1 == 0.0 || n2 == 0.0 {
        false
    } else {
        let pooled = (b.errors.total + n.errors.total) as f64 / (n1 + n2);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        p2 - p1 > Z95 * se
    };
    MetricDelta {
        metric: CompareMetric::ErrorRate,
        unit: ValueUnit::Ratio,
        base: p1,
        new: p2,
        delta: p2 - p1,
        relative: relative(p1, p2),
        allowance: a,
        base_band: proportion_band(p1, n1),
        new_band: proportion_band(p2, n2),
        p_value: None,
        status: judge(p2 - p1, allowed_change(p1, a), outside),
    }
}

/// The 95% normal band of a proportion `p` over `k` trials.
pub(crate) fn proportion_band(p: f64, k: f64) -> Option<(f64, f64)> {
    (k > 0.0).then(|| {
        let h = Z95 * (p * (1.0 - p) / k).sqrt();
        ((p - h).max(0.0), (p + h).min(1.0))
    })
}

/// Mean and standard error of per-second request counts.
pub(crate) fn series_rate(r: &Report) -> Option<(f64, f64)> {
    let counts: Vec<f64> = r.series.iter().map(|p| p.count as f64).collect();
    let (mean, sd) = super::stats::mean_sd(&counts)?;
    Some((mean, sd / (counts.len() as f64).sqrt()))
}

/// Throughput; a drop is the worse direction. Only the run-wide series exists in this model,
/// so only `all` gets a band; an endpoint's drop beyond the allowance counts.
pub(super) fn rps_delta(
    b: &EndpointReport,
    n: &EndpointReport,
    runs: Option<(&Report, &Report)>,
    a: Allowance,
) -> MetricDelta {
    let bands = runs.and_then(|(rb, rn)| Some((series_rate(rb)?, series_rate(rn)?)));
    let outside = match bands {
        Some(((_, se_b), (_, se_n))) => b.rps - n.rps > Z95 * (se_b * se_b + se_n * se_n).sqrt(),
        None => true,
    };
    let band = |v: f64, se: f64| (v - Z95 * se, v + Z95 * se);
    MetricDelta {
        metric: CompareMetric::Rps,
        unit: ValueUnit::PerSecond,
        base: b.rps,
        new: n.rps,
        delta: n.rps - b.rps,
        relative: relative(b.rps, n.rps),
        allowance: a,
        base_band: bands.map(|((_, se), _)| band(b.rps, se)),
        new_band: bands.map(|(_, (_, se))| band(n.rps, se)),
        p_value: None,
        status: judge(b.rps - n.rps, allowed_change(b.rps, a), outside),
    }
}
