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
//! The child is supervised like the native servers ([`Supervised`]): it lives in its own
//! process group, so a Ctrl-C in the terminal reaches the harness only, which then stops the
//! service in order (after the ledger read-back); it is SIGKILLed when its handle drops; and
//! the kernel sends it SIGTERM if the harness dies (even by SIGKILL), so it drains and exits.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use gauntlet_testcontainers::process::{Stopped, Supervised};
use nix::sys::signal::Signal;
use tokio::sync::Mutex;

use super::local::READY_DEADLINE;
use crate::logging::service_log::ServiceLog;

/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "__service";

/// How long a graceful stop may take before the child is killed: the service's own drain
/// grace (5 s) plus a margin.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// What the kernel sends the child when the harness dies: SIGTERM, the signal it drains on.
const ON_HARNESS_DEATH: Signal = Signal::SIGTERM;

/// The service as a child process on a fixed port.
pub struct ServiceProcess {
    port: u16,
    /// `(name, value)` set on the child; everything else is inherited.
    env: Vec<(String, String)>,
    child: Mutex<Option<Supervised>>,
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
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(ServiceLog::child_stderr());
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
        let mut child =
            Supervised::spawn(command, ON_HARNESS_DEATH).context("starting the service process")?;
        if let Some(stderr) = child.take_stderr() {
            let stderr = tokio::process::ChildStderr::from_std(stderr)
                .context("reading the service process's stderr")?;
            ServiceLog::forward_child(stderr);
        }
        *self.child.lock().await = Some(child);
        let ready = hrms::startup::wait_ready(&self.base_url(), READY_DEADLINE).await;
        if let Err(e) = ready {
            let exited = match self
                .child
                .lock()
                .await
                .as_mut()
                .map(Supervised::exit_status)
            {
                Some(Some(status)) => format!(" (the service process exited: {status})"),
                _ => String::new(),
            };
            self.kill().await?;
            return Err(
                anyhow::Error::new(e).context(format!("the service never became ready{exited}"))
            );
        }
        Ok(())
    }

    /// SIGKILL: the service dies mid-request, as in a crash.
    pub async fn kill(&self) -> anyhow::Result<()> {
        if let Some(child) = self.child.lock().await.take() {
            child.kill();
        }
        Ok(())
    }

    /// SIGTERM: the service drains and exits; SIGKILL if it has not after the grace.
    pub async fn stop(&self) -> anyhow::Result<()> {
        let Some(child) = self.child.lock().await.take() else {
            return Ok(());
        };
        let started = Instant::now();
        match child.stop(Signal::SIGTERM, STOP_GRACE).await {
            Stopped::Exited(status) => {
                tracing::debug!(?status, elapsed = ?started.elapsed(), "service stopped");
            }
            Stopped::Killed => tracing::warn!("the service did not stop within {STOP_GRACE:?}"),
        }
        Ok(())
    }

    /// SIGTERM without waiting: the service starts draining (`gauntlet verify` watches the
    /// drain; [`Self::stop`] afterwards waits for the exit).
    pub async fn terminate(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGTERM).await
    }

    /// The value the child's environment gives `name`, when the harness set it.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// SIGSTOP: the service is frozen; connections stay open and nothing answers.
    pub async fn pause(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP).await
    }

    /// SIGCONT.
    pub async fn unpause(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT).await
    }

    async fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let guard = self.child.lock().await;
        let child = guard.as_ref().context("no service process")?;
        child
            .signal_group(signal)
            .with_context(|| format!("sending {signal} to the service"))
    }

    /// Graceful stop, then start on the same port and wait until ready.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn_and_wait().await
    }
}

/// The child's side: the service from the environment, until SIGTERM (from the harness, or
/// from the kernel when the harness is gone).
pub async fn serve_child() -> anyhow::Result<()> {
    let settings = hrms::config::Settings::load(None).context("loading the service settings")?;
    let app = hrms::Application::build(settings)
        .await
        .context("starting the reference service")?;
    app.run_until_stopped(terminated()).await.context("serving")
}

async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
