//! The `local` engine: the parts as child processes of this executable on this machine.
//!
//! Each part is a [`Supervised`] child in its own process group whose parent-death signal is
//! SIGINT: if this process dies, every part still writes its (aborted) report and exits,
//! and a terminal's Ctrl-C reaches this process only, which forwards it to the parts.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use gauntlet_testcontainers::process::Supervised;
use nix::sys::signal::Signal;

use super::Distribution;
use crate::exit::{Exit, Failure};
use crate::run::part::StartAt;
use crate::run::signal::Interrupt;

/// How often the parts are checked for having exited.
const POLL: Duration = Duration::from_millis(100);
/// How long an interrupted or overdue part gets to write its report before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// One part as it ended.
#[derive(Debug)]
pub struct Ended {
    /// Its index.
    pub index: u32,
    /// How it exited; `None` when it had to be killed.
    pub status: Option<ExitStatus>,
    /// Its directory (report, log).
    pub dir: PathBuf,
}

impl Ended {
    /// The report it wrote, when it wrote one.
    pub fn report(&self) -> Option<PathBuf> {
        let path = self.dir.join("report.json");
        path.is_file().then_some(path)
    }

    /// Its exit code as the contract reads it (a part killed by a signal has none).
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// The last non-empty line of its log: what it said when it failed.
    pub fn last_words(&self) -> String {
        std::fs::read_to_string(self.dir.join(LOG))
            .ok()
            .and_then(|t| {
                t.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }
}

/// A part's stdout and stderr, in its directory.
pub const LOG: &str = "worker.log";

/// Starts every part, waits for all of them (bounded by [`Distribution::deadline`]) and
/// returns how each ended. Ctrl-C is forwarded to the parts, which then write aborted
/// reports; a part still running at the deadline is stopped and counts as failed.
pub async fn run_parts(d: &Distribution) -> Result<Vec<Ended>, Failure> {
    let exe = std::env::current_exe()
        .context("finding this executable to start the parts")
        .map_err(Failure::infrastructure)?;
    let interrupt = Interrupt::install();
    let start_at = StartAt::after(d.start_in);
    let mut running = Vec::new();
    for index in 0..d.workers {
        let dir = Distribution::part_dir(&d.out_dir, index);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating {}", dir.display()))
            .map_err(Failure::bad_input)?;
        let log = std::fs::File::create(dir.join(LOG))
            .with_context(|| format!("creating {}", dir.join(LOG).display()))
            .map_err(Failure::bad_input)?;
        let err = log
            .try_clone()
            .context("duplicating the log handle")
            .map_err(Failure::infrastructure)?;
        let mut cmd = Command::new(&exe);
        cmd.args(d.part_args(
            &d.scenario,
            &index.to_string(),
            start_at,
            &d.credentials,
            &d.out_dir,
        ))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
        let child = Supervised::spawn(cmd, Signal::SIGINT)
            .with_context(|| format!("starting part {index}/{}", d.workers))
            .map_err(Failure::infrastructure)?;
        tracing::debug!(index, pid = child.id(), "part started");
        running.push((index, dir, Some(child)));
    }
    if !d.quiet {
        eprintln!(
            "gauntlet: {} split over {} local workers; load begins at {start_at} (in {:.1} s)",
            d.spec.name(),
            d.workers,
            d.start_in.as_secs_f64()
        );
    }
    let deadline = Instant::now() + d.deadline();
    let mut ended: Vec<Ended> = Vec::new();
    let mut forwarded = false;
    while ended.len() < running.len() {
        for (index, dir, slot) in &mut running {
            let Some(child) = slot.as_mut() else { continue };
            if let Some(status) = child.exit_status() {
                slot.take();
                ended.push(Ended {
                    index: *index,
                    status: Some(status),
                    dir: dir.clone(),
                });
            }
        }
        // Ctrl-C, or a part that failed: the run can no longer have a verdict, so the others
        // stop now (writing aborted reports) rather than load the service for nothing.
        let broken = !failed(&ended).is_empty();
        if (interrupt.is_set() || broken) && !forwarded {
            forwarded = true;
            if broken {
                tracing::warn!("a part failed; stopping the others");
            }
            for child in running.iter().filter_map(|(_, _, c)| c.as_ref()) {
                let _ = child.signal(Signal::SIGINT);
            }
        }
        if Instant::now() >= deadline {
            tracing::warn!(after = ?d.deadline(), "parts still running at the deadline; stopping them");
            for (index, dir, slot) in &mut running {
                if let Some(child) = slot.take() {
                    child.stop(Signal::SIGINT, STOP_GRACE).await;
                    ended.push(Ended {
                        index: *index,
                        // Overdue is a failure, whatever it managed to write.
                        status: None,
                        dir: dir.clone(),
                    });
                }
            }
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    ended.sort_by_key(|e| e.index);
    Ok(ended)
}

/// The parts that failed: no report, or an exit code that means no run happened (bad
/// input, infrastructure, a signal). A part that ran and judged its share (pass, fail,
/// invalid, aborted) has a report the merge judges again on the whole.
pub fn failed(ended: &[Ended]) -> Vec<&Ended> {
    ended
        .iter()
        .filter(|e| !judged(e.code()) || e.report().is_none())
        .collect()
}

/// Whether a part's exit code says it ran and judged its share (pass, fail, invalid,
/// aborted), as every engine reads it.
pub fn judged(code: Option<i32>) -> bool {
    matches!(code, Some(0 | 1 | 4 | 130))
}

/// The exit code of a run with failed parts: a part's own bad input (2) or infrastructure
/// failure (3) when every failed part agrees, else infrastructure: a part that died or
/// never reported is something the run could not do.
pub fn failed_exit(failed: &[&Ended]) -> Exit {
    let bad_input = !failed.is_empty() && failed.iter().all(|e| e.code() == Some(2));
    if bad_input {
        Exit::BadInput
    } else {
        Exit::Infrastructure
    }
}
