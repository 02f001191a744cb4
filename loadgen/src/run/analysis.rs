//! What each scenario is for, computed after the run from the per-second series and the
//! monitor's samples:
//!
//! - **stress**: every stage judged against the spec's run-wide `http.*` thresholds; the
//!   breaking point is the last hold that passed before the first hold that failed;
//! - **spike**: the time from the end of the jump stage until a second's p95 is back within
//!   20% of the baseline stage's p95;
//! - **endurance**: least-squares slopes per minute of service RSS, DB connections and job
//!   queue depth.
//!
//! They go to the report's `scenario_results` section (trends only for endurance), to
//! `analysis.json` (trends for every run) and to the console summary.

use gauntlet_reports::Report;
use gauntlet_reports::histogram::{merge_encoded, new_histogram, quantile_us};
use gauntlet_reports::model::{ScenarioResults, SpikeResult, StageVerdict, StressResult, Trend};
use gauntlet_reports::threshold::{HttpMetric, Metric};
use gauntlet_reports::{Threshold, model::SecondPoint};
use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::spec::StageKind;
use serde::Serialize;

use super::monitor::ServiceSample;

/// A spike has recovered when a second's p95 is within this factor of the baseline's.
pub const RECOVERY_FACTOR: f64 = 1.2;

/// Everything this module derives from a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Analysis {
    /// Present for the stress scenario.
    pub stress: Option<StressResult>,
    /// Present for the spike scenario (or any spec with an upward spike stage).
    pub spike: Option<SpikeResult>,
    /// Trends of the monitored series (every run; the endurance scenario prints them).
    pub trends: Vec<Trend>,
    /// Whether the console should print the trends.
    #[serde(skip)]
    pub print_trends: bool,
}

/// Whether per-second histograms must be kept for this scenario (exact stage percentiles).
pub fn needs_histograms(scenario: &str, plan: &LoadPlan) -> bool {
    scenario == "stress" || spike_index(plan).is_some()
}

/// Runs the analyses that apply to `scenario`.
pub fn analyse(
    scenario: &str,
    plan: &LoadPlan,
    report: &Report,
    thresholds: &[Threshold],
    service: &[ServiceSample],
) -> Analysis {
    let kinds: Vec<&str> = plan.stages.iter().map(|s| s.kind.as_str()).collect();
    Analysis {
        stress: (scenario == "stress").then(|| stress(&kinds, report, thresholds)),
        spike: spike_index(plan)
            .filter(|i| *i < report.stages.len())
            .map(|i| spike_at(i, report)),
        trends: trends(service),
        print_trends: scenario == "endurance",
    }
}

/// The seconds of the series inside stage `i` (by the second's start).
fn stage_points(report: &Report, i: usize) -> impl Iterator<Item = &SecondPoint> {
    let base = report.run.started_at_unix_us;
    let stage = &report.stages[i];
    let (from, to) = (base + stage.start_offset_us, base + stage.end_offset_us);
    report
        .series
        .iter()
        .filter(move |p| (from..to).contains(&(p.unix_s * 1_000_000)))
}

/// Count, errors and p95 over some seconds: exact from the per-second histograms when kept,
/// else the worst second's p95 (an overestimate, never an underestimate).
struct Window {
    count: u64,
    errors: u64,
    hist: hdrhistogram::Histogram<u64>,
}

fn window<'a>(points: impl Iterator<Item = &'a SecondPoint>) -> Window {
    let mut w = Window {
        count: 0,
        errors: 0,
        hist: new_histogram(),
    };
    let mut fallback = Vec::new();
    for p in points {
        w.count += p.count;
        w.errors += p.errors;
        match p.histogram.as_deref().map(|h| merge_encoded([h])) {
            Some(Ok(h)) => gauntlet_reports::histogram::add_clamped(&mut w.hist, &h),
            _ => fallback.push(p.p95_us),
        }
    }
    if let Some(worst) = fallback.into_iter().max() {
        let _ = w.hist.record(worst.max(1));
    }
    w
}

impl Window {
    fn observe(&self, metric: HttpMetric, secs: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = |q: f64| Some(quantile_us(&self.hist, q) as f64);
        match metric {
            HttpMetric::P50 => q(0.5),
            HttpMetric::P90 => q(0.9),
            HttpMetric::P95 => q(0.95),
            HttpMetric::P99 => q(0.99),
            HttpMetric::P999 => q(0.999),
            HttpMetric::Max => Some(self.hist.max() as f64),
            HttpMetric::Avg => Some(self.hist.mean()),
            HttpMetric::ErrorRate => Some(self.errors as f64 / self.count as f64),
            HttpMetric::Rps => Some(self.count as f64 / secs.max(1.0)),
            HttpMetric::Count => Some(self.count as f64),
        }
    }
}

/// Judges every stage of `report` (whose kinds, in order, are `kinds`) on its own.
fn stress(kinds: &[&str], report: &Report, thresholds: &[Threshold]) -> StressResult {
    let applicable: Vec<(&Threshold, HttpMetric)> = thresholds
        .iter()
        .filter(|t| t.phase.is_none() && t.endpoint.is_none())
        .filter_map(|t| match t.metric {
            Metric::Http(m) => Some((t, m)),
            _ => None,
        })
        .collect();
    let mut stages = Vec::with_capacity(report.stages.len());
    for (i, (stage, kind)) in report.stages.iter().zip(kinds).enumerate() {
        let w = window(stage_points(report, i));
        let secs = (stage.end_offset_us - stage.start_offset_us) as f64 / 1e6;
        let failed = applicable
            .iter()
            .filter(|(t, m)| w.observe(*m, secs).is_none_or(|v| !t.op.holds(v, t.limit)))
            .map(|(t, _)| t.to_string())
            .collect();
        stages.push(StageVerdict {
            name: stage.name.clone(),
            kind: (*kind).to_owned(),
            users: stage.target_users,
            count: w.count,
            error_rate: w.observe(HttpMetric::ErrorRate, secs).unwrap_or(0.0),
            p95_us: quantile_us(&w.hist, 0.95),
            pass: applicable.is_empty() || w.count > 0 && Vec::is_empty(&failed),
            failed,
        });
    }
    let holds = |s: &&StageVerdict| s.kind == "hold" || s.kind == "spike";
    let candidates: Vec<&StageVerdict> = if stages.iter().any(|s| holds(&s)) {
        stages.iter().filter(holds).collect()
    } else {
        stages.iter().collect()
    };
    let first_fail = candidates.iter().position(|s| !s.pass);
    let last_pass = match first_fail {
        Some(0) => None,
        Some(i) => Some(candidates[i - 1]),
        None => candidates.last().copied(),
    };
    StressResult {
        breaking_point: last_pass.map(|s| s.name.clone()),
        first_failure: first_fail.map(|i| candidates[i].name.clone()),
        stages,
    }
}

/// The first stage that jumps users up at once, if it has a stage before it.
fn spike_index(plan: &LoadPlan) -> Option<usize> {
    plan.stages
        .iter()
        .position(|s| s.kind == StageKind::Spike && s.users > s.from_users)
        .filter(|i| *i > 0)
}

/// The spike analysis with stage `i` (≥ 1, < the report's stage count) as the spike.
fn spike_at(i: usize, report: &Report) -> SpikeResult {
    let baseline = window(stage_points(report, i - 1));
    let during = window(stage_points(report, i));
    let baseline_p95 = quantile_us(&baseline.hist, 0.95);
    let spike_end = report.run.started_at_unix_us + report.stages[i].end_offset_us;
    let within = (baseline_p95 as f64 * RECOVERY_FACTOR).max(1.0);
    let recovery_us = report
        .series
        .iter()
        .filter(|p| (p.unix_s + 1) * 1_000_000 > spike_end && p.count > 0)
        .find(|p| p.p95_us as f64 <= within)
        .map(|p| (p.unix_s * 1_000_000).saturating_sub(spike_end));
    SpikeResult {
        baseline_stage: report.stages[i - 1].name.clone(),
        spike_stage: report.stages[i].name.clone(),
        baseline_p95_us: baseline_p95,
        spike_p95_us: quantile_us(&during.hist, 0.95),
        recovery_factor: RECOVERY_FACTOR,
        recovery_us: (baseline.count > 0).then_some(recovery_us).flatten(),
    }
}

/// The stress and spike sections of a report merged from several generator processes,
/// judged again on the merged seconds (each input judged only its own share of the load).
/// The stage kinds and the spike stage come from the inputs' own sections; endurance trends
/// stay empty (each process monitored the same service: their samples do not add up).
pub fn rejudge_merged(inputs: &[Report], merged: &Report) -> ScenarioResults {
    let thresholds: Vec<Threshold> = merged
        .thresholds
        .iter()
        .filter_map(|t| gauntlet_reports::parse_threshold(&t.expression).ok())
        .collect();
    let stress = inputs
        .iter()
        .find_map(|r| r.scenario_results.stress.as_ref())
        .filter(|s| s.stages.len() == merged.stages.len())
        .map(|s| {
            let kinds: Vec<&str> = s.stages.iter().map(|v| v.kind.as_str()).collect();
            stress(&kinds, merged, &thresholds)
        });
    let spike = inputs
        .iter()
        .find_map(|r| r.scenario_results.spike.as_ref())
        .and_then(|s| merged.stages.iter().position(|st| st.name == s.spike_stage))
        .filter(|i| *i > 0)
        .map(|i| spike_at(i, merged));
    ScenarioResults {
        stress,
        spike,
        trends: Vec::new(),
    }
}

/// Least-squares slope of `points` (x in seconds), per minute.
pub fn slope_per_minute(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(sxy, sxx), p| {
        (sxy + (p.0 - mx) * (p.1 - my), sxx + (p.0 - mx) * (p.0 - mx))
    });
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}

/// A monitored series: its name and how to read it from a sample.
type Series = (&'static str, fn(&ServiceSample) -> Option<u64>);

fn trends(samples: &[ServiceSample]) -> Vec<Trend> {
    let series: [Series; 3] = [
        ("rss_bytes", |s| s.rss_bytes),
        ("db_pool_connections", |s| s.db_pool_connections),
        ("job_queue_depth", |s| s.job_queue_depth),
    ];
    series
        .into_iter()
        .map(|(name, get)| {
            let values: Vec<(f64, u64)> = samples
                .iter()
                .filter_map(|s| get(s).map(|v| (s.offset_s, v)))
                .collect();
            let points: Vec<(f64, f64)> = values.iter().map(|(x, v)| (*x, *v as f64)).collect();
            Trend {
                series: name.to_owned(),
                samples: values.len() as u64,
                slope_per_minute: slope_per_minute(&points),
                first: values.first().map(|v| v.1),
                last: values.last().map(|v| v.1),
            }
        })
        .collect()
}

impl Analysis {
    /// The report's section: trends only where the scenario is about them, so other
    /// scenarios' reports keep the section empty.
    pub fn report_section(&self) -> ScenarioResults {
        ScenarioResults {
            stress: self.stress.clone(),
            spike: self.spike.clone(),
            trends: if self.print_trends {
                self.trends.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Lines for the console summary.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(s) = &self.stress {
            lines.push(format!(
                "stress: breaking point {} (first failing step: {})",
                s.breaking_point.as_deref().unwrap_or("none"),
                s.first_failure.as_deref().unwrap_or("none")
            ));
        }
        if let Some(s) = &self.spike {
            let recovery = s.recovery_us.map_or_else(
                || "not recovered".to_owned(),
                |us| format!("{:.1} s", us as f64 / 1e6),
            );
            lines.push(format!(
                "spike: p95 {} → {} ms during {}; recovery to within 20% of baseline: {recovery}",
                s.baseline_p95_us / 1000,
                s.spike_p95_us / 1000,
                s.spike_stage
            ));
        }
        if self.print_trends {
            for t in &self.trends {
                let slope = t
                    .slope_per_minute
                    .map_or_else(|| "n/a".to_owned(), |v| format!("{v:+.1}/min"));
                lines.push(format!(
                    "endurance: {} trend {slope} over {} samples",
                    t.series, t.samples
                ));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gauntlet_reports::model::{RunInfo, Stage};

    /// A stress report whose seconds are fast (100 ms p95) until `slow_from`, then 2 s.
    fn stress_report(slow_from: usize) -> (LoadPlan, Report) {
        report_of("stress", slow_from)
    }

    /// A report of built-in `scenario`, one second per stage, fast (100 ms p95) until stage
    /// `slow_from`, then 2 s.
    fn report_of(scenario: &str, slow_from: usize) -> (LoadPlan, Report) {
        let spec = gauntlet_scenarios::ScenarioSpec::load(scenario).unwrap();
        let plan = spec
            .plan(gauntlet_scenarios::ProfileName::Small, 0.02)
            .unwrap();
        let t0 = 1_700_000_000;
        let mut report = Report::empty(RunInfo {
            started_at_unix_us: t0 * 1_000_000,
            ..RunInfo::default()
        });
        for (i, s) in plan.stages.iter().enumerate() {
            let i = i as u64;
            report.stages.push(Stage {
                name: s.name.clone(),
                start_offset_us: i * 1_000_000,
                end_offset_us: (i + 1) * 1_000_000,
                target_users: s.users,
                target_rps: None,
            });
            report.series.push(SecondPoint {
                unix_s: t0 + i,
                count: 10,
                p95_us: if i as usize >= slow_from {
                    2_000_000
                } else {
                    100_000
                },
                ..SecondPoint::default()
            });
        }
        (plan, report)
    }

    fn judge(plan: &LoadPlan, report: &Report, t: &[Threshold]) -> StressResult {
        let kinds: Vec<&str> = plan.stages.iter().map(|s| s.kind.as_str()).collect();
        stress(&kinds, report, t)
    }

    #[test]
    fn a_merged_stress_report_is_judged_on_its_merged_seconds() {
        let t = [gauntlet_reports::parse_threshold("http.p95 < 1s").unwrap()];
        // One generator process saw every step hold...
        let (plan, mut input) = stress_report(usize::MAX);
        input.scenario_results.stress = Some(judge(&plan, &input, &t));
        assert_eq!(
            input
                .scenario_results
                .stress
                .as_ref()
                .unwrap()
                .breaking_point
                .as_deref(),
            Some("step-250")
        );
        // ...but the merged seconds are slow from ramp-200 on.
        let (_, mut merged) = stress_report(6);
        gauntlet_reports::evaluate_all(&t, &mut merged);
        let again = rejudge_merged(&[input], &merged);
        let stress = again.stress.expect("stress judged again");
        assert_eq!(stress.breaking_point.as_deref(), Some("step-150"));
        assert_eq!(stress.first_failure.as_deref(), Some("step-200"));
        let kinds: Vec<&str> = stress.stages.iter().map(|s| s.kind.as_str()).collect();
        let planned: Vec<&str> = plan.stages.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, planned);
        assert!(again.spike.is_none() && again.trends.is_empty());
        // Inputs without a stress section (another scenario) leave it empty.
        let (_, plain) = stress_report(usize::MAX);
        assert!(rejudge_merged(&[plain], &merged).is_empty());
    }

    #[test]
    fn a_merged_spike_report_measures_the_merged_spike() {
        let (plan, mut input) = report_of("spike", usize::MAX);
        let i = spike_index(&plan).expect("the spike scenario has a spike stage");
        input.scenario_results.spike = Some(spike_at(i, &input));
        // The merged seconds are slow from the spike stage on.
        let (_, merged) = report_of("spike", i);
        let spike = rejudge_merged(&[input], &merged)
            .spike
            .expect("spike judged again");
        assert_eq!(spike.spike_stage, plan.stages[i].name);
        // HDR histograms keep 3 significant digits.
        let near = |got: u64, want: u64| got.abs_diff(want) * 100 < want;
        assert!(near(spike.baseline_p95_us, 100_000), "{spike:?}");
        assert!(near(spike.spike_p95_us, 2_000_000), "{spike:?}");
        assert_eq!(spike.recovery_us, None, "never back within the band");
    }

    #[test]
    fn the_breaking_point_is_the_last_hold_before_the_first_failing_one() {
        let t = [gauntlet_reports::parse_threshold("http.p95 < 1s").unwrap()];
        // Stage 6 is ramp-200: step-150 held, step-200 did not.
        let (plan, report) = stress_report(6);
        let r = judge(&plan, &report, &t);
        assert_eq!(r.breaking_point.as_deref(), Some("step-150"));
        assert_eq!(r.first_failure.as_deref(), Some("step-200"));
        assert!(!r.stages[6].pass && r.stages[5].pass);
        assert_eq!(r.stages[7].failed, ["http.p95 < 1s"]);
        let (plan, report) = stress_report(0);
        assert_eq!(judge(&plan, &report, &t).breaking_point, None);
        let (plan, report) = stress_report(usize::MAX);
        let r = judge(&plan, &report, &t);
        assert_eq!(r.breaking_point.as_deref(), Some("step-250"));
        assert_eq!(r.first_failure, None);
    }

    #[test]
    fn slope_of_a_line_is_its_gradient_per_minute() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 5.0 + 2.0 * f64::from(i)))
            .collect();
        let s = slope_per_minute(&pts).unwrap();
        assert!((s - 120.0).abs() < 1e-9, "{s}");
        assert_eq!(slope_per_minute(&pts[..1]), None);
        let flat = [(0.0, 3.0), (1.0, 3.0), (2.0, 3.0)];
        assert_eq!(slope_per_minute(&flat), Some(0.0));
    }
}
