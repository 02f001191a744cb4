//! The scenario-results section: stress breaking point, spike recovery and endurance trends
//! reach every rendering, validate against the schema, and older reports without it parse.

use gauntlet_reports::model::{
    ScenarioResults, SpikeResult, StageKind, StageVerdict, StressResult, Trend,
};
use gauntlet_reports::render::{self, html, junit, markdown};

use crate::support::realistic_report;

fn with_results(recovery_us: Option<u64>) -> gauntlet_reports::Report {
    let mut r = realistic_report();
    let stage = |name: &str, pass: bool| StageVerdict {
        name: name.to_owned(),
        kind: StageKind::Hold,
        users: 50,
        target_rps: None,
        count: 1200,
        error_rate: if pass { 0.0 } else { 0.25 },
        p95_us: if pass { 80_000 } else { 2_400_000 },
        pass,
        failed: if pass {
            Vec::new()
        } else {
            vec!["http.p95 < 1s".to_owned()]
        },
    };
    r.scenario_results = ScenarioResults {
        stress: Some(StressResult {
            breaking_point: Some("step-150".to_owned()),
            first_failure: Some("step-200".to_owned()),
            stages: vec![stage("step-150", true), stage("step-200", false)],
            held_rps: None,
            broke_at_rps: None,
        }),
        spike: Some(SpikeResult {
            baseline_stage: "baseline".to_owned(),
            spike_stage: "spike".to_owned(),
            baseline_p95_us: 40_000,
            spike_p95_us: 900_000,
            recovery_factor: 1.2,
            recovery_us,
        }),
        trends: vec![Trend {
            series: "rss_bytes".to_owned(),
            samples: 9,
            slope_per_minute: Some(1024.0),
            first: Some(10_000_000),
            last: Some(10_150_000),
        }],
    };
    r
}

#[test]
fn an_open_model_stress_names_its_breaking_point_in_rate_terms() {
    let mut r = with_results(None);
    let stress = r.scenario_results.stress.as_mut().unwrap();
    assert_eq!(stress.in_rate_terms(), None, "a users curve has no rates");
    stress.held_rps = Some(400.0);
    stress.broke_at_rps = Some(500.0);
    let md = markdown::render(&r);
    assert!(
        md.contains("In rate terms: **held 400 req/s, broke at 500 req/s**"),
        "{md}"
    );
    let lines = render::console::scenario_lines(&r.scenario_results);
    assert!(
        lines.contains(&"stress: held 400 req/s, broke at 500 req/s".to_owned()),
        "{lines:?}"
    );
}

#[test]
fn markdown_and_html_show_breaking_point_recovery_and_trends() {
    let r = with_results(Some(2_500_000));
    let md = markdown::render(&r);
    assert!(
        md.contains("Breaking point: **step-150** · first failing step: **step-200**"),
        "{md}"
    );
    assert!(
        md.contains("| ❌ | step-200 | hold | 50 | 1200 | 25% | 2.4s | http.p95 &lt; 1s |"),
        "{md}"
    );
    assert!(md.contains("| 40ms | 900ms | 2.5s |"), "{md}");
    assert!(md.contains("| rss\\_bytes | 9 | +1024/min | 10000000 | 10150000 |"));
    let page = html::render(&r);
    for needle in [
        "<section id=\"stress\">",
        "Breaking point: <b>step-150</b>",
        "<section id=\"spike\">",
        "<b>2.5s</b>",
        "<section id=\"trends\">",
    ] {
        assert!(page.contains(needle), "{needle} missing");
    }
}

#[test]
fn junit_fails_the_spike_case_only_when_p95_never_recovered() {
    let ok = junit::render(&with_results(Some(2_500_000))).unwrap();
    assert!(ok.contains("name=\"spike: recovery\""), "{ok}");
    let bad = junit::render(&with_results(None)).unwrap();
    let case = &bad[bad.find("name=\"spike: recovery\"").unwrap()..];
    let case = &case[..case.find("</testcase>").unwrap()];
    assert!(case.contains("<failure"), "{case}");
    assert!(
        case.contains("never back within 1.2x baseline p95 40ms"),
        "{case}"
    );
    assert_eq!(
        ok.matches("<failure").count() + 1,
        bad.matches("<failure").count()
    );
}

#[test]
fn reports_without_the_section_still_parse_and_render_nothing_for_it() {
    let r = with_results(None);
    let text = render::json(&r).unwrap();
    assert_eq!(render::from_json(&text).unwrap(), r);
    let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
    old.as_object_mut().unwrap().remove("scenario_results");
    let parsed = render::from_json(&old.to_string()).expect("pre-section report parses");
    assert!(parsed.scenario_results.is_empty());
    assert!(!markdown::render(&parsed).contains("### Stress"));
    assert!(!junit::render(&parsed).unwrap().contains("spike: recovery"));
    assert!(!html::render(&parsed).contains("id=\"spike\""));
}

#[test]
fn merging_leaves_the_per_process_results_out() {
    let (a, b) = (with_results(None), with_results(Some(1)));
    let merged = gauntlet_reports::merge::merge(&[a, b]).unwrap();
    assert!(merged.scenario_results.is_empty());
}
