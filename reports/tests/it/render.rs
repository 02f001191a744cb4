//! Renderers: content and order, escaping of user data, determinism, offline HTML and size.

use gauntlet_reports::model::{Report, Verdict};
use gauntlet_reports::render::{self, console, html, junit, markdown};

use crate::support::{realistic_report, synthetic_hour};

#[test]
fn markdown_puts_verdict_first_then_failed_thresholds_then_tables() {
    let r = realistic_report();
    assert_eq!(r.verdict, Verdict::Fail);
    let md = markdown::render(&r);
    assert!(md.starts_with("## ❌ Gauntlet: FAIL"), "{}", &md[..80]);
    let failed = md.find("### Failed thresholds").unwrap();
    let endpoints = md.find("### Endpoints").unwrap();
    let thresholds = md.find("### Thresholds").unwrap();
    let probes = md.find("### Probes").unwrap();
    let chaos = md.find("### Chaos").unwrap();
    let ledger = md.find("### Ledger").unwrap();
    assert!(
        failed < endpoints
            && endpoints < thresholds
            && thresholds < probes
            && probes < chaos
            && chaos < ledger
    );
    assert!(md[failed..endpoints].contains("probes.leaks == 0"));
    // User text cannot break the table or inject HTML.
    assert!(
        md.contains("GET /payroll &lt;b&gt;&amp;'x\""),
        "escaped endpoint missing"
    );
    assert!(!md.contains("<b>&"));
}

#[test]
fn same_json_gives_byte_identical_markdown_and_junit() {
    let r = realistic_report();
    let again = render::from_json(&render::json(&r).unwrap()).unwrap();
    assert_eq!(markdown::render(&r), markdown::render(&again));
    assert_eq!(junit::render(&r).unwrap(), junit::render(&again).unwrap());
    assert_eq!(html::render(&r), html::render(&again));
}

#[test]
fn junit_has_one_case_per_threshold_probe_kind_and_hypothesis() {
    let r = realistic_report();
    let xml = junit::render(&r).unwrap();
    // 1 verdict + 6 plain thresholds + 2 probe kinds + 3 hypotheses (the phase, recovery and
    // ledger thresholds, each reported once, as a hypothesis).
    assert_eq!(xml.matches("<testcase ").count(), 12, "{xml}");
    assert_eq!(xml.matches("<testsuite ").count(), 1);
    assert!(xml.contains("name=\"probe: cross_tenant_read\""));
    assert!(xml.contains("observed 1 leaks and 0 failures in 80 attempts, expected 0"));
    assert!(xml.contains("name=\"during fault: http.error_rate &lt; 20%\""));
    assert!(!xml.contains("timestamp="), "no render-time timestamps");
}

#[test]
fn junit_marks_invalid_runs_as_errors() {
    let mut r = realistic_report();
    r.generator.saturated = true;
    gauntlet_reports::verdict::apply(&mut r);
    let xml = junit::render(&r).unwrap();
    assert!(xml.contains("<error message=\"verdict: invalid\""), "{xml}");
}

#[test]
fn html_is_self_contained_and_escapes_user_text() {
    let mut r = realistic_report();
    r.endpoints[0].name = "GET /x<script>alert(1)</script>".into();
    let page = html::render(&r);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script>alert"), "endpoint name not escaped");
    assert!(page.contains("GET /x&lt;script&gt;alert(1)&lt;/script&gt;"));
    for external in ["src=", "href=", "@import", "url(", "<link", "<script src"] {
        assert!(!page.contains(external), "external reference {external}");
    }
    assert_eq!(page.matches("<svg").count(), 4, "3 charts + chaos timeline");
    assert!(page.contains("class=\"fault\""), "fault window shaded");
    assert!(page.contains("class=\"stage\""), "stages shaded");
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the embedded JSON data block"
    );
    let data_start =
        page.find("id=\"gauntlet-report\">").unwrap() + "id=\"gauntlet-report\">".len();
    let data_end = page[data_start..].find("</script>").unwrap() + data_start;
    let embedded: Report = serde_json::from_str(&page[data_start..data_end]).unwrap();
    assert_eq!(embedded.endpoints[0].name, r.endpoints[0].name);
}

#[test]
fn synthetic_hour_html_stays_under_two_megabytes() {
    let r = synthetic_hour();
    assert_eq!((r.series.len(), r.endpoints.len()), (3_600, 15));
    let page = html::render(&r);
    assert!(page.len() < 2 * 1024 * 1024, "html is {} bytes", page.len());
    assert!(
        markdown::render(&r).len() < 64 * 1024,
        "markdown must fit a PR comment"
    );
}

#[test]
fn console_lists_verdict_failed_thresholds_top_endpoints_and_files() {
    let r = realistic_report();
    let text = console::render(
        &r,
        &[("json", "out/report.json"), ("html", "out/report.html")],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("Gauntlet FAIL  hrms-load (load), seed 42"),
        "{}",
        lines[0]
    );
    assert!(
        text.contains("FAIL probes.leaks == 0  (observed 1)"),
        "{text}"
    );
    // The probe behind that threshold, with what it saw.
    let failing: Vec<_> = r.probes.results.iter().filter(|p| !p.pass()).collect();
    assert!(!failing.is_empty());
    assert!(
        text.contains(&format!("Probes: {} failing", failing.len())),
        "{text}"
    );
    for p in failing {
        assert!(
            text.contains(&format!("{} / {}:", p.kind, p.name)),
            "{text}"
        );
        if let Some(example) = p.examples.first() {
            assert!(text.contains(example.as_str()), "{text}");
        }
    }
    assert!(text.contains("Top endpoints (4 of 4):"));
    assert!(text.contains("html  out/report.html"));
}

/// Both formats walk one section model: a section added to one shows in the other, in the same
/// place. (The charts are HTML's alone.)
#[test]
fn markdown_and_html_have_the_same_sections_in_the_same_order() {
    let r = realistic_report();
    let md = markdown::render(&r);
    let page = html::render(&r);
    let md_titles: Vec<&str> = md.lines().filter_map(|l| l.strip_prefix("### ")).collect();
    let html_titles: Vec<&str> = page
        .split("<h2>")
        .skip(1)
        .map(|rest| &rest[..rest.find("</h2>").unwrap()])
        .filter(|title| *title != "Over time")
        .collect();
    assert!(md_titles.len() >= 8, "{md_titles:?}");
    assert_eq!(md_titles, html_titles);
}

/// An offending request is shown exactly as sent, even with backticks in it: Markdown code
/// spans are fenced longer than any backtick run inside.
#[test]
fn probe_examples_appear_verbatim_in_markdown_and_escaped_in_html() {
    let mut r = realistic_report();
    let example = "GET /x?q=`a``b`&tenant=<b>";
    r.probes.results[1].examples = vec![example.to_owned()];
    let md = markdown::render(&r);
    assert!(md.contains(&format!("- ```{example}```\n")), "{md}");
    let page = html::render(&r);
    assert!(page.contains("<li><code>GET /x?q=`a``b`&amp;tenant=&lt;b&gt;</code></li>"));
}
