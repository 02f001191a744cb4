//! One server as a child process we can stop, kill, freeze and start again on the same port.
//!
//! Each server runs in its own process group so that `pause` (SIGSTOP) and `kill` (SIGKILL)
//! reach every process it forked: Postgres backends keep serving queries when only the
//! postmaster is stopped.

use std::{
    fs::File,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::{Gid, Pid, Uid},
};

use crate::error::{ControlError, ProvisionError};

/// How to (re)launch the server: everything but the PID stays fixed across restarts.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// Executable.
    pub program: PathBuf,
    /// Arguments, including the pinned port.
    pub args: Vec<String>,
    /// Postgres refuses to run as root, so when we are root its child switches to the
    /// `postgres` user through uid/gid on the Command (no runuser/su: they would sit between
    /// us and the server and not forward every signal).
    pub run_as: Option<(Uid, Gid)>,
    /// stdout and stderr go here (appended across restarts) for error messages.
    pub log_path: PathBuf,
    /// Signal that means "shut down quickly but cleanly": SIGINT for Postgres (SIGTERM is its
    /// "smart" shutdown that waits for every client to leave), SIGTERM for Redis.
    pub stop_signal: Signal,
}

/// A running (or stopped) child process.
#[derive(Debug)]
pub struct ManagedProcess {
    spec: LaunchSpec,
    /// `None` while stopped or killed.
    child: Mutex<Option<Child>>,
}

/// How long a clean stop may take before we escalate to SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl ManagedProcess {
    /// Spawns the process.
    pub fn spawn(spec: LaunchSpec) -> Result<Self, ProvisionError> {
        let child = spawn_child(&spec)?;
        Ok(Self {
            spec,
            child: Mutex::new(Some(child)),
        })
    }

    /// The last `max_bytes` of the server's log.
    pub fn log_tail(&self, max_bytes: usize) -> String {
        let text = std::fs::read(&self.spec.log_path).unwrap_or_default();
        let start = text.len().saturating_sub(max_bytes);
        String::from_utf8_lossy(&text[start..]).into_owned()
    }

    /// Whether the child has exited on its own (e.g. it could not bind its port).
    pub fn exited_early(&self) -> bool {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(Some(_))),
            None => true,
        }
    }

    /// Starts the process again with the same spec (same port, same data).
    pub fn start(&self) -> Result<(), ControlError> {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(child) = guard.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            return Err(ControlError::InvalidState {
                action: "start",
                reason: "the server is already running".into(),
            });
        }
        *guard = Some(spawn_child(&self.spec).map_err(|e| ControlError::Failed {
            action: "start",
            reason: e.to_string(),
        })?);
        Ok(())
    }

    /// Clean shutdown with the server's fast-shutdown signal; SIGKILL after a grace period.
    pub async fn stop(&self) -> Result<(), ControlError> {
        let Some(mut child) = self.take_running("stop")? else {
            return Ok(());
        };
        let pgid = Pid::from_raw(child.id() as i32);
        // A frozen server cannot act on SIGINT.
        let _ = killpg(pgid, Signal::SIGCONT);
        let _ = nix::sys::signal::kill(pgid, self.spec.stop_signal);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                // Stragglers (e.g. a backend still finishing) must not outlive the stop.
                let _ = killpg(pgid, Signal::SIGKILL);
                wait_group_gone(pgid);
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::warn!(
            pid = child.id(),
            "server ignored its stop signal; killing it"
        );
        kill_group_and_reap(&mut child);
        Ok(())
    }

    /// SIGKILL to the whole group: a crash, as far as the server can tell.
    pub fn kill(&self) -> Result<(), ControlError> {
        if let Some(mut child) = self.take_running("kill")? {
            kill_group_and_reap(&mut child);
        }
        Ok(())
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`) to the whole group.
    pub fn freeze(&self, frozen: bool) -> Result<(), ControlError> {
        let action = if frozen { "pause" } else { "unpause" };
        let guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let child = guard.as_ref().ok_or_else(|| ControlError::InvalidState {
            action,
            reason: "the server is not running".into(),
        })?;
        let signal = if frozen {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        };
        killpg(Pid::from_raw(child.id() as i32), signal).map_err(|e| ControlError::Failed {
            action,
            reason: e.to_string(),
        })
    }

    /// The child if it is running; `Ok(None)` if it already exited (then it is reaped).
    fn take_running(&self, action: &'static str) -> Result<Option<Child>, ControlError> {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut child) = guard.take() else {
            return Err(ControlError::InvalidState {
                action,
                reason: "the server is not running".into(),
            });
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Ok(None);
        }
        Ok(Some(child))
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        let guard = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(mut child) = guard.take() {
            kill_group_and_reap(&mut child);
        }
    }
}

fn spawn_child(spec: &LaunchSpec) -> Result<Child, ProvisionError> {
    use std::os::unix::process::CommandExt;

    let log = File::options()
        .create(true)
        .append(true)
        .open(&spec.log_path)
        .map_err(|e| ProvisionError::io(format!("opening {}", spec.log_path.display()), e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| ProvisionError::io("duplicating the log handle", e))?;
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own group, so signals reach its children and a Ctrl-C in our terminal does not
        // reach it before we have had a chance to shut it down in order.
        .process_group(0);
    if let Some((uid, gid)) = spec.run_as {
        command.uid(uid.as_raw()).gid(gid.as_raw());
    }
    let child = command
        .spawn()
        .map_err(|e| ProvisionError::io(format!("spawning {}", spec.program.display()), e))?;
    // The log lives in the server's directory: the lease goes next to it.
    if let Some(dir) = spec.log_path.parent() {
        super::reaper::write_lease(dir, child.id());
    }
    Ok(child)
}

fn kill_group_and_reap(child: &mut Child) {
    let pgid = Pid::from_raw(child.id() as i32);
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait();
    wait_group_gone(pgid);
}

/// How long killed group members may take to finish exiting.
const GROUP_EXIT_DEADLINE: Duration = Duration::from_secs(5);

/// Waits until no live process is left in group `pgid`. Postgres backends are children of the
/// postmaster, not ours, so waiting for the postmaster is not enough: a backend still exiting
/// keeps the shared memory attached, and a restart in that window fails with "pre-existing
/// shared memory block is still in use" (seen on a loaded machine). Zombies do not count: they
/// hold no memory, and whether they are reaped depends on the machine's init.
fn wait_group_gone(pgid: Pid) {
    let deadline = Instant::now() + GROUP_EXIT_DEADLINE;
    while group_has_live_members(pgid) {
        if Instant::now() >= deadline {
            tracing::warn!(
                pgid = pgid.as_raw(),
                "killed server processes are still exiting"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether any non-zombie process has process group `pgid` (from `/proc/*/stat`).
fn group_has_live_members(pgid: Pid) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Some(stat) = std::fs::read_to_string(entry.path().join("stat")).ok() else {
            return false;
        };
        // Fields after the parenthesised command name: state (3), ppid (4), pgrp (5).
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        pgrp == Some(pgid.as_raw()) && state != Some("Z")
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn a_killed_group_is_waited_for_until_its_members_are_gone() {
        // A shell in its own group with a grandchild we never wait for, like a postmaster's
        // backends.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .expect("sh");
        let pgid = Pid::from_raw(child.id() as i32);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Both the shell and its `sleep` count; the shell alone is enough to start with.
        while !group_has_live_members(pgid) {
            assert!(Instant::now() < deadline, "group never seen");
            std::thread::sleep(Duration::from_millis(5));
        }
        kill_group_and_reap(&mut child);
        assert!(!group_has_live_members(pgid));
    }
}
