//! Chaos hypotheses derived from thresholds, and the chaos and ledger sections of every format.

use gauntlet_reports::evaluate_all;
use gauntlet_reports::merge::merge;
use gauntlet_reports::model::Report;
use gauntlet_reports::render::{self, html, junit, markdown};

use crate::support::{realistic_report, thresholds};

fn names(r: &Report) -> Vec<&str> {
    r.chaos.hypotheses.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn phase_recovery_and_ledger_thresholds_become_hypotheses_in_order() {
    let r = realistic_report();
    assert_eq!(
        names(&r),
        [
            "ledger.lost == 0",
            "during fault: http.error_rate < 20%",
            "recovery.time < 10s"
        ]
    );
    let h = &r.chaos.hypotheses;
    assert_eq!(h[0].expected, "no lost acknowledged writes after the run");
    assert_eq!(h[0].observed, "lost acknowledged writes: 0");
    assert_eq!(
        h[1].expected,
        "error rate below 20% while the fault is active"
    );
    assert!(
        h[1].observed.starts_with("error rate: ") && h[1].observed.ends_with('%'),
        "{}",
        h[1].observed
    );
    assert_eq!(h[2].expected, "time to recover after the fault below 10s");
    assert_eq!(h[2].observed, "time to recover after the fault: 3.5s");
    // Each hypothesis carries its threshold's outcome.
    for h in h {
        let t = r
            .thresholds
            .iter()
            .find(|t| t.expression == h.name)
            .unwrap();
        assert_eq!(h.pass, t.pass, "{}", h.name);
        assert!(h.pass, "{h:?}");
    }
}

#[test]
fn a_broken_hypothesis_fails_with_observed_value_or_missing_data() {
    let mut r = realistic_report();
    evaluate_all(
        &thresholds(&[
            "during fault: http.p95{endpoint=\"GET /employees\"} <= 1ms",
            "during recovery: http.rps >= 1",
            "ledger.duplicated != 0",
        ]),
        &mut r,
    );
    let h = &r.chaos.hypotheses;
    assert_eq!(h.len(), 3);
    assert!(!h[0].pass);
    assert_eq!(
        h[0].expected,
        "p95 latency of GET /employees at most 1ms while the fault is active"
    );
    assert!(h[0].observed.starts_with("p95 latency of GET /employees: "));
    assert!(h[1].pass, "{:?}", h[1]);
    assert_eq!(h[2].expected, "some duplicated writes after the run");
    assert!(!h[2].pass);

    // No phase data: the hypothesis fails and says why.
    r.phases
        .retain(|p| p.kind != gauntlet_reports::model::PhaseKind::Recovery);
    evaluate_all(&thresholds(&["during recovery: http.p95 < 1s"]), &mut r);
    let h = &r.chaos.hypotheses[0];
    assert!(!h.pass);
    assert_eq!(h.observed, "no data: the run had no recovery phase");
}

#[test]
fn a_run_without_faults_has_no_hypotheses_and_plain_threshold_cases() {
    let mut r = realistic_report();
    r.chaos.faults.clear();
    evaluate_all(
        &thresholds(&["during fault: http.error_rate < 20%", "ledger.lost == 0"]),
        &mut r,
    );
    assert!(r.chaos.hypotheses.is_empty());
    let xml = junit::render(&r).unwrap();
    assert!(!xml.contains("gauntlet.chaos"), "{xml}");
    assert_eq!(xml.matches("classname=\"gauntlet.thresholds\"").count(), 2);
}

#[test]
fn junit_reports_each_hypothesis_once_as_a_chaos_case() {
    let mut r = realistic_report();
    evaluate_all(
        &thresholds(&["http.p95 < 300ms", "during fault: http.p95 <= 1ms"]),
        &mut r,
    );
    let xml = junit::render(&r).unwrap();
    assert_eq!(xml.matches("classname=\"gauntlet.chaos\"").count(), 1);
    assert_eq!(xml.matches("classname=\"gauntlet.thresholds\"").count(), 1);
    assert_eq!(
        xml.matches("name=\"during fault: http.p95 &lt;= 1ms\"")
            .count(),
        1
    );
    assert!(
        xml.contains("<failure message=\"expected p95 latency at most 1ms while the fault is active, observed p95 latency: "),
        "{xml}"
    );
}

#[test]
fn hypotheses_survive_json_and_are_re_derived_after_merge() {
    let r = realistic_report();
    let again = render::from_json(&render::json(&r).unwrap()).unwrap();
    assert_eq!(again.chaos.hypotheses, r.chaos.hypotheses);
    let merged = merge(&[r.clone(), r.clone()]).unwrap();
    // Two processes, same thresholds: the merged run has each hypothesis once.
    assert_eq!(names(&merged), names(&r));
    assert_eq!(merged.ledger.unacknowledged_but_present, 4);
}

#[test]
fn markdown_chaos_section_has_windows_recovery_hypotheses_and_timeline() {
    let md = markdown::render(&realistic_report());
    let chaos = &md[md.find("### Chaos").unwrap()..md.find("### Ledger").unwrap()];
    assert!(chaos.contains("Recovery time: **3.5s**"), "{chaos}");
    assert!(
        chaos.contains("| pg-latency | latency | postgres | latency=200ms | +10s | +20s |"),
        "{chaos}"
    );
    assert!(chaos.contains(
        "| ✅ | during fault: http.error\\_rate &lt; 20% | error rate below 20% while the fault is active |"
    ), "{chaos}");
    assert!(chaos.contains("| +20s | remove | postgres | latency removed |"));
    assert!(chaos.contains("| +23.5s | steady\\_state\\_restored | service |"));
}

#[test]
fn ledger_sections_show_all_five_counts_and_examples() {
    let r = realistic_report();
    let md = markdown::render(&r);
    let ledger = &md[md.find("### Ledger").unwrap()..];
    assert!(
        ledger.contains("| Acked | Verified | Lost | Duplicated | Unacknowledged but present |"),
        "{ledger}"
    );
    assert!(ledger.contains("| 500 | 500 | 0 | 0 | 2 |"), "{ledger}");
    assert!(ledger.contains("informational"));
    assert!(ledger.contains("- attendance 7f3a &lt;b&gt;"), "{ledger}");

    let page = html::render(&r);
    let ledger = &page[page.find("<section id=\"ledger\">").unwrap()..];
    let ledger = &ledger[..ledger.find("</section>").unwrap()];
    assert!(
        ledger.contains("<td>500</td><td>500</td><td>0</td><td>0</td><td>2</td>"),
        "{ledger}"
    );
    assert!(
        ledger.contains("<li>attendance 7f3a &lt;b&gt;</li>"),
        "{ledger}"
    );
}

#[test]
fn html_chaos_section_has_windows_timeline_and_hypotheses() {
    let page = html::render(&realistic_report());
    let chaos = &page[page.find("<section id=\"chaos\">").unwrap()..];
    let chaos = &chaos[..chaos.find("</section>").unwrap()];
    assert!(chaos.contains("Recovery time: <b>3.5s</b>"));
    assert!(chaos.contains(
        "<td>pg-latency</td><td class=\"l\">latency</td><td class=\"l\">postgres</td><td class=\"l\">latency=200ms</td><td>+10s</td><td>+20s</td>"
    ), "{chaos}");
    assert!(chaos.contains("<svg"), "timeline chart");
    assert_eq!(chaos.matches("<code>").count(), 3, "3 hypotheses");
    assert!(chaos.contains("error rate below 20% while the fault is active"));
    assert!(chaos.contains("<td class=\"l\">steady_state_restored</td>"));
    // The three over-time charts, before the chaos section, each shade the fault window.
    let charts = &page[..page.find("<section id=\"chaos\">").unwrap()];
    assert_eq!(
        charts.matches("class=\"fault\"").count(),
        3,
        "one per chart"
    );
}
