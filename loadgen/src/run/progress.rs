//! The progress line: elapsed time, planned users, requests, rate and errors. Rewritten in
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
        let line = format!(
            "{:>4}s/{total}s  users ~{}  requests {requests}  {rate:.0}/s  errors {errors}",
            elapsed.as_secs(),
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
