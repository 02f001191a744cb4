//! A stacked horizontal bar per row (the diagnosis: where each endpoint's mean latency went),
//! as inline SVG like the charts beside it (`svg.rs`): offline, byte-identical for the same
//! input.

use std::fmt::Write as _;

use super::html::escape;

const W: f64 = 960.0;
const LABEL_W: f64 = 260.0;
const VALUE_W: f64 = 90.0;
const ROW_H: f64 = 22.0;
const TOP: f64 = 28.0;

/// Rows of parts stacked left to right, all rows on one scale (the longest row fills it).
pub(crate) struct StackedBars {
    pub title: &'static str,
    /// (class, legend label) per part, in stacking order.
    pub parts: Vec<(&'static str, &'static str)>,
    /// (row label, value per part in the parts' order, total label)
    pub rows: Vec<(String, Vec<f64>, String)>,
}

/// Render the bars as an `<svg>` element.
pub(crate) fn render(b: &StackedBars) -> String {
    let max = b
        .rows
        .iter()
        .map(|(_, v, _)| v.iter().sum::<f64>())
        .fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let plot_w = W - LABEL_W - VALUE_W;
    let h = TOP + ROW_H * b.rows.len().max(1) as f64 + 6.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart bars\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\">",
        escape(b.title)
    );
    let mut x = LABEL_W;
    for (class, label) in &b.parts {
        let _ = write!(
            out,
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"6\" width=\"10\" height=\"10\"></rect><text class=\"key\" x=\"{:.1}\" y=\"15\">{}</text>",
            x + 14.0,
            escape(label)
        );
        x += 120.0;
    }
    for (i, (label, values, total)) in b.rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let _ = write!(
            out,
            "<text class=\"key\" x=\"4\" y=\"{:.1}\">{}</text>",
            y + 14.0,
            escape(label)
        );
        let mut x = LABEL_W;
        for ((class, part), v) in b.parts.iter().zip(values) {
            let w = v / scale * plot_w;
            if w > 0.0 {
                let _ = write!(
                    out,
                    "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{}: {}</title></rect>",
                    y + 2.0,
                    ROW_H - 6.0,
                    escape(label),
                    escape(part)
                );
            }
            x += w;
        }
        let _ = write!(
            out,
            "<text class=\"key\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + 6.0,
            y + 14.0,
            escape(total)
        );
    }
    out.push_str("</svg>");
    out
}
