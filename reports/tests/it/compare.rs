//! compare: allowance parsing, and regressions only when beyond allowance AND outside noise.

use gauntlet_reports::compare::{
    AllowanceErrorKind, Allowances, CompareMetric, DeltaStatus, compare,
};
use gauntlet_reports::model::Report;
use gauntlet_reports::{Outcome, RunRecorder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{T0_US, run_info};

/// One endpoint, `n` uniform latencies in [1ms, 2ms) scaled by `factor`, `errors` failures
/// among them, all spread evenly over 10 seconds (so every second sees its share of errors).
fn run(seed: u64, n: u64, factor: f64, errors: u64) -> Report {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rec = RunRecorder::new(T0_US, false);
    for i in 0..n {
        let latency = (rng.random_range(1_000.0..2_000.0) * factor) as u64;
        let outcome = if (i * errors) / n != ((i + 1) * errors) / n {
            Outcome::Http5xx
        } else {
            Outcome::Ok
        };
        rec.record(
            "GET /employees",
            T0_US + i * 10_000_000 / n,
            latency,
            outcome,
        );
    }
    let mut report = Report::empty(run_info("cmp"));
    rec.finish_into(&mut report, T0_US + 10_000_000).unwrap();
    report
}

fn status(
    c: &gauntlet_reports::compare::Comparison,
    endpoint: &str,
    metric: CompareMetric,
) -> DeltaStatus {
    let e = c.endpoints.iter().find(|e| e.name == endpoint).unwrap();
    e.metrics
        .iter()
        .find(|m| m.metric == metric)
        .unwrap()
        .status
}

#[test]
fn parses_allowances_with_positioned_errors() {
    let a: Allowances = "p95=10%, error_rate=0.5pp,rps=5%".parse().unwrap();
    assert_eq!(a.0.len(), 3);
    assert_eq!(a.0[0].0, CompareMetric::P95);
    assert_eq!(a.0[1].1.to_string(), "0.5pp");
    let e = "p95=10%,p97=5%".parse::<Allowances>().unwrap_err();
    assert_eq!(
        (e.kind, e.offset, e.column, e.found.as_str()),
        (AllowanceErrorKind::UnknownMetric, 8, 9, "p97=5%")
    );
    assert_eq!(
        "error_rate=1%".parse::<Allowances>().unwrap_err().kind,
        AllowanceErrorKind::WrongUnit
    );
    assert_eq!(
        "p95=abc%".parse::<Allowances>().unwrap_err().kind,
        AllowanceErrorKind::ExpectedNumber
    );
    assert_eq!(
        "p95".parse::<Allowances>().unwrap_err().kind,
        AllowanceErrorKind::ExpectedEquals
    );
}

#[test]
fn identical_runs_have_no_regression() {
    let base = run(1, 5_000, 1.0, 50);
    let c = compare(&base, &base, &Allowances::default()).unwrap();
    assert_eq!(c.regressions(), 0);
    assert!(
        c.endpoints
            .iter()
            .flat_map(|e| &e.metrics)
            .all(|m| m.status == DeltaStatus::Ok)
    );
}

#[test]
fn large_shift_with_many_samples_is_a_regression() {
    let a: Allowances = "p50=10%,p95=10%".parse().unwrap();
    let c = compare(&run(1, 20_000, 1.0, 0), &run(2, 20_000, 1.15, 0), &a).unwrap();
    assert_eq!(
        status(&c, "all", CompareMetric::P50),
        DeltaStatus::Regression
    );
    assert_eq!(
        status(&c, "GET /employees", CompareMetric::P95),
        DeltaStatus::Regression
    );
    assert!(c.to_text().contains("REGRESSION"));
    assert!(c.to_markdown().contains("❌ regression"));
}

#[test]
fn same_shift_with_few_samples_is_within_noise() {
    let a: Allowances = "p50=10%".parse().unwrap();
    let c = compare(&run(1, 20, 1.0, 0), &run(2, 20, 1.15, 0), &a).unwrap();
    let m = &c.endpoints[0].metrics[0];
    assert!(
        m.relative.unwrap() > 0.10,
        "shift must exceed the allowance: {m:?}"
    );
    assert_eq!(m.status, DeltaStatus::WithinNoise);
    assert_eq!(c.regressions(), 0);
}

#[test]
fn error_rate_regression_needs_points_and_significance() {
    let a: Allowances = "error_rate=0.5pp".parse().unwrap();
    let big = compare(&run(1, 10_000, 1.0, 100), &run(2, 10_000, 1.0, 200), &a).unwrap();
    assert_eq!(
        status(&big, "all", CompareMetric::ErrorRate),
        DeltaStatus::Regression
    );
    let small = compare(&run(1, 100, 1.0, 1), &run(2, 100, 1.0, 2), &a).unwrap();
    assert_eq!(
        status(&small, "all", CompareMetric::ErrorRate),
        DeltaStatus::WithinNoise
    );
    let better = compare(&run(1, 10_000, 1.0, 200), &run(2, 10_000, 1.0, 100), &a).unwrap();
    assert_eq!(
        status(&better, "all", CompareMetric::ErrorRate),
        DeltaStatus::Improved
    );
}

#[test]
fn throughput_drop_is_judged_against_the_series() {
    let a: Allowances = "rps=10%".parse().unwrap();
    let c = compare(&run(1, 10_000, 1.0, 0), &run(2, 5_000, 1.0, 0), &a).unwrap();
    assert_eq!(
        status(&c, "all", CompareMetric::Rps),
        DeltaStatus::Regression
    );
    let up = compare(&run(1, 5_000, 1.0, 0), &run(2, 10_000, 1.0, 0), &a).unwrap();
    assert_eq!(
        status(&up, "all", CompareMetric::Rps),
        DeltaStatus::Improved
    );
}

#[test]
fn endpoints_on_one_side_only_are_listed_not_judged() {
    let base = run(1, 100, 1.0, 0);
    let mut new = base.clone();
    new.endpoints[0].name = "GET /payroll".into();
    let c = compare(&base, &new, &Allowances::default()).unwrap();
    assert_eq!(c.endpoints.len(), 3);
    assert!(c.to_text().contains("only in base run") && c.to_text().contains("only in new run"));
}

#[test]
fn a_baseline_regression_fails_the_verdict_naming_endpoint_metric_and_values() {
    let base = run(1, 2_000, 1.0, 0);
    let mut new = run(2, 2_000, 3.0, 0);
    let allowances: Allowances = "p95=10%,error_rate=0.5pp".parse().unwrap();
    assert_eq!(allowances.to_string(), "p95=10%,error_rate=0.5pp");
    let c = compare(&base, &new, &allowances).unwrap();
    new.baseline = c.to_section("base.json", &allowances);
    gauntlet_reports::verdict::apply(&mut new);
    assert_eq!(new.verdict, gauntlet_reports::Verdict::Fail);
    let reason = new
        .reasons
        .iter()
        .find(|r| r.starts_with("regression vs base.json: all p95 "))
        .unwrap_or_else(|| panic!("{:?}", new.reasons));
    assert!(reason.ends_with("(allowed 10%, outside noise)"), "{reason}");
    let md = gauntlet_reports::render::markdown::render(&new);
    assert!(md.contains("| ❌ | GET /employees | p95 |"), "{md}");
    assert!(!md.contains("| ❌ | all | error\\_rate |"), "{md}");
    // Against itself nothing regresses and the verdict stands.
    let mut same = base.clone();
    same.baseline = compare(&base, &base, &allowances)
        .unwrap()
        .to_section("base.json", &allowances);
    gauntlet_reports::verdict::apply(&mut same);
    assert_eq!(same.verdict, gauntlet_reports::Verdict::Pass);
}
