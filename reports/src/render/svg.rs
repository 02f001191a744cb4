//! Inline SVG line charts for the HTML report: no JavaScript, no external assets, so the file
//! renders offline and in any viewer. Coordinates are printed with one decimal for size.

use std::fmt::Write as _;

use super::html::escape;
use crate::format::duration_us;

const W: f64 = 960.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 26.0;

/// One polyline; `class` picks its colour from the page's stylesheet.
pub(crate) struct Line {
    pub label: &'static str,
    pub class: &'static str,
    /// (seconds from run start, value)
    pub points: Vec<(f64, f64)>,
}

/// A shaded time interval behind the lines: a load stage, a fault window or a firing alert.
pub(crate) struct Band {
    pub start_s: f64,
    pub end_s: f64,
    pub class: &'static str,
    pub label: String,
}

/// A chart: lines over time with shaded bands.
pub(crate) struct Chart {
    pub title: &'static str,
    pub x_max_s: f64,
    pub lines: Vec<Line>,
    pub bands: Vec<Band>,
    pub y_fmt: fn(f64) -> String,
}

/// A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * mag)
}

/// Render the chart as an `<svg>` element.
pub(crate) fn render(c: &Chart) -> String {
    let x_max = if c.x_max_s > 0.0 { c.x_max_s } else { 1.0 };
    let y_top = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let y_max = nice_ceiling(y_top);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |s: f64| LEFT + (s.clamp(0.0, x_max) / x_max) * pw;
    let sy = |v: f64| TOP + ph - (v.clamp(0.0, y_max) / y_max) * ph;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = c.title
    );
    for b in &c.bands {
        let (x0, x1) = (sx(b.start_s), sx(b.end_s));
        let _ = write!(
            out,
            "<rect class=\"{}\" x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph}\"><title>{}</title></rect>",
            b.class,
            (x1 - x0).max(1.0),
            escape(&b.label)
        );
    }
    axes(&mut out, c, x_max, y_max, &sx, &sy);
    // In order, so the last is on top: where p95 and p99 coincide (a few requests a second
    // make them equal), the dashed p99 lets the solid p95 show through its gaps.
    for l in &c.lines {
        let _ = write!(out, "<polyline class=\"{}\" points=\"", l.class);
        for (i, (s, v)) in l.points.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{:.1},{:.1}", sx(*s), sy(*v));
        }
        out.push_str("\"/>");
    }
    legend(&mut out, c);
    out.push_str("</svg>");
    out
}

fn axes(
    out: &mut String,
    c: &Chart,
    x_max: f64,
    y_max: f64,
    sx: &dyn Fn(f64) -> f64,
    sy: &dyn Fn(f64) -> f64,
) {
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let y = sy(v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"ytick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&(c.y_fmt)(v))
        );
    }
    for i in 0..=6 {
        let s = x_max * f64::from(i) / 6.0;
        let _ = write!(
            out,
            "<text class=\"xtick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            sx(s),
            H - 8.0,
            duration_us((s * 1e6) as u64)
        );
    }
    let _ = write!(
        out,
        "<text class=\"ctitle\" x=\"{LEFT}\" y=\"16\">{}</text>",
        c.title
    );
}

/// Width a title may take, per character: the bold 11 px title is ~7 units a character, and
/// narrow screens enlarge chart text by half (html.rs), so 10 keeps the key clear of it.
const TITLE_UNITS_PER_CHAR: f64 = 10.0;

/// The key, right after the title rather than at the far right: on a phone the chart scrolls
/// sideways, and a key at the right end would be out of view next to the lines it explains.
fn legend(out: &mut String, c: &Chart) {
    let mut x = LEFT + TITLE_UNITS_PER_CHAR * c.title.chars().count() as f64 + 24.0;
    for l in &c.lines {
        let _ = write!(
            out,
            "<rect class=\"{}-key\" x=\"{x:.1}\" y=\"8\" width=\"12\" height=\"4\"/><text class=\"key\" x=\"{:.1}\" y=\"14\">{}</text>",
            l.class,
            x + 16.0,
            l.label
        );
        x += 70.0;
    }
}

/// A horizontal timeline: one row per fault with its window, and a tick per event.
pub(crate) struct Timeline {
    pub x_max_s: f64,
    /// (row label, start s, end s)
    pub rows: Vec<(String, f64, f64)>,
    /// (at s, label)
    pub marks: Vec<(f64, String)>,
}

/// Render the chaos timeline as an `<svg>` element.
pub(crate) fn timeline(t: &Timeline) -> String {
    let x_max = if t.x_max_s > 0.0 { t.x_max_s } else { 1.0 };
    let row_h = 22.0;
    let h = TOP + row_h * (t.rows.len().max(1) as f64) + BOTTOM;
    let pw = W - 160.0 - RIGHT;
    let sx = |s: f64| 160.0 + (s.clamp(0.0, x_max) / x_max) * pw;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"Chaos timeline\">"
    );
    for (i, (label, s0, s1)) in t.rows.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let _ = write!(
            out,
            "<text class=\"key\" x=\"4\" y=\"{:.1}\">{}</text><rect class=\"fault\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
            y + 14.0,
            escape(label),
            sx(*s0),
            (sx(*s1) - sx(*s0)).max(2.0),
            row_h - 6.0,
            escape(label)
        );
    }
    for (s, label) in &t.marks {
        let x = sx(*s);
        let _ = write!(
            out,
            "<line class=\"mark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"><title>{}</title></line>",
            h - BOTTOM,
            escape(label)
        );
    }
    for i in 0..=6 {
        let s = x_max * f64::from(i) / 6.0;
        let _ = write!(
            out,
            "<text class=\"xtick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            sx(s),
            h - 8.0,
            duration_us((s * 1e6) as u64)
        );
    }
    out.push_str("</svg>");
    out
}
