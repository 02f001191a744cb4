//! The chaos section (fault windows, recovery time, hypotheses, timeline) and the ledger
//! section in Markdown and HTML. Kept apart from the main renderers, which only call in here;
//! nothing is written for a run without faults or without a ledger.

use std::fmt::Write as _;

use super::html::escape;
use super::markdown::cell;
use super::svg::{self, Timeline};
use crate::format::duration_us;
use crate::model::{ChaosEvent, FaultWindow, LedgerSection, Report};

/// Rows shown in the Markdown chaos timeline before it is cut (PR comments are size-limited).
const MAX_MD_EVENTS: usize = 40;
/// Rows of the HTML chaos event table before it is cut.
const MAX_HTML_EVENTS: usize = 200;

fn has_chaos(r: &Report) -> bool {
    let c = &r.chaos;
    !(c.faults.is_empty() && c.events.is_empty() && c.hypotheses.is_empty())
}

/// `latency=200ms, jitter=50ms`, or `—` when the fault has no attributes.
fn attributes(f: &FaultWindow) -> String {
    if f.attributes.is_empty() {
        return "—".to_owned();
    }
    let parts: Vec<String> = f
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join(", ")
}

fn window_end(f: &FaultWindow) -> String {
    f.end_offset_us.map_or_else(
        || "end of run".to_owned(),
        |e| format!("+{}", duration_us(e)),
    )
}

fn recovery(r: &Report) -> String {
    r.chaos
        .recovery_time_us
        .map_or_else(|| "not measured".to_owned(), duration_us)
}

fn event_kind(e: &ChaosEvent) -> String {
    serde_json::to_value(e.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "event".to_owned())
}

/// `### Chaos` for report.md: recovery time, fault windows, hypotheses, timeline.
pub fn markdown(out: &mut String, r: &Report) {
    if !has_chaos(r) {
        return;
    }
    let c = &r.chaos;
    let _ = writeln!(out, "### Chaos\n\nRecovery time: **{}**\n", recovery(r));
    if !c.faults.is_empty() {
        out.push_str(
            "| Fault | Type | Target | Attributes | From | To |\n|---|---|---|---|---:|---:|\n",
        );
        for f in &c.faults {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | +{} | {} |",
                cell(&f.name),
                cell(&f.fault),
                cell(&f.target),
                cell(&attributes(f)),
                duration_us(f.start_offset_us),
                window_end(f)
            );
        }
        out.push('\n');
    }
    if !c.hypotheses.is_empty() {
        out.push_str("| | Hypothesis | Expected | Observed |\n|---|---|---|---|\n");
        for h in &c.hypotheses {
            let mark = if h.pass { "✅" } else { "❌" };
            let _ = writeln!(
                out,
                "| {mark} | {} | {} | {} |",
                cell(&h.name),
                cell(&h.expected),
                cell(&h.observed)
            );
        }
        out.push('\n');
    }
    if !c.events.is_empty() {
        out.push_str("| At | Event | Target | Detail |\n|---:|---|---|---|\n");
        for e in c.events.iter().take(MAX_MD_EVENTS) {
            let _ = writeln!(
                out,
                "| +{} | {} | {} | {} |",
                duration_us(e.at_offset_us),
                cell(&event_kind(e)),
                cell(&e.target),
                cell(&e.message)
            );
        }
        if c.events.len() > MAX_MD_EVENTS {
            let _ = writeln!(
                out,
                "\n…and {} more events in report.json",
                c.events.len() - MAX_MD_EVENTS
            );
        }
        out.push('\n');
    }
}

/// `### Ledger` for report.md: the five counts and the examples.
pub fn ledger_markdown(out: &mut String, l: &LedgerSection) {
    if !l.enabled {
        return;
    }
    out.push_str("### Ledger\n\n| Acked | Verified | Lost | Duplicated | Unacknowledged but present |\n|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        l.acked, l.verified, l.lost, l.duplicated, l.unacknowledged_but_present
    );
    out.push_str(
        "Unacknowledged but present: writes that got no answer yet were committed \
         (informational, not a failure).\n\n",
    );
    if !l.examples.is_empty() {
        out.push_str("Examples:\n\n");
        for e in &l.examples {
            let _ = writeln!(out, "- {}", cell(e));
        }
        out.push('\n');
    }
}

/// The chaos section for report.html: recovery time, fault windows, the SVG timeline,
/// hypotheses and the event table.
pub fn html(out: &mut String, r: &Report, mark: fn(bool) -> &'static str) {
    if !has_chaos(r) {
        return;
    }
    let c = &r.chaos;
    let _ = write!(
        out,
        "<section id=\"chaos\"><h2>Chaos</h2><p>Recovery time: <b>{}</b></p>",
        recovery(r)
    );
    if !c.faults.is_empty() {
        out.push_str("<table><tr><th>Fault</th><th>Type</th><th>Target</th><th>Attributes</th><th>From</th><th>To</th></tr>");
        for f in &c.faults {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>+{}</td><td>{}</td></tr>",
                escape(&f.name),
                escape(&f.fault),
                escape(&f.target),
                escape(&attributes(f)),
                duration_us(f.start_offset_us),
                window_end(f)
            );
        }
        out.push_str("</table>");
    }
    let end_s = r.run.duration_us as f64 / 1e6;
    let timeline = Timeline {
        x_max_s: end_s,
        rows: c
            .faults
            .iter()
            .map(|f| {
                let end = f.end_offset_us.map_or(end_s, |e| e as f64 / 1e6);
                (
                    format!("{} on {}", f.fault, f.target),
                    f.start_offset_us as f64 / 1e6,
                    end,
                )
            })
            .collect(),
        marks: c
            .events
            .iter()
            .map(|e| (e.at_offset_us as f64 / 1e6, e.message.clone()))
            .collect(),
    };
    out.push_str(&svg::timeline(&timeline));
    if !c.hypotheses.is_empty() {
        out.push_str("<h2>Hypotheses</h2><table><tr><th>Hypothesis</th><th>Expected</th><th>Observed</th><th></th></tr>");
        for h in &c.hypotheses {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
                escape(&h.name),
                escape(&h.expected),
                escape(&h.observed),
                mark(h.pass)
            );
        }
        out.push_str("</table>");
    }
    if !c.events.is_empty() {
        out.push_str(
            "<h2>Timeline</h2><table><tr><th>At</th><th>Event</th><th>Target</th><th>Detail</th></tr>",
        );
        for e in c.events.iter().take(MAX_HTML_EVENTS) {
            let _ = write!(
                out,
                "<tr><td>+{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                duration_us(e.at_offset_us),
                event_kind(e),
                escape(&e.target),
                escape(&e.message)
            );
        }
        out.push_str("</table>");
        if c.events.len() > MAX_HTML_EVENTS {
            let _ = write!(
                out,
                "<p>…and {} more events in report.json</p>",
                c.events.len() - MAX_HTML_EVENTS
            );
        }
    }
    out.push_str("</section>");
}

/// The ledger section for report.html: the five counts and the examples.
pub fn ledger_html(out: &mut String, l: &LedgerSection) {
    if !l.enabled {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"ledger\"><h2>Ledger</h2><table><tr><th>Acked</th><th>Verified</th><th>Lost</th><th>Duplicated</th><th>Unacknowledged but present</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>\
         <p>Unacknowledged but present: writes that got no answer yet were committed (informational, not a failure).</p>",
        l.acked, l.verified, l.lost, l.duplicated, l.unacknowledged_but_present
    );
    if !l.examples.is_empty() {
        out.push_str("<ul>");
        for e in &l.examples {
            let _ = write!(out, "<li><code>{}</code></li>", escape(e));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}
