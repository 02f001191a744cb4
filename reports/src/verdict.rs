//! The verdict: one word (pass / fail / invalid / aborted) and the reasons behind it.
//!
//! Precedence: an interrupted run is `aborted` (its numbers are partial), else a saturated
//! generator makes it `invalid` (its numbers measure the generator), else any failed threshold
//! makes it `fail`, and so does a regression against the baseline. A baseline comparison that
//! is not comparable (a machine busy elsewhere) makes it `invalid` too: the gate could not
//! judge. Every applicable reason is listed, whichever word wins.

use crate::format;
use crate::model::{Report, Verdict};

/// Decide the verdict from the run flags and the already-evaluated thresholds.
pub fn decide(report: &Report) -> (Verdict, Vec<String>) {
    let mut reasons = Vec::new();
    if report.run.interrupted {
        reasons.push("run was interrupted; results are partial".to_owned());
    }
    if report.generator.saturated {
        if report.generator.reasons.is_empty() {
            reasons.push("load generator saturated; results measure the generator".to_owned());
        }
        for r in &report.generator.reasons {
            reasons.push(format!("load generator saturated: {r}"));
        }
    }
    // A comparison that could not be made: the run says so, and its gate is exit 4.
    let not_comparable = !report.baseline.not_comparable.is_empty();
    for why in &report.baseline.not_comparable {
        reasons.push(format!(
            "not comparable with {}: {why}",
            report.baseline.file.as_deref().unwrap_or("baseline")
        ));
    }
    let mut failed = false;
    for t in report.thresholds.iter().filter(|t| !t.pass) {
        failed = true;
        let detail = match t.observed {
            // 0 or 1 says little; the reason says "alerting gap" or "noisy alert" and when.
            Some(_) if t.metric == crate::threshold::Metric::AlertFired => {
                t.reason.clone().unwrap_or_default()
            }
            Some(v) => format!("observed {}", format::value(v, t.unit)),
            None => t.reason.clone().unwrap_or_else(|| "no data".to_owned()),
        };
        reasons.push(format!("threshold failed: {} ({detail})", t.expression));
    }
    let file = report.baseline.file.as_deref().unwrap_or("baseline");
    for d in report.baseline.regressions().filter(|_| !not_comparable) {
        failed = true;
        let change = d
            .relative
            .map(|r| {
                let sign = if r > 0.0 { "+" } else { "" };
                format!(", {sign}{}%", format::fixed(r * 100.0, 1))
            })
            .unwrap_or_default();
        reasons.push(format!(
            "regression vs {file}: {} {} {} → {}{change} (allowed {}, outside noise)",
            d.endpoint,
            d.metric,
            format::value(d.base, d.unit),
            format::value(d.new, d.unit),
            d.allowance
        ));
    }
    let verdict = if report.run.interrupted {
        Verdict::Aborted
    } else if report.generator.saturated || not_comparable {
        Verdict::Invalid
    } else if failed {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    // A part of a split run whose own numbers could not support a verdict leaves the whole
    // without one: the rest of the load is not the run. (A part that merely failed its
    // thresholds on its share is judged again, on the whole, above.)
    let mut worst = verdict;
    for part in &report.run.parts {
        if let Some(v @ (Verdict::Invalid | Verdict::Aborted)) = part.verdict {
            reasons.push(format!(
                "part {}/{} was {} on its own",
                part.index,
                part.count,
                v.as_str()
            ));
            worst = worst.max(v);
        }
    }
    (worst, reasons)
}

/// Store [`decide`]'s result in the report.
pub fn apply(report: &mut Report) {
    let (verdict, reasons) = decide(report);
    report.verdict = verdict;
    report.reasons = reasons;
}

/// The process exit code for a verdict (0 pass, 1 fail, 4 invalid, 130 aborted).
pub fn exit_code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Pass => 0,
        Verdict::Fail => 1,
        Verdict::Invalid => 4,
        Verdict::Aborted => 130,
    }
}
