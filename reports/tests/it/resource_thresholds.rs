//! The thresholds on the service's resources and on the diagnosis: `trend.*` (slopes of the
//! monitored gauges, per minute) and `diagnosis.causes` (bottlenecks named).

use gauntlet_reports::model::{Report, Trend, ValueUnit};
use gauntlet_reports::parse_threshold;
use gauntlet_reports::threshold::{Metric, ParseErrorKind, evaluate};

use crate::support::run_info;

fn trend(series: &str, samples: u64, slope: f64) -> Trend {
    Trend {
        series: series.to_owned(),
        samples,
        slope_per_minute: Some(slope),
        first: Some(0),
        last: Some(0),
    }
}

fn with_trends(trends: Vec<Trend>) -> Report {
    let mut report = Report::empty(run_info("endurance"));
    report.scenario_results.trends = trends;
    report
}

#[test]
fn trend_thresholds_parse_as_plain_numbers_per_minute() {
    for (text, metric) in [
        ("trend.rss_mib_per_min < 4", Metric::TrendRss),
        (
            "trend.db_connections_per_min <= 1",
            Metric::TrendDbConnections,
        ),
        ("trend.job_queue_per_min < 30", Metric::TrendJobQueue),
        ("diagnosis.causes == 0", Metric::DiagnosisCauses),
    ] {
        let t = parse_threshold(text).unwrap();
        assert_eq!(t.metric, metric, "{text}");
        assert_eq!(t.to_string(), text, "{text}");
    }
    assert_eq!(Metric::TrendRss.unit(), ValueUnit::PerMinute);
    let e = parse_threshold("trend.rss_mib_per_min < 4ms").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::UnitMismatch(_)), "{e}");
    assert_eq!(e.column, 26);
    let e = parse_threshold("during fault: trend.rss_mib_per_min < 4").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::SelectorNotAllowed);
    let e = parse_threshold("trend.rss < 4").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::UnknownMetric);
}

#[test]
fn the_rss_trend_is_judged_in_mib_per_minute() {
    let leaking = with_trends(vec![trend("rss_bytes", 120, 12.0 * 1024.0 * 1024.0)]);
    let t = parse_threshold("trend.rss_mib_per_min < 4").unwrap();
    let r = evaluate(&t, &leaking);
    assert!(!r.pass);
    assert_eq!(r.observed, Some(12.0));
    assert_eq!(
        r.reason.as_deref(),
        Some("observed 12/min but expected < 4/min")
    );
    let flat = with_trends(vec![trend("rss_bytes", 120, 0.5 * 1024.0 * 1024.0)]);
    assert!(evaluate(&t, &flat).pass);
    // Another series is not the memory's.
    let queue = with_trends(vec![trend("job_queue_depth", 120, 50.0)]);
    assert!(!evaluate(&t, &queue).pass);
    let r = evaluate(
        &parse_threshold("trend.job_queue_per_min < 30").unwrap(),
        &queue,
    );
    assert_eq!((r.pass, r.observed), (false, Some(50.0)));
}

#[test]
fn a_trend_without_enough_seconds_is_no_data_not_a_pass() {
    let t = parse_threshold("trend.db_connections_per_min < 1").unwrap();
    for (report, why) in [
        (with_trends(Vec::new()), "was not monitored"),
        (
            with_trends(vec![trend("db_pool_connections", 5, 0.0)]),
            "5 samples",
        ),
        (
            with_trends(vec![Trend {
                slope_per_minute: None,
                ..trend("db_pool_connections", 1, 0.0)
            }]),
            "1 samples",
        ),
    ] {
        let r = evaluate(&t, &report);
        assert!(!r.pass, "{why}");
        let reason = r.reason.unwrap_or_default();
        assert!(
            reason.starts_with("no data") && reason.contains(why),
            "{reason}"
        );
    }
}

#[test]
fn diagnosis_causes_counts_the_named_bottlenecks_and_lists_them_when_it_fails() {
    let t = parse_threshold("diagnosis.causes == 0").unwrap();
    let mut report = Report::empty(run_info("load"));
    let r = evaluate(&t, &report);
    assert!(!r.pass);
    assert!(r.reason.unwrap().starts_with("no data"));
    report.diagnosis.enabled = true;
    assert!(evaluate(&t, &report).pass);
    report.diagnosis.causes = vec![
        "GET /employees runs 53 SQL statements per request (DB 85 % of its latency): an N+1 query"
            .to_owned(),
    ];
    let r = evaluate(&t, &report);
    assert_eq!((r.pass, r.observed), (false, Some(1.0)));
    let reason = r.reason.unwrap();
    assert!(
        reason.starts_with("observed 1 but expected == 0: GET /employees runs 53"),
        "{reason}"
    );
}
