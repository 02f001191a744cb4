//! Request statistics per tenant, recorded beside the endpoint statistics: what the
//! `tenant.<label>.*` thresholds judge. A tenant is an index into the run's fixture; the
//! vector grows to the highest index seen, so the hot path allocates once per tenant.

use crate::histogram::{self, HistogramError};
use crate::model::{ErrorCounts, NoisyNeighbourSection, Report, TenantReport};
use crate::record::{EndpointStats, Outcome, per_second, ratio};

/// One tenant while the run records it.
#[derive(Debug, Clone, Default)]
struct TenantAccum {
    stats: EndpointStats,
    rate_limited: u64,
}

/// Every tenant's statistics, by fixture index.
#[derive(Debug, Clone, Default)]
pub struct TenantRecorder {
    tenants: Vec<TenantAccum>,
}

impl TenantRecorder {
    /// A recorder that reports at least `tenants` entries, requests or not (a tenant that
    /// sent nothing is worth seeing in the report).
    pub fn with_tenants(tenants: usize) -> TenantRecorder {
        TenantRecorder {
            tenants: vec![TenantAccum::default(); tenants],
        }
    }

    /// Record one request of tenant `index`; `rate_limited` when it was answered 429.
    #[inline]
    pub fn record(&mut self, index: usize, latency_us: u64, outcome: Outcome, rate_limited: bool) {
        if index >= self.tenants.len() {
            self.tenants.resize_with(index + 1, TenantAccum::default);
        }
        let t = &mut self.tenants[index];
        t.stats.record(latency_us, outcome);
        t.rate_limited += u64::from(rate_limited);
    }

    /// One report entry per tenant index up to the highest seen; `label(i)` names tenant `i`
    /// (name and tier are the caller's to fill in, the recorder does not know them).
    pub fn finish(
        &self,
        duration_us: u64,
        label: impl Fn(usize) -> String,
    ) -> Result<Vec<TenantReport>, HistogramError> {
        self.tenants
            .iter()
            .enumerate()
            .map(|(i, t)| summarize(&label(i), &t.stats, t.rate_limited, duration_us))
            .collect()
    }
}

/// A tenant's report entry from its statistics (also what merge rebuilds after adding two).
pub fn summarize(
    label: &str,
    stats: &EndpointStats,
    rate_limited: u64,
    duration_us: u64,
) -> Result<TenantReport, HistogramError> {
    let summary = stats.summarize(label, duration_us)?;
    Ok(TenantReport {
        label: label.to_owned(),
        name: None,
        tier: None,
        count: summary.count,
        errors: summary.errors.total,
        error_rate: summary.error_rate,
        rate_limited,
        rate_limited_rate: ratio(rate_limited, summary.count),
        rps: per_second(summary.count, duration_us),
        latency: summary.latency,
        histogram: summary.histogram,
    })
}

/// The tenants of several runs (e.g. the shards of one load), added by label: histograms and
/// counters add exactly, so merged percentiles are those of the union. Order: first seen.
pub fn merge<'a>(
    lists: impl Iterator<Item = &'a [TenantReport]>,
    duration_us: u64,
) -> Result<Vec<TenantReport>, HistogramError> {
    let mut merged: Vec<(TenantReport, EndpointStats, u64)> = Vec::new();
    for t in lists.flatten() {
        let errors = ErrorCounts {
            other: t.errors,
            total: t.errors,
            ..ErrorCounts::default()
        };
        let stats = EndpointStats::from_parts(
            histogram::decode(&t.histogram)?,
            t.count.saturating_sub(t.errors),
            errors,
        );
        match merged.iter_mut().find(|(m, _, _)| m.label == t.label) {
            Some((_, s, limited)) => {
                s.merge(&stats);
                *limited += t.rate_limited;
            }
            None => merged.push((t.clone(), stats, t.rate_limited)),
        }
    }
    merged
        .into_iter()
        .map(|(first, stats, limited)| {
            let mut out = summarize(&first.label, &stats, limited, duration_us)?;
            out.name = first.name;
            out.tier = first.tier;
            Ok(out)
        })
        .collect()
}

/// The floods of several runs as one: counts add, the window spans them all (`shift` gives
/// each input's start relative to the merged run's).
pub fn merge_noisy_neighbour(
    reports: &[Report],
    shift: impl Fn(&Report) -> u64,
) -> NoisyNeighbourSection {
    let mut out: Option<NoisyNeighbourSection> = None;
    for r in reports.iter().filter(|r| r.noisy_neighbour.enabled) {
        let n = &r.noisy_neighbour;
        let d = shift(r);
        match &mut out {
            None => {
                let mut first = n.clone();
                first.start_offset_us += d;
                first.end_offset_us += d;
                out = Some(first);
            }
            Some(o) => {
                o.start_offset_us = o.start_offset_us.min(n.start_offset_us + d);
                o.end_offset_us = o.end_offset_us.max(n.end_offset_us + d);
                o.target_rps += n.target_rps;
                o.sent += n.sent;
                o.ok += n.ok;
                o.rate_limited += n.rate_limited;
                o.burst += n.burst;
                o.plan_burst = o.plan_burst.or(n.plan_burst);
                o.other += n.other;
                o.skipped += n.skipped;
                o.problem = o.problem.take().or_else(|| n.problem.clone());
            }
        }
    }
    out.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates_are_per_tenant() {
        let mut r = TenantRecorder::default();
        for _ in 0..8 {
            r.record(0, 1_000, Outcome::Ok, false);
        }
        r.record(0, 2_000, Outcome::Http4xx, true);
        r.record(0, 2_000, Outcome::Http5xx, false);
        r.record(2, 50_000, Outcome::Ok, false);
        let reports = r.finish(2_000_000, |i| format!("t{i}")).unwrap();
        let merged = merge([&reports[..], &reports[..]].into_iter(), 2_000_000).unwrap();
        assert_eq!(merged.len(), 3, "merged by label");
        assert_eq!((merged[0].count, merged[0].rate_limited), (20, 2));
        assert_eq!(
            reports.len(),
            3,
            "tenant 1 had no request but keeps its place"
        );
        assert_eq!(reports[0].label, "t0");
        assert_eq!(reports[0].count, 10);
        assert_eq!(reports[0].errors, 2);
        assert!((reports[0].rate_limited_rate - 0.1).abs() < 1e-9);
        assert!((reports[0].rps - 5.0).abs() < 1e-9);
        assert_eq!(reports[1].count, 0);
        assert_eq!(reports[1].rate_limited_rate, 0.0);
        assert!(reports[2].latency.p95_us >= 49_000);
    }
}
