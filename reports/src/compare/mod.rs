//! Compare a run with a baseline endpoint by endpoint, flagging a regression only when a
//! change is larger than the allowance *and* larger than the run-to-run variation — and
//! refusing to judge at all when either run's machine was busy with something else.
//!
//! # Why
//!
//! One run's histograms measure sampling noise only: two runs of the same code on the same
//! machine differ by more than that (another process, the page cache, CPU frequency), so a
//! gate built on them cries wolf on a shared CI runner — seen: 28 "regressions" between two
//! clean runs, one of them beside a busy process. The variation between runs has to be
//! measured, and a run whose machine was busy has to be recognised as such.
//!
//! # The model, in the order it is applied
//!
//! 1. **Comparable or not** ([`environment`]): each report carries its machine's CPU used
//!    elsewhere (machine CPU from `/proc/stat` minus the CPU of the run's own processes) and
//!    steal. Beyond [`EnvironmentBounds`] on either side the outcome is
//!    [`CompareOutcome::NotComparable`] (exit 4), whatever the numbers say: a busy machine
//!    slows everything, and no statistic can tell that from a slower service.
//! 2. **Multi-run baseline** ([`spread`], a [`BaselineSet`] of K runs): each metric's K
//!    values give a mean and a standard deviation; the new run is outside the run-to-run
//!    variation when it falls outside the two-sided prediction interval
//!    `mean ± t(1 − α/2, K − 1) · sd · √(1 + 1/K)` for one more run, widened to at least the
//!    runs' own mean sampling band (K nearly equal values would otherwise make the interval
//!    narrower than a single run can resolve). Assumes the K runs are independent draws of
//!    the same setup and a run's quantile is roughly normal across runs.
//! 3. **Single-run baseline** ([`seconds`]): each run is a sample of seconds (per-second
//!    percentiles for `all`, per-second means for each endpoint, from the report's
//!    `series`/`endpoint_series`); Mann–Whitney U (one-sided, normal approximation with tie
//!    correction) tests whether the new run's seconds are shifted the worse way. It assumes
//!    the seconds are exchangeable; neighbouring seconds are correlated, which makes the
//!    p-value optimistic, so the level is strict (below).
//! 4. **Fallback** ([`bands`]): metrics without enough seconds (fewer than 5 a side), and
//!    reports written before per-second endpoint series existed, use the old single-run
//!    bands: distribution-free quantile bands from the histograms, a two-proportion z-test
//!    for error rates, the per-second counts' standard error for throughput.
//!
//! Every comparison tests many metrics at once (endpoints × metrics), so the level of each
//! test is Bonferroni's `α = 0.05 / m` for the `m` tests made: the chance of one false alarm
//! in a whole comparison of unchanged code stays at about 5 % before the allowance, which
//! must be exceeded too, cuts it further. Interleaved A/B runs ([`paired`]) have their own,
//! paired, test.

pub mod allowance;
mod bands;
mod diagnosis;
pub mod environment;
pub mod paired;
mod render;
pub(crate) use render::noise_cell;
mod seconds;
mod spread;
pub mod stats;

use crate::baseline_set::BaselineSet;
use crate::histogram::{self, HistogramError};
pub use crate::model::DeltaStatus;
use crate::model::{BaselineDelta, BaselineSection, EndpointReport, NoiseModel, Report, ValueUnit};

pub use allowance::{
    Allowance, AllowanceErrorKind, AllowanceParseError, Allowances, CompareMetric,
};
pub use bands::quantile_band;
pub(crate) use bands::{proportion_band as bands_proportion, series_rate as bands_series_rate};
pub use environment::{BoundsParseError, EnvironmentBounds};

/// z for a two-sided 95% interval.
const Z95: f64 = 1.96;

/// The family-wise false-alarm rate a whole comparison aims for, before the allowance.
pub const FAMILY_ALPHA: f64 = 0.05;

/// One metric of one endpoint, base vs new.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDelta {
    /// Which metric.
    pub metric: CompareMetric,
    /// Unit of `base` and `new`.
    pub unit: ValueUnit,
    /// Base value (a multi-run baseline's mean; an A/B run's median over the slices).
    pub base: f64,
    /// New value.
    pub new: f64,
    /// `new - base`.
    pub delta: f64,
    /// `(new - base) / base`, when base is non-zero.
    pub relative: Option<f64>,
    /// The allowance applied.
    pub allowance: Allowance,
    /// The base's noise band, when the model has one: a quantile band, or a multi-run
    /// baseline's prediction interval.
    pub base_band: Option<(f64, f64)>,
    /// The new run's sampling band, when the model has one.
    pub new_band: Option<(f64, f64)>,
    /// The p-value of "new is worse", when the model tests (over seconds, or paired slices).
    pub p_value: Option<f64>,
    /// The judgement.
    pub status: DeltaStatus,
}

impl MetricDelta {
    /// How much worse `new` is than `base` (throughput: a drop), in the metric's unit.
    pub fn worse_by(&self) -> f64 {
        if self.metric == CompareMetric::Rps {
            self.base - self.new
        } else {
            self.new - self.base
        }
    }
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

/// What a comparison concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOutcome {
    /// No regression.
    Pass,
    /// At least one metric regressed beyond allowance and noise.
    Regressed,
    /// A machine was busy elsewhere: nothing is judged (exit 4).
    NotComparable,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `all` first, then endpoints sorted by name (union of both runs).
    pub endpoints: Vec<EndpointDelta>,
    /// The noise model the tests and bands come from.
    pub model: NoiseModel,
    /// The significance level each test was held to (`0.05 / tests`), when tests were made.
    pub alpha: Option<f64>,
    /// Why the runs cannot be compared, with the numbers; empty when they can.
    pub not_comparable: Vec<String>,
    /// What changed in where the time went (runs compared one to one, both diagnosed).
    pub diagnosis: Vec<String>,
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

    /// Not comparable wins over regressed: a busy machine explains any regression.
    pub fn outcome(&self) -> CompareOutcome {
        if !self.not_comparable.is_empty() {
            CompareOutcome::NotComparable
        } else if self.regressions() > 0 {
            CompareOutcome::Regressed
        } else {
            CompareOutcome::Pass
        }
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
                        p_value: m.p_value,
                        status: m.status,
                    })
                })
                .collect(),
            noise_model: Some(self.model),
            alpha: self.alpha,
            not_comparable: self.not_comparable.clone(),
        }
    }
}

/// What a run is compared against.
#[derive(Debug, Clone, Copy)]
pub enum Base<'a> {
    /// One earlier run.
    Run(&'a Report),
    /// Several runs' spread.
    Set(&'a BaselineSet),
}

/// Compare `new` against one earlier run under `allowances` and the default environment
/// bounds.
pub fn compare(
    base: &Report,
    new: &Report,
    allowances: &Allowances,
) -> Result<Comparison, HistogramError> {
    compare_with(
        Base::Run(base),
        new,
        allowances,
        &EnvironmentBounds::default(),
    )
}

/// Compare `new` against a run or a multi-run baseline.
pub fn compare_with(
    base: Base<'_>,
    new: &Report,
    allowances: &Allowances,
    bounds: &EnvironmentBounds,
) -> Result<Comparison, HistogramError> {
    let mut not_comparable = Vec::new();
    match base {
        Base::Run(b) => {
            not_comparable.extend(environment::busy_reason("base run", &b.environment, bounds))
        }
        Base::Set(set) => {
            for (i, run) in set.runs.iter().enumerate() {
                let side = format!("baseline run {} of {}", i + 1, set.runs.len());
                not_comparable.extend(environment::busy_reason(&side, &run.environment, bounds));
            }
        }
    }
    not_comparable.extend(environment::busy_reason(
        "new run",
        &new.environment,
        bounds,
    ));
    let mut c = match base {
        Base::Run(b) => compare_runs(b, new, allowances)?,
        Base::Set(set) => spread::compare(set, new, allowances)?,
    };
    c.not_comparable = not_comparable;
    Ok(c)
}

/// Endpoint names of both sides, sorted and unique.
fn union<'a>(a: impl Iterator<Item = &'a str>, b: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = a.chain(b).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn compare_runs(
    base: &Report,
    new: &Report,
    allowances: &Allowances,
) -> Result<Comparison, HistogramError> {
    let names = union(
        base.endpoints.iter().map(|e| e.name.as_str()),
        new.endpoints.iter().map(|e| e.name.as_str()),
    );
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
    let tested = !base.endpoint_series.is_empty() && !new.endpoint_series.is_empty();
    let alpha = judge_tests(&mut endpoints);
    Ok(Comparison {
        endpoints,
        model: if tested {
            NoiseModel::SecondsTest
        } else {
            NoiseModel::HistogramBands
        },
        alpha,
        not_comparable: Vec::new(),
        diagnosis: diagnosis::lines(&base.diagnosis, &new.diagnosis),
    })
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
    let series = !base.endpoint_series.is_empty() && !new.endpoint_series.is_empty();
    let metrics = allowances
        .0
        .iter()
        .map(|(metric, allowance)| {
            let mut d = match metric.quantile() {
                Some(q) => bands::latency_delta(*metric, q, &hb, &hn, *allowance),
                None if *metric == CompareMetric::ErrorRate => {
                    bands::error_rate_delta(b, n, *allowance)
                }
                None => bands::rps_delta(b, n, is_total.then_some((base, new)), *allowance),
            };
            if series {
                d.p_value = seconds::p_worse(base, new, &b.name, *metric);
            }
            d
        })
        .collect();
    Ok(EndpointDelta {
        name: b.name.clone(),
        base_count: Some(b.count),
        new_count: Some(n.count),
        metrics,
    })
}

/// Judge every metric that carries a p-value at Bonferroni's level for the tests made;
/// returns that level (None when nothing was tested).
pub(crate) fn judge_tests(endpoints: &mut [EndpointDelta]) -> Option<f64> {
    let tests = endpoints
        .iter()
        .flat_map(|e| &e.metrics)
        .filter(|m| m.p_value.is_some())
        .count();
    if tests == 0 {
        return None;
    }
    let alpha = FAMILY_ALPHA / tests as f64;
    for m in endpoints.iter_mut().flat_map(|e| &mut e.metrics) {
        if let Some(p) = m.p_value {
            m.status = judge(m.worse_by(), allowed_change(m.base, m.allowance), p < alpha);
        }
    }
    Some(alpha)
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
