//! The system under test when no `--target` is given: Postgres and Redis provisioned for this
//! run (or a stack the caller keeps), the reference service in this process on 127.0.0.1:0
//! or, with `--service-process`, in a child process ([`super::service_process`]), seeded
//! before it answers.
//!
//! One way in: [`start`] with [`Options`]. The parts: [`proxies`] (the fault proxies of a run
//! with faults), [`settings`] (the service's settings, and the same as a child's
//! environment), [`fixture`] (the data set, and the scenarios' view of what was seeded).

pub mod fixture;
mod proxies;
pub mod settings;

use std::time::Duration;

use anyhow::Context;
use gauntlet_reports::model::{Backend, Wiring};
use gauntlet_scenarios::hrms::Fixture;
use gauntlet_testcontainers::{ProvisionConfig, Stack};
use hrms::config::Settings;
use hrms::defects::Defects;
use hrms::seed::{SeedSpec, SeededData};
use hrms::{Application, RunningService};

pub use fixture::fixture;
pub use proxies::Proxies;
pub use settings::defects_from_env;

use super::service_process::ServiceProcess;

/// How long the service may take to answer `/health/ready` after it started serving.
pub const READY_DEADLINE: Duration = Duration::from_secs(30);

/// Where Postgres and Redis come from.
pub enum Dependencies<'a> {
    /// Provisioned for this service, which removes them when it stops.
    Provision(&'a ProvisionConfig),
    /// A stack the caller keeps, so that one stack and one seed serve several services in turn
    /// (the probe tests start one per seeded defect).
    Shared(&'a Stack),
}

/// Where the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A task in this process: the cheapest; its CPU counts as the generator's.
    InProcess,
    /// A child process (`--service-process`) that chaos can kill, stop, pause and restart.
    ChildProcess,
}

/// How to start the service.
pub struct Options {
    /// Written before the service answers; `None` leaves the database as it is.
    pub seed: Option<SeedSpec>,
    /// Straight to the dependencies, or through fault proxies.
    pub wiring: Wiring,
    /// In this process or a child.
    pub placement: Placement,
    /// Seeded defects to switch on ([`defects_from_env`] is what the `hrms` binary would use).
    pub defects: Defects,
    /// Opens the platform operator's `/admin` routes to this bearer token (`gauntlet fuzz`
    /// needs them to reach every operation); closed when `None`, as in production defaults.
    pub operator_token: Option<String>,
}

/// A running reference service and what it stands on. Dropping it stops everything (each
/// part stops itself on drop); [`LocalService::stop`] does it gracefully, in order.
pub struct LocalService {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The seeded tenants and credentials, as the scenarios read them.
    pub fixture: Fixture,
    /// Where Postgres and Redis came from, as the report names it.
    pub backend: Backend,
    seeded: Option<SeededData>,
    runner: Runner,
    proxies: Option<Proxies>,
    /// The stack when the service owns it ([`Dependencies::Provision`]).
    stack: Option<Stack>,
}

/// The running service, by [`Placement`].
enum Runner {
    InProcess(RunningService),
    Child(ServiceProcess),
}

/// Starts the service as `options` say, on `dependencies`, and waits until it is ready.
pub async fn start(
    dependencies: Dependencies<'_>,
    options: Options,
) -> anyhow::Result<LocalService> {
    match dependencies {
        Dependencies::Provision(config) => {
            let stack = Stack::provision(config)
                .await
                .context("provisioning Postgres and Redis")?;
            // On an error the stack drops here, and its servers go with it.
            let service = start_on(&stack, options).await?;
            Ok(LocalService {
                stack: Some(stack),
                ..service
            })
        }
        Dependencies::Shared(stack) => start_on(stack, options).await,
    }
}

async fn start_on(stack: &Stack, options: Options) -> anyhow::Result<LocalService> {
    let proxies = Proxies::wire(stack, options.wiring).await?;
    let mut settings = settings::for_run(stack, proxies.as_ref(), options.defects);
    settings.auth.operator_token = options.operator_token.map(hrms::config::Secret::new);
    settings.server.injected_latency = settings::injected_latency_from_env()?;
    let seed = options.seed.as_ref();
    let limits = settings.rate_limit.tiers;
    let (runner, seeded) = match options.placement {
        Placement::InProcess => in_process(settings, seed).await?,
        Placement::ChildProcess => child_process(&settings, seed).await?,
    };
    let base_url = match &runner {
        Runner::InProcess(service) => service.base_url().to_owned(),
        Runner::Child(process) => process.base_url(),
    };
    Ok(LocalService {
        base_url,
        fixture: seeded
            .as_ref()
            .map(|s| fixture(s, &limits))
            .unwrap_or_default(),
        backend: report_backend(stack.backend()),
        seeded,
        runner,
        proxies,
        stack: None,
    })
}

/// Builds, seeds (before serving, so the first request sees the data), serves, waits.
async fn in_process(
    settings: Settings,
    seed: Option<&SeedSpec>,
) -> anyhow::Result<(Runner, Option<SeededData>)> {
    let app = Application::build(settings)
        .await
        .context("starting the reference service")?;
    let seeded = match seed {
        Some(spec) => Some(
            hrms::seed::seed(&app.state().db, spec)
                .await
                .context("seeding the database")?,
        ),
        None => None,
    };
    let service = app.spawn();
    service.wait_ready(READY_DEADLINE).await?;
    Ok((Runner::InProcess(service), seeded))
}

/// The harness migrates and seeds (it has the stack), then the child only serves.
async fn child_process(
    settings: &Settings,
    seed: Option<&SeedSpec>,
) -> anyhow::Result<(Runner, Option<SeededData>)> {
    let pool = hrms::db::pool(&settings.database).context("database settings")?;
    hrms::db::MIGRATOR
        .run(&pool)
        .await
        .context("migrating the database")?;
    let seeded = match seed {
        Some(spec) => Some(
            hrms::seed::seed(&pool, spec)
                .await
                .context("seeding the database")?,
        ),
        None => None,
    };
    pool.close().await;
    let process = ServiceProcess::start(settings::child_env(settings))
        .await
        .context("starting the reference service as a child process")?;
    Ok((Runner::Child(process), seeded))
}

/// The provisioner's backend in the report's words (the report crate depends on no other).
pub fn report_backend(backend: gauntlet_testcontainers::Backend) -> Backend {
    match backend {
        gauntlet_testcontainers::Backend::Docker => Backend::Docker,
        gauntlet_testcontainers::Backend::Native => Backend::Native,
        gauntlet_testcontainers::Backend::External => Backend::External,
    }
}

impl LocalService {
    /// What was seeded (`gauntlet serve` prints its credentials), if anything.
    pub fn seeded(&self) -> Option<&SeededData> {
        self.seeded.as_ref()
    }

    /// The service's child process, when it runs in one.
    pub fn process(&self) -> Option<&ServiceProcess> {
        match &self.runner {
            Runner::Child(process) => Some(process),
            Runner::InProcess(_) => None,
        }
    }

    /// The provisioned Postgres and Redis, when the service owns them (for printing and for
    /// lifecycle faults).
    pub fn stack(&self) -> Option<&Stack> {
        self.stack.as_ref()
    }

    /// The fault proxies in front of Postgres and Redis.
    pub fn proxies(&self) -> Option<&Proxies> {
        self.proxies.as_ref()
    }

    /// Begins a graceful stop without waiting for it (SIGTERM to a child, the drain signal
    /// in process): the listener closes, requests in flight finish. Says which it was.
    pub async fn begin_stop(&mut self) -> anyhow::Result<&'static str> {
        match &mut self.runner {
            Runner::InProcess(service) => {
                service.begin_stop();
                Ok("graceful stop of the in-process service (the drain SIGTERM starts)")
            }
            Runner::Child(process) => {
                process.terminate().await?;
                Ok("SIGTERM to the service process")
            }
        }
    }

    /// The key the service signs tokens with, when the harness chose it (a child process's
    /// `JWT_SECRET`); an in-process service keeps a random one of its own.
    pub fn jwt_secret(&self) -> Option<String> {
        self.process()
            .and_then(|p| p.env_value("JWT_SECRET"))
            .map(str::to_owned)
    }

    /// Graceful stop, in order: the service drains, then the proxies and the stack go.
    pub async fn stop(self) {
        let stopped = match self.runner {
            Runner::InProcess(service) => service.stop().await.map_err(anyhow::Error::new),
            Runner::Child(process) => process.stop().await,
        };
        if let Err(e) = stopped {
            tracing::warn!(error = %format!("{e:#}"), "the service did not stop cleanly");
        }
        if let Some(proxies) = self.proxies {
            proxies.shutdown().await;
        }
        if let Some(stack) = self.stack {
            stack.shutdown().await;
        }
    }
}
