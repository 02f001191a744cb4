//! What this machine offers, and the choice `auto` makes from it. `gauntlet env` prints the
//! same report, so what users read is exactly what the harness decided on.

use std::{
    fmt,
    path::PathBuf,
    time::{Duration, Instant},
};

use bollard::Docker;
use url::Url;

use crate::{
    Backend, Role,
    config::{BackendChoice, ProvisionConfig},
    docker::{self, ImageSpec},
    error::ProvisionError,
    local_image,
    native::{NativeBinaries, binaries},
    setup::{self, Facts, ImageFacts, NativeFacts, PlannedStep, Step},
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

/// Resolves the configured backend into a plan, fetching what it lacks when allowed.
pub(crate) async fn plan(config: &ProvisionConfig) -> Result<Plan, ProvisionError> {
    if config.backend == BackendChoice::External {
        return Ok(Plan::External {
            postgres: config
                .external_postgres
                .clone()
                .ok_or(ProvisionError::MissingUrl("DATABASE_URL"))?,
            redis: config
                .external_redis
                .clone()
                .ok_or(ProvisionError::MissingUrl("REDIS_URL"))?,
        });
    }
    // Steps taken so far, with why they did not settle it. Each round either returns or adds
    // one, and `decide` never proposes a recorded step again, so the loop ends; the bound is
    // a second guard.
    let mut taken: Vec<(Step, String)> = Vec::new();
    for _ in 0..8 {
        let (facts, docker) = gather(config, taken.clone()).await;
        let decision =
            setup::decide(config.backend, &facts).map_err(ProvisionError::NothingUsable)?;
        if decision.steps.is_empty() {
            if let Some(why) = &decision.passed_over {
                tracing::info!(reason = %why, "docker not usable; using native processes");
            }
            return usable_plan(decision.backend, docker, config).await;
        }
        for planned in decision.steps {
            let outcome = take_step(&planned, docker.as_ref(), config).await;
            let failed = outcome.is_err();
            let note = outcome
                .err()
                .unwrap_or_else(|| "it ran, yet the backend is still not usable".to_owned());
            if failed {
                config
                    .observer
                    .step(&format!("could not {}: {note}", planned.step));
            }
            taken.push((planned.step, note));
            if failed {
                break;
            }
        }
    }
    let (facts, _) = gather(config, taken).await;
    Err(match setup::decide(config.backend, &facts) {
        Err(refusal) => ProvisionError::NothingUsable(refusal),
        Ok(decision) => ProvisionError::InvalidConfig(format!(
            "set-up did not converge; still planned: {:?}",
            decision.steps
        )),
    })
}

/// The plan once `decide` asks for no more steps.
async fn usable_plan(
    backend: Backend,
    docker: Option<Docker>,
    config: &ProvisionConfig,
) -> Result<Plan, ProvisionError> {
    match (backend, docker) {
        (Backend::Docker, Some(docker)) => {
            let postgres =
                docker::resolve_image(&docker, Role::Postgres, config.postgres_image.as_deref())
                    .await?;
            let redis =
                docker::resolve_image(&docker, Role::Redis, config.redis_image.as_deref()).await?;
            Ok(Plan::Docker {
                docker,
                postgres,
                redis,
            })
        }
        _ => Ok(Plan::Native(NativeBinaries::locate()?)),
    }
}

/// Reads what the machine offers; `taken` are the steps already tried.
async fn gather(config: &ProvisionConfig, taken: Vec<(Step, String)>) -> (Facts, Option<Docker>) {
    let mut facts = Facts {
        changes: config.changes,
        native: NativeFacts {
            postgres: binaries::find_postgres_bin("postgres").is_some()
                && binaries::find_postgres_bin("initdb").is_some(),
            redis: binaries::find_on_path("redis-server").is_some(),
        },
        cannot_install: setup::apt::cannot_install(),
        failed: taken,
        ..Facts::default()
    };
    let docker = match config.backend {
        BackendChoice::Native => None,
        _ => match docker::connect(config.docker_probe_timeout).await {
            Ok(client) => Some(client),
            Err(e) => {
                facts.docker_unreachable = Some(e.to_string());
                None
            }
        },
    };
    if let Some(client) = &docker {
        facts.images = image_facts(client, config).await;
    }
    (facts, docker)
}

async fn image_facts(docker: &Docker, config: &ProvisionConfig) -> ImageFacts {
    let mut facts = ImageFacts {
        usable: true,
        local_image_helps: config.postgres_image.is_none() && config.redis_image.is_none(),
        mmdebstrap: binaries::find_on_path("mmdebstrap").is_some(),
        ..ImageFacts::default()
    };
    for (role, explicit) in [
        (Role::Postgres, config.postgres_image.as_deref()),
        (Role::Redis, config.redis_image.as_deref()),
    ] {
        if docker::resolve_image(docker, role, explicit).await.is_err() {
            facts.usable = false;
            facts
                .to_pull
                .push(explicit.unwrap_or(role.official_image()).to_owned());
        }
    }
    facts
}

/// Makes one change to the machine, announcing what, why and how long it took.
async fn take_step(
    planned: &PlannedStep,
    docker: Option<&Docker>,
    config: &ProvisionConfig,
) -> Result<(), String> {
    let observer = &config.observer;
    let started = Instant::now();
    let no_docker = || "Docker went away".to_owned();
    match &planned.step {
        Step::Pull(images) => {
            observer.step(&format!("{}: pulling {}", planned.why, images.join(", ")));
            let docker = docker.ok_or_else(no_docker)?;
            for image in images {
                docker::pull_image(docker, image, PULL_STALL, |l| observer.progress(l)).await?;
            }
        }
        Step::Install(packages) => {
            observer.step(&format!(
                "{}: installing {}",
                planned.why,
                packages.join(" ")
            ));
            setup::apt::install(packages, observer).await?;
        }
        Step::BuildLocalImage => {
            observer.step(&format!(
                "{}: building {} (2–3 minutes, once: later runs reuse it)",
                planned.why,
                local_image::local_image_reference()
            ));
            let docker = docker.ok_or_else(no_docker)?;
            local_image::build_local_image(docker, |l| observer.progress(l))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    // apt announces its own "installed … in N s".
    if !matches!(planned.step, Step::Install(_)) {
        observer.step(&format!(
            "{} done in {}",
            planned.step,
            setup::seconds(started.elapsed())
        ));
    }
    Ok(())
}

/// A registry that does not answer for this long is taken as unreachable.
const PULL_STALL: Duration = Duration::from_secs(30);

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
    /// The backend the configured choice resolves to, or why none (with the commands that
    /// would fix it).
    pub decision: Result<Backend, String>,
    /// What a run would do to the machine first (`step: why`); empty when nothing.
    pub setup: Vec<String>,
    /// Whether runs may make those changes (`--no-install` refuses).
    pub changes: setup::SystemChanges,
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
    // The decision a run would make, without acting on it: the same `decide` a run calls.
    let (decision, setup) = if config.backend == BackendChoice::External {
        let decision = match plan(config).await {
            Ok(_) => Ok(Backend::External),
            Err(e) => Err(e.to_string()),
        };
        (decision, Vec::new())
    } else {
        let (facts, _) = gather(config, Vec::new()).await;
        match setup::decide(config.backend, &facts) {
            Ok(decision) => (
                Ok(decision.backend),
                decision
                    .steps
                    .iter()
                    .map(|s| format!("{}: {}", s.step, s.why))
                    .collect(),
            ),
            Err(refusal) => (Err(refusal.to_string()), Vec::new()),
        }
    };
    EnvironmentReport {
        requested: config.backend,
        docker_host,
        docker,
        images,
        native,
        decision,
        setup,
        changes: config.changes,
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
            Ok(backend) => write!(f, "backend {} → {backend}", self.requested)?,
            Err(reason) => return write!(f, "backend {} → none: {reason}", self.requested),
        }
        for step in &self.setup {
            write!(f, "\n  first: {step}")?;
        }
        if self.setup.first().is_some_and(|s| s.starts_with("pull ")) {
            write!(
                f,
                "\n  (if no registry answers: build the local image {} instead)",
                local_image::local_image_reference()
            )?;
        }
        Ok(())
    }
}
