//! One server as a child process we can stop, kill, freeze and start again on the same port,
//! on the shared supervisor ([`crate::process::Supervised`]): its own process group, so that
//! `pause` (SIGSTOP) and `kill` (SIGKILL) reach every process it forked (Postgres backends keep
//! serving queries when only the postmaster is stopped), and SIGKILL from the kernel when the
//! harness dies.

use std::{fs::File, path::PathBuf, process::Command, process::Stdio, sync::Mutex, time::Duration};

use nix::{
    sys::signal::Signal,
    unistd::{Gid, Uid},
};

use crate::error::{ControlError, ProvisionError};
use crate::process::Supervised;

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

/// A running (or stopped) server process.
#[derive(Debug)]
pub struct ManagedProcess {
    spec: LaunchSpec,
    /// `None` while stopped or killed.
    child: Mutex<Option<Supervised>>,
}

/// How long a clean stop may take before we escalate to SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the kernel sends a server when the harness dies: nothing is left to stop it cleanly,
/// and its directory is temporary anyway.
const ON_HARNESS_DEATH: Signal = Signal::SIGKILL;

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
        guard.as_mut().is_none_or(Supervised::has_exited)
    }

    /// Starts the process again with the same spec (same port, same data).
    pub fn start(&self) -> Result<(), ControlError> {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_mut().is_some_and(|child| !child.has_exited()) {
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
        let child = self.take("stop")?;
        child.stop(self.spec.stop_signal, STOP_GRACE).await;
        Ok(())
    }

    /// SIGKILL to the whole group: a crash, as far as the server can tell.
    pub fn kill(&self) -> Result<(), ControlError> {
        self.take("kill")?.kill();
        Ok(())
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`) to the whole group.
    pub fn freeze(&self, frozen: bool) -> Result<(), ControlError> {
        let action = if frozen { "pause" } else { "unpause" };
        let guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let child = guard.as_ref().ok_or_else(|| not_running(action))?;
        let signal = if frozen {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        };
        child
            .signal_group(signal)
            .map_err(|e| ControlError::Failed {
                action,
                reason: e.to_string(),
            })
    }

    /// The child, stopped or not (a stop or kill of one that already exited only reaps it).
    fn take(&self, action: &'static str) -> Result<Supervised, ControlError> {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        guard.take().ok_or_else(|| not_running(action))
    }
}

fn not_running(action: &'static str) -> ControlError {
    ControlError::InvalidState {
        action,
        reason: "the server is not running".into(),
    }
}

fn spawn_child(spec: &LaunchSpec) -> Result<Supervised, ProvisionError> {
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
        .stderr(log_err);
    if let Some((uid, gid)) = spec.run_as {
        command.uid(uid.as_raw()).gid(gid.as_raw());
    }
    let child = Supervised::spawn(command, ON_HARNESS_DEATH)
        .map_err(|e| ProvisionError::io(format!("spawning {}", spec.program.display()), e))?;
    // The log lives in the server's directory: the lease goes next to it.
    if let Some(dir) = spec.log_path.parent() {
        super::reaper::write_lease(dir, child.id());
    }
    Ok(child)
}
