//! A multi-run baseline: what K runs of the same scenario measured, metric by metric, so that
//! compare can tell a change from the variation between runs (`gauntlet baseline record
//! --runs K` or `gauntlet baseline merge`). It keeps the K values of every metric of every
//! endpoint with their mean, spread and mean sampling band, and each run's environment
//! summary; no histograms, so a set of any K is a few tens of KB.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compare::stats::mean_sd;
use crate::compare::{CompareMetric, quantile_band};
use crate::histogram::{self, HistogramError};
use crate::model::{EndpointReport, EnvironmentSection, Report, ValueUnit, Verdict};

/// The `format` field that tells a baseline set from a report.
pub const FORMAT: &str = "gauntlet-baseline-set";

/// Layout version of the file; bumped on an incompatible change.
pub const VERSION: u32 = 1;

/// Every metric a set keeps, so any allowance list can be judged against it.
const METRICS: [CompareMetric; 7] = [
    CompareMetric::P50,
    CompareMetric::P90,
    CompareMetric::P95,
    CompareMetric::P99,
    CompareMetric::P999,
    CompareMetric::ErrorRate,
    CompareMetric::Rps,
];

/// K runs' spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineSet {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The runs' scenario.
    pub scenario: String,
    /// The runs' profile.
    pub profile: String,
    /// One entry per run, in the order given.
    pub runs: Vec<SetRun>,
    /// `all` first, then every endpoint of any run, sorted by name.
    pub endpoints: Vec<SetEndpoint>,
}

/// One run of the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SetRun {
    /// Its start, unix microseconds.
    pub started_at_unix_us: u64,
    /// Its verdict.
    pub verdict: Verdict,
    /// Its machine (summary only; the per-second samples stay in its report).
    pub environment: EnvironmentSection,
}

/// One endpoint's metrics over the runs that had it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SetEndpoint {
    /// Endpoint name, or `all`.
    pub name: String,
    /// Requests in each run that had the endpoint.
    pub counts: Vec<u64>,
    /// One entry per metric.
    pub metrics: Vec<MetricSpread>,
}

/// One metric's K values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricSpread {
    /// `p50`, `p90`, `p95`, `p99`, `p999`, `error_rate` or `rps`.
    pub metric: String,
    /// Unit of the values.
    pub unit: ValueUnit,
    /// One value per run that had the endpoint.
    pub values: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (0 for a single value).
    pub sd: f64,
    /// Mean half-width of a single run's 95% sampling band: the floor of the prediction
    /// interval, since runs cannot be told apart more finely than one run resolves.
    pub sampling_half_width: f64,
}

/// Why a set could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// Fewer than two runs give no spread.
    #[error("a baseline set needs at least two runs, got {0}")]
    TooFewRuns(usize),
    /// Runs of different scenarios or profiles do not measure the same thing.
    #[error(
        "run {index} is {found}, the first is {expected}: a set holds runs of one scenario and profile"
    )]
    Mixed {
        /// 1-based position of the odd run.
        index: usize,
        /// The first run's `scenario (profile)`.
        expected: String,
        /// This run's.
        found: String,
    },
    /// A histogram did not decode.
    #[error("run {index}")]
    Histogram {
        /// 1-based position of the run.
        index: usize,
        /// The decode error.
        #[source]
        source: HistogramError,
    },
}

impl BaselineSet {
    /// The set of `reports` (at least two, one scenario and profile).
    pub fn from_reports(reports: &[Report]) -> Result<BaselineSet, SetError> {
        let first = reports.first().ok_or(SetError::TooFewRuns(0))?;
        if reports.len() < 2 {
            return Err(SetError::TooFewRuns(reports.len()));
        }
        let label = |r: &Report| format!("{} ({})", r.run.scenario, r.run.profile);
        if let Some((i, r)) = reports.iter().enumerate().find(|(_, r)| {
            r.run.scenario != first.run.scenario || r.run.profile != first.run.profile
        }) {
            return Err(SetError::Mixed {
                index: i + 1,
                expected: label(first),
                found: label(r),
            });
        }
        let mut names: Vec<&str> = reports
            .iter()
            .flat_map(|r| r.endpoints.iter().map(|e| e.name.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut endpoints = vec![endpoint("all", reports, |r| Some(&r.total))?];
        for name in names {
            endpoints.push(endpoint(name, reports, |r| {
                r.endpoints.iter().find(|e| e.name == name)
            })?);
        }
        Ok(BaselineSet {
            format: FORMAT.to_owned(),
            version: VERSION,
            scenario: first.run.scenario.clone(),
            profile: first.run.profile.clone(),
            runs: reports
                .iter()
                .map(|r| SetRun {
                    started_at_unix_us: r.run.started_at_unix_us,
                    verdict: r.verdict,
                    environment: EnvironmentSection {
                        samples: Vec::new(),
                        ..r.environment.clone()
                    },
                })
                .collect(),
            endpoints,
        })
    }

    /// The spread of `metric` of `endpoint`, when the set has it.
    pub fn spread(&self, endpoint: &str, metric: CompareMetric) -> Option<&MetricSpread> {
        self.endpoints
            .iter()
            .find(|e| e.name == endpoint)?
            .metrics
            .iter()
            .find(|m| m.metric == metric.name())
    }

    /// Whether `json` is a baseline set rather than a report (its `format` field).
    pub fn is_set(json: &serde_json::Value) -> bool {
        json.get("format").and_then(|f| f.as_str()) == Some(FORMAT)
    }
}

/// One run's value of `metric` for an endpoint, and its sampling half-width.
pub(crate) fn value_of(
    e: &EndpointReport,
    metric: CompareMetric,
    series_se: Option<f64>,
) -> Result<(f64, f64), HistogramError> {
    Ok(match metric.quantile() {
        Some(q) => {
            let h = histogram::decode(&e.histogram)?;
            let v = histogram::quantile_us(&h, q) as f64;
            let half = quantile_band(&h, q).map_or(0.0, |(lo, hi)| (hi - lo) / 2.0);
            (v, half)
        }
        None if metric == CompareMetric::ErrorRate => {
            let band = crate::compare::bands_proportion(e.error_rate, e.count as f64);
            (e.error_rate, band.map_or(0.0, |(lo, hi)| (hi - lo) / 2.0))
        }
        None => (e.rps, series_se.map_or(0.0, |se| 1.96 * se)),
    })
}

fn endpoint<'a>(
    name: &str,
    reports: &'a [Report],
    pick: impl Fn(&'a Report) -> Option<&'a EndpointReport>,
) -> Result<SetEndpoint, SetError> {
    let present: Vec<(usize, &Report, &EndpointReport)> = reports
        .iter()
        .enumerate()
        .filter_map(|(i, r)| pick(r).map(|e| (i, r, e)))
        .collect();
    let mut metrics = Vec::with_capacity(METRICS.len());
    for metric in METRICS {
        let mut values = Vec::with_capacity(present.len());
        let mut halves = Vec::with_capacity(present.len());
        for (i, r, e) in &present {
            let se = (name == "all")
                .then(|| crate::compare::bands_series_rate(r).map(|(_, se)| se))
                .flatten();
            let (v, half) = value_of(e, metric, se).map_err(|source| SetError::Histogram {
                index: i + 1,
                source,
            })?;
            values.push(v);
            halves.push(half);
        }
        let (mean, sd) = mean_sd(&values).unwrap_or((values.first().copied().unwrap_or(0.0), 0.0));
        metrics.push(MetricSpread {
            metric: metric.name().to_owned(),
            unit: unit_of(metric),
            sampling_half_width: halves.iter().sum::<f64>() / halves.len().max(1) as f64,
            values,
            mean,
            sd,
        });
    }
    Ok(SetEndpoint {
        name: name.to_owned(),
        counts: present.iter().map(|(_, _, e)| e.count).collect(),
        metrics,
    })
}

pub(crate) fn unit_of(metric: CompareMetric) -> ValueUnit {
    match metric {
        CompareMetric::ErrorRate => ValueUnit::Ratio,
        CompareMetric::Rps => ValueUnit::PerSecond,
        _ => ValueUnit::Microseconds,
    }
}
