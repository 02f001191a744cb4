//! merge: histograms add exactly, counts add, series align by absolute second.

use gauntlet_reports::histogram::{self, new_histogram};
use gauntlet_reports::merge::{MergeError, merge};
use gauntlet_reports::model::{PhaseKind, Report};
use gauntlet_reports::{Outcome, RunRecorder, evaluate_all, parse_threshold};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{T0_US, run_info};

/// `n` log-normal-ish random latencies, each with its completion instant (µs), starting at `start`.
fn samples(seed: u64, n: u64, start: u64) -> Vec<(u64, u64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let spread: f64 = rng.random_range(0.0..6.0);
            (start + i * 5_000_000 / n, (200.0 * spread.exp()) as u64)
        })
        .collect()
}

fn report_of(samples: &[(u64, u64)], start: u64, end: u64) -> Report {
    let mut rec = RunRecorder::new(start, true);
    rec.enter_phase(PhaseKind::Baseline, start);
    for (i, (at, latency)) in samples.iter().enumerate() {
        let outcome = if i % 50 == 0 {
            Outcome::Timeout
        } else {
            Outcome::Ok
        };
        rec.record(
            if i % 2 == 0 { "GET /a" } else { "GET /b" },
            *at,
            *latency,
            outcome,
        );
    }
    let mut r = Report::empty(run_info("merge"));
    rec.finish_into(&mut r, end).unwrap();
    evaluate_all(&[parse_threshold("http.p95 < 1s").unwrap()], &mut r);
    r
}

#[test]
fn merged_percentiles_equal_those_of_the_union_histogram() {
    let s1 = samples(11, 30_000, T0_US);
    let s2 = samples(22, 20_000, T0_US + 1_500_000);
    let r1 = report_of(&s1, T0_US, T0_US + 5_000_000);
    let r2 = report_of(&s2, T0_US + 1_500_000, T0_US + 6_500_000);
    let merged = merge(&[r1.clone(), r2.clone()]).unwrap();

    let mut union = new_histogram();
    s1.iter()
        .chain(&s2)
        .for_each(|(_, l)| union.saturating_record(*l));
    let l = &merged.total.latency;
    assert_eq!(merged.total.count, 50_000);
    assert_eq!(l.p50_us, union.value_at_quantile(0.50));
    assert_eq!(l.p95_us, union.value_at_quantile(0.95));
    assert_eq!(l.p99_us, union.value_at_quantile(0.99));
    assert_eq!(l.max_us, union.max());
    assert_eq!(
        merged.total.errors.timeout,
        r1.total.errors.timeout + r2.total.errors.timeout
    );
    assert_eq!(histogram::decode(&merged.total.histogram).unwrap(), union);

    let a = merged
        .endpoints
        .iter()
        .find(|e| e.name == "GET /a")
        .unwrap();
    assert_eq!(a.count, r1.endpoints[0].count + r2.endpoints[0].count);
    assert_eq!(merged.run.started_at_unix_us, T0_US);
    assert_eq!(merged.run.duration_us, 6_500_000);
    assert_eq!(
        merged.thresholds.len(),
        1,
        "thresholds re-evaluated once, not duplicated"
    );
    let baseline = merged.phase(PhaseKind::Baseline).unwrap();
    assert_eq!(baseline.total.count, 50_000);
    assert_eq!(
        baseline.duration_us, 6_500_000,
        "overlapping spans are unioned"
    );
}

#[test]
fn series_align_by_wall_clock_second_with_exact_percentiles() {
    let s1 = samples(1, 5_000, T0_US);
    let s2 = samples(2, 5_000, T0_US + 1_500_000);
    let merged = merge(&[
        report_of(&s1, T0_US, T0_US + 5_000_000),
        report_of(&s2, T0_US + 1_500_000, T0_US + 6_500_000),
    ])
    .unwrap();
    let t0 = T0_US / 1_000_000;
    assert_eq!(merged.series.first().unwrap().unix_s, t0);
    assert_eq!(merged.series.last().unwrap().unix_s, t0 + 6);
    let second = t0 + 3;
    let mut union = new_histogram();
    s1.iter()
        .chain(&s2)
        .filter(|(at, _)| at / 1_000_000 == second)
        .for_each(|(_, l)| union.saturating_record(*l));
    let p = merged.series.iter().find(|p| p.unix_s == second).unwrap();
    assert_eq!(p.count, union.len());
    assert_eq!(
        (p.p50_us, p.p95_us, p.p99_us),
        (
            union.value_at_quantile(0.5),
            union.value_at_quantile(0.95),
            union.value_at_quantile(0.99)
        )
    );
}

#[test]
fn seconds_without_histograms_merge_by_max() {
    let mut r1 = report_of(&samples(1, 1_000, T0_US), T0_US, T0_US + 5_000_000);
    let mut r2 = report_of(&samples(2, 1_000, T0_US), T0_US, T0_US + 5_000_000);
    r1.series
        .iter_mut()
        .chain(r2.series.iter_mut())
        .for_each(|p| p.histogram = None);
    let merged = merge(&[r1.clone(), r2.clone()]).unwrap();
    let p = &merged.series[0];
    assert_eq!(p.count, r1.series[0].count + r2.series[0].count);
    assert_eq!(p.p99_us, r1.series[0].p99_us.max(r2.series[0].p99_us));
    assert!(p.histogram.is_none());
}

#[test]
fn merge_of_nothing_or_corrupt_input_is_a_typed_error() {
    assert!(matches!(merge(&[]), Err(MergeError::Empty)));
    let mut r = report_of(&samples(1, 10, T0_US), T0_US, T0_US + 1_000_000);
    r.total.histogram = "not base64!".into();
    assert!(matches!(merge(&[r]), Err(MergeError::Histogram(_))));
}
