//! `junit.xml` via quick-junit: one test suite per run; one test case per threshold, per probe
//! kind and per chaos hypothesis, plus a `verdict` case so an invalid or aborted run is never
//! green in CI. A threshold that became a chaos hypothesis (same expression) is reported once,
//! as the hypothesis, so one broken expectation is one failed case. No timestamps: the same
//! report gives the same bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::format;
use crate::model::{ProbeResult, Report, SpikeResult, Verdict};

/// Errors producing the XML.
#[derive(Debug, thiserror::Error)]
#[error("junit.xml could not be written")]
pub struct JunitError(#[from] quick_junit::SerializeError);

/// Render `junit.xml`.
pub fn render(r: &Report) -> Result<String, JunitError> {
    let mut suite = TestSuite::new(format!("gauntlet: {} ({})", r.run.scenario, r.run.profile));
    suite.set_time(Duration::from_micros(r.run.duration_us));
    suite.add_property(Property::new("verdict", r.verdict.as_str()));
    suite.add_property(Property::new("scenario", r.run.scenario.as_str()));
    suite.add_property(Property::new("profile", r.run.profile.as_str()));
    suite.add_property(Property::new("seed", r.run.seed.to_string()));
    suite.add_property(Property::new("backend", r.run.backend_description()));
    if let Some(rev) = &r.run.git_revision {
        suite.add_property(Property::new("git_revision", rev.as_str()));
    }
    suite.add_test_case(verdict_case(r));
    let is_hypothesis = |expr: &str| r.chaos.hypotheses.iter().any(|h| h.name == expr);
    for t in r
        .thresholds
        .iter()
        .filter(|t| !is_hypothesis(&t.expression))
    {
        let status = if t.pass {
            TestCaseStatus::success()
        } else {
            let observed = t
                .observed
                .map_or_else(|| "no data".to_owned(), |v| format::value(v, t.unit));
            let expected = format!("{} {}", t.op, format::value(t.limit, t.unit));
            failure(
                format!("observed {observed}, expected {expected}"),
                t.reason.clone().unwrap_or_default(),
            )
        };
        let mut case = TestCase::new(t.expression.as_str(), status);
        case.set_classname("gauntlet.thresholds");
        suite.add_test_case(case);
    }
    for (kind, results) in probes_by_kind(r) {
        suite.add_test_case(probe_case(kind, &results));
    }
    for h in &r.chaos.hypotheses {
        let status = if h.pass {
            TestCaseStatus::success()
        } else {
            failure(
                format!("expected {}, observed {}", h.expected, h.observed),
                String::new(),
            )
        };
        let mut case = TestCase::new(h.name.as_str(), status);
        case.set_classname("gauntlet.chaos");
        suite.add_test_case(case);
    }
    if r.baseline.enabled {
        suite.add_test_case(baseline_case(r));
    }
    if let Some(spike) = &r.scenario_results.spike {
        suite.add_test_case(spike_case(spike));
    }
    let mut report = quick_junit::Report::new("gauntlet");
    report.set_time(Duration::from_micros(r.run.duration_us));
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

fn failure(message: String, description: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(message);
    if !description.is_empty() {
        status.set_description(description);
    }
    status
}

fn verdict_case(r: &Report) -> TestCase {
    let status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => failure("verdict: fail".to_owned(), r.reasons.join("\n")),
        Verdict::Invalid | Verdict::Aborted => {
            // An error, not a failure: the system under test was not shown to be at fault.
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("verdict: {}", r.verdict.as_str()));
            s.set_description(r.reasons.join("\n"));
            s
        }
    };
    let mut case = TestCase::new("verdict", status);
    case.set_classname("gauntlet");
    case
}

fn probes_by_kind(r: &Report) -> BTreeMap<&str, Vec<&ProbeResult>> {
    let mut map: BTreeMap<&str, Vec<&ProbeResult>> = BTreeMap::new();
    for p in &r.probes.results {
        map.entry(p.kind.as_str()).or_default().push(p);
    }
    map
}

fn probe_case(kind: &str, results: &[&ProbeResult]) -> TestCase {
    let attempts: u64 = results.iter().map(|p| p.attempts).sum();
    let leaks: u64 = results.iter().map(|p| p.leaks).sum();
    let failures: u64 = results.iter().map(|p| p.failures).sum();
    let status = if leaks == 0 && failures == 0 {
        TestCaseStatus::success()
    } else {
        let detail: Vec<String> = results
            .iter()
            .filter(|p| !p.pass())
            .flat_map(|p| {
                std::iter::once(format!(
                    "{}: {} leaks, {} failures",
                    p.name, p.leaks, p.failures
                ))
                .chain(p.examples.iter().map(|e| format!("  {e}")))
            })
            .collect();
        failure(
            format!(
                "observed {leaks} leaks and {failures} failures in {attempts} attempts, expected 0"
            ),
            detail.join("\n"),
        )
    };
    let mut case = TestCase::new(format!("probe: {kind}"), status);
    case.set_classname("gauntlet.probes");
    case.set_assertions(usize::try_from(attempts).unwrap_or(usize::MAX));
    case
}

/// Whether p95 came back after the spike is a yes/no fact; the breaking point and trends are
/// measurements without a limit, so they stay out of JUnit.
fn spike_case(s: &SpikeResult) -> TestCase {
    let status = match s.recovery_us {
        Some(_) => TestCaseStatus::success(),
        None => failure(
            format!(
                "observed p95 {} after {} never back within {}x baseline p95 {}",
                format::duration_us(s.spike_p95_us),
                s.spike_stage,
                format::trim(s.recovery_factor),
                format::duration_us(s.baseline_p95_us)
            ),
            String::new(),
        ),
    };
    let mut case = TestCase::new("spike: recovery", status);
    case.set_classname("gauntlet.scenario");
    case
}

/// One case for the whole baseline comparison: it fails when any metric regressed.
fn baseline_case(r: &Report) -> TestCase {
    let regressions: Vec<String> = r
        .baseline
        .regressions()
        .map(|d| {
            format!(
                "{} {}: {} -> {} (allowed {})",
                d.endpoint,
                d.metric,
                format::value(d.base, d.unit),
                format::value(d.new, d.unit),
                d.allowance
            )
        })
        .collect();
    let status = if !r.baseline.not_comparable.is_empty() {
        // Not judged: a skipped case, with the numbers that made it so.
        let mut s = TestCaseStatus::skipped();
        s.set_message(format!(
            "not comparable: {}",
            r.baseline.not_comparable.join("; ")
        ));
        s
    } else if regressions.is_empty() {
        TestCaseStatus::success()
    } else {
        failure(
            format!(
                "{} regressions vs {}",
                regressions.len(),
                r.baseline.file.as_deref().unwrap_or("baseline")
            ),
            regressions.join("\n"),
        )
    };
    let mut case = TestCase::new("baseline", status);
    case.set_classname("gauntlet.baseline");
    case
}
