//! From a measured report to the one that is written: every derived part, in the one order in
//! which they depend on each other. `gauntlet run` calls [`finalize`] on what it measured and
//! [`crate::merge::merge`] on what it merged, so both judge the same way.

use crate::analysis;
use crate::compare::{self, Allowances};
use crate::histogram::HistogramError;
use crate::model::{Report, ScenarioResults, StageKind, Trend};
use crate::recovery;
use crate::threshold::{Threshold, evaluate_all};

/// What [`finalize`] needs beside the measured report.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The run's thresholds, in declaration order.
    pub thresholds: &'a [Threshold],
    /// Where `chaos.recovery_time_us` comes from.
    pub recovery: Recovery,
    /// `--baseline`: the earlier report to compare with.
    pub baseline: Option<Baseline<'a>>,
    /// The scenario's own analyses.
    pub analyses: &'a Analyses,
}

/// How the recovery time after faults is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Measured on the report's own series around its fault windows (a run).
    Measure,
    /// Kept as it is (a merge: the inputs measured it, each against its own baseline).
    Keep,
}

/// An earlier report, or a multi-run baseline set, to compare with.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// The file as given, for the report and the reasons.
    pub file: &'a str,
    /// Its contents.
    pub base: compare::Base<'a>,
    /// How much worse each metric may get.
    pub allowances: &'a Allowances,
    /// Beyond these a machine was too busy elsewhere to compare.
    pub bounds: &'a compare::EnvironmentBounds,
}

/// Which scenario analyses apply. They come from the spec (a run) or from the inputs' own
/// sections (a merge), since this crate does not read scenario specs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analyses {
    /// Judge every stage on its own (stress): the kinds of the report's stages, in order.
    pub stress: Option<Vec<StageKind>>,
    /// The stage that jumps users up at once (spike); the stage before it is its baseline.
    pub spike_stage: Option<usize>,
    /// Trends of the service's gauges the scenario is about (endurance); empty otherwise.
    pub trends: Vec<Trend>,
}

impl Analyses {
    /// The analyses to repeat on a report merged from `inputs`: stress when an input judged
    /// stress over as many stages as the merged report has, spike at the stage an input
    /// measured its spike at. Trends stay empty: each generator process monitored the same
    /// service, so their samples do not add up.
    pub fn of_inputs(inputs: &[Report], merged: &Report) -> Analyses {
        let stress = inputs
            .iter()
            .find_map(|r| r.scenario_results.stress.as_ref())
            .filter(|s| s.stages.len() == merged.stages.len())
            .map(|s| s.stages.iter().map(|v| v.kind).collect());
        let spike_stage = inputs
            .iter()
            .find_map(|r| r.scenario_results.spike.as_ref())
            .and_then(|s| merged.stages.iter().position(|st| st.name == s.spike_stage));
        Analyses {
            stress,
            spike_stage,
            trends: Vec::new(),
        }
    }

    fn results(&self, report: &Report, thresholds: &[Threshold]) -> ScenarioResults {
        ScenarioResults {
            stress: self
                .stress
                .as_ref()
                .map(|kinds| analysis::stress(kinds, report, thresholds)),
            spike: self.spike_stage.and_then(|i| analysis::spike(i, report)),
            trends: self.trends.clone(),
        }
    }
}

/// Why a report could not be finalised.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// A histogram of the baseline or of the run is corrupt.
    #[error("comparing with the baseline")]
    Compare(#[from] HistogramError),
}

/// Derives everything that is computed from the measured report, in dependency order.
pub fn finalize(mut report: Report, inputs: &Inputs<'_>) -> Result<Report, FinalizeError> {
    // `recovery.time` thresholds read it.
    if inputs.recovery == Recovery::Measure {
        recovery::measure(&mut report);
    }
    // The verdict counts the baseline's regressions.
    if let Some(b) = inputs.baseline {
        report.baseline = compare::compare_with(b.base, &report, b.allowances, b.bounds)?
            .to_section(b.file, b.allowances);
    }
    // Thresholds, then the hypotheses derived from them, then the verdict, which also reads
    // the generator's health: those are the last inputs to it.
    // `trend.*` thresholds read the trends.
    report.scenario_results.trends = inputs.analyses.trends.clone();
    evaluate_all(inputs.thresholds, &mut report);
    // The scenario's own results describe the run; they never change its verdict.
    report.scenario_results = inputs.analyses.results(&report, inputs.thresholds);
    Ok(report)
}
