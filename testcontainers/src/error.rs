//! Typed errors: what went wrong while provisioning, and why a lifecycle control refused.

use std::{path::PathBuf, time::Duration};

/// Provisioning failed. Every variant says what to do about it, because the first person to
/// read it is usually someone whose test run just did not start.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// A setting could not be understood.
    #[error("invalid provisioning config: {0}")]
    InvalidConfig(String),
    /// No backend is usable and none could be made usable; the message lists the commands.
    #[error("{0}")]
    NothingUsable(crate::setup::Refusal),
    /// The Docker daemon did not answer.
    #[error("docker is not usable: {0}")]
    DockerUnavailable(String),
    /// An image is not present locally and we do not pull.
    #[error(
        "image {image} is not present in the Docker engine. Run `gauntlet image build` to build \
         the local Postgres+Redis image from Debian packages, or `docker pull {image}`"
    )]
    ImageMissing {
        /// The image reference that was looked up.
        image: String,
    },
    /// A Docker API call failed.
    #[error("docker: {0}")]
    Docker(String),
    /// A binary the native backend needs was not found.
    #[error("{binary} not found on PATH or in /usr/lib/postgresql/*/bin: install {package}")]
    BinaryMissing {
        /// Executable name.
        binary: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// The external backend needs URLs.
    #[error("backend external needs {0} to be set")]
    MissingUrl(&'static str),
    /// Filesystem or process error.
    #[error("{action}")]
    Io {
        /// What we were doing.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `initdb` failed.
    #[error("initdb failed (log at {log}): {output}")]
    Initdb {
        /// Where its output went.
        log: PathBuf,
        /// The tail of that output.
        output: String,
    },
    /// A started server never became ready.
    #[error("{role} at {url} not ready within {timeout:?}: {last_error}{log_tail}")]
    NotReady {
        /// Which server.
        role: crate::Role,
        /// Where we tried to reach it.
        url: String,
        /// How long we waited.
        timeout: Duration,
        /// The last connection error seen.
        last_error: String,
        /// The end of the server's own log, when we have one.
        log_tail: String,
    },
}

impl ProvisionError {
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// A lifecycle control (stop/start/kill/pause/unpause/restart) did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The backend cannot do this: external servers belong to someone else.
    #[error("{action} is not supported by the {backend} backend")]
    NotSupported {
        /// The control that was asked for.
        action: &'static str,
        /// The backend that refused.
        backend: crate::Backend,
    },
    /// The server is in a state where the control makes no sense (e.g. start while running).
    #[error("cannot {action}: {reason}")]
    InvalidState {
        /// The control that was asked for.
        action: &'static str,
        /// Why not.
        reason: String,
    },
    /// The control itself failed.
    #[error("{action} failed: {reason}")]
    Failed {
        /// The control that was asked for.
        action: &'static str,
        /// What failed.
        reason: String,
    },
    /// After a start, the server did not become ready.
    #[error(transparent)]
    NotReady(#[from] ProvisionError),
}
