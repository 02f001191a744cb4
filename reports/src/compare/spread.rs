//! The noise model of a multi-run baseline: each metric's new value against the prediction
//! interval of the K baseline runs (see the module header of `compare`).

use super::stats::prediction_half_width;
use super::{
    Allowances, Comparison, EndpointDelta, FAMILY_ALPHA, MetricDelta, allowed_change, judge,
    relative, union,
};
use crate::baseline_set::{BaselineSet, unit_of, value_of};
use crate::compare::bands_series_rate;
use crate::histogram::HistogramError;
use crate::model::{DeltaStatus, NoiseModel, Report};

pub(super) fn compare(
    set: &BaselineSet,
    new: &Report,
    allowances: &Allowances,
) -> Result<Comparison, HistogramError> {
    let names = union(
        set.endpoints
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| *n != "all"),
        new.endpoints.iter().map(|e| e.name.as_str()),
    );
    let both: Vec<&str> = std::iter::once("all")
        .chain(names.iter().copied())
        .collect();
    // One test per metric of every endpoint on both sides: Bonferroni's level over them.
    let tests = both
        .iter()
        .filter(|n| set.endpoints.iter().any(|e| e.name == **n) && endpoint(new, n).is_some())
        .count()
        * allowances.0.len();
    let alpha = FAMILY_ALPHA / tests.max(1) as f64;
    let mut endpoints = Vec::with_capacity(both.len());
    for name in both {
        let in_set = set.endpoints.iter().find(|e| e.name == name);
        let Some((in_set, e)) = in_set.zip(endpoint(new, name)) else {
            endpoints.push(EndpointDelta {
                name: name.to_owned(),
                base_count: in_set
                    .map(|s| s.counts.iter().sum::<u64>() / s.counts.len().max(1) as u64),
                new_count: endpoint(new, name).map(|e| e.count),
                metrics: Vec::new(),
            });
            continue;
        };
        let se = (name == "all")
            .then(|| bands_series_rate(new).map(|(_, se)| se))
            .flatten();
        let mut metrics = Vec::with_capacity(allowances.0.len());
        for (metric, allowance) in &allowances.0 {
            let (value, half_new) = value_of(e, *metric, se)?;
            let Some(spread) = set.spread(name, *metric) else {
                continue;
            };
            let half = prediction_half_width(spread.values.len(), spread.sd, alpha)
                .max(spread.sampling_half_width);
            let (lo, hi) = (spread.mean - half, spread.mean + half);
            let mut d = MetricDelta {
                metric: *metric,
                unit: unit_of(*metric),
                base: spread.mean,
                new: value,
                delta: value - spread.mean,
                relative: relative(spread.mean, value),
                allowance: *allowance,
                base_band: Some((lo, hi)),
                new_band: Some((value - half_new, value + half_new)),
                p_value: None,
                status: DeltaStatus::Ok,
            };
            let outside = if *metric == super::CompareMetric::Rps {
                value < lo
            } else {
                value > hi
            };
            d.status = judge(
                d.worse_by(),
                allowed_change(spread.mean, *allowance),
                outside,
            );
            metrics.push(d);
        }
        endpoints.push(EndpointDelta {
            name: name.to_owned(),
            base_count: Some(in_set.counts.iter().sum::<u64>() / in_set.counts.len().max(1) as u64),
            new_count: Some(e.count),
            metrics,
        });
    }
    Ok(Comparison {
        endpoints,
        model: NoiseModel::RunSpread,
        alpha: Some(alpha),
        not_comparable: Vec::new(),
        diagnosis: Vec::new(),
    })
}

fn endpoint<'a>(r: &'a Report, name: &str) -> Option<&'a crate::model::EndpointReport> {
    if name == "all" {
        Some(&r.total)
    } else {
        r.endpoints.iter().find(|e| e.name == name)
    }
}
