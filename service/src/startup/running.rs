//! The service running inside the caller's process: one handle for the service's tests, the
//! harness's in-process service and the benches, so "serve in a task, keep the stop signal,
//! wait until ready, stop and wait for the drain" is written once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinHandle};

use super::{Application, StartupError};
use crate::config::Settings;
use crate::state::AppState;

/// How often [`wait_ready`] asks again.
const READY_POLL: Duration = Duration::from_millis(50);

/// The service has not answered `/health/ready` with 200 within the deadline.
#[derive(Debug, thiserror::Error)]
#[error("{url} not ready after {deadline:?}: {last}")]
pub struct NotReady {
    /// The readiness URL asked.
    pub url: String,
    /// How long it was asked for.
    pub deadline: Duration,
    /// The last answer (a status) or why there was none.
    pub last: String,
}

/// Why a graceful stop did not end cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    /// The service returned an error while serving or draining.
    #[error("the service stopped with an error")]
    Failed(#[source] StartupError),
    /// The serving task panicked or was cancelled.
    #[error("the service task failed")]
    Task(#[source] JoinError),
}

/// A service serving on the current tokio runtime. Dropping it aborts serving (the
/// [`RunningService::crash`] of an error path); [`RunningService::stop`] drains.
pub struct RunningService {
    addr: SocketAddr,
    base_url: String,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), StartupError>>>,
}

impl Application {
    /// Serves in a task of its own on the current runtime, keeping the stop signal in the
    /// returned handle. Serving starts at once: the listener is already bound, so a client
    /// connecting from here on waits in the backlog rather than being refused.
    pub fn spawn(self) -> RunningService {
        let addr = self.addr;
        let state = self.state.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        RunningService {
            addr,
            base_url: base_url(addr),
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

impl RunningService {
    /// [`Application::build`] then [`Application::spawn`].
    pub async fn start(settings: Settings) -> Result<RunningService, StartupError> {
        Ok(Application::build(settings).await?.spawn())
    }

    /// `http://127.0.0.1:PORT` (the loopback address when bound to an unspecified one).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The shared state: the pool (to seed, or to look behind the API), the limiter, metrics.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Polls `/health/ready` until it answers 200 (Postgres and Redis both answered the
    /// service) or `deadline` passes.
    pub async fn wait_ready(&self, deadline: Duration) -> Result<(), NotReady> {
        wait_ready(&self.base_url, deadline).await
    }

    /// Asks for a graceful stop without waiting for it: the listener closes, in-flight
    /// requests finish.
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Graceful stop: in-flight requests and payroll batches finish (within the settings'
    /// `shutdown_grace`), then this returns.
    pub async fn stop(mut self) -> Result<(), StopError> {
        self.begin_stop();
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(StopError::Task)?
                .map_err(StopError::Failed),
            None => Ok(()),
        }
    }

    /// A crash, as far as the service can tell: serving is dropped mid-flight, payroll
    /// workers are aborted without requeueing their jobs (the next start recovers them).
    pub async fn crash(mut self) {
        // Aborted before the stop signal is dropped (with `self`), which would start a drain.
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Polls `{base_url}/health/ready` until it answers 200 or `deadline` passes: the one
/// readiness wait for the service, in this process or in another.
pub async fn wait_ready(base_url: &str, deadline: Duration) -> Result<(), NotReady> {
    let url = format!("{base_url}/health/ready");
    let not_ready = |last: String| NotReady {
        url: url.clone(),
        deadline,
        last,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| not_ready(format!("building the HTTP client: {e}")))?;
    let started = Instant::now();
    loop {
        let last = match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("status {}", r.status()),
            Err(e) => e.to_string(),
        };
        if started.elapsed() >= deadline {
            return Err(not_ready(last));
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// The URL a client on this machine reaches `addr` at.
fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_is_reached_on_loopback() {
        let url = |a: &str| base_url(a.parse().unwrap());
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080");
    }
}
