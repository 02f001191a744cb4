//! `report.md`: GitHub-flavoured Markdown, verdict first, then failed thresholds, then tables.
//! Sized for a PR comment and `$GITHUB_STEP_SUMMARY`: charts are left out and long tables are
//! cut with a count of what was left out.

use std::fmt::Write as _;

use super::document::{Align, Block, Cell, Document, Inline, Section, Table};
use super::{sections, verdict_word};
use crate::model::{Report, Verdict};

/// Rows of a long table (the chaos event log) shown before it is cut: PR comments are
/// limited to 64 KiB.
const MAX_LONG_ROWS: usize = 40;

/// Render `report.md`.
pub fn render(r: &Report) -> String {
    document(&sections::document(r))
}

/// Any document (a run's, a verify's) as Markdown.
pub(crate) fn document(doc: &Document) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let _ = write!(
        out,
        "## {} Gauntlet: {} — {} ({})\n\n",
        icon(doc.verdict),
        verdict_word(doc.verdict),
        cell(&doc.scenario),
        cell(&doc.profile)
    );
    for s in &doc.sections {
        section(&mut out, s);
    }
    // One newline at the end, not the blank line every block leaves.
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Escape user text for Markdown: no table breaks, no emphasis, no raw HTML.
pub(crate) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// A code span holding `s` exactly: fenced by one backtick more than the longest run inside
/// it, padded when `s` starts or ends with a backtick (CommonMark strips one space each side).
fn code_span(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Invalid => "⚠️",
        Verdict::Aborted => "⏹️",
    }
}

fn mark(pass: bool) -> &'static str {
    if pass { "✅" } else { "❌" }
}

fn section(out: &mut String, s: &Section) {
    if s.blocks.iter().all(|b| matches!(b, Block::Figure(_))) {
        return;
    }
    if let Some(title) = &s.title {
        let _ = write!(out, "### {}\n\n", cell(title));
    }
    for b in &s.blocks {
        match b {
            Block::Heading(h) => {
                let _ = write!(out, "#### {}\n\n", cell(h));
            }
            Block::Paragraph(p) => {
                inlines(out, p);
                out.push_str("\n\n");
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    inlines(out, std::slice::from_ref(item));
                    out.push('\n');
                }
                out.push('\n');
            }
            Block::Table(t) => table(out, t),
            Block::Figure(_) => {}
        }
    }
}

fn inlines(out: &mut String, parts: &[Inline]) {
    for part in parts {
        match part {
            Inline::Text(t) => out.push_str(&cell(t)),
            Inline::Strong(t) => {
                let _ = write!(out, "**{}**", cell(t));
            }
            Inline::Code(t) => out.push_str(&code_span(t)),
            Inline::Mark(pass) => out.push_str(mark(*pass)),
        }
    }
}

fn table(out: &mut String, t: &Table) {
    out.push('|');
    for c in &t.columns {
        match c.header.as_str() {
            "" => out.push_str(" |"),
            h => {
                let _ = write!(out, " {} |", cell(h));
            }
        }
    }
    out.push_str("\n|");
    for c in &t.columns {
        out.push_str(match c.align {
            Align::Left => "---|",
            Align::Right => "---:|",
        });
    }
    out.push('\n');
    let shown = if t.long.is_some() {
        MAX_LONG_ROWS
    } else {
        usize::MAX
    };
    for row in t.rows.iter().take(shown) {
        out.push('|');
        for (i, c) in row.cells.iter().enumerate() {
            // Code cells are escaped text here, like every cell: a code span would show a
            // user's `<` as `&lt;`, and one escaping rule keeps any text inside its cell.
            let text = match c {
                Cell::Text(s) | Cell::Code(s) => cell(s),
                Cell::Mark(pass) => mark(*pass).to_owned(),
            };
            if row.total && i == 0 {
                let _ = write!(out, " **{text}** |");
            } else {
                let _ = write!(out, " {text} |");
            }
        }
        out.push('\n');
    }
    if let Some(noun) = t.long
        && t.rows.len() > shown
    {
        let _ = write!(
            out,
            "\n…and {} more {noun} in report.json\n",
            t.rows.len() - shown
        );
    }
    out.push('\n');
}
