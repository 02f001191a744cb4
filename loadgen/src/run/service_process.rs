//! `--service-process`: the reference service in a child process, so that it can be killed,
//! stopped, paused and restarted like Postgres and Redis.
//!
//! There is no second binary: the child is this executable again (`current_exe()`) with the
//! hidden subcommand `__service`, which runs `hrms::Application` from the environment exactly
//! as the `hrms` binary does ([`serve_child`]). The parent chooses the port once and keeps it
//! across restarts, so virtual users never see the address change.
//!
//! The child logs through the harness's own subscriber (warnings by default, `RUST_LOG`
//! applies) to its stderr: a pipe into the run's service log while one is open
//! ([`ServiceLog::forward_child`]), else the harness's stderr.
//!
//! The child lives in its own process group: a Ctrl-C in the terminal reaches the harness only,
//! which then stops the service in order (after the ledger read-back). It is SIGKILLed when its
//! handle drops, and it exits by itself if the harness dies ([`watch_parent`]).

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::local::READY_DEADLINE;
use crate::logging::service_log::ServiceLog;

/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "__service";

/// The parent's PID, so that an orphaned child notices and exits.
const PARENT_ENV: &str = "GAUNTLET_SERVICE_PARENT";

/// How long a graceful stop may take before the child is killed: the service's own drain
/// grace (5 s) plus a margin.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// The service as a child process on a fixed port.
pub struct ServiceProcess {
    port: u16,
    /// `(name, value)` set on the child; everything else is inherited.
    env: Vec<(String, String)>,
    child: Mutex<Option<Child>>,
}

impl ServiceProcess {
    /// Chooses a free port and starts the child with `env` (database, Redis, secrets), then
    /// waits until `/health/ready` answers.
    pub async fn start(env: Vec<(String, String)>) -> anyhow::Result<ServiceProcess> {
        // The port is chosen once here and kept across restarts; the listener is closed
        // before the child binds it (tokio sets SO_REUSEADDR, so a restart can bind again
        // while old connections linger in TIME_WAIT).
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .context("choosing a port for the service")?
            .port();
        let process = ServiceProcess {
            port,
            env,
            child: Mutex::new(None),
        };
        process.spawn_and_wait().await?;
        Ok(process)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the child again (after `kill` or `stop`) and waits until it is ready.
    pub async fn spawn_and_wait(&self) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("locating the gauntlet executable")?;
        let mut command = Command::new(exe);
        command
            .arg(SUBCOMMAND)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("HRMS_BIND", format!("127.0.0.1:{}", self.port))
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(ServiceLog::child_stderr())
            .process_group(0)
            .kill_on_drop(true);
        // The service takes its settings from the environment; what the harness does not set
        // must not leak in from the user's shell (seeded defects come in `env`, read from the
        // same variables by the harness).
        for (name, _) in std::env::vars() {
            let harness_owned = name.starts_with("HRMS")
                || matches!(
                    name.as_str(),
                    "DATABASE_URL" | "REDIS_URL" | "JWT_SECRET" | "OPERATOR_TOKEN"
                );
            if harness_owned && !self.env.iter().any(|(k, _)| *k == name) {
                command.env_remove(&name);
            }
        }
        let mut child = command.spawn().context("starting the service process")?;
        if let Some(stderr) = child.stderr.take() {
            ServiceLog::forward_child(stderr);
        }
        *self.child.lock().await = Some(child);
        let ready = hrms::startup::wait_ready(&self.base_url(), READY_DEADLINE).await;
        if let Err(e) = ready {
            let exited = match self.child.lock().await.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => format!(" (the service process exited: {status})"),
                _ => String::new(),
            };
            self.kill().await?;
            return Err(
                anyhow::Error::new(e).context(format!("the service never became ready{exited}"))
            );
        }
        Ok(())
    }

    fn signal(child: &Child, signal: Signal) -> anyhow::Result<()> {
        let pid = child
            .id()
            .context("the service process has already exited")?;
        let pid = Pid::from_raw(i32::try_from(pid).context("pid out of range")?);
        kill(pid, signal).with_context(|| format!("sending {signal} to the service"))
    }

    /// SIGKILL: the service dies mid-request, as in a crash.
    pub async fn kill(&self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.lock().await.take() {
            child.kill().await.context("killing the service")?;
        }
        Ok(())
    }

    /// SIGTERM: the service drains and exits; SIGKILL if it has not after the grace.
    pub async fn stop(&self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.lock().await.take() else {
            return Ok(());
        };
        // A frozen service cannot drain; let it run so that SIGTERM can act.
        let _ = Self::signal(&child, Signal::SIGCONT);
        if Self::signal(&child, Signal::SIGTERM).is_ok() {
            let started = Instant::now();
            match tokio::time::timeout(STOP_GRACE, child.wait()).await {
                Ok(Ok(status)) => {
                    tracing::debug!(%status, elapsed = ?started.elapsed(), "service stopped");
                    return Ok(());
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "waiting for the service"),
                Err(_) => tracing::warn!("the service did not stop within {STOP_GRACE:?}"),
            }
        }
        child.kill().await.context("killing the service")
    }

    /// SIGSTOP: the service is frozen; connections stay open and nothing answers.
    pub async fn pause(&self) -> anyhow::Result<()> {
        let guard = self.child.lock().await;
        Self::signal(
            guard.as_ref().context("no service process")?,
            Signal::SIGSTOP,
        )
    }

    /// SIGCONT.
    pub async fn unpause(&self) -> anyhow::Result<()> {
        let guard = self.child.lock().await;
        Self::signal(
            guard.as_ref().context("no service process")?,
            Signal::SIGCONT,
        )
    }

    /// Graceful stop, then start on the same port and wait until ready.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn_and_wait().await
    }
}

/// The child's side: the service from the environment, until SIGTERM (or the parent dies).
pub async fn serve_child() -> anyhow::Result<()> {
    let settings = hrms::config::Settings::load(None).context("loading the service settings")?;
    let app = hrms::Application::build(settings)
        .await
        .context("starting the reference service")?;
    app.run_until_stopped(async {
        tokio::select! {
            () = terminated() => {}
            () = watch_parent() => {}
        }
    })
    .await
    .context("serving")
}

async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// Resolves when the harness that started this child is gone (a SIGKILLed harness cannot
/// stop its child; the child is reparented and notices).
async fn watch_parent() {
    let Some(parent) = std::env::var(PARENT_ENV)
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return std::future::pending().await;
    };
    loop {
        if std::os::unix::process::parent_id() != parent {
            tracing::warn!("the harness is gone; the service stops");
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
