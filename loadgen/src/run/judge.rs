//! The measured report made final by `gauntlet_reports::finalize`: which of the report's
//! analyses apply comes from the spec's declared kind and its stages (not its name), the rest
//! from the run's inputs.

use gauntlet_reports::Report;
use gauntlet_reports::finalize::{self, Analyses, Recovery};
use gauntlet_reports::model::Trend;
use gauntlet_reports::threshold::Threshold;
use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::spec::ScenarioKind;

use super::{Prepared, RunConfig};
use crate::exit::Failure;

/// Whether the recorder keeps per-second histograms: they make the stress and spike stage
/// percentiles exact.
pub(super) fn keeps_histograms(plan: &LoadPlan) -> bool {
    plan.kind == ScenarioKind::Stress || plan.spike_stage().is_some()
}

/// Whether the run is about the service's resources: an endurance run, or any run with a
/// `trend.*` threshold. Such a run keeps its trends in the report, and runs the service in a
/// process of its own ([`super::prepare`]): in-process, the service's memory would be the
/// generator's too.
pub(super) fn judges_resources(plan: &LoadPlan, thresholds: &[Threshold]) -> bool {
    plan.kind == ScenarioKind::Endurance
        || thresholds.iter().any(|t| t.metric.trend_series().is_some())
}

/// Derives recovery time, baseline comparison, thresholds, hypotheses, verdict and the
/// scenario's analyses from the measured `report`.
pub(super) fn finalize(
    report: Report,
    config: &RunConfig,
    prepared: &Prepared,
    trends: &[Trend],
) -> Result<Report, Failure> {
    let plan = &prepared.plan;
    let analyses = Analyses {
        stress: (plan.kind == ScenarioKind::Stress)
            .then(|| plan.stages.iter().map(|s| s.kind).collect()),
        spike_stage: plan.spike_stage(),
        trends: if judges_resources(plan, &prepared.thresholds) {
            trends.to_vec()
        } else {
            Vec::new()
        },
    };
    let inputs = finalize::Inputs {
        thresholds: &prepared.thresholds,
        recovery: Recovery::Measure,
        baseline: config.baseline.as_ref().map(|b| finalize::Baseline {
            file: &b.file,
            base: b.base.as_base(),
            allowances: &b.allowances,
            bounds: &b.bounds,
        }),
        analyses: &analyses,
    };
    gauntlet_reports::finalize(report, &inputs).map_err(Failure::infrastructure)
}
