//! Recording building blocks: counts by outcome, per-second buckets, phases.

use gauntlet_reports::histogram;
use gauntlet_reports::model::{PhaseKind, Report, Span};
use gauntlet_reports::{EndpointStats, Outcome, RunRecorder, SecondBucket, SeriesRecorder};

use crate::support::{T0_US, run_info};

#[test]
fn endpoint_stats_count_outcomes_and_percentiles() {
    let mut s = EndpointStats::new();
    for v in 1..=1000u64 {
        s.record(v * 1000, Outcome::Ok);
    }
    for o in [
        Outcome::Http4xx,
        Outcome::Http5xx,
        Outcome::Http5xx,
        Outcome::Timeout,
        Outcome::Connection,
        Outcome::Other,
    ] {
        s.record(1_000_000, o);
    }
    let r = s.summarize("GET /x", 10_000_000).unwrap();
    assert_eq!((r.count, r.ok, r.errors.total), (1006, 1000, 6));
    assert_eq!(
        (
            r.errors.http_4xx,
            r.errors.http_5xx,
            r.errors.timeout,
            r.errors.connection,
            r.errors.other
        ),
        (1, 2, 1, 1, 1)
    );
    assert!((r.error_rate - 6.0 / 1006.0).abs() < 1e-12);
    assert!((r.rps - 100.6).abs() < 1e-9);
    // 3 significant digits: within 0.1% of the exact order statistic.
    let within = |got: u64, want: f64| (got as f64 - want).abs() <= want * 0.001 + 1.0;
    // Ranks: p50 is the 503rd of 1006 samples, p99 the 996th.
    assert!(within(r.latency.p50_us, 503_000.0), "{}", r.latency.p50_us);
    assert!(within(r.latency.p99_us, 996_000.0), "{}", r.latency.p99_us);
    assert!(within(r.latency.max_us, 1_000_000.0));
    assert_eq!(histogram::decode(&r.histogram).unwrap().len(), 1006);
}

#[test]
fn latencies_beyond_the_range_are_clamped_not_lost() {
    let mut s = EndpointStats::new();
    s.record(u64::MAX, Outcome::Timeout);
    let r = s.summarize("x", 1).unwrap();
    assert_eq!(r.count, 1);
    assert!(r.latency.max_us >= histogram::HIGHEST_TRACKABLE_US);
}

#[test]
fn outcome_from_status_classifies_families() {
    assert_eq!(Outcome::from_status(204), Outcome::Ok);
    assert_eq!(Outcome::from_status(302), Outcome::Ok);
    assert_eq!(Outcome::from_status(429), Outcome::Http4xx);
    assert_eq!(Outcome::from_status(503), Outcome::Http5xx);
    assert_eq!(Outcome::from_status(999), Outcome::Other);
}

#[test]
fn series_closes_each_second_with_absolute_timestamps() {
    let mut series = SeriesRecorder::new(true);
    let base_s = T0_US / 1_000_000;
    for i in 0..10u64 {
        series.record(T0_US + i * 100_000, 1_000 + i, Outcome::Ok);
    }
    series.record(T0_US + 2_500_000, 50_000, Outcome::Http5xx);
    // Late sample from an earlier second lands in the open second instead of reopening one.
    series.record(T0_US + 900_000, 10, Outcome::Ok);
    let points = series.finish();
    assert_eq!(points.len(), 2);
    assert_eq!(
        (points[0].unix_s, points[0].count, points[0].errors),
        (base_s, 10, 0)
    );
    assert_eq!(
        (points[1].unix_s, points[1].count, points[1].errors),
        (base_s + 2, 2, 1)
    );
    assert_eq!(
        points[1].max_us,
        histogram::new_histogram().highest_equivalent(50_000)
    );
    assert!(points.iter().all(|p| p.histogram.is_some()));
    assert!(SeriesRecorder::new(false).finish().is_empty());
}

#[test]
fn second_bucket_reset_reuses_and_clears() {
    let mut b = SecondBucket::new(5);
    b.record(100, Outcome::Timeout);
    assert_eq!(b.to_point(false).errors, 1);
    b.reset(6);
    let p = b.to_point(false);
    assert_eq!(
        (p.unix_s, p.count, p.errors, p.p99_us, p.histogram),
        (6, 0, 0, 0, None)
    );
}

#[test]
fn recorder_splits_phases_and_fills_the_report() {
    let mut rec = RunRecorder::new(T0_US, false);
    rec.record("GET /a", T0_US + 100, 1_000, Outcome::Ok); // before any phase
    rec.enter_phase(PhaseKind::Baseline, T0_US + 1_000_000);
    rec.record("GET /a", T0_US + 1_100_000, 2_000, Outcome::Ok);
    rec.enter_phase(PhaseKind::Fault, T0_US + 2_000_000);
    rec.record("GET /b", T0_US + 2_100_000, 90_000, Outcome::Http5xx);
    rec.enter_phase(PhaseKind::Baseline, T0_US + 3_000_000);
    rec.record("GET /a", T0_US + 3_100_000, 3_000, Outcome::Ok);
    let mut report = Report::empty(run_info("smoke"));
    rec.finish_into(&mut report, T0_US + 4_000_000).unwrap();

    assert_eq!(report.run.duration_us, 4_000_000);
    assert_eq!(report.total.count, 4);
    assert_eq!(
        report
            .endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.count))
            .collect::<Vec<_>>(),
        [("GET /a", 3), ("GET /b", 1)]
    );
    assert_eq!(report.series.len(), 4);
    let baseline = report.phase(PhaseKind::Baseline).unwrap();
    assert_eq!(
        baseline.spans,
        [
            Span {
                start_offset_us: 1_000_000,
                end_offset_us: 2_000_000
            },
            Span {
                start_offset_us: 3_000_000,
                end_offset_us: 4_000_000
            }
        ]
    );
    assert_eq!((baseline.total.count, baseline.duration_us), (2, 2_000_000));
    assert!((baseline.total.rps - 1.0).abs() < 1e-12);
    let fault = report.phase(PhaseKind::Fault).unwrap();
    assert_eq!(
        (
            fault.total.count,
            fault.total.errors.http_5xx,
            fault.endpoints.len()
        ),
        (1, 1, 1)
    );
    assert!(report.phase(PhaseKind::Recovery).is_none());
}
