//! The native backend: `postgres` and `redis-server` as child processes in a temp dir.

pub mod binaries;
pub(crate) mod postgres;
pub(crate) mod process;
pub(crate) mod reaper;
mod redis;

use std::time::Duration;

use tempfile::TempDir;
use url::Url;

pub use binaries::NativeBinaries;
use process::ManagedProcess;
pub use reaper::{Sweep, reap_orphans};

use crate::disk::{DataDisk, SizedMount};
use crate::{
    Role, error::ControlError, error::ProvisionError, ports::free_loopback_port, readiness,
};

/// How many fresh ports to try when a server dies at start (most likely: port taken between our
/// probe and its bind).
const PORT_ATTEMPTS: usize = 3;

/// One native server and the directory that holds its data and log.
#[derive(Debug)]
pub struct NativeServer {
    role: Role,
    url: Url,
    ready_timeout: Duration,
    /// Postgres's data directory (`None` for Redis).
    data: Option<std::path::PathBuf>,
    // Field order matters: the process must die before its data's filesystem is unmounted,
    // and that before its directory is removed.
    process: ManagedProcess,
    data_mount: Option<SizedMount>,
    dir: TempDir,
}

impl NativeServer {
    /// Starts a server of `role` and waits until it answers.
    pub async fn start_new(
        role: Role,
        bins: &NativeBinaries,
        ready_timeout: Duration,
        data_size: Option<u64>,
    ) -> Result<Self, ProvisionError> {
        // Once per process: servers of a harness killed outright would otherwise hold ports
        // and memory until the machine reboots.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            reap_orphans();
        });
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            match Self::try_start(role, bins, ready_timeout, data_size).await {
                Ok(server) => return Ok(server),
                Err(e) => {
                    tracing::debug!(%role, error = %e, "native server failed to start; retrying");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| ProvisionError::InvalidConfig("no attempt made".into())))
    }

    async fn try_start(
        role: Role,
        bins: &NativeBinaries,
        ready_timeout: Duration,
        data_size: Option<u64>,
    ) -> Result<Self, ProvisionError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("gauntlet-{role}-"))
            .tempdir()
            .map_err(|e| ProvisionError::io("creating a temp dir", e))?;
        let port = free_loopback_port()?;
        let mut data_mount = None;
        let (spec, url) = match role {
            Role::Postgres => {
                let template = postgres::template(bins).await?;
                if let Some(bytes) = data_size {
                    data_mount = Some(SizedMount::mount(&dir.path().join("data"), bytes)?);
                }
                let spec = postgres::prepare_instance(bins, &template, dir.path(), port)?;
                let url = format!(
                    "postgres://{user}:{user}@127.0.0.1:{port}/postgres",
                    user = postgres::SUPERUSER
                );
                (spec, url)
            }
            Role::Redis => (
                redis::launch_spec(bins, dir.path(), port),
                format!("redis://127.0.0.1:{port}"),
            ),
        };
        let url = Url::parse(&url).map_err(|e| ProvisionError::InvalidConfig(e.to_string()))?;
        let process = ManagedProcess::spawn(spec)?;
        let server = Self {
            role,
            url,
            ready_timeout,
            data: (role == Role::Postgres).then(|| dir.path().join("data")),
            process,
            data_mount,
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// A Postgres on `port` (the port of the server it replaces, so clients keep their URL)
    /// serving `data` inside `dir`, which the caller prepared (a restored backup, or a fresh
    /// copy of the template); waits until it answers.
    pub(crate) async fn start_postgres_in(
        dir: TempDir,
        data: &std::path::Path,
        port: u16,
        bins: &NativeBinaries,
        ready_timeout: Duration,
    ) -> Result<Self, ProvisionError> {
        let spec = postgres::launch_spec(bins, data, dir.path(), port)?;
        let url = format!(
            "postgres://{user}:{user}@127.0.0.1:{port}/postgres",
            user = postgres::SUPERUSER
        );
        let url = Url::parse(&url).map_err(|e| ProvisionError::InvalidConfig(e.to_string()))?;
        let process = ManagedProcess::spawn(spec)?;
        let server = Self {
            role: Role::Postgres,
            url,
            ready_timeout,
            data: Some(data.to_owned()),
            process,
            data_mount: None,
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// The configured readiness deadline.
    pub(crate) fn ready_timeout(&self) -> Duration {
        self.ready_timeout
    }

    /// The URL clients use; unchanged by any lifecycle control.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The directory holding data and logs; removed on drop.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Postgres's data directory and the filesystem holding it (`None` for Redis).
    pub fn data_disk(&self) -> Option<DataDisk> {
        Some(DataDisk {
            rootfs: "/".into(),
            procfs: "/proc".into(),
            data_dir: self.data.clone()?,
            sized: self.data_mount.is_some(),
        })
    }

    /// Polls until the server answers a query, with the configured deadline.
    pub async fn wait_ready(&self) -> Result<Duration, ProvisionError> {
        readiness::wait_ready(self.role, &self.url, self.ready_timeout, || {
            let early = if self.process.exited_early() {
                " (the server process exited)"
            } else {
                ""
            };
            format!(
                "{early}\n--- server log ---\n{}",
                self.process.log_tail(2000)
            )
        })
        .await
    }

    /// Clean stop.
    pub async fn stop(&self) -> Result<(), ControlError> {
        self.process.stop().await
    }

    /// Start after a stop or kill, on the same port with the same data; waits for readiness.
    pub async fn start(&self) -> Result<(), ControlError> {
        self.process.start()?;
        self.wait_ready().await?;
        Ok(())
    }

    /// SIGKILL to the server's process group.
    pub fn kill(&self) -> Result<(), ControlError> {
        self.process.kill()
    }

    /// Freeze (`true`) or thaw (`false`) the whole process group.
    pub fn freeze(&self, frozen: bool) -> Result<(), ControlError> {
        self.process.freeze(frozen)
    }
}
