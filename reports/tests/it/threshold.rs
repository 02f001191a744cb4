//! Threshold parsing (typed values, positioned errors) and evaluation (observed value, no-data).

use gauntlet_reports::model::{PhaseKind, Report};
use gauntlet_reports::threshold::{HttpMetric, Metric, Op, ParseErrorKind, Suffix, evaluate};
use gauntlet_reports::{Threshold, parse_threshold};

use crate::support::{realistic_report, run_info};

#[test]
fn parses_every_documented_form() {
    let t = parse_threshold("http.p95 < 300ms").unwrap();
    assert_eq!(
        (t.metric, t.op, t.limit, t.phase),
        (Metric::Http(HttpMetric::P95), Op::Lt, 300_000.0, None)
    );
    let t = parse_threshold("http.error_rate < 1%").unwrap();
    assert!((t.limit - 0.01).abs() < 1e-12);
    let t = parse_threshold(r#"http.p99{endpoint="GET /employees"} < 500ms"#).unwrap();
    assert_eq!(t.endpoint.as_deref(), Some("GET /employees"));
    assert_eq!(parse_threshold("http.rps > 50").unwrap().limit, 50.0);
    assert_eq!(
        parse_threshold("probes.leaks == 0").unwrap().metric,
        Metric::ProbeLeaks
    );
    assert_eq!(
        parse_threshold("ledger.lost == 0").unwrap().metric,
        Metric::LedgerLost
    );
    let t = parse_threshold("during fault: http.error_rate < 20%").unwrap();
    assert_eq!(t.phase, Some(PhaseKind::Fault));
    assert_eq!(
        parse_threshold("during baseline: http.p50 <= 2s")
            .unwrap()
            .limit,
        2e6
    );
    assert_eq!(
        parse_threshold("during recovery:http.max!=1m")
            .unwrap()
            .limit,
        60e6
    );
    let t = parse_threshold("recovery.time < 10s").unwrap();
    assert_eq!(
        (t.metric, t.limit, t.suffix),
        (Metric::RecoveryTime, 10e6, Suffix::Seconds)
    );
    assert_eq!(parse_threshold("alerts.fired >= 1").unwrap().op, Op::Ge);
    assert_eq!(parse_threshold("http.avg < 250us").unwrap().limit, 250.0);
    assert_eq!(
        parse_threshold("http.error_rate <= 0.05").unwrap().limit,
        0.05
    );
}

#[test]
fn display_is_canonical_and_reparses_to_the_same_threshold() {
    for text in [
        "  during   fault :http.p99{ endpoint = \"GET /a \\\"b\\\"\" }<500ms ",
        "http.error_rate<1.5%",
        "ledger.duplicated==0",
    ] {
        let t = parse_threshold(text).unwrap();
        let again: Threshold = t.to_string().parse().unwrap();
        assert_eq!(again, t, "{text} -> {t}");
    }
    assert_eq!(
        parse_threshold("during fault:http.p95<300ms")
            .unwrap()
            .to_string(),
        "during fault: http.p95 < 300ms"
    );
}

fn err(text: &str) -> (ParseErrorKind, usize, usize, String) {
    let e = parse_threshold(text).unwrap_err();
    (e.kind, e.offset, e.column, e.found)
}

#[test]
fn errors_carry_kind_offset_column_and_offending_text() {
    assert_eq!(
        err("http.p96 < 300ms"),
        (ParseErrorKind::UnknownMetric, 0, 1, "http.p96".into())
    );
    assert_eq!(err("http.p95 ~ 300ms").0, ParseErrorKind::ExpectedOperator);
    assert_eq!(err("http.p95 ~ 300ms").2, 10);
    assert_eq!(
        err("http.p95 < 300"),
        (
            ParseErrorKind::UnitMismatch("a time needs a unit: us, ms, s, m or h"),
            14,
            15,
            "end of input".into()
        )
    );
    assert_eq!(
        err("http.p95 < 300ms extra"),
        (ParseErrorKind::TrailingInput, 17, 18, "extra".into())
    );
    assert_eq!(err("http.p95 < 3d").0, ParseErrorKind::UnknownUnit);
    // Hours are a time unit (a drill's claims are written in them), and only a time's.
    assert_eq!(parse_threshold("drill.rto < 2h").unwrap().limit, 7_200e6);
    assert_eq!(
        err("drill.lost < 2h").0,
        ParseErrorKind::UnitMismatch("this metric takes a plain number")
    );
    assert_eq!(
        err("http.rps > 5%").0,
        ParseErrorKind::UnitMismatch("this metric takes a plain number")
    );
    assert_eq!(
        err("during lunch: http.p95 < 1s"),
        (ParseErrorKind::UnknownPhase, 7, 8, "lunch:".into())
    );
    assert_eq!(
        err("during fault http.p95 < 1s").0,
        ParseErrorKind::ExpectedColon
    );
    assert_eq!(
        err("during fault: probes.leaks == 0").0,
        ParseErrorKind::SelectorNotAllowed
    );
    assert_eq!(
        err("http.p95{status=\"200\"} < 1s").0,
        ParseErrorKind::UnknownTag
    );
    assert_eq!(
        err("http.p95{endpoint=\"GET /x} < 1s").0,
        ParseErrorKind::UnterminatedString
    );
    assert_eq!(err("http.p95 < ms").0, ParseErrorKind::ExpectedNumber);
    assert_eq!(err("   ").0, ParseErrorKind::Empty);
    // Columns count characters, not bytes, so editors point at the right place.
    let e = parse_threshold("http.p95{endpoint=\"éé\"} < 5x").unwrap_err();
    assert_eq!((e.offset, e.column), (29, 28));
    assert!(e.to_string().contains("column 28"), "{e}");
}

#[test]
fn evaluation_reports_observed_values_and_pass_fail() {
    let report = realistic_report();
    let ok = evaluate(&parse_threshold("http.p95 < 300ms").unwrap(), &report);
    assert!(ok.pass && ok.reason.is_none());
    assert_eq!(ok.observed, Some(report.total.latency.p95_us as f64));
    let fault = report.phase(PhaseKind::Fault).unwrap();
    let bad = evaluate(
        &parse_threshold("during fault: http.error_rate < 1%").unwrap(),
        &report,
    );
    assert!(!bad.pass);
    assert_eq!(bad.observed, Some(fault.total.error_rate));
    assert!(bad.reason.unwrap().starts_with("observed "));
    let leaks = evaluate(&parse_threshold("probes.leaks == 0").unwrap(), &report);
    assert_eq!((leaks.pass, leaks.observed), (false, Some(1.0)));
    let ep = evaluate(
        &parse_threshold(r#"http.count{endpoint="GET /employees"} == 600"#).unwrap(),
        &report,
    );
    assert!(ep.pass, "{ep:?}");
}

#[test]
fn missing_data_fails_with_a_no_data_reason() {
    let empty = Report::empty(run_info("smoke"));
    for text in [
        "http.p95 < 300ms",
        "during fault: http.error_rate < 20%",
        "http.p99{endpoint=\"GET /nope\"} < 1s",
        "probes.leaks == 0",
        "ledger.lost == 0",
        "recovery.time < 10s",
        "alerts.fired == 0",
    ] {
        let r = evaluate(&parse_threshold(text).unwrap(), &empty);
        assert!(!r.pass, "{text} passed without data");
        assert_eq!(r.observed, None);
        assert!(
            r.reason.as_deref().unwrap().starts_with("no data"),
            "{text}: {:?}",
            r.reason
        );
    }
    // Counting on an empty run is data (zero), not missing data.
    assert!(evaluate(&parse_threshold("http.count == 0").unwrap(), &empty).pass);
}

#[test]
fn results_carry_typed_metric_and_op_written_in_the_json_as_in_the_threshold() {
    let report = realistic_report();
    for text in [
        "http.p95 < 300ms",
        "ledger.lost == 0",
        "recovery.time <= 10s",
    ] {
        let t = parse_threshold(text).unwrap();
        let result = evaluate(&t, &report);
        assert_eq!((result.metric, result.op), (t.metric, t.op));
        let json = serde_json::to_value(&result).unwrap();
        let (metric, op) = text.split_once(' ').unwrap();
        assert_eq!(json["metric"], metric, "{json}");
        assert_eq!(json["op"], op.split(' ').next().unwrap(), "{json}");
        let back: gauntlet_reports::model::ThresholdResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
    }
    let mut json = serde_json::to_value(evaluate(
        &parse_threshold("http.p95 < 1s").unwrap(),
        &report,
    ))
    .unwrap();
    json["metric"] = "http.p96".into();
    let unknown = serde_json::from_value::<gauntlet_reports::model::ThresholdResult>(json);
    assert!(unknown.is_err(), "an unknown metric is not a report's");
}

#[test]
fn an_alert_threshold_names_its_rule_and_prints_as_written() {
    let t = parse_threshold("alert.HrmsHighErrorRate.fired == 1").unwrap();
    assert_eq!(
        (t.metric, t.alert.as_deref(), t.op, t.limit),
        (Metric::AlertFired, Some("HrmsHighErrorRate"), Op::Eq, 1.0)
    );
    assert_eq!(t.to_string(), "alert.HrmsHighErrorRate.fired == 1");
    // The generic name is no rule, and a rule name takes no selector.
    let e = parse_threshold("alert.<name>.fired == 1").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::UnknownMetric);
    let e = parse_threshold("alert..fired == 1").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::UnknownMetric);
    let e = parse_threshold("during fault: alert.A.fired == 1").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::SelectorNotAllowed);
}

#[test]
fn an_alert_threshold_fails_as_a_gap_or_as_noise_and_without_monitoring_has_no_data() {
    use gauntlet_reports::model::AlertRecord;
    let mut report = Report::empty(run_info("pg-kill"));
    let fires = parse_threshold("alert.A.fired == 1").unwrap();
    let silent = parse_threshold("alert.B.fired == 0").unwrap();
    let r = evaluate(&fires, &report);
    assert_eq!(
        r.reason.as_deref(),
        Some("no data: alerts were not monitored")
    );
    report.alerts.enabled = true;
    report.alerts.alerts = vec![
        AlertRecord {
            name: "A".to_owned(),
            expected: true,
            ..AlertRecord::default()
        },
        AlertRecord {
            name: "B".to_owned(),
            fired_at_offset_us: Some(2_500_000),
            ..AlertRecord::default()
        },
    ];
    let gap = evaluate(&fires, &report);
    assert!(!gap.pass);
    assert_eq!(gap.reason.as_deref(), Some("alerting gap: A never fired"));
    let noise = evaluate(&silent, &report);
    assert!(!noise.pass);
    assert_eq!(
        noise.reason.as_deref(),
        Some("noisy alert: B fired at +2.5s")
    );
    let unknown = evaluate(&parse_threshold("alert.C.fired == 0").unwrap(), &report);
    assert_eq!(
        unknown.reason.as_deref(),
        Some("no data: no alert rule named \"C\"")
    );
    report.alerts.alerts[0].fired_at_offset_us = Some(1);
    assert!(evaluate(&fires, &report).pass);
}
