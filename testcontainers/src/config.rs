//! What to provision and how: the backend choice and the knobs each backend reads.
//!
//! Layering is defaults → environment → explicit setters (the CLI maps its flags onto the
//! setters), so a flag always wins over `GAUNTLET_*` variables.

use std::{fmt, str::FromStr, time::Duration};

use url::Url;

use crate::{
    error::ProvisionError,
    setup::{Observer, SystemChanges},
};

/// The official images the docker backend prefers when they are present.
pub const DEFAULT_POSTGRES_IMAGE: &str = "postgres:16-alpine";
/// See [`DEFAULT_POSTGRES_IMAGE`].
pub const DEFAULT_REDIS_IMAGE: &str = "redis:7-alpine";

/// Which way to obtain Postgres and Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// Docker when a daemon answers and usable images are present, else native processes.
    #[default]
    Auto,
    /// Containers through the `testcontainers` crate.
    Docker,
    /// Ephemeral `postgres` and `redis-server` child processes.
    Native,
    /// Servers someone else runs, named by `DATABASE_URL` and `REDIS_URL`.
    External,
}

impl FromStr for BackendChoice {
    type Err = ProvisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "docker" => Ok(Self::Docker),
            "native" => Ok(Self::Native),
            "external" => Ok(Self::External),
            other => Err(ProvisionError::InvalidConfig(format!(
                "unknown backend {other:?}: expected auto, docker, native or external"
            ))),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Docker => "docker",
            Self::Native => "native",
            Self::External => "external",
        })
    }
}

/// Everything [`crate::Stack::provision`] needs to know.
#[derive(Debug, Clone)]
pub struct ProvisionConfig {
    /// Which backend; `Auto` probes.
    pub backend: BackendChoice,
    /// Image for Postgres; `None` means the official image, or the local image when only that
    /// one is present.
    pub postgres_image: Option<String>,
    /// Image for Redis; same rule as `postgres_image`.
    pub redis_image: Option<String>,
    /// Connection URLs for the external backend.
    pub external_postgres: Option<Url>,
    /// See `external_postgres`.
    pub external_redis: Option<Url>,
    /// How long the Docker daemon gets to answer a ping. Short because `auto` must fall back
    /// quickly when no daemon runs.
    pub docker_probe_timeout: Duration,
    /// How long a freshly started server gets to accept a query / PING.
    pub ready_timeout: Duration,
    /// Whether `auto` (and an explicit backend) may pull, build and install what it lacks.
    pub changes: SystemChanges,
    /// Who hears about set-up steps (stderr by default; the CLI shows a live line).
    pub observer: Observer,
    /// A backup drill will run: the docker backend mounts a volume for the WAL archive and the
    /// backups into Postgres's container, so that a new container can restore from them.
    pub backup_volume: bool,
    /// Give Postgres's data directory a filesystem of its own of this many bytes (a run with
    /// a `disk_fill` fault): see [`crate::disk`]. `None`: wherever the backend puts it.
    pub postgres_data_size: Option<u64>,
}

impl Default for ProvisionConfig {
    fn default() -> Self {
        Self {
            backend: BackendChoice::Auto,
            postgres_image: None,
            redis_image: None,
            external_postgres: None,
            external_redis: None,
            docker_probe_timeout: Duration::from_millis(1000),
            ready_timeout: Duration::from_secs(60),
            changes: SystemChanges::Allowed,
            observer: Observer::default(),
            backup_volume: false,
            postgres_data_size: None,
        }
    }
}

impl ProvisionConfig {
    /// Defaults overlaid with `GAUNTLET_BACKEND`, `GAUNTLET_POSTGRES_IMAGE`,
    /// `GAUNTLET_REDIS_IMAGE`, `GAUNTLET_NO_INSTALL`, `DATABASE_URL` and `REDIS_URL`.
    ///
    /// Malformed values are reported rather than ignored: a typo in `GAUNTLET_BACKEND` silently
    /// meaning `auto` would send a user chasing the wrong backend.
    pub fn from_env() -> Result<Self, ProvisionError> {
        let mut config = Self::default();
        if let Some(backend) = env_var("GAUNTLET_BACKEND") {
            config.backend = backend.parse()?;
        }
        config.postgres_image = env_var("GAUNTLET_POSTGRES_IMAGE");
        config.redis_image = env_var("GAUNTLET_REDIS_IMAGE");
        if let Some(raw) = env_var("GAUNTLET_NO_INSTALL") {
            config.changes = match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => SystemChanges::Refused,
                "0" | "false" | "no" => SystemChanges::Allowed,
                other => {
                    return Err(ProvisionError::InvalidConfig(format!(
                        "GAUNTLET_NO_INSTALL={other:?}: expected 1/true/yes or 0/false/no"
                    )));
                }
            };
        }
        config.external_postgres = env_url("DATABASE_URL")?;
        config.external_redis = env_url("REDIS_URL")?;
        Ok(config)
    }

    /// Same as `self` with another backend: the CLI's `--backend` flag.
    pub fn with_backend(mut self, backend: BackendChoice) -> Self {
        self.backend = backend;
        self
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_url(name: &str) -> Result<Option<Url>, ProvisionError> {
    env_var(name)
        .map(|raw| {
            Url::parse(&raw)
                .map_err(|e| ProvisionError::InvalidConfig(format!("{name} is not a URL: {e}")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip_and_typos_are_errors() {
        for b in [
            BackendChoice::Auto,
            BackendChoice::Docker,
            BackendChoice::Native,
            BackendChoice::External,
        ] {
            assert_eq!(b.to_string().parse::<BackendChoice>().unwrap(), b);
        }
        let err = "dokcer".parse::<BackendChoice>().unwrap_err();
        assert!(err.to_string().contains("dokcer"), "{err}");
    }
}
