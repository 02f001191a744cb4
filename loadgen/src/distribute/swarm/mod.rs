//! The `swarm` engine: the parts as one Docker Swarm service in `replicated-job` mode, N
//! tasks of the harness image on host networking, each writing its report to the run's
//! output directory (bind-mounted at its own path; on a swarm of several machines that
//! directory must be shared storage mounted at the same path on every node).
//!
//! The engine brings what it needs and takes it away again: the harness image is built from
//! this binary when the engine lacks it; a node in no swarm gets a single-node swarm for the
//! run and leaves it afterwards ([`lease`]); the service is removed once the parts' logs are
//! saved, whatever the outcome. How each part ended is the exit code its `run` recorded
//! ([`part`]: swarm would retry a task that exits non-zero), so the verdict is judged exactly
//! as the local engine's.

pub mod lease;
pub mod part;
pub mod service;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{Task, TaskState};
use bollard::query_parameters::{ListTasksOptions, LogsOptions, StopContainerOptions};
use futures::StreamExt;
use gauntlet_testcontainers::docker;

use super::Distribution;
use super::local::{Ended, LOG, judged};
use crate::exit::Failure;
use crate::run::part::StartAt;
use crate::run::signal::Interrupt;
use lease::SwarmLease;
use service::Placement;

/// How often the tasks are listed.
const POLL: Duration = Duration::from_millis(500);

/// Runs every part as a task of one replicated job and returns how each ended, like
/// [`super::local::run_parts`]. `image` overrides the harness image built from this binary.
pub async fn run_parts(d: &Distribution, image: Option<&str>) -> Result<Vec<Ended>, Failure> {
    let client = docker::connect(Duration::from_secs(5))
        .await
        .map_err(Failure::infrastructure)?;
    let image = match image {
        Some(reference) => reference.to_owned(),
        None => {
            let binary = crate::commands::image::this_binary()?;
            crate::commands::image::harness_image(&client, &binary)
                .await?
                .reference
        }
    };
    let place = placement(&client, d, image).await?;
    let lease = SwarmLease::acquire(&client)
        .await
        .map_err(Failure::infrastructure)?;
    let outcome = run_service(&client, d, &place).await;
    let released = lease.release(&client).await;
    let ended = outcome?;
    released.map_err(Failure::infrastructure)?;
    Ok(ended)
}

/// Paths made absolute and directories created, the host network found.
async fn placement(client: &Docker, d: &Distribution, image: String) -> Result<Placement, Failure> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .with_context(|| format!("resolving {}", p.display()))
            .map_err(Failure::bad_input)
    };
    for index in 0..d.workers {
        let dir = Distribution::part_dir(&d.out_dir, index);
        std::fs::create_dir_all(&dir)
            .and_then(|()| part::clear(&d.out_dir, index))
            .with_context(|| format!("preparing {}", dir.display()))
            .map_err(Failure::bad_input)?;
    }
    let spec_file = Path::new(&d.scenario);
    let host = client
        .inspect_network("host", None)
        .await
        .context("finding the engine's host network")
        .map_err(Failure::infrastructure)?;
    Ok(Placement {
        image,
        host_network: host.id.unwrap_or_else(|| "host".to_owned()),
        user: format!("{}:{}", nix::unistd::getuid(), nix::unistd::getgid()),
        out_dir: std::fs::canonicalize(&d.out_dir)
            .with_context(|| format!("resolving {}", d.out_dir.display()))
            .map_err(Failure::bad_input)?,
        credentials: absolute(&d.credentials)?,
        spec_file: if spec_file.is_file() {
            Some(absolute(spec_file)?)
        } else {
            None
        },
    })
}

/// Creates the service, waits for its tasks, saves their logs and removes it.
async fn run_service(
    client: &Docker,
    d: &Distribution,
    place: &Placement,
) -> Result<Vec<Ended>, Failure> {
    let interrupt = Interrupt::install();
    let start_at = StartAt::after(d.start_in);
    let name = format!("gauntlet-{}", std::process::id());
    let created = client
        .create_service(service::spec(d, place, &name, start_at), None)
        .await
        .context("creating the parts' swarm service")
        .map_err(Failure::infrastructure)?;
    tracing::debug!(id = ?created.id, name, "swarm service created");
    if !d.quiet {
        eprintln!(
            "gauntlet: {} split over {} swarm tasks ({name}, {}); load begins at {start_at} \
             (in {:.1} s)",
            d.spec.name(),
            d.workers,
            place.image,
            d.start_in.as_secs_f64()
        );
    }
    let waited = wait_for_tasks(client, d, &place.out_dir, &name, &interrupt).await;
    let ended = match waited {
        Ok(tasks) => Ok(save_logs(client, d, &place.out_dir, &tasks).await),
        Err(e) => Err(Failure::infrastructure(e)),
    };
    // Removing the service stops what still runs (SIGINT, then the grace) and its tasks.
    client
        .delete_service(&name)
        .await
        .with_context(|| format!("removing the swarm service {name}"))
        .map_err(Failure::infrastructure)?;
    ended
}

/// Lists the service's tasks until every part has ended (bounded by the run's deadline);
/// Ctrl-C, a failed part or the deadline stop the rest, which then get [`service::STOP_GRACE`]
/// to write their reports.
async fn wait_for_tasks(
    client: &Docker,
    d: &Distribution,
    out: &Path,
    name: &str,
    interrupt: &Interrupt,
) -> anyhow::Result<Vec<Task>> {
    let deadline = Instant::now() + d.deadline();
    let mut stopping_since: Option<Instant> = None;
    let mut stopped: HashSet<String> = HashSet::new();
    loop {
        let tasks = list_tasks(client, name).await?;
        let ended: Vec<u32> = (0..d.workers)
            .filter(|&i| slot_has_ended(&tasks, i))
            .collect();
        if ended.len() as u32 == d.workers {
            return Ok(tasks);
        }
        let broken = tasks.iter().any(died)
            || ended
                .iter()
                .any(|&i| !judged(part::recorded_exit(out, i).and_then(|s| s.code())));
        if stopping_since.is_none() && (interrupt.is_set() || broken || Instant::now() >= deadline)
        {
            tracing::warn!("stopping the parts (Ctrl-C, a failed part, or the deadline)");
            stopping_since = Some(Instant::now());
        }
        if stopping_since.is_some() {
            // A job cannot be scaled to zero; its running containers can be stopped: each
            // gets SIGINT, writes its aborted report and exits. Every poll, because swarm
            // may start a replacement for a killed task after the first round of stops.
            for id in tasks
                .iter()
                .filter(|t| !has_ended(t))
                .filter_map(container_id)
            {
                if stopped.insert(id.to_owned()) {
                    let options = StopContainerOptions {
                        signal: Some("SIGINT".to_owned()),
                        t: Some(service::STOP_GRACE.as_secs() as i32),
                    };
                    let _ = client.stop_container(id, Some(options)).await;
                }
            }
        }
        if stopping_since.is_some_and(|at| at.elapsed() > service::STOP_GRACE * 2) {
            // What never started (or never stopped) counts as failed.
            return Ok(tasks);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The API leaves a zero slot out of the JSON.
fn slot(task: &Task) -> u32 {
    task.slot.and_then(|s| u32::try_from(s).ok()).unwrap_or(0)
}

/// Slot `index` has a task that ended and none still to run (a replaced task's successor).
fn slot_has_ended(tasks: &[Task], index: u32) -> bool {
    let mut of_slot = tasks.iter().filter(|t| slot(t) == index).peekable();
    of_slot.peek().is_some() && of_slot.all(has_ended)
}

async fn list_tasks(client: &Docker, name: &str) -> anyhow::Result<Vec<Task>> {
    let filters = std::collections::HashMap::from([("service", vec![name])]);
    let options = bollard::query_parameters::ListTasksOptionsBuilder::default()
        .filters(&filters)
        .build();
    client
        .list_tasks(Some::<ListTasksOptions>(options))
        .await
        .with_context(|| format!("listing the tasks of {name}"))
}

fn state(task: &Task) -> Option<&TaskState> {
    task.status.as_ref()?.state.as_ref()
}

fn has_ended(task: &Task) -> bool {
    matches!(
        state(task),
        Some(
            TaskState::COMPLETE
                | TaskState::FAILED
                | TaskState::REJECTED
                | TaskState::SHUTDOWN
                | TaskState::ORPHANED
                | TaskState::REMOVE
        )
    )
}

/// The task's container did not exit on its own with 0: killed (by a signal, the kernel's
/// OOM killer, a stop past its grace), crashed, or never placed. A part never exits
/// non-zero by itself ([`part`]), so such a task lost its part, whatever a replacement
/// task of the same slot did afterwards.
fn died(task: &Task) -> bool {
    matches!(
        state(task),
        Some(TaskState::FAILED | TaskState::REJECTED | TaskState::ORPHANED)
    )
}

/// Slot `index` had a task that died.
fn slot_lost(tasks: &[Task], index: u32) -> bool {
    tasks.iter().any(|t| slot(t) == index && died(t))
}

fn container_id(task: &Task) -> Option<&str> {
    task.status
        .as_ref()?
        .container_status
        .as_ref()?
        .container_id
        .as_deref()
}

/// Each part's tasks' output saved as `part-I/worker.log` (what the local engine writes),
/// and how the part ended: the exit code its `run` recorded, or none.
async fn save_logs(client: &Docker, d: &Distribution, out: &Path, tasks: &[Task]) -> Vec<Ended> {
    let mut ended = Vec::new();
    for index in 0..d.workers {
        let dir: PathBuf = Distribution::part_dir(out, index);
        let mut log = String::new();
        for task in tasks.iter().filter(|t| slot(t) == index) {
            log.push_str(&task_log(client, task).await);
            if let Some(err) = task.status.as_ref().and_then(|s| s.err.as_deref()) {
                log.push_str(&format!("swarm: task {}: {err}\n", state_name(task)));
            }
        }
        if let Err(e) = std::fs::write(dir.join(LOG), log) {
            tracing::warn!(error = %e, "saving part {index}'s log");
        }
        // A slot with a task that died failed, even when a replacement (started before the
        // first could mark the part attempted) ran it afterwards: late, out of step.
        let lost = slot_lost(tasks, index);
        ended.push(Ended {
            index,
            status: if lost {
                None
            } else {
                part::recorded_exit(out, index)
            },
            dir,
        });
    }
    ended
}

fn state_name(task: &Task) -> String {
    state(task).map_or("unknown".to_owned(), |s| s.to_string())
}

/// The task's stdout and stderr, as the engine kept them.
async fn task_log(client: &Docker, task: &Task) -> String {
    let Some(id) = task.id.as_deref() else {
        return String::new();
    };
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        ..LogsOptions::default()
    };
    let mut text = String::new();
    let mut stream = client.task_logs(id, Some(options));
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(LogOutput::StdOut { message } | LogOutput::StdErr { message })
            | Ok(LogOutput::Console { message }) => {
                text.push_str(&String::from_utf8_lossy(&message))
            }
            Ok(_) => {}
            Err(e) => {
                text.push_str(&format!("(log cut short: {e})\n"));
                break;
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use bollard::models::TaskStatus;

    use super::*;

    fn task(slot: i64, state: TaskState) -> Task {
        Task {
            slot: Some(slot),
            status: Some(TaskStatus {
                state: Some(state),
                ..TaskStatus::default()
            }),
            ..Task::default()
        }
    }

    #[test]
    fn a_slot_whose_task_was_killed_is_lost_even_when_a_replacement_completed() {
        let tasks = [
            task(0, TaskState::FAILED),
            task(0, TaskState::COMPLETE),
            task(1, TaskState::COMPLETE),
            task(2, TaskState::RUNNING),
        ];
        assert!(slot_lost(&tasks, 0));
        assert!(!slot_lost(&tasks, 1));
        assert!(!slot_lost(&tasks, 2));
        assert!(slot_has_ended(&tasks, 0));
        assert!(!slot_has_ended(&tasks, 2));
    }

    #[test]
    fn a_replacement_still_running_keeps_its_slot_open() {
        let tasks = [task(1, TaskState::FAILED), task(1, TaskState::RUNNING)];
        assert!(!slot_has_ended(&tasks, 1));
        assert!(slot_lost(&tasks, 1));
    }
}
