//! The comparison against a baseline report (`gauntlet run --baseline BASE.json`): which file,
//! which allowances, and every judged metric. A regression here fails the verdict.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ValueUnit;

/// Outcome of comparing one metric against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeltaStatus {
    /// Within the allowance.
    Ok,
    /// Better than the base.
    Improved,
    /// Worse than the allowance, but inside sampling noise: not a regression.
    WithinNoise,
    /// Worse than the allowance and outside noise.
    Regression,
}

impl DeltaStatus {
    /// Lower-case label used in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            DeltaStatus::Ok => "ok",
            DeltaStatus::Improved => "improved",
            DeltaStatus::WithinNoise => "within noise",
            DeltaStatus::Regression => "REGRESSION",
        }
    }
}

/// The baseline comparison; `enabled: false` and empty without `--baseline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineSection {
    /// True when the run was compared against a baseline.
    pub enabled: bool,
    /// The baseline file as given on the command line.
    pub file: Option<String>,
    /// The allowances applied, as written (e.g. `p95=10%,error_rate=0.5pp`).
    pub allowances: String,
    /// One entry per endpoint (`all` first) and metric, in the compare order.
    pub deltas: Vec<BaselineDelta>,
    /// Where the noise bands and tests come from. Defaulted when absent (reports from before
    /// it used the histogram bands); an added field, so `schema_version` stays 1.
    #[serde(default)]
    pub noise_model: Option<NoiseModel>,
    /// The level each test was held to (0.05 divided by the tests made), when tests were made.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Why this run and its baseline cannot be compared (a machine busy elsewhere), with the
    /// numbers; empty when they can. Non-empty makes the verdict `invalid` (exit 4).
    #[serde(default)]
    pub not_comparable: Vec<String>,
}

/// Where a comparison's noise judgement comes from (see `compare`'s module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoiseModel {
    /// Single-run bands from the histograms (reports without per-second endpoint series).
    HistogramBands,
    /// A single-run baseline: Mann–Whitney U over the seconds of both runs.
    SecondsTest,
    /// A multi-run baseline: prediction intervals from the runs' spread.
    RunSpread,
    /// Interleaved A/B slices: Wilcoxon signed-rank on the paired differences.
    PairedSlices,
}

impl NoiseModel {
    /// In words, for the renderers.
    pub fn describe(self) -> &'static str {
        match self {
            NoiseModel::HistogramBands => "single-run histogram bands",
            NoiseModel::SecondsTest => "Mann–Whitney U over the seconds of both runs",
            NoiseModel::RunSpread => "prediction interval from the baseline runs' spread",
            NoiseModel::PairedSlices => "Wilcoxon signed-rank over interleaved slice pairs",
        }
    }
}

impl BaselineSection {
    /// The deltas judged regressions.
    pub fn regressions(&self) -> impl Iterator<Item = &BaselineDelta> {
        self.deltas
            .iter()
            .filter(|d| d.status == DeltaStatus::Regression)
    }
}

/// One metric of one endpoint, baseline vs this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineDelta {
    /// Endpoint name, or `all`.
    pub endpoint: String,
    /// `p50`, `p90`, `p95`, `p99`, `p999`, `error_rate` or `rps`.
    pub metric: String,
    /// Unit of `base` and `new`.
    pub unit: ValueUnit,
    /// Value in the baseline.
    pub base: f64,
    /// Value in this run.
    pub new: f64,
    /// `(new - base) / base`, when base is non-zero.
    pub relative: Option<f64>,
    /// The allowance applied, as written (`10%`, `0.5pp`).
    pub allowance: String,
    /// 95% noise band of the baseline value, when a noise model applies.
    pub base_band: Option<[f64; 2]>,
    /// 95% noise band of this run's value, when a noise model applies.
    pub new_band: Option<[f64; 2]>,
    /// The p-value of "this run is worse", when the noise model tests. Defaulted when absent.
    #[serde(default)]
    pub p_value: Option<f64>,
    /// The judgement.
    pub status: DeltaStatus,
}
