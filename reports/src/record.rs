//! Building blocks the load generator uses to fill a [`Report`] while requests complete.
//!
//! The hot path ([`RunRecorder::record`]) is called once per request, so it never allocates once
//! an endpoint has been seen: histograms have fixed bounds (no auto-resize), counters are plain
//! integers and the per-second series keeps only the current second in full, closing it into a
//! compact [`SecondPoint`] when the clock moves on. Memory is therefore bounded by
//! (endpoints × (1 + phases)) histograms plus one small entry per second of run time.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::endpoint_series::EndpointSeriesRecorder;
use crate::histogram::{self, HistogramError, quantile_us};
use crate::model::{
    EndpointReport, ErrorCounts, LatencySummary, PhaseKind, PhaseReport, Report, SecondPoint, Span,
};
use crate::tenant_stats::TenantRecorder;

pub use crate::second_series::{SecondBucket, SeriesRecorder};

/// How one request ended, as classified by the load generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Success (including statuses the scenario declared as expected).
    Ok,
    /// An unexpected 4xx response.
    Http4xx,
    /// A 5xx response.
    Http5xx,
    /// The client timeout fired.
    Timeout,
    /// No HTTP response: connect refused, reset, DNS failure.
    Connection,
    /// Any other failure (bad body, failed check).
    Other,
}

impl Outcome {
    /// Classify a plain HTTP status: 2xx/3xx are `Ok`, 4xx and 5xx are errors.
    pub fn from_status(status: u16) -> Outcome {
        match status {
            400..=499 => Outcome::Http4xx,
            500..=599 => Outcome::Http5xx,
            100..=399 => Outcome::Ok,
            _ => Outcome::Other,
        }
    }

    /// True for every outcome except `Ok`.
    pub fn is_error(self) -> bool {
        self != Outcome::Ok
    }
}

/// Latency histogram and outcome counters for one endpoint (or all, or one phase).
#[derive(Debug, Clone)]
pub struct EndpointStats {
    hist: Histogram<u64>,
    ok: u64,
    errors: ErrorCounts,
}

impl Default for EndpointStats {
    fn default() -> Self {
        EndpointStats::new()
    }
}

impl EndpointStats {
    /// Empty statistics (allocates the fixed-size histogram once).
    pub fn new() -> EndpointStats {
        EndpointStats {
            hist: histogram::new_histogram(),
            ok: 0,
            errors: ErrorCounts::default(),
        }
    }

    /// Record one request. Latencies above the histogram's range are clamped, never rejected.
    #[inline]
    pub fn record(&mut self, latency_us: u64, outcome: Outcome) {
        self.hist.saturating_record(latency_us);
        let e = &mut self.errors;
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                return;
            }
            Outcome::Http4xx => e.http_4xx += 1,
            Outcome::Http5xx => e.http_5xx += 1,
            Outcome::Timeout => e.timeout += 1,
            Outcome::Connection => e.connection += 1,
            Outcome::Other => e.other += 1,
        }
        e.total += 1;
    }

    /// Add another set of statistics into this one (exact: same histogram layout).
    pub fn merge(&mut self, other: &EndpointStats) {
        histogram::add_clamped(&mut self.hist, &other.hist);
        self.ok += other.ok;
        add_errors(&mut self.errors, &other.errors);
    }

    /// Requests recorded.
    pub fn count(&self) -> u64 {
        self.ok + self.errors.total
    }

    /// The latency histogram.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Rebuild statistics from a histogram and counters (used by merge).
    pub fn from_parts(hist: Histogram<u64>, ok: u64, errors: ErrorCounts) -> EndpointStats {
        EndpointStats { hist, ok, errors }
    }

    /// Summarise as a report entry; `duration_us` is the denominator of `rps`.
    pub fn summarize(
        &self,
        name: &str,
        duration_us: u64,
    ) -> Result<EndpointReport, HistogramError> {
        let count = self.count();
        Ok(EndpointReport {
            name: name.to_owned(),
            count,
            ok: self.ok,
            errors: self.errors,
            error_rate: ratio(self.errors.total, count),
            rps: per_second(count, duration_us),
            latency: summarize_latency(&self.hist),
            histogram: histogram::encode(&self.hist)?,
        })
    }
}

/// Sum error counters field by field.
pub(crate) fn add_errors(dst: &mut ErrorCounts, src: &ErrorCounts) {
    dst.http_4xx += src.http_4xx;
    dst.http_5xx += src.http_5xx;
    dst.timeout += src.timeout;
    dst.connection += src.connection;
    dst.other += src.other;
    dst.total += src.total;
}

/// `num / den`, or 0 when `den` is 0 (so the JSON never holds NaN).
pub(crate) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Events per second over `duration_us`, or 0 for an empty duration.
pub(crate) fn per_second(count: u64, duration_us: u64) -> f64 {
    if duration_us == 0 {
        0.0
    } else {
        count as f64 * 1_000_000.0 / duration_us as f64
    }
}

/// Percentiles of a histogram, all from the same HDR data.
pub fn summarize_latency(hist: &Histogram<u64>) -> LatencySummary {
    if hist.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        min_us: hist.min(),
        mean_us: hist.mean().round() as u64,
        p50_us: quantile_us(hist, 0.50),
        p90_us: quantile_us(hist, 0.90),
        p95_us: quantile_us(hist, 0.95),
        p99_us: quantile_us(hist, 0.99),
        p999_us: quantile_us(hist, 0.999),
        max_us: hist.max(),
    }
}

/// Per-phase accumulation: the intervals spent in the phase and its statistics.
#[derive(Debug, Clone)]
struct PhaseAccum {
    kind: PhaseKind,
    spans: Vec<Span>,
    total: EndpointStats,
    endpoints: BTreeMap<String, EndpointStats>,
}

/// Everything the loadgen records during a run, turned into report sections by
/// [`RunRecorder::finish_into`].
#[derive(Debug, Clone)]
pub struct RunRecorder {
    started_unix_us: u64,
    total: EndpointStats,
    endpoints: BTreeMap<String, EndpointStats>,
    phases: Vec<PhaseAccum>,
    /// Index into `phases` of the open phase and when it was entered (offset µs).
    open_phase: Option<(usize, u64)>,
    series: SeriesRecorder,
    /// Each endpoint's per-second means, for compare's test over the seconds.
    endpoint_series: BTreeMap<String, EndpointSeriesRecorder>,
    /// Each tenant's statistics (for `tenant.<label>.*`), filled by [`RunRecorder::record_tenant`].
    tenants: TenantRecorder,
    /// The same, for requests sent while the noisy neighbour flooded.
    tenants_during_flood: TenantRecorder,
    /// Labels of the fixture's tenants, by index; `t<index>` where none is given.
    tenant_labels: Vec<String>,
    /// Service time (send to last byte) of the same requests as `total`, whose latency is the
    /// response time; recorded only in an open-model run, where the two differ.
    service: Option<Histogram<u64>>,
}

impl RunRecorder {
    /// A recorder for a run whose measurement starts at `started_unix_us`.
    pub fn new(started_unix_us: u64, keep_second_histograms: bool) -> RunRecorder {
        RunRecorder {
            started_unix_us,
            total: EndpointStats::new(),
            endpoints: BTreeMap::new(),
            phases: Vec::new(),
            open_phase: None,
            series: SeriesRecorder::new(keep_second_histograms),
            endpoint_series: BTreeMap::new(),
            tenants: TenantRecorder::default(),
            tenants_during_flood: TenantRecorder::default(),
            tenant_labels: Vec::new(),
            service: None,
        }
    }

    /// Keeps service times beside response times (an open-model run), for the report's
    /// `open_model` section.
    pub fn with_service_times(mut self) -> RunRecorder {
        self.service = Some(crate::histogram::new_histogram());
        self
    }

    /// Records one request's service time; ignored unless [`RunRecorder::with_service_times`].
    pub fn record_service(&mut self, service_us: u64) {
        if let Some(h) = self.service.as_mut() {
            h.saturating_record(service_us);
        }
    }

    /// Names the fixture's tenants (index `i` is `labels[i]`) for the per-tenant section.
    pub fn with_tenant_labels(mut self, labels: Vec<String>) -> RunRecorder {
        self.tenants = TenantRecorder::with_tenants(labels.len());
        self.tenants_during_flood = TenantRecorder::with_tenants(labels.len());
        self.tenant_labels = labels;
        self
    }

    /// Count a request already given to [`RunRecorder::record`] for its tenant (fixture index)
    /// too; `rate_limited` when it was answered 429, `during_flood` when the noisy neighbour
    /// was flooding as it was sent.
    #[inline]
    pub fn record_tenant(
        &mut self,
        tenant: usize,
        latency_us: u64,
        outcome: Outcome,
        rate_limited: bool,
        during_flood: bool,
    ) {
        self.tenants
            .record(tenant, latency_us, outcome, rate_limited);
        if during_flood {
            self.tenants_during_flood
                .record(tenant, latency_us, outcome, rate_limited);
        }
    }

    /// Record one completed request. Allocates only the first time an endpoint is seen.
    #[inline]
    pub fn record(&mut self, endpoint: &str, at_unix_us: u64, latency_us: u64, outcome: Outcome) {
        self.total.record(latency_us, outcome);
        stats_for(&mut self.endpoints, endpoint).record(latency_us, outcome);
        if let Some((idx, _)) = self.open_phase {
            let phase = &mut self.phases[idx];
            phase.total.record(latency_us, outcome);
            stats_for(&mut phase.endpoints, endpoint).record(latency_us, outcome);
        }
        self.series.record(at_unix_us, latency_us, outcome);
        if !self.endpoint_series.contains_key(endpoint) {
            self.endpoint_series
                .insert(endpoint.to_owned(), EndpointSeriesRecorder::default());
        }
        if let Some(s) = self.endpoint_series.get_mut(endpoint) {
            s.record(at_unix_us, latency_us, outcome.is_error());
        }
    }

    /// The newest completed second of the series, for a live progress line.
    pub fn last_second(&self) -> Option<&SecondPoint> {
        self.series.last_closed()
    }

    /// Enter `kind` at `at_unix_us`, closing the open phase (if any) at the same instant.
    pub fn enter_phase(&mut self, kind: PhaseKind, at_unix_us: u64) {
        self.end_phase(at_unix_us);
        let idx = match self.phases.iter().position(|p| p.kind == kind) {
            Some(i) => i,
            None => {
                self.phases.push(PhaseAccum {
                    kind,
                    spans: Vec::new(),
                    total: EndpointStats::new(),
                    endpoints: BTreeMap::new(),
                });
                self.phases.len() - 1
            }
        };
        self.open_phase = Some((idx, self.offset(at_unix_us)));
    }

    /// Close the open phase at `at_unix_us`; requests after this belong to no phase.
    pub fn end_phase(&mut self, at_unix_us: u64) {
        if let Some((idx, start)) = self.open_phase.take() {
            let end = self.offset(at_unix_us).max(start);
            self.phases[idx].spans.push(Span {
                start_offset_us: start,
                end_offset_us: end,
            });
        }
    }

    fn offset(&self, at_unix_us: u64) -> u64 {
        at_unix_us.saturating_sub(self.started_unix_us)
    }

    /// Write endpoints, totals, phases and the series into `report`, and set the run's
    /// start, end and duration. Other sections are left as they are.
    pub fn finish_into(
        mut self,
        report: &mut Report,
        finished_unix_us: u64,
    ) -> Result<(), HistogramError> {
        self.end_phase(finished_unix_us);
        let duration_us = self.offset(finished_unix_us);
        report.run.started_at_unix_us = self.started_unix_us;
        report.run.finished_at_unix_us = finished_unix_us.max(self.started_unix_us);
        report.run.duration_us = duration_us;
        report.total = self.total.summarize("all", duration_us)?;
        report.endpoints = summarize_map(&self.endpoints, duration_us)?;
        let mut phases = Vec::with_capacity(self.phases.len());
        for p in &self.phases {
            let d: u64 = p
                .spans
                .iter()
                .map(|s| s.end_offset_us - s.start_offset_us)
                .sum();
            phases.push(PhaseReport {
                kind: p.kind,
                spans: p.spans.clone(),
                duration_us: d,
                total: p.total.summarize("all", d)?,
                endpoints: summarize_map(&p.endpoints, d)?,
            });
        }
        phases.sort_by_key(|p| p.kind);
        report.phases = phases;
        report.series = self.series.finish();
        report.endpoint_series = std::mem::take(&mut self.endpoint_series)
            .into_iter()
            .map(|(name, s)| s.finish(&name))
            .collect();
        let labels = &self.tenant_labels;
        let label = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("t{i}"));
        report.tenants = self.tenants.finish(duration_us, label)?;
        // Its rates are per second of the whole run too: the flood's window is in the
        // noisy-neighbour section, and counts and percentiles do not depend on it.
        report.tenants_during_flood = self.tenants_during_flood.finish(duration_us, label)?;
        if let Some(service) = &self.service {
            let o = &mut report.open_model;
            o.enabled = true;
            o.response_time = report.total.latency;
            o.service_time = summarize_latency(service);
            o.service_time_histogram = crate::histogram::encode(service)?;
        }
        Ok(())
    }
}

/// Look up an endpoint's stats without allocating when it already exists.
#[inline]
fn stats_for<'a>(
    map: &'a mut BTreeMap<String, EndpointStats>,
    name: &str,
) -> &'a mut EndpointStats {
    if !map.contains_key(name) {
        map.insert(name.to_owned(), EndpointStats::new());
    }
    map.get_mut(name).expect("inserted above")
}

/// Summarise every endpoint of a map (BTreeMap: sorted by name).
pub(crate) fn summarize_map(
    map: &BTreeMap<String, EndpointStats>,
    duration_us: u64,
) -> Result<Vec<EndpointReport>, HistogramError> {
    map.iter()
        .map(|(name, s)| s.summarize(name, duration_us))
        .collect()
}
