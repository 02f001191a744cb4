//! The progress line: elapsed time, stage, planned users, requests, rate, p95 of the last
//! second and the error rate. Rewritten in
//! place on a terminal; plain lines every few seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gauntlet_scenarios::LoadPlan;

use super::attack::stage_secs;
use super::recorder::Recorder;

/// Prints until dropped/aborted. Goes to stderr: stdout carries the summary.
pub async fn report(recorder: Arc<Recorder>, plan: LoadPlan, started: Instant) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let total = plan
        .stages
        .iter()
        .map(|s| stage_secs(s.duration))
        .sum::<u64>();
    let mut last = (0u64, Instant::now());
    loop {
        tokio::time::sleep(every).await;
        let (requests, errors) = recorder.totals();
        let elapsed = started.elapsed();
        let rate = (requests - last.0) as f64 / last.1.elapsed().as_secs_f64().max(1e-3);
        last = (requests, Instant::now());
        let p95 = recorder
            .last_second_p95_us()
            .map_or_else(|| "-".to_owned(), |us| format!("{:.1}ms", us as f64 / 1e3));
        let error_pct = 100.0 * errors as f64 / requests.max(1) as f64;
        let line = format!(
            "{:>4}s/{total}s  {}  users ~{}  requests {requests}  {rate:.0}/s  p95 {p95}  errors {error_pct:.1}%",
            elapsed.as_secs(),
            stage_at(&plan, elapsed),
            planned_users(&plan, elapsed),
        );
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            write!(err, "\r{line}   ")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}

/// Name of the stage running at `elapsed` ("done" after the last).
fn stage_at(plan: &LoadPlan, elapsed: Duration) -> &str {
    let mut end = 0;
    for s in &plan.stages {
        end += stage_secs(s.duration);
        if elapsed.as_secs() < end {
            return &s.name;
        }
    }
    "done"
}

/// Users the plan asks for at `elapsed` (linear inside gradual stages).
fn planned_users(plan: &LoadPlan, elapsed: Duration) -> u32 {
    let mut start = 0.0;
    let t = elapsed.as_secs_f64();
    for s in &plan.stages {
        let len = stage_secs(s.duration) as f64;
        if t < start + len {
            if !s.kind.is_gradual() {
                return s.users;
            }
            let f = (t - start) / len;
            let from = f64::from(s.from_users);
            return (from + (f64::from(s.users) - from) * f).round() as u32;
        }
        start += len;
    }
    0
}

/// Ends a rewritten line so the summary starts on its own.
pub fn finish() {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}
