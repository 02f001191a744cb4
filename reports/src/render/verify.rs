//! `gauntlet verify`'s report in every format: JSON, Markdown and HTML (one document model,
//! walked by the run report's own `markdown.rs` and `html.rs`), JUnit (a test case per check,
//! skipped ones as skipped) and the console summary.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite,
};

use super::document::{Block, Cell, Column, Document, Section, Table, code, strong, text};
use super::junit::JunitError;
use crate::format;
use crate::verify::{CheckOutcome, CheckResult, VerifyMode, VerifyReport};

/// `report.json`: pretty-printed, with a trailing newline.
pub fn json(report: &VerifyReport) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

/// `report.md`.
pub fn markdown(report: &VerifyReport) -> String {
    super::markdown::document(&document(report))
}

/// `report.html`.
pub fn html(report: &VerifyReport) -> String {
    super::html::document(&document(report))
}

fn mode_word(mode: VerifyMode) -> &'static str {
    match mode {
        VerifyMode::Local => "local stack",
        VerifyMode::Target => "target",
    }
}

fn document(r: &VerifyReport) -> Document {
    let t = r.tally();
    let mut summary = Section {
        id: "summary",
        title: None,
        blocks: Vec::new(),
    };
    let mut line = vec![
        text("Pre-launch checks against "),
        code(&r.target),
        text(format!(" ({}): ", mode_word(r.mode))),
        strong(format!("{} passed", t.passed)),
        text(", "),
        strong(format!("{} failed", t.failed)),
        text(format!(
            ", {} skipped in {}.",
            t.skipped,
            format::duration_us(r.duration_us)
        )),
    ];
    if !r.defects.is_empty() {
        line.push(text(" Seeded defects on: "));
        line.push(code(r.defects.join(", ")));
        line.push(text("."));
    }
    summary.push(line);
    let mut table = Table::new(vec![
        Column::mark(),
        Column::left("check"),
        Column::left("outcome"),
        Column::left("summary"),
        Column::right("time"),
    ]);
    for c in &r.checks {
        let mark = match c.outcome {
            CheckOutcome::Pass => Cell::Mark(true),
            CheckOutcome::Fail => Cell::Mark(false),
            CheckOutcome::Skipped => Cell::Text("–".into()),
        };
        table.row(vec![
            mark,
            Cell::Code(c.name.clone()),
            c.outcome.as_str().into(),
            c.summary.clone().into(),
            format::duration_us(c.duration_us).into(),
        ]);
    }
    let mut checks = Section::new("checks", "Checks");
    checks.push(table);
    let mut evidence = Section::new("evidence", "Evidence");
    // Failures first: they are what a reader opened the report for.
    let order = [
        CheckOutcome::Fail,
        CheckOutcome::Pass,
        CheckOutcome::Skipped,
    ];
    for outcome in order {
        for c in r.checks.iter().filter(|c| c.outcome == outcome) {
            evidence_of(&mut evidence, c);
        }
    }
    Document {
        verdict: r.verdict,
        scenario: "verify".into(),
        profile: r.target.clone(),
        sections: vec![summary, checks, evidence],
    }
}

fn evidence_of(section: &mut Section, c: &CheckResult) {
    section.push(Block::Heading(format!(
        "{} — {}",
        c.name,
        c.outcome.as_str()
    )));
    section.push(vec![
        text(c.proves.clone()),
        text(" "),
        strong(c.summary.clone()),
    ]);
    if !c.evidence.is_empty() {
        section.push(Block::List(c.evidence.iter().map(code).collect()));
    }
}

/// `junit.xml`: one test case per check, in order.
pub fn junit(r: &VerifyReport) -> Result<String, JunitError> {
    let mut suite = TestSuite::new(format!("gauntlet verify: {}", r.target));
    suite.set_time(Duration::from_micros(r.duration_us));
    suite.add_property(Property::new("verdict", r.verdict.as_str()));
    suite.add_property(Property::new("mode", mode_word(r.mode)));
    for c in &r.checks {
        let status = match c.outcome {
            CheckOutcome::Pass => TestCaseStatus::success(),
            CheckOutcome::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(c.summary.clone());
                s.set_description(c.evidence.join("\n"));
                s
            }
            CheckOutcome::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.summary.clone());
                s
            }
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname("gauntlet.verify");
        case.set_time(Duration::from_micros(c.duration_us));
        suite.add_test_case(case);
    }
    let mut report = JunitReport::new("gauntlet verify");
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

/// The terminal summary: one line per check, the verdict, then the files.
pub fn console(r: &VerifyReport, files: &[String]) -> String {
    let mut out = String::new();
    for c in &r.checks {
        let word = match c.outcome {
            CheckOutcome::Pass => "pass",
            CheckOutcome::Fail => "FAIL",
            CheckOutcome::Skipped => "skip",
        };
        let _ = writeln!(out, "  {word:<4}  {:<38} {}", c.name, c.summary);
        if c.outcome == CheckOutcome::Fail {
            for e in c.evidence.iter().take(3) {
                let _ = writeln!(out, "          {e}");
            }
        }
    }
    let t = r.tally();
    let _ = writeln!(
        out,
        "verify: {} — {} passed, {} failed, {} skipped ({})",
        super::verdict_word(r.verdict),
        t.passed,
        t.failed,
        t.skipped,
        r.target
    );
    for f in files {
        let _ = writeln!(out, "  {f}");
    }
    out
}
