//! The judgement of an interleaved A/B run (`gauntlet ab`): the same scenario in short
//! alternating slices against a base and a new target, so that whatever else loads the machine
//! during a pair of slices loads both sides of it.
//!
//! For each endpoint and metric, every pair whose two slices both have enough requests gives
//! one difference, taken against the allowance: `ln(new / base) − ln(1 + allowance)` for a
//! relative allowance (latency, and throughput with the sides swapped, since a drop is worse),
//! `new − base − allowance` for points (error rate). The Wilcoxon signed-rank test (one-sided,
//! exact for small samples) asks whether those differences lie above zero, i.e. whether the
//! new side is worse by more than the allowance in a typical pair; each test is held to
//! Bonferroni's `0.05 / tests`. With 10 pairs the smallest p-value is 1/1024, so up to ~50
//! tests can still reach significance; metrics with too few requests in a slice
//! ([`min_slice_requests`]) are left untested rather than tested on noise.

use super::{
    Allowance, Allowances, CompareMetric, Comparison, EndpointDelta, MetricDelta, allowed_change,
    judge, relative, union,
};
use crate::baseline_set::{unit_of, value_of};
use crate::histogram::HistogramError;
use crate::model::{DeltaStatus, EndpointReport, NoiseModel, Report};

/// Requests a slice needs on an endpoint before a metric of it is tested: fewer give a rate
/// or a quantile that is mostly noise, and a noisy test only spends the family's level.
pub const MIN_SLICE_REQUESTS: u64 = 20;

/// Requests a slice needs for `metric`: [`MIN_SLICE_REQUESTS`], and for a quantile `q` at
/// least `1 / (1 − q)` so that a request lies beyond it (fewer make a p99 the maximum).
pub fn min_slice_requests(metric: CompareMetric) -> u64 {
    match metric.quantile() {
        Some(q) => MIN_SLICE_REQUESTS.max((1.0 / (1.0 - q)).round() as u64),
        None => MIN_SLICE_REQUESTS,
    }
}

/// One base slice and the new slice paired with it.
#[derive(Debug, Clone, Copy)]
pub struct SlicePair<'a> {
    /// The slice against the base target.
    pub base: &'a Report,
    /// The slice against the new target.
    pub new: &'a Report,
}

/// The allowances `gauntlet ab` judges by default: the median beside p95, because a noisy
/// neighbour's scheduling delays land in the tail of both sides while a slower service moves
/// the middle too; p99 needs 100 requests per slice to mean anything and is left to be asked.
pub fn default_allowances() -> Allowances {
    Allowances(vec![
        (CompareMetric::P50, Allowance::Relative(0.10)),
        (CompareMetric::P95, Allowance::Relative(0.10)),
        (CompareMetric::ErrorRate, Allowance::Points(0.005)),
        (CompareMetric::Rps, Allowance::Relative(0.10)),
    ])
}

/// Judges `pairs` under `allowances`.
pub fn judge_pairs(
    pairs: &[SlicePair<'_>],
    allowances: &Allowances,
) -> Result<Comparison, HistogramError> {
    let names = union(
        pairs
            .iter()
            .flat_map(|p| p.base.endpoints.iter().map(|e| e.name.as_str())),
        pairs
            .iter()
            .flat_map(|p| p.new.endpoints.iter().map(|e| e.name.as_str())),
    );
    let mut endpoints = Vec::with_capacity(names.len() + 1);
    for name in std::iter::once("all").chain(names) {
        let mut metrics = Vec::with_capacity(allowances.0.len());
        for (metric, allowance) in &allowances.0 {
            if let Some(d) = metric_delta(pairs, name, *metric, *allowance)? {
                metrics.push(d);
            }
        }
        let count = |reports: &mut dyn Iterator<Item = &Report>| {
            reports
                .filter_map(|r| endpoint(r, name))
                .map(|e| e.count)
                .sum::<u64>()
        };
        endpoints.push(EndpointDelta {
            name: name.to_owned(),
            base_count: Some(count(&mut pairs.iter().map(|p| p.base))),
            new_count: Some(count(&mut pairs.iter().map(|p| p.new))),
            metrics,
        });
    }
    let alpha = super::judge_tests(&mut endpoints);
    Ok(Comparison {
        endpoints,
        model: NoiseModel::PairedSlices,
        alpha,
        not_comparable: Vec::new(),
        diagnosis: Vec::new(),
    })
}

fn endpoint<'a>(r: &'a Report, name: &str) -> Option<&'a EndpointReport> {
    if name == "all" {
        Some(&r.total)
    } else {
        r.endpoints.iter().find(|e| e.name == name)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The paired difference of one pair, against the allowance (positive: worse beyond it).
fn difference(metric: CompareMetric, base: f64, new: f64, a: Allowance) -> Option<f64> {
    let (worse, better) = if metric == CompareMetric::Rps {
        (base, new)
    } else {
        (new, base)
    };
    match a {
        Allowance::Relative(x) => {
            (worse > 0.0 && better > 0.0).then(|| (worse / better).ln() - (1.0 + x).ln())
        }
        Allowance::Points(x) => Some(worse - better - x),
    }
}

fn metric_delta(
    pairs: &[SlicePair<'_>],
    name: &str,
    metric: CompareMetric,
    a: Allowance,
) -> Result<Option<MetricDelta>, HistogramError> {
    let min = min_slice_requests(metric);
    let (mut bases, mut news, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    let mut informative = false;
    for p in pairs {
        let (Some(b), Some(n)) = (endpoint(p.base, name), endpoint(p.new, name)) else {
            continue;
        };
        if b.count < min || n.count < min {
            continue;
        }
        let (bv, _) = value_of(b, metric, None)?;
        let (nv, _) = value_of(n, metric, None)?;
        informative |= bv != nv;
        bases.push(bv);
        news.push(nv);
        diffs.extend(difference(metric, bv, nv, a));
    }
    if bases.is_empty() {
        return Ok(None);
    }
    let (base, new) = (median(bases), median(news));
    let mut d = MetricDelta {
        metric,
        unit: unit_of(metric),
        base,
        new,
        delta: new - base,
        relative: relative(base, new),
        allowance: a,
        base_band: None,
        new_band: None,
        // Not tested, so not counted in the family either: fewer than half the pairs usable,
        // or both sides equal in every pair (no errors on either side, say). Both criteria
        // are blind to which side is which, so leaving such metrics out keeps each remaining
        // test's null distribution intact (independent filtering) while the level of the
        // others rises.
        p_value: (informative && diffs.len() * 2 >= pairs.len())
            .then(|| super::stats::wilcoxon_greater(&diffs))
            .flatten(),
        status: DeltaStatus::Ok,
    };
    if d.p_value.is_none() {
        d.status = judge(d.worse_by(), allowed_change(base, a), false);
    }
    Ok(Some(d))
}
