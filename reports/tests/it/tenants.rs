//! Per-tenant statistics and the noisy neighbour: the `tenant.<label>.*` grammar, judging each
//! tenant on its own (one bad tenant cannot hide in an average), the flood's window, merge and
//! rendering.

use gauntlet_reports::model::{NoisyNeighbourSection, Report};
use gauntlet_reports::render::markdown;
use gauntlet_reports::threshold::{HttpMetric, Metric, ParseErrorKind, TenantScope, evaluate};
use gauntlet_reports::{Outcome, RunRecorder, merge::merge, parse_threshold};

use crate::support::run_info;

const T0: u64 = 1_700_000_000_000_000;

/// Three tenants over 10 s: t0 healthy, t1 refused 5 of 100 times while the flood ran and
/// slow then, t2 (the noisy neighbour) with no virtual users.
fn report() -> Report {
    let mut rec = RunRecorder::new(T0, false).with_tenant_labels(vec![
        "t0".into(),
        "acme".into(),
        "t2".into(),
    ]);
    for i in 0..200u64 {
        let at = T0 + i * 50_000;
        let flooding = (50..150).contains(&i);
        rec.record("GET /employees", at, 2_000, Outcome::Ok);
        rec.record_tenant(0, 2_000, Outcome::Ok, false, flooding);
        let limited = flooding && i % 20 == 0;
        let (latency, outcome) = match (flooding, limited) {
            (_, true) => (1_000, Outcome::Http4xx),
            (true, false) => (400_000, Outcome::Ok),
            _ => (2_000, Outcome::Ok),
        };
        rec.record("GET /employees/{id}", at, latency, outcome);
        rec.record_tenant(1, latency, outcome, limited, flooding);
    }
    let mut report = Report::empty(run_info("load"));
    rec.finish_into(&mut report, T0 + 10_000_000).unwrap();
    report.noisy_neighbour = NoisyNeighbourSection {
        enabled: true,
        tenant: "t2".into(),
        tier: Some("free".into()),
        stage: "peak".into(),
        target_rps: 20.0,
        limit_rps: Some(10.0),
        start_offset_us: 2_500_000,
        end_offset_us: 7_500_000,
        sent: 100,
        ok: 55,
        rate_limited: 45,
        burst: 10,
        plan_burst: Some(20),
        other: 0,
        skipped: 0,
        problem: None,
    };
    report
}

fn judge(text: &str, report: &Report) -> gauntlet_reports::model::ThresholdResult {
    evaluate(&parse_threshold(text).unwrap(), report)
}

#[test]
fn tenant_thresholds_parse_print_and_refuse_what_they_cannot_mean() {
    let t = parse_threshold("tenant.acme-eu_1.p95 < 300ms").unwrap();
    assert_eq!(t.metric, Metric::Http(HttpMetric::P95));
    assert_eq!(t.tenant, Some(TenantScope::Named("acme-eu_1".into())));
    assert_eq!(t.to_string(), "tenant.acme-eu_1.p95 < 300ms");
    let t = parse_threshold(" tenant.*.rate_limited<1%").unwrap();
    assert_eq!(t.tenant, Some(TenantScope::Each));
    assert_eq!(t.to_string(), "tenant.*.rate_limited < 1%");
    assert_eq!(parse_threshold(&t.to_string()).unwrap(), t);
    let t = parse_threshold("noisy_neighbour.rate_limited > 20%").unwrap();
    assert_eq!(t.metric, Metric::NoisyNeighbourRateLimited);
    for (text, kind) in [
        ("tenant..p95 < 1s", ParseErrorKind::ExpectedTenant),
        ("tenant.t1.p42 < 1s", ParseErrorKind::UnknownTenantStat),
        ("tenant.t1 < 1s", ParseErrorKind::UnknownTenantStat),
        (
            "during fault: tenant.t1.p95 < 1s",
            ParseErrorKind::SelectorNotAllowed,
        ),
        (
            "tenant.t1.p95{endpoint=\"GET /x\"} < 1s",
            ParseErrorKind::SelectorNotAllowed,
        ),
        (
            "during fault: http.rate_limited < 1%",
            ParseErrorKind::RateLimitedSelector,
        ),
        (
            "tenant.t1.rate_limited < 5ms",
            ParseErrorKind::UnitMismatch("a rate takes % or a plain fraction"),
        ),
    ] {
        let err = parse_threshold(text).unwrap_err();
        assert_eq!(err.kind, kind, "{text}");
    }
}

#[test]
fn each_tenant_is_judged_alone_over_the_flood() {
    let r = report();
    assert_eq!(r.tenants.len(), 3);
    assert_eq!(r.tenants_during_flood[1].count, 100);
    // Over the whole run acme's 429s are 2.5 %; during the flood, 5 %: the flood's window
    // is what tenant thresholds judge.
    let t = judge("tenant.*.rate_limited < 1%", &r);
    assert!(!t.pass);
    assert_eq!(t.observed, Some(0.05));
    let why = t.reason.unwrap();
    assert!(
        why.contains("tenant acme") && why.contains("1 of 2 tenants failed"),
        "{why}"
    );
    assert!(judge("tenant.t0.rate_limited == 0", &r).pass);
    assert!(!judge("tenant.acme.p95 < 300ms", &r).pass);
    assert!(judge("tenant.t0.p95 < 300ms", &r).pass);
    // The noisy neighbour sent nothing through the personas and is not judged among them.
    assert!(judge("tenant.*.count > 0", &r).pass);
    let missing = judge("tenant.nobody.p95 < 1s", &r);
    assert!(!missing.pass);
    assert!(missing.reason.unwrap().contains("t0, acme, t2"));
    // The whole run's 429 share is counted from the tenants: 5 of 400.
    let whole = judge("http.rate_limited < 1%", &r);
    assert_eq!(whole.observed, Some(5.0 / 400.0));
    let flood = judge("noisy_neighbour.rate_limited > 20%", &r);
    // 45 refused of the 90 sent after the burst of 10 was spent.
    assert!(flood.pass && flood.observed == Some(0.5), "{flood:?}");
    assert_eq!(
        judge("tenant.acme.rate_limited < 1%", &r).tenant.as_deref(),
        Some("acme")
    );
}

#[test]
fn without_a_noisy_neighbour_there_is_no_data_not_a_pass() {
    let mut r = report();
    r.noisy_neighbour = NoisyNeighbourSection::default();
    let t = judge("noisy_neighbour.rate_limited > 20%", &r);
    assert!(!t.pass);
    assert!(t.reason.unwrap().starts_with("no data"));
    // Without a flood, tenant thresholds judge the whole run.
    assert_eq!(
        judge("tenant.acme.rate_limited < 1%", &r).observed,
        Some(0.025)
    );
    let mut empty = Report::empty(run_info("load"));
    empty.noisy_neighbour.enabled = true;
    assert!(!judge("tenant.*.p95 < 1s", &empty).pass);
    // A flood that never got past its plan's burst cannot say whether it was held...
    empty.noisy_neighbour.sent = 20;
    empty.noisy_neighbour.burst = 20;
    empty.noisy_neighbour.plan_burst = Some(20);
    let short = judge("noisy_neighbour.rate_limited > 20%", &empty);
    assert!(
        !short.pass
            && short
                .reason
                .unwrap()
                .contains("not more than its plan's burst (20)")
    );
    // ...one that sent well past it and was never refused was not held.
    empty.noisy_neighbour.sent = 600;
    empty.noisy_neighbour.burst = 600;
    let unheld = judge("noisy_neighbour.rate_limited > 20%", &empty);
    assert_eq!((unheld.pass, unheld.observed), (false, Some(0.0)));
}

#[test]
fn merge_adds_tenants_and_floods_and_markdown_shows_them() {
    let merged = merge(&[report(), report()]).unwrap();
    assert_eq!(merged.tenants[1].count, 400);
    assert_eq!(merged.tenants[1].rate_limited, 10);
    assert_eq!(merged.tenants_during_flood[1].rate_limited, 10);
    assert_eq!(merged.noisy_neighbour.sent, 200);
    assert_eq!(merged.noisy_neighbour.rate_limited, 90);
    assert_eq!(merged.noisy_neighbour.burst, 20);
    let md = markdown::render(&report());
    assert!(md.contains("Noisy neighbour"), "{md}");
    assert!(md.contains("| acme | — | 100 | 5 | 5% | 5 | 5% |"), "{md}");
    assert!(md.contains("While it flooded"), "{md}");
}
