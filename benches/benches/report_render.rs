//! Rendering a one-hour run (3,600 seconds × 15 endpoints) in every format must take well
//! under a second. The report is built once; each format is measured separately, plus all of
//! them together (what the CLI does at the end of a run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gauntlet_reports::render::{console, html, json, junit, markdown};
use gauntlet_reports::{evaluate_all, parse_threshold, synthetic};

fn hour_report() -> gauntlet_reports::Report {
    let mut report = synthetic::report(3_600, 15, 2).expect("synthetic report builds");
    let thresholds = [
        "http.p95 < 300ms",
        "during fault: http.error_rate < 20%",
        "http.rps > 10",
    ]
    .map(|t| parse_threshold(t).expect("bench threshold parses"));
    evaluate_all(&thresholds, &mut report);
    report
}

fn render_all(c: &mut Criterion) {
    let report = hour_report();
    let mut group = c.benchmark_group("report_render_hour");
    group.sample_size(10);
    group.bench_function("json", |b| {
        b.iter(|| json(black_box(&report)).expect("json"))
    });
    group.bench_function("markdown", |b| {
        b.iter(|| markdown::render(black_box(&report)))
    });
    group.bench_function("html", |b| b.iter(|| html::render(black_box(&report))));
    group.bench_function("junit", |b| {
        b.iter(|| junit::render(black_box(&report)).expect("junit"))
    });
    group.bench_function("console", |b| {
        b.iter(|| console::render(black_box(&report), &[]))
    });
    group.bench_function("all_formats", |b| {
        b.iter(|| {
            let r = black_box(&report);
            (
                json(r).expect("json").len(),
                markdown::render(r).len(),
                html::render(r).len(),
                junit::render(r).expect("junit").len(),
                console::render(r, &[]).len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, render_all);
criterion_main!(benches);
