//! `report.html`: one self-contained page that renders offline — inline CSS, inline SVG charts,
//! no scripts, fonts or network. The report data (minus histograms) is embedded as JSON for
//! tools that scrape the page. Every piece of user text goes through [`escape`].

use std::fmt::Write as _;

use super::svg::{self, Band, Chart, Line};
use super::verdict_word;
use crate::format::{self, duration_us};
use crate::model::{EndpointReport, Report, ValueUnit};

const STYLE: &str = "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d232a;background:#f6f7f9}\
main{max-width:1200px;margin:0 auto;padding:16px}\
.banner{padding:16px 24px;color:#fff;font-size:22px;font-weight:600}\
.pass{background:#1f883d}.fail{background:#cf222e}.invalid{background:#9a6700}.aborted{background:#57606a}\
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0;padding:12px 16px;overflow-x:auto}\
h2{font-size:16px;margin:4px 0 10px}table{border-collapse:collapse;width:100%}\
th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}\
th:first-child,td:first-child,td.l{text-align:left;white-space:normal}\
tr.total td{font-weight:600}.ok{color:#1f883d}.bad{color:#cf222e}\
table.endpoints td:first-child{white-space:nowrap}\
.chart{width:100%;height:auto;display:block}.chart text{font-size:11px;fill:#57606a}\
.ytick{text-anchor:end}.xtick{text-anchor:middle}.ctitle{font-weight:600;fill:#1d232a!important}\
.grid{stroke:#eaeef2}.stage{fill:#f0f3f6}.stage2{fill:#e6ebf1}.fault{fill:rgba(207,34,46,.18)}\
.mark{stroke:#57606a;stroke-dasharray:2 2}polyline{fill:none;stroke-width:1.5}\
.l-rps{stroke:#0969da}.l-p50{stroke:#1f883d}.l-p95{stroke:#bc4c00}.l-p99{stroke:#8250df;stroke-dasharray:5 5}.l-err{stroke:#cf222e}\
.l-rps-key{fill:#0969da}.l-p50-key{fill:#1f883d}.l-p95-key{fill:#bc4c00}.l-p99-key{fill:#8250df}.l-err-key{fill:#cf222e}\
code{font-size:12px}ul{margin:4px 0}\
@media (max-width:700px){main{padding:8px}section{padding:10px}.chart{min-width:600px}.chart text{font-size:16px}}";

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Render `report.html`.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Gauntlet {} — {}</title><style>{STYLE}</style></head><body>",
        verdict_word(r.verdict),
        escape(&r.run.scenario)
    );
    banner(&mut out, r);
    out.push_str("<main>");
    summary(&mut out, r);
    charts(&mut out, r);
    endpoints(&mut out, r);
    thresholds(&mut out, r);
    super::baseline::html(&mut out, r, mark);
    super::scenario::html(&mut out, r, mark);
    probes(&mut out, r);
    super::chaos::html(&mut out, r, mark);
    ledger_alerts(&mut out, r);
    run_info(&mut out, r);
    embedded_data(&mut out, r);
    out.push_str("</main></body></html>\n");
    out
}

fn banner(out: &mut String, r: &Report) {
    let _ = write!(
        out,
        "<div class=\"banner {}\">{} · {} · {}</div>",
        r.verdict.as_str(),
        verdict_word(r.verdict),
        escape(&r.run.scenario),
        escape(&r.run.profile)
    );
}

fn summary(out: &mut String, r: &Report) {
    let _ = write!(
        out,
        "<section><b>{}</b> requests in {} · <b>{}</b> · error rate <b>{}</b> · p95 <b>{}</b> · p99 <b>{}</b>",
        r.total.count,
        duration_us(r.run.duration_us),
        format::value(r.total.rps, ValueUnit::PerSecond),
        format::percent(r.total.error_rate),
        duration_us(r.total.latency.p95_us),
        duration_us(r.total.latency.p99_us)
    );
    if !r.reasons.is_empty() {
        out.push_str("<ul>");
        for reason in &r.reasons {
            let _ = write!(out, "<li>{}</li>", escape(reason));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

/// Stage bands (alternating shades) and fault windows, in seconds from run start.
fn bands(r: &Report) -> Vec<Band> {
    let mut bands: Vec<Band> = r
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| Band {
            start_s: s.start_offset_us as f64 / 1e6,
            end_s: s.end_offset_us as f64 / 1e6,
            class: if i % 2 == 0 { "stage" } else { "stage2" },
            label: format!("stage {}", s.name),
        })
        .collect();
    let end_s = r.run.duration_us as f64 / 1e6;
    bands.extend(r.chaos.faults.iter().map(|f| Band {
        start_s: f.start_offset_us as f64 / 1e6,
        end_s: f.end_offset_us.map_or(end_s, |e| e as f64 / 1e6),
        class: "fault",
        label: format!("fault {} ({} on {})", f.name, f.fault, f.target),
    }));
    bands
}

fn charts(out: &mut String, r: &Report) {
    out.push_str("<section><h2>Over time</h2>");
    for c in &time_charts(r) {
        out.push_str(&svg::render(c));
    }
    out.push_str("</section>");
}

/// Requests per second, latency percentiles and error rate per second, with shaded bands.
fn time_charts(r: &Report) -> [Chart; 3] {
    let start_s = r.run.started_at_unix_us / 1_000_000;
    let x = |unix_s: u64| unix_s.saturating_sub(start_s) as f64;
    let x_max_s =
        (r.run.duration_us as f64 / 1e6).max(r.series.last().map_or(0.0, |p| x(p.unix_s)));
    let pts = |f: &dyn Fn(&crate::model::SecondPoint) -> f64| -> Vec<(f64, f64)> {
        r.series.iter().map(|p| (x(p.unix_s), f(p))).collect()
    };
    [
        Chart {
            title: "Requests per second",
            x_max_s,
            lines: vec![Line {
                label: "req/s",
                class: "l-rps",
                points: pts(&|p| p.count as f64),
            }],
            bands: bands(r),
            y_fmt: format::trim,
        },
        Chart {
            title: "Latency",
            x_max_s,
            lines: vec![
                Line {
                    label: "p50",
                    class: "l-p50",
                    points: pts(&|p| p.p50_us as f64),
                },
                Line {
                    label: "p95",
                    class: "l-p95",
                    points: pts(&|p| p.p95_us as f64),
                },
                Line {
                    label: "p99",
                    class: "l-p99",
                    points: pts(&|p| p.p99_us as f64),
                },
            ],
            bands: bands(r),
            y_fmt: |v| duration_us(v.round() as u64),
        },
        Chart {
            title: "Error rate",
            x_max_s,
            lines: vec![Line {
                label: "errors",
                class: "l-err",
                points: pts(&|p| {
                    if p.count == 0 {
                        0.0
                    } else {
                        p.errors as f64 / p.count as f64
                    }
                }),
            }],
            bands: bands(r),
            y_fmt: format::percent,
        },
    ]
}

fn endpoint_row(out: &mut String, e: &EndpointReport, class: &str) {
    let l = &e.latency;
    let _ = write!(
        out,
        "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&e.name),
        e.count,
        format::trim(e.rps),
        e.errors.http_4xx,
        e.errors.http_5xx,
        e.errors.timeout,
        e.errors.connection + e.errors.other,
        format::percent(e.error_rate),
        duration_us(l.p50_us),
        duration_us(l.p95_us),
        duration_us(l.p99_us),
        duration_us(l.max_us)
    );
}

fn endpoints(out: &mut String, r: &Report) {
    out.push_str("<section><h2>Endpoints</h2><table class=\"endpoints\"><tr><th>Endpoint</th><th>Requests</th><th>req/s</th><th>4xx</th><th>5xx</th><th>Timeouts</th><th>Conn/other</th><th>Error rate</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>");
    for e in &r.endpoints {
        endpoint_row(out, e, "");
    }
    endpoint_row(out, &r.total, "total");
    out.push_str("</table></section>");
}

fn mark(pass: bool) -> &'static str {
    if pass {
        "<span class=\"ok\">✔</span>"
    } else {
        "<span class=\"bad\">✘</span>"
    }
}

fn thresholds(out: &mut String, r: &Report) {
    out.push_str("<section><h2>Thresholds</h2>");
    if r.thresholds.is_empty() {
        out.push_str("<p>No thresholds were set.</p></section>");
        return;
    }
    out.push_str("<table><tr><th>Threshold</th><th>Observed</th><th></th><th>Why</th></tr>");
    for t in &r.thresholds {
        let observed = t
            .observed
            .map(|v| format::value(v, t.unit))
            .unwrap_or_else(|| "no data".into());
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            escape(&t.expression),
            escape(&observed),
            mark(t.pass),
            escape(t.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table></section>");
}

fn probes(out: &mut String, r: &Report) {
    if r.probes.results.is_empty() {
        return;
    }
    out.push_str("<section><h2>Security probes</h2><table><tr><th>Probe</th><th>Kind</th><th>Attempts</th><th>Leaks</th><th>Failures</th><th></th></tr>");
    for p in &r.probes.results {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            escape(&p.kind),
            p.attempts,
            p.leaks,
            p.failures,
            mark(p.pass())
        );
    }
    out.push_str("</table>");
    // The offending requests themselves: what a reader needs to reproduce a leak.
    for p in r.probes.results.iter().filter(|p| !p.examples.is_empty()) {
        let _ = write!(
            out,
            "<h3>{} / {}</h3><ul>",
            escape(&p.kind),
            escape(&p.name)
        );
        for example in &p.examples {
            let _ = write!(out, "<li><code>{}</code></li>", escape(example));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

fn ledger_alerts(out: &mut String, r: &Report) {
    super::chaos::ledger_html(out, &r.ledger);
    if r.alerts.enabled {
        out.push_str("<section><h2>Alerts</h2><table><tr><th>Alert</th><th>Expected</th><th>Fired at</th><th>Resolved at</th></tr>");
        for a in &r.alerts.alerts {
            let at = |o: Option<u64>| {
                o.map_or_else(|| "—".to_owned(), |us| format!("+{}", duration_us(us)))
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.name),
                if a.expected { "yes" } else { "no" },
                at(a.fired_at_offset_us),
                at(a.resolved_at_offset_us)
            );
        }
        out.push_str("</table></section>");
    }
}

fn run_info(out: &mut String, r: &Report) {
    let run = &r.run;
    let _ = write!(
        out,
        "<section><h2>Run</h2><p>seed <b>{}</b> · backend <b>{}</b> · target <code>{}</code> · revision <code>{}</code></p><p><code>{}</code></p>",
        run.seed,
        escape(&run.backend_description()),
        escape(&run.target),
        escape(run.git_revision.as_deref().unwrap_or("unknown")),
        escape(&run.command_line.join(" "))
    );
    if !run.versions.is_empty() {
        out.push_str("<p>");
        for (k, v) in &run.versions {
            let _ = write!(out, "{} <b>{}</b> ", escape(k), escape(v));
        }
        out.push_str("</p>");
    }
    out.push_str("</section>");
}

/// The report without histograms, as JSON safe inside `<script>` (no `<`, `>` or `&`).
fn embedded_data(out: &mut String, r: &Report) {
    let mut slim = r.clone();
    slim.total.histogram.clear();
    slim.endpoints.iter_mut().for_each(|e| e.histogram.clear());
    for p in &mut slim.phases {
        p.total.histogram.clear();
        p.endpoints.iter_mut().for_each(|e| e.histogram.clear());
    }
    slim.series.iter_mut().for_each(|p| p.histogram = None);
    let json = serde_json::to_string(&slim).unwrap_or_else(|_| "null".to_owned());
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"gauntlet-report\">{json}</script>"
    );
}
