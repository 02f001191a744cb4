//! What this machine offers, and the choice `auto` makes from it. `gauntlet env` prints the
//! same report, so what users read is exactly what the harness decided on.

use std::{fmt, path::PathBuf};

use bollard::Docker;
use url::Url;

use crate::{
    Backend, Role,
    config::{BackendChoice, ProvisionConfig},
    docker::{self, ImageSpec},
    error::ProvisionError,
    local_image,
    native::{NativeBinaries, binaries},
};

/// How [`crate::Stack::provision`] will obtain the servers.
pub(crate) enum Plan {
    Docker {
        docker: Docker,
        postgres: ImageSpec,
        redis: ImageSpec,
    },
    Native(NativeBinaries),
    External {
        postgres: Url,
        redis: Url,
    },
}

/// Resolves the configured backend into a plan, probing as `auto` requires.
pub(crate) async fn plan(config: &ProvisionConfig) -> Result<Plan, ProvisionError> {
    match config.backend {
        BackendChoice::Docker => docker_plan(config).await,
        BackendChoice::Native => Ok(Plan::Native(NativeBinaries::locate()?)),
        BackendChoice::External => Ok(Plan::External {
            postgres: config
                .external_postgres
                .clone()
                .ok_or(ProvisionError::MissingUrl("DATABASE_URL"))?,
            redis: config
                .external_redis
                .clone()
                .ok_or(ProvisionError::MissingUrl("REDIS_URL"))?,
        }),
        BackendChoice::Auto => match docker_plan(config).await {
            Ok(plan) => Ok(plan),
            Err(docker_error) => match NativeBinaries::locate() {
                Ok(bins) => {
                    tracing::info!(reason = %docker_error, "docker not usable; using native processes");
                    Ok(Plan::Native(bins))
                }
                Err(native_error) => Err(ProvisionError::NothingUsable {
                    docker: docker_error.to_string(),
                    native: native_error.to_string(),
                }),
            },
        },
    }
}

async fn docker_plan(config: &ProvisionConfig) -> Result<Plan, ProvisionError> {
    let docker = docker::connect(config.docker_probe_timeout).await?;
    let postgres =
        docker::resolve_image(&docker, Role::Postgres, config.postgres_image.as_deref()).await?;
    let redis = docker::resolve_image(&docker, Role::Redis, config.redis_image.as_deref()).await?;
    Ok(Plan::Docker {
        docker,
        postgres,
        redis,
    })
}

/// Everything `gauntlet env` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvironmentReport {
    /// The configured choice.
    pub requested: BackendChoice,
    /// `DOCKER_HOST` or the default socket.
    pub docker_host: String,
    /// The engine's version, or why it was not reachable.
    pub docker: Result<String, String>,
    /// Each image we might use and whether it is present (empty when docker is unreachable).
    pub images: Vec<(String, bool)>,
    /// Native binaries found, with their versions.
    pub native: Vec<(String, Option<PathBuf>, Option<String>)>,
    /// The backend the configured choice resolves to, or why none.
    pub decision: Result<Backend, String>,
}

/// Probes Docker and the native binaries and records what was found and decided.
pub async fn inspect_environment(config: &ProvisionConfig) -> EnvironmentReport {
    let docker_host = std::env::var("DOCKER_HOST")
        .unwrap_or_else(|_| "unix:///var/run/docker.sock (default)".to_owned());
    let (docker, images) = match docker::connect(config.docker_probe_timeout).await {
        Ok(client) => {
            let version = client
                .version()
                .await
                .ok()
                .and_then(|v| v.version)
                .unwrap_or_else(|| "unknown version".to_owned());
            let mut images = Vec::new();
            for reference in [
                config
                    .postgres_image
                    .clone()
                    .unwrap_or_else(|| Role::Postgres.official_image().to_owned()),
                config
                    .redis_image
                    .clone()
                    .unwrap_or_else(|| Role::Redis.official_image().to_owned()),
                local_image::local_image_reference(),
            ] {
                let present = docker::image_present(&client, &reference)
                    .await
                    .unwrap_or(false);
                images.push((reference, present));
            }
            (Ok(format!("engine {version}")), images)
        }
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    let native = [
        ("postgres", binaries::find_postgres_bin("postgres")),
        ("initdb", binaries::find_postgres_bin("initdb")),
        ("redis-server", binaries::find_on_path("redis-server")),
    ]
    .into_iter()
    .map(|(name, path)| {
        let version = path.as_deref().and_then(binaries::version_of);
        (name.to_owned(), path, version)
    })
    .collect();
    let decision = match plan(config).await {
        Ok(Plan::Docker { .. }) => Ok(Backend::Docker),
        Ok(Plan::Native(_)) => Ok(Backend::Native),
        Ok(Plan::External { .. }) => Ok(Backend::External),
        Err(e) => Err(e.to_string()),
    };
    EnvironmentReport {
        requested: config.backend,
        docker_host,
        docker,
        images,
        native,
        decision,
    }
}

impl fmt::Display for EnvironmentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "docker  ({})", self.docker_host)?;
        match &self.docker {
            Ok(version) => writeln!(f, "  reachable: yes, {version}")?,
            Err(reason) => writeln!(f, "  reachable: no — {reason}")?,
        }
        for (reference, present) in &self.images {
            let state = if *present { "present" } else { "absent" };
            writeln!(f, "  image {reference}: {state}")?;
        }
        writeln!(f, "native")?;
        for (name, path, version) in &self.native {
            match path {
                Some(path) => writeln!(
                    f,
                    "  {name}: {} ({})",
                    path.display(),
                    version.as_deref().unwrap_or("version unknown")
                )?,
                None => writeln!(f, "  {name}: not found")?,
            }
        }
        match &self.decision {
            Ok(backend) => write!(f, "backend {} → {backend}", self.requested),
            Err(reason) => write!(f, "backend {} → none: {reason}", self.requested),
        }
    }
}
