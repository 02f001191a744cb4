//! The scenario analyses: stress breaking point, spike recovery, trends — for a run and again
//! on merged seconds, through the same `finalize`.

use gauntlet_reports::analysis::{self, slope_per_minute};
use gauntlet_reports::finalize::{Analyses, Inputs, Recovery, finalize};
use gauntlet_reports::model::{RunInfo, SecondPoint, Stage, StageKind, StressResult};
use gauntlet_reports::{Report, Threshold, parse_threshold};

use StageKind::{Hold, Ramp, Spike};

/// The built-in stress scenario's stages: a ramp and a hold per step.
const STRESS: [(&str, StageKind, u32); 10] = [
    ("ramp-50", Ramp, 10),
    ("step-50", Hold, 10),
    ("ramp-100", Ramp, 20),
    ("step-100", Hold, 20),
    ("ramp-150", Ramp, 30),
    ("step-150", Hold, 30),
    ("ramp-200", Ramp, 40),
    ("step-200", Hold, 40),
    ("ramp-250", Ramp, 50),
    ("step-250", Hold, 50),
];

/// The built-in spike scenario's stages; the jump is stage 2.
const SPIKE: [(&str, StageKind, u32); 4] = [
    ("ramp-up", Ramp, 20),
    ("baseline", Hold, 20),
    ("spike", Spike, 60),
    ("recovery", Spike, 20),
];

/// A report of `stages`, one second per stage, fast (100 ms p95) until stage `slow_from`,
/// then 2 s.
fn report_of(stages: &[(&str, StageKind, u32)], slow_from: usize) -> Report {
    let t0 = 1_700_000_000;
    let mut report = Report::empty(RunInfo {
        started_at_unix_us: t0 * 1_000_000,
        ..RunInfo::default()
    });
    for (i, (name, _, users)) in stages.iter().enumerate() {
        let i = i as u64;
        report.stages.push(Stage {
            name: (*name).to_owned(),
            start_offset_us: i * 1_000_000,
            end_offset_us: (i + 1) * 1_000_000,
            target_users: *users,
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
    report
}

fn kinds(stages: &[(&str, StageKind, u32)]) -> Vec<StageKind> {
    stages.iter().map(|s| s.1).collect()
}

fn judge(report: &Report, t: &[Threshold]) -> StressResult {
    analysis::stress(&kinds(&STRESS), report, t)
}

/// What `gauntlet report merge` does after combining: the inputs' analyses, judged again.
fn rejudged(inputs: &[Report], merged: Report, t: &[Threshold]) -> Report {
    let analyses = Analyses::of_inputs(inputs, &merged);
    let inputs = Inputs {
        thresholds: t,
        recovery: Recovery::Keep,
        baseline: None,
        analyses: &analyses,
    };
    finalize(merged, &inputs).unwrap()
}

#[test]
fn a_merged_stress_report_is_judged_on_its_merged_seconds() {
    let t = [parse_threshold("http.p95 < 1s").unwrap()];
    // One generator process saw every step hold...
    let mut input = report_of(&STRESS, usize::MAX);
    input.scenario_results.stress = Some(judge(&input, &t));
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
    let merged = report_of(&STRESS, 6);
    let again = rejudged(std::slice::from_ref(&input), merged.clone(), &t).scenario_results;
    let stress = again.stress.expect("stress judged again");
    assert_eq!(stress.breaking_point.as_deref(), Some("step-150"));
    assert_eq!(stress.first_failure.as_deref(), Some("step-200"));
    let judged: Vec<StageKind> = stress.stages.iter().map(|s| s.kind).collect();
    assert_eq!(judged, kinds(&STRESS));
    assert!(again.spike.is_none() && again.trends.is_empty());
    // Inputs without a stress section (another scenario) leave it empty.
    let plain = report_of(&STRESS, usize::MAX);
    assert!(rejudged(&[plain], merged, &t).scenario_results.is_empty());
}

#[test]
fn a_merged_spike_report_measures_the_merged_spike() {
    let mut input = report_of(&SPIKE, usize::MAX);
    input.scenario_results.spike = analysis::spike(2, &input);
    // The merged seconds are slow from the spike stage on.
    let merged = report_of(&SPIKE, 2);
    let spike = rejudged(&[input], merged, &[])
        .scenario_results
        .spike
        .expect("spike judged again");
    assert_eq!(spike.spike_stage, "spike");
    // HDR histograms keep 3 significant digits.
    let near = |got: u64, want: u64| got.abs_diff(want) * 100 < want;
    assert!(near(spike.baseline_p95_us, 100_000), "{spike:?}");
    assert!(near(spike.spike_p95_us, 2_000_000), "{spike:?}");
    assert_eq!(spike.recovery_us, None, "never back within the band");
}

#[test]
fn the_breaking_point_is_the_last_hold_before_the_first_failing_one() {
    let t = [parse_threshold("http.p95 < 1s").unwrap()];
    // Stage 6 is ramp-200: step-150 held, step-200 did not.
    let r = judge(&report_of(&STRESS, 6), &t);
    assert_eq!(r.breaking_point.as_deref(), Some("step-150"));
    assert_eq!(r.first_failure.as_deref(), Some("step-200"));
    assert!(!r.stages[6].pass && r.stages[5].pass);
    assert_eq!(r.stages[7].failed, ["http.p95 < 1s"]);
    assert_eq!(judge(&report_of(&STRESS, 0), &t).breaking_point, None);
    let r = judge(&report_of(&STRESS, usize::MAX), &t);
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
