//! The "Over time" section: requests per second, latency percentiles and error rate per
//! second, behind shaded load stages and fault windows. Charts are report.html's alone (see
//! `Block::Figure`); report.md leaves the section out.

use super::document::{Block, Figure, Section};
use super::svg::{Band, Chart, Line};
use crate::format::{self, duration_us};
use crate::model::Report;

pub(crate) fn section(r: &Report) -> Section {
    let mut s = Section::new("over-time", "Over time");
    for chart in time_charts(r) {
        s.push(Block::Figure(Figure::Chart(chart)));
    }
    s
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
    // Firing alerts over the faults that should have fired them: how long the alerting took
    // to notice shows as the gap between the two shades.
    bands.extend(r.alerts.alerts.iter().filter_map(|a| {
        let fired = a.fired_at_offset_us?;
        Some(Band {
            start_s: fired as f64 / 1e6,
            end_s: a.resolved_at_offset_us.map_or(end_s, |e| e as f64 / 1e6),
            class: "alert",
            label: format!("alert {} firing", a.name),
        })
    }));
    bands
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
