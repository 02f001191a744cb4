//! `report.html`: one self-contained page that renders offline — inline CSS, inline SVG charts,
//! no scripts, fonts or network. Each section is a card; the report data (minus histograms)
//! is embedded as JSON for tools that scrape the page. Every piece of text goes through
//! [`escape`].

use std::fmt::Write as _;

use super::document::{Align, Block, Cell, Document, Figure, Inline, Section, Table};
use super::{sections, svg, verdict_word};
use crate::model::Report;

const STYLE: &str = "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d232a;background:#f6f7f9}\
main{max-width:1200px;margin:0 auto;padding:16px}\
.banner{padding:16px 24px;color:#fff;font-size:22px;font-weight:600}\
.pass{background:#1f883d}.fail{background:#cf222e}.invalid{background:#9a6700}.aborted{background:#57606a}\
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0;padding:12px 16px;overflow-x:auto}\
h2{font-size:16px;margin:4px 0 10px}h3{font-size:14px;margin:12px 0 6px}table{border-collapse:collapse;width:100%}\
th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}\
th:first-child,td:first-child,td.l{text-align:left;white-space:normal}\
tr.total td{font-weight:600}.ok{color:#1f883d}.bad{color:#cf222e}\
table.endpoints td:first-child{white-space:nowrap}\
.chart{width:100%;height:auto;display:block}.chart text{font-size:11px;fill:#57606a}\
.ytick{text-anchor:end}.xtick{text-anchor:middle}.ctitle{font-weight:600;fill:#1d232a!important}\
.grid{stroke:#eaeef2}.stage{fill:#f0f3f6}.stage2{fill:#e6ebf1}.fault{fill:rgba(207,34,46,.18)}.alert{fill:rgba(191,135,0,.22)}\
.mark{stroke:#57606a;stroke-dasharray:2 2}.b-db{fill:#0969da}.b-pool{fill:#cf222e}.b-redis{fill:#bf8700}.b-svc{fill:#8c959f}polyline{fill:none;stroke-width:1.5}\
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

/// Rows of a long table (the chaos event log) shown before it is cut.
const MAX_LONG_ROWS: usize = 200;

/// Render `report.html`.
pub fn render(r: &Report) -> String {
    let doc = sections::document(r);
    let mut out = page(&doc);
    embedded_data(&mut out, r);
    out.push_str("</main></body></html>\n");
    out
}

/// Any document (a run's, a verify's) as a self-contained page.
pub(crate) fn document(doc: &Document) -> String {
    let mut out = page(doc);
    out.push_str("</main></body></html>\n");
    out
}

/// The page up to the end of the last section; the caller closes it.
fn page(doc: &Document) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Gauntlet {} — {}</title><style>{STYLE}</style></head><body>",
        verdict_word(doc.verdict),
        escape(&doc.scenario)
    );
    let _ = write!(
        out,
        "<div class=\"banner {}\">{} · {} · {}</div><main>",
        doc.verdict.as_str(),
        verdict_word(doc.verdict),
        escape(&doc.scenario),
        escape(&doc.profile)
    );
    for s in &doc.sections {
        section(&mut out, s);
    }
    out
}

fn mark(pass: bool) -> &'static str {
    if pass {
        "<span class=\"ok\">✔</span>"
    } else {
        "<span class=\"bad\">✘</span>"
    }
}

fn section(out: &mut String, s: &Section) {
    let _ = write!(out, "<section id=\"{}\">", s.id);
    if let Some(title) = &s.title {
        let _ = write!(out, "<h2>{}</h2>", escape(title));
    }
    for b in &s.blocks {
        match b {
            Block::Heading(h) => {
                let _ = write!(out, "<h3>{}</h3>", escape(h));
            }
            Block::Paragraph(p) => {
                out.push_str("<p>");
                inlines(out, p);
                out.push_str("</p>");
            }
            Block::List(items) => {
                out.push_str("<ul>");
                for item in items {
                    out.push_str("<li>");
                    inlines(out, std::slice::from_ref(item));
                    out.push_str("</li>");
                }
                out.push_str("</ul>");
            }
            Block::Table(t) => table(out, t),
            Block::Figure(Figure::Chart(c)) => out.push_str(&svg::render(c)),
            Block::Figure(Figure::Timeline(t)) => out.push_str(&svg::timeline(t)),
            Block::Figure(Figure::Bars(b)) => out.push_str(&super::bars::render(b)),
        }
    }
    out.push_str("</section>");
}

fn inlines(out: &mut String, parts: &[Inline]) {
    for part in parts {
        let _ = match part {
            Inline::Text(t) => write!(out, "{}", escape(t)),
            Inline::Strong(t) => write!(out, "<b>{}</b>", escape(t)),
            Inline::Code(t) => write!(out, "<code>{}</code>", escape(t)),
            Inline::Mark(pass) => write!(out, "{}", mark(*pass)),
        };
    }
}

fn table(out: &mut String, t: &Table) {
    match t.class {
        Some(class) => {
            let _ = write!(out, "<table class=\"{class}\"><tr>");
        }
        None => out.push_str("<table><tr>"),
    }
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(&c.header));
    }
    out.push_str("</tr>");
    for row in t.rows.iter().take(if t.long.is_some() {
        MAX_LONG_ROWS
    } else {
        usize::MAX
    }) {
        out.push_str(if row.total {
            "<tr class=\"total\">"
        } else {
            "<tr>"
        });
        for (i, (c, column)) in row.cells.iter().zip(&t.columns).enumerate() {
            // The stylesheet aligns numbers right and a table's first column left; other
            // word columns say so.
            out.push_str(if i > 0 && column.align == Align::Left {
                "<td class=\"l\">"
            } else {
                "<td>"
            });
            let _ = match c {
                Cell::Text(s) => write!(out, "{}", escape(s)),
                Cell::Code(s) => write!(out, "<code>{}</code>", escape(s)),
                Cell::Mark(pass) => write!(out, "{}", mark(*pass)),
            };
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    if let Some(noun) = t.long
        && t.rows.len() > MAX_LONG_ROWS
    {
        let _ = write!(
            out,
            "<p>…and {} more {noun} in report.json</p>",
            t.rows.len() - MAX_LONG_ROWS
        );
    }
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
