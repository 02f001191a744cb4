//! compare's noise model: a multi-run baseline's spread, the test over the seconds, the paired
//! A/B test and the environment check (see `reports/src/compare/mod.rs`).

use gauntlet_reports::baseline_set::BaselineSet;
use gauntlet_reports::compare::paired::{SlicePair, judge_pairs};
use gauntlet_reports::compare::{
    Allowances, Base, CompareMetric, CompareOutcome, Comparison, DeltaStatus, EnvironmentBounds,
    compare, compare_with,
};
use gauntlet_reports::model::{EnvironmentSample, EnvironmentSection, NoiseModel, Report};
use gauntlet_reports::{Outcome, RunRecorder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{T0_US, run_info};

const SLOW: &str = "GET /employees/{id}";
const OTHER: &str = "GET /departments";

/// A 30 s run of two endpoints, 40 requests a second each, latencies in [1, 2) ms times
/// `machine` (the whole run's drift, as between two runs) and, for `SLOW`, times `slow`.
fn run(seed: u64, machine: f64, slow: f64) -> Report {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rec = RunRecorder::new(T0_US, false);
    for s in 0..30u64 {
        for i in 0..40u64 {
            for (name, f) in [(SLOW, slow), (OTHER, 1.0)] {
                let latency = rng.random_range(1_000.0..2_000.0) * machine * f;
                let at = T0_US + s * 1_000_000 + i * 25_000;
                rec.record(name, at, latency as u64, Outcome::Ok);
            }
        }
    }
    let mut report = Report::empty(run_info("noise"));
    rec.finish_into(&mut report, T0_US + 30_000_000).unwrap();
    report
}

fn status(c: &Comparison, endpoint: &str, metric: CompareMetric) -> DeltaStatus {
    c.endpoints
        .iter()
        .find(|e| e.name == endpoint)
        .and_then(|e| e.metrics.iter().find(|m| m.metric == metric))
        .map(|m| m.status)
        .unwrap_or_else(|| panic!("no {endpoint} {metric:?} in {c:#?}"))
}

fn p95() -> Allowances {
    "p95=10%,error_rate=0.5pp".parse().unwrap()
}

/// Five baseline runs whose machine drifted by up to ±15 % from run to run.
fn drifting_set() -> BaselineSet {
    let runs: Vec<Report> = [1.0, 1.15, 0.9, 1.1, 0.85]
        .iter()
        .enumerate()
        .map(|(i, m)| run(i as u64, *m, 1.0))
        .collect();
    BaselineSet::from_reports(&runs).unwrap()
}

#[test]
fn a_change_within_the_baseline_runs_spread_is_not_a_regression() {
    let set = drifting_set();
    // 20 % slower than the set's mean, beyond the 10 % allowance, but the runs themselves
    // spread that far: within noise.
    let new = run(9, 1.2, 1.0);
    let c = compare_with(Base::Set(&set), &new, &p95(), &EnvironmentBounds::default()).unwrap();
    assert_eq!(c.model, NoiseModel::RunSpread);
    let m = &c.endpoints[0].metrics[0];
    assert!(m.relative.unwrap() > 0.10, "{m:?}");
    assert_eq!(
        status(&c, "all", CompareMetric::P95),
        DeltaStatus::WithinNoise
    );
    assert_eq!(c.outcome(), CompareOutcome::Pass, "{}", c.to_text());
}

#[test]
fn twice_as_slow_an_endpoint_is_a_regression_against_the_runs_spread() {
    let c = compare_with(
        Base::Set(&drifting_set()),
        &run(9, 1.0, 2.0),
        &p95(),
        &EnvironmentBounds::default(),
    )
    .unwrap();
    assert_eq!(
        status(&c, SLOW, CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert_ne!(
        status(&c, OTHER, CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert_eq!(c.outcome(), CompareOutcome::Regressed);
}

#[test]
fn a_single_run_baseline_tests_over_the_seconds() {
    let base = run(1, 1.0, 1.0);
    let same = compare(&base, &run(2, 1.0, 1.0), &p95()).unwrap();
    assert_eq!(same.model, NoiseModel::SecondsTest);
    assert_eq!(same.outcome(), CompareOutcome::Pass, "{}", same.to_text());
    let slow = compare(&base, &run(2, 1.0, 2.0), &p95()).unwrap();
    let m = slow.endpoints.iter().find(|e| e.name == SLOW).unwrap();
    assert!(m.metrics[0].p_value.unwrap() < slow.alpha.unwrap(), "{m:?}");
    assert_eq!(
        status(&slow, SLOW, CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert_ne!(
        status(&slow, OTHER, CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert!(
        slow.to_text().contains("Mann–Whitney"),
        "{}",
        slow.to_text()
    );
}

fn busy(elsewhere: f64) -> EnvironmentSection {
    let sample = |s: u64| EnvironmentSample {
        unix_s: s,
        machine_cpu_percent: 60.0 + elsewhere,
        run_cpu_percent: 60.0,
        elsewhere_cpu_percent: elsewhere,
        steal_percent: 0.5,
        load1: 1.5,
    };
    EnvironmentSection::from_samples(2, (0..10).map(sample).collect())
}

#[test]
fn a_machine_busy_elsewhere_makes_the_runs_not_comparable() {
    let base = run(1, 1.0, 1.0);
    let mut new = run(2, 2.5, 1.0);
    new.environment = busy(97.0);
    let c = compare(&base, &new, &p95()).unwrap();
    assert_eq!(c.outcome(), CompareOutcome::NotComparable);
    assert!(
        c.regressions() > 0,
        "the numbers alone would have cried wolf"
    );
    let why = &c.not_comparable[0];
    assert!(
        why.starts_with("new run: machine busy elsewhere: 97% of one core"),
        "{why}"
    );
    assert!(
        c.to_text().contains("NOT COMPARABLE: new run"),
        "{}",
        c.to_text()
    );
    assert!(
        c.to_markdown().contains("not comparable"),
        "{}",
        c.to_markdown()
    );
    // Quiet enough: comparable again; and the bounds can be switched off.
    new.environment = busy(10.0);
    assert_eq!(
        compare(&base, &new, &p95()).unwrap().not_comparable.len(),
        0
    );
    new.environment = busy(97.0);
    let off = compare_with(Base::Run(&base), &new, &p95(), &EnvironmentBounds::OFF).unwrap();
    assert_eq!(off.outcome(), CompareOutcome::Regressed);
    // The section a run --baseline writes carries it, and the verdict is invalid.
    let mut judged = new.clone();
    judged.baseline = c.to_section("base.json", &p95());
    gauntlet_reports::verdict::apply(&mut judged);
    assert_eq!(judged.verdict, gauntlet_reports::Verdict::Invalid);
    assert!(
        judged
            .reasons
            .iter()
            .any(|r| r.contains("not comparable with base.json"))
    );
}

#[test]
fn environment_bounds_parse_and_print() {
    let b: EnvironmentBounds = "elsewhere=40%, steal=2.5%".parse().unwrap();
    assert_eq!(b.max_elsewhere_cpu_percent, Some(40.0));
    assert_eq!(b.to_string(), "elsewhere=40%,steal=2.5%");
    assert_eq!(
        "off".parse::<EnvironmentBounds>().unwrap(),
        EnvironmentBounds::OFF
    );
    assert!("elsewhere=40".parse::<EnvironmentBounds>().is_err());
    assert!("cpu=4%".parse::<EnvironmentBounds>().is_err());
}

/// Ten A/B pairs; in pairs 3–6 a CPU hog slows the whole machine 3× for both slices.
fn ab(slow: f64) -> Comparison {
    let hog = |i: u64| if (3..7).contains(&i) { 3.0 } else { 1.0 };
    let slices: Vec<(Report, Report)> = (0..10u64)
        .map(|i| (run(2 * i, hog(i), 1.0), run(2 * i + 1, hog(i), slow)))
        .collect();
    let pairs: Vec<SlicePair<'_>> = slices
        .iter()
        .map(|(base, new)| SlicePair { base, new })
        .collect();
    judge_pairs(&pairs, &p95()).unwrap()
}

#[test]
fn paired_slices_cancel_a_hog_on_both_sides_and_catch_a_slowdown() {
    let clean = ab(1.0);
    assert_eq!(clean.model, NoiseModel::PairedSlices);
    // No errors on either side in any pair: nothing to test, and not counted in the family.
    let errors = clean.endpoints[0]
        .metrics
        .iter()
        .find(|m| m.metric == CompareMetric::ErrorRate)
        .unwrap();
    assert_eq!(errors.p_value, None);
    let tested = clean
        .endpoints
        .iter()
        .flat_map(|e| &e.metrics)
        .filter(|m| m.p_value.is_some())
        .count();
    assert!((clean.alpha.unwrap() - 0.05 / tested as f64).abs() < 1e-12);
    assert_eq!(clean.outcome(), CompareOutcome::Pass, "{}", clean.to_text());
    let slow = ab(2.0);
    assert_eq!(
        status(&slow, SLOW, CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert_ne!(
        status(&slow, OTHER, CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert!(slow.to_text().contains("Wilcoxon"), "{}", slow.to_text());
}
