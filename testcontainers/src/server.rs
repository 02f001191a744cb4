//! The provisioned servers and their lifecycle controls, whatever the backend.

use std::{fmt, time::Duration};

use url::Url;

use crate::{
    config::{DEFAULT_POSTGRES_IMAGE, DEFAULT_REDIS_IMAGE},
    docker::DockerServer,
    error::ControlError,
    native::NativeServer,
};

/// Which dependency a server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// PostgreSQL.
    Postgres,
    /// Redis.
    Redis,
}

impl Role {
    /// Port the server listens on inside a container.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::Redis => 6379,
        }
    }

    /// The official image the docker backend prefers.
    pub fn official_image(self) -> &'static str {
        match self {
            Self::Postgres => DEFAULT_POSTGRES_IMAGE,
            Self::Redis => DEFAULT_REDIS_IMAGE,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        })
    }
}

/// The backend that actually provided a server (never `auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Containers.
    Docker,
    /// Child processes.
    Native,
    /// Someone else's servers.
    External,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Docker => "docker",
            Self::Native => "native",
            Self::External => "external",
        })
    }
}

// Two of these exist per run, so the variants' size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Inner {
    Docker(DockerServer),
    Native(NativeServer),
    External,
}

/// A running Postgres or Redis with a URL that stays valid across every lifecycle control.
///
/// Dropping it removes the container or kills the process and deletes its directory.
#[derive(Debug)]
pub struct Server {
    role: Role,
    url: Url,
    pub(crate) inner: Inner,
}

impl Server {
    pub(crate) fn new(role: Role, url: Url, inner: Inner) -> Self {
        Self { role, url, inner }
    }

    /// Postgres or Redis.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where clients connect. For Postgres: a superuser URL to the `postgres` database.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The backend that provides this server.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Docker(_) => Backend::Docker,
            Inner::Native(_) => Backend::Native,
            Inner::External => Backend::External,
        }
    }

    /// Clean shutdown (Postgres: fast shutdown; pending transactions roll back).
    pub async fn stop(&self) -> Result<(), ControlError> {
        match &self.inner {
            Inner::Docker(s) => s.stop().await,
            Inner::Native(s) => s.stop().await,
            Inner::External => self.unsupported("stop"),
        }
    }

    /// Start after `stop` or `kill`; returns once the server answers queries again.
    pub async fn start(&self) -> Result<(), ControlError> {
        match &self.inner {
            Inner::Docker(s) => s.start().await,
            Inner::Native(s) => s.start().await,
            Inner::External => self.unsupported("start"),
        }
    }

    /// SIGKILL: the server gets no chance to clean up.
    pub async fn kill(&self) -> Result<(), ControlError> {
        match &self.inner {
            Inner::Docker(s) => s.kill().await,
            Inner::Native(s) => s.kill(),
            Inner::External => self.unsupported("kill"),
        }
    }

    /// Freeze every process of the server: connections stay open and nothing answers.
    pub async fn pause(&self) -> Result<(), ControlError> {
        match &self.inner {
            Inner::Docker(s) => s.freeze(true).await,
            Inner::Native(s) => s.freeze(true),
            Inner::External => self.unsupported("pause"),
        }
    }

    /// Undo `pause`.
    pub async fn unpause(&self) -> Result<(), ControlError> {
        match &self.inner {
            Inner::Docker(s) => s.freeze(false).await,
            Inner::Native(s) => s.freeze(false),
            Inner::External => self.unsupported("unpause"),
        }
    }

    /// `stop` then `start`.
    pub async fn restart(&self) -> Result<(), ControlError> {
        if matches!(self.inner, Inner::External) {
            return self.unsupported("restart");
        }
        self.stop().await?;
        self.start().await
    }

    /// Polls until the server answers a query; returns how long that took.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Duration, ControlError> {
        Ok(crate::readiness::wait_ready(self.role, &self.url, timeout, String::new).await?)
    }

    /// Where the server's files live (native backend only).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.inner {
            Inner::Native(s) => Some(s.dir()),
            _ => None,
        }
    }

    /// Postgres's data directory and the filesystem holding it, as this host reaches them
    /// (`None` for Redis, external servers and a stopped container).
    pub async fn data_disk(&self) -> Option<crate::disk::DataDisk> {
        match &self.inner {
            Inner::Docker(s) => s.data_disk().await,
            Inner::Native(s) => s.data_disk(),
            Inner::External => None,
        }
    }

    /// The `disk_fill` fault: fills the filesystem of Postgres's data to `percent` (refused
    /// unless provisioning sized it, see [`crate::disk`]).
    pub async fn fill_data_disk(&self, percent: u8) -> Result<crate::disk::Filled, ControlError> {
        self.sized_disk("disk_fill").await?.fill(percent)
    }

    /// Takes back what [`Server::fill_data_disk`] wrote.
    pub async fn free_data_disk(&self) -> Result<(), ControlError> {
        self.sized_disk("disk_fill removal").await?.free()
    }

    async fn sized_disk(
        &self,
        action: &'static str,
    ) -> Result<crate::disk::DataDisk, ControlError> {
        if matches!(self.inner, Inner::External) {
            return Err(ControlError::NotSupported {
                action,
                backend: Backend::External,
            });
        }
        self.data_disk()
            .await
            .ok_or_else(|| ControlError::InvalidState {
                action,
                reason: format!("{} has no data directory on a running server", self.role),
            })
    }

    /// The process serving a docker backend, as this host numbers it (`None` for native
    /// servers, which are this process's own children, and for external ones).
    pub async fn host_pid(&self) -> Option<u32> {
        match &self.inner {
            Inner::Docker(s) => s.host_pid().await,
            _ => None,
        }
    }

    /// The container id (docker backend only).
    pub fn container_id(&self) -> Option<&str> {
        match &self.inner {
            Inner::Docker(s) => s.container_id(),
            _ => None,
        }
    }

    /// Removes the server now and waits for it to be gone (drop does the same, but a container
    /// removal in `Drop` has to block a runtime thread).
    pub async fn shutdown(mut self) -> Result<(), ControlError> {
        match &mut self.inner {
            Inner::Docker(s) => s.remove().await,
            // Drop kills the process group, reaps it and deletes the directory.
            Inner::Native(_) | Inner::External => Ok(()),
        }
    }

    fn unsupported(&self, action: &'static str) -> Result<(), ControlError> {
        Err(ControlError::NotSupported {
            action,
            backend: self.backend(),
        })
    }
}
