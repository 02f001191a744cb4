//! Compare two runs endpoint by endpoint, flagging regressions that are both larger than the
//! allowance *and* larger than run-to-run sampling noise.
//!
//! # Noise model
//!
//! Latency quantiles: for `n` samples the rank of the `q`-quantile in a sorted sample is
//! approximately normal with mean `nq` and standard deviation `sqrt(nq(1-q))` (the binomial
//! count of samples below the true quantile). So, without any bootstrap, the order statistics at
//! ranks `nq ± z·sqrt(nq(1-q))` bound a distribution-free confidence interval for the quantile,
//! and the histograms give us those order statistics directly. We compute that 95% band
//! (`z = 1.96`) for the base run and for the new run, and call a latency increase *outside
//! noise* only when the bands do not overlap (new lower bound above base upper bound). Few
//! samples give wide bands, so a short run cannot produce a confident regression by chance.
//!
//! Error rate: a two-proportion z-test with the pooled rate; outside noise when the increase
//! exceeds `1.96` standard errors. Throughput: the per-second counts of each run's series give a
//! standard error of the mean rate; outside noise when the drop exceeds `1.96` combined standard
//! errors (without series data, no noise is assumed).
//!
//! This measures sampling noise only; systematic run-to-run drift (another process on the box)
//! is what the allowance is for.

pub mod allowance;
mod render;

use hdrhistogram::Histogram;

use crate::histogram::{self, HistogramError};
pub use crate::model::DeltaStatus;
use crate::model::{BaselineDelta, BaselineSection, EndpointReport, Report, ValueUnit};

pub use allowance::{
    Allowance, AllowanceErrorKind, AllowanceParseError, Allowances, CompareMetric,
};

/// z for a two-sided 95% interval.
const Z95: f64 = 1.96;

/// One metric of one endpoint, base vs new.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDelta {
    /// Which metric.
    pub metric: CompareMetric,
    /// Unit of `base` and `new`.
    pub unit: ValueUnit,
    /// Base value.
    pub base: f64,
    /// New value.
    pub new: f64,
    /// `new - base`.
    pub delta: f64,
    /// `(new - base) / base`, when base is non-zero.
    pub relative: Option<f64>,
    /// The allowance applied.
    pub allowance: Allowance,
    /// 95% band of the base value, when a noise model applies.
    pub base_band: Option<(f64, f64)>,
    /// 95% band of the new value, when a noise model applies.
    pub new_band: Option<(f64, f64)>,
    /// The judgement.
    pub status: DeltaStatus,
}

/// All judged metrics of one endpoint (or `all`).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointDelta {
    /// Endpoint name.
    pub name: String,
    /// Requests in the base run (None when the endpoint is missing there).
    pub base_count: Option<u64>,
    /// Requests in the new run (None when the endpoint is missing there).
    pub new_count: Option<u64>,
    /// Metric comparisons (empty when the endpoint is missing on one side).
    pub metrics: Vec<MetricDelta>,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `all` first, then endpoints sorted by name (union of both runs).
    pub endpoints: Vec<EndpointDelta>,
}

impl Comparison {
    /// Number of metric regressions over all endpoints.
    pub fn regressions(&self) -> usize {
        self.endpoints
            .iter()
            .flat_map(|e| &e.metrics)
            .filter(|m| m.status == DeltaStatus::Regression)
            .count()
    }

    /// Plain-text table.
    pub fn to_text(&self) -> String {
        render::text(self)
    }

    /// Markdown table.
    pub fn to_markdown(&self) -> String {
        render::markdown(self)
    }

    /// The report section for `gauntlet run --baseline FILE`.
    pub fn to_section(&self, file: &str, allowances: &Allowances) -> BaselineSection {
        let band = |b: Option<(f64, f64)>| b.map(|(lo, hi)| [lo, hi]);
        BaselineSection {
            enabled: true,
            file: Some(file.to_owned()),
            allowances: allowances.to_string(),
            deltas: self
                .endpoints
                .iter()
                .flat_map(|e| {
                    e.metrics.iter().map(|m| BaselineDelta {
                        endpoint: e.name.clone(),
                        metric: m.metric.name().to_owned(),
                        unit: m.unit,
                        base: m.base,
                        new: m.new,
                        relative: m.relative,
                        allowance: m.allowance.to_string(),
                        base_band: band(m.base_band),
                        new_band: band(m.new_band),
                        status: m.status,
                    })
                })
                .collect(),
        }
    }
}

/// Compare `new` against `base` under `allowances`.
pub fn compare(
    base: &Report,
    new: &Report,
    allowances: &Allowances,
) -> Result<Comparison, HistogramError> {
    let mut names: Vec<&str> = base
        .endpoints
        .iter()
        .chain(&new.endpoints)
        .map(|e| e.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut endpoints = vec![compare_endpoint(
        &base.total,
        &new.total,
        base,
        new,
        allowances,
    )?];
    for name in names {
        let b = base.endpoints.iter().find(|e| e.name == name);
        let n = new.endpoints.iter().find(|e| e.name == name);
        endpoints.push(match (b, n) {
            (Some(b), Some(n)) => compare_endpoint(b, n, base, new, allowances)?,
            _ => EndpointDelta {
                name: name.to_owned(),
                base_count: b.map(|e| e.count),
                new_count: n.map(|e| e.count),
                metrics: Vec::new(),
            },
        });
    }
    Ok(Comparison { endpoints })
}

fn compare_endpoint(
    b: &EndpointReport,
    n: &EndpointReport,
    base: &Report,
    new: &Report,
    allowances: &Allowances,
) -> Result<EndpointDelta, HistogramError> {
    let hb = histogram::decode(&b.histogram)?;
    let hn = histogram::decode(&n.histogram)?;
    let is_total = b.name == "all";
    let metrics = allowances
        .0
        .iter()
        .map(|(metric, allowance)| match metric.quantile() {
            Some(q) => latency_delta(*metric, q, &hb, &hn, *allowance),
            None if *metric == CompareMetric::ErrorRate => error_rate_delta(b, n, *allowance),
            None => rps_delta(b, n, is_total.then_some((base, new)), *allowance),
        })
        .collect();
    Ok(EndpointDelta {
        name: b.name.clone(),
        base_count: Some(b.count),
        new_count: Some(n.count),
        metrics,
    })
}

/// Distribution-free 95% band for the `q`-quantile (see the module docs).
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

fn judge(worse_by: f64, allowed: f64, outside_noise: bool) -> DeltaStatus {
    if worse_by < 0.0 {
        DeltaStatus::Improved
    } else if worse_by <= allowed {
        DeltaStatus::Ok
    } else if outside_noise {
        DeltaStatus::Regression
    } else {
        DeltaStatus::WithinNoise
    }
}

fn relative(base: f64, new: f64) -> Option<f64> {
    (base != 0.0).then(|| (new - base) / base)
}

fn allowed_change(base: f64, a: Allowance) -> f64 {
    match a {
        Allowance::Relative(x) => base * x,
        Allowance::Points(x) => x,
    }
}

fn latency_delta(
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
        status: judge(new - base, allowed_change(base, a), outside),
    }
}

fn error_rate_delta(b: &EndpointReport, n: &EndpointReport, a: Allowance) -> MetricDelta {
    let (p1, p2) = (b.error_rate, n.error_rate);
    let (n1, n2) = (b.count as f64, n.count as f64);
    let outside = if n1 == 0.0 || n2 == 0.0 {
        false
    } else {
        let pooled = (b.errors.total + n.errors.total) as f64 / (n1 + n2);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        p2 - p1 > Z95 * se
    };
    let band = |p: f64, k: f64| {
        (k > 0.0).then(|| {
            let h = Z95 * (p * (1.0 - p) / k).sqrt();
            ((p - h).max(0.0), (p + h).min(1.0))
        })
    };
    MetricDelta {
        metric: CompareMetric::ErrorRate,
        unit: ValueUnit::Ratio,
        base: p1,
        new: p2,
        delta: p2 - p1,
        relative: relative(p1, p2),
        allowance: a,
        base_band: band(p1, n1),
        new_band: band(p2, n2),
        status: judge(p2 - p1, allowed_change(p1, a), outside),
    }
}

/// Mean and standard error of per-second request counts.
fn series_rate(r: &Report) -> Option<(f64, f64)> {
    let k = r.series.len();
    if k < 2 {
        return None;
    }
    let mean = r.series.iter().map(|p| p.count as f64).sum::<f64>() / k as f64;
    let var = r
        .series
        .iter()
        .map(|p| (p.count as f64 - mean).powi(2))
        .sum::<f64>()
        / (k - 1) as f64;
    Some((mean, (var / k as f64).sqrt()))
}

fn rps_delta(
    b: &EndpointReport,
    n: &EndpointReport,
    runs: Option<(&Report, &Report)>,
    a: Allowance,
) -> MetricDelta {
    // Only the run-wide series exists, so only `all` gets a throughput noise band.
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
        // A throughput drop is the "worse" direction.
        status: judge(b.rps - n.rps, allowed_change(b.rps, a), outside),
    }
}
