//! The system under test when no `--target` is given: Postgres and Redis provisioned for this
//! run, the reference service in this process on 127.0.0.1:0 (or, with `--service-process`,
//! in a child process: [`super::service_process`]), seeded from the run's seed.

use std::time::{Duration, Instant};

use anyhow::Context;
use gauntlet_chaos::FaultProxy;
use gauntlet_reports::model::{Backend, Wiring};
use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::hrms::{Fixture, Role, TenantFixture, UserCredential};
use gauntlet_testcontainers::{ProvisionConfig, Stack};
use hrms::config::{Argon2Settings, Settings};
use hrms::ratelimit::Tier;
use hrms::seed::{SeedSpec, SeededData};
use hrms::{Application, StartupError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::service_process::ServiceProcess;

/// How long the service may take to answer `/health/ready` after it started serving.
pub const READY_DEADLINE: Duration = Duration::from_secs(30);

/// A running reference service and what it stands on. Dropping it stops everything
/// (the stack removes its servers on drop); [`LocalService::stop`] does it gracefully.
pub struct LocalService {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The seeded tenants and credentials.
    pub fixture: Fixture,
    /// Where Postgres and Redis came from, as the report names it.
    pub backend: Backend,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), StartupError>>>,
    stack: Option<Stack>,
    proxies: Option<Proxies>,
    /// The service as a child process (`--service-process`), instead of `server`.
    process: Option<ServiceProcess>,
}

/// The fault proxies the service reaches its dependencies through: network faults are
/// applied here whatever the backend, and the service's addresses never change when a
/// dependency restarts.
pub struct Proxies {
    /// In front of Postgres.
    pub postgres: FaultProxy,
    /// In front of Redis.
    pub redis: FaultProxy,
}

impl Proxies {
    /// Proxies for `wiring`: none when direct. Each proxied round trip costs about as much
    /// CPU again as the direct one (two loopback hops instead of one): `cargo bench --bench
    /// proxy_service` measured the service at ~0.78x its direct throughput on a 2-core box,
    /// so a run with no fault to apply keeps that cost out of its numbers.
    async fn wire(stack: &Stack, wiring: Wiring) -> anyhow::Result<Option<Proxies>> {
        match wiring {
            Wiring::Direct => Ok(None),
            Wiring::FaultProxies => Proxies::start(stack).await.map(Some),
        }
    }

    async fn start(stack: &Stack) -> anyhow::Result<Proxies> {
        let start = |url: &url::Url| {
            let upstream = upstream_addr(url);
            async move {
                let upstream = upstream?;
                FaultProxy::start(([127, 0, 0, 1], 0).into(), upstream)
                    .await
                    .context("starting a fault proxy")
            }
        };
        Ok(Proxies {
            postgres: start(stack.postgres.url()).await?,
            redis: start(stack.redis.url()).await?,
        })
    }
}

/// The provisioner's backend in the report's words (the report crate depends on no other).
pub fn report_backend(backend: gauntlet_testcontainers::Backend) -> Backend {
    match backend {
        gauntlet_testcontainers::Backend::Docker => Backend::Docker,
        gauntlet_testcontainers::Backend::Native => Backend::Native,
        gauntlet_testcontainers::Backend::External => Backend::External,
    }
}

/// The socket address a dependency URL points at.
fn upstream_addr(url: &url::Url) -> anyhow::Result<std::net::SocketAddr> {
    url.socket_addrs(|| None)
        .with_context(|| format!("resolving {}", gauntlet_testcontainers::redact(url)))?
        .into_iter()
        .next()
        .with_context(|| format!("{} has no address", gauntlet_testcontainers::redact(url)))
}

/// `url` with its host and port replaced by the proxy's.
fn through(url: &url::Url, proxy: &FaultProxy) -> url::Url {
    let mut out = url.clone();
    let addr = proxy.local_addr();
    // Both setters only fail for URLs that cannot have a host (e.g. `mailto:`).
    let _ = out.set_ip_host(addr.ip());
    let _ = out.set_port(Some(addr.port()));
    out
}

/// Provisions, starts, waits for readiness and seeds the plan's profile.
pub async fn start(
    config: &ProvisionConfig,
    plan: &LoadPlan,
    seed: u64,
    wiring: Wiring,
) -> anyhow::Result<LocalService> {
    start_wired(config, &seed_spec(plan, seed), wiring)
        .await
        .map(|(service, _)| service)
}

/// Provisions, starts, seeds `spec` and waits for readiness; also returns what was seeded
/// (`gauntlet serve` prints its credentials). Dependencies are reached directly.
pub async fn start_seeded(
    config: &ProvisionConfig,
    spec: &SeedSpec,
) -> anyhow::Result<(LocalService, SeededData)> {
    start_wired(config, spec, Wiring::Direct).await
}

async fn start_wired(
    config: &ProvisionConfig,
    spec: &SeedSpec,
    wiring: Wiring,
) -> anyhow::Result<(LocalService, SeededData)> {
    let stack = Stack::provision(config)
        .await
        .context("provisioning Postgres and Redis")?;
    let defects = defects_from_env()?;
    let (service, seeded) = serve_wired(&stack, Some(spec), defects, wiring).await?;
    let seeded = seeded.context("seeding the database")?;
    Ok((service.owning(stack), seeded))
}

/// Seeded defects are ordinary service configuration: the in-process service takes
/// `HRMS__DEFECTS__*` from the environment, as the `hrms` binary does.
fn defects_from_env() -> anyhow::Result<hrms::defects::Defects> {
    let vars = std::env::vars().filter(|(k, _)| k.starts_with("HRMS__DEFECTS__"));
    let settings = Settings::load_from(None, vars).context("reading HRMS__DEFECTS__*")?;
    Ok(settings.defects)
}

/// Starts the service on an already provisioned `stack` with `defects` switched on (a
/// testing aid for the probes), seeding `spec` if given; the stack stays the caller's, so
/// one stack and one seed can serve several services in turn. Dependencies are reached
/// directly: nothing here applies faults.
pub async fn serve_on(
    stack: &Stack,
    spec: Option<&SeedSpec>,
    defects: hrms::defects::Defects,
) -> anyhow::Result<(LocalService, Option<SeededData>)> {
    serve_wired(stack, spec, defects, Wiring::Direct).await
}

/// [`serve_on`] with the dependencies reached as `wiring` says.
async fn serve_wired(
    stack: &Stack,
    spec: Option<&SeedSpec>,
    defects: hrms::defects::Defects,
    wiring: Wiring,
) -> anyhow::Result<(LocalService, Option<SeededData>)> {
    let proxies = Proxies::wire(stack, wiring).await?;
    let mut settings = settings(stack, proxies.as_ref())?;
    settings.defects = defects;
    let app = Application::build(settings)
        .await
        .context("starting the reference service")?;
    let seeded = match spec {
        Some(spec) => Some(
            hrms::seed::seed(&app.state().db, spec)
                .await
                .context("seeding the database")?,
        ),
        None => None,
    };
    let base_url = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let service = LocalService {
        base_url,
        fixture: seeded.as_ref().map(fixture).unwrap_or_default(),
        backend: report_backend(stack.backend()),
        shutdown: Some(tx),
        server: Some(server),
        stack: None,
        proxies,
        process: None,
    };
    wait_ready(&service.base_url, READY_DEADLINE).await?;
    Ok((service, seeded))
}

/// Provisions, seeds, then starts the service as a child process on a port of its own and
/// waits for readiness: the harness seeds (it has the stack), the child only serves.
pub async fn start_process(
    config: &ProvisionConfig,
    plan: &LoadPlan,
    seed: u64,
    wiring: Wiring,
) -> anyhow::Result<LocalService> {
    let stack = Stack::provision(config)
        .await
        .context("provisioning Postgres and Redis")?;
    let backend = report_backend(stack.backend());
    let proxies = Proxies::wire(&stack, wiring).await?;
    let settings = settings(&stack, proxies.as_ref())?;
    let pool = hrms::db::pool(&settings.database).context("database settings")?;
    hrms::db::MIGRATOR
        .run(&pool)
        .await
        .context("migrating the database")?;
    let seeded = hrms::seed::seed(&pool, &seed_spec(plan, seed))
        .await
        .context("seeding the database")?;
    pool.close().await;
    let process = ServiceProcess::start(child_env(&settings))
        .await
        .context("starting the reference service as a child process")?;
    Ok(LocalService {
        base_url: process.base_url(),
        fixture: fixture(&seeded),
        backend,
        shutdown: None,
        server: None,
        stack: Some(stack),
        proxies,
        process: Some(process),
    })
}

/// The child's environment for `settings`, in the service's own variable names. The JWT
/// secret is chosen here, once per run: a service left to generate its own would reject
/// every token issued before a restart.
fn child_env(settings: &Settings) -> Vec<(String, String)> {
    let argon2 = settings.auth.argon2;
    let jwt_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    [
        ("DATABASE_URL", settings.database.url.to_string()),
        ("REDIS_URL", settings.redis.url.to_string()),
        ("JWT_SECRET", jwt_secret),
        ("HRMS_ARGON2_M_COST", argon2.m_cost.to_string()),
        ("HRMS_ARGON2_T_COST", argon2.t_cost.to_string()),
        ("HRMS_ARGON2_P_COST", argon2.p_cost.to_string()),
        (
            "HRMS__SERVER__SHUTDOWN_GRACE",
            format!("{}ms", settings.server.shutdown_grace.as_millis()),
        ),
        // The harness migrated before seeding; a restart need not take the lock again.
        ("HRMS__DATABASE__MIGRATE", "false".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl LocalService {
    /// The service's child process, when it runs in one.
    pub fn process(&self) -> Option<&ServiceProcess> {
        self.process.as_ref()
    }

    /// Hands `stack` to the service, which then removes it when it stops.
    pub fn owning(mut self, stack: Stack) -> LocalService {
        self.stack = Some(stack);
        self
    }

    /// The provisioned Postgres and Redis (for printing and for lifecycle faults).
    pub fn stack(&self) -> Option<&Stack> {
        self.stack.as_ref()
    }

    /// The fault proxies in front of Postgres and Redis.
    pub fn proxies(&self) -> Option<&Proxies> {
        self.proxies.as_ref()
    }

    /// Graceful stop: the service drains, then the stack is removed.
    pub async fn stop(mut self) {
        if let Some(process) = self.process.take()
            && let Err(e) = process.stop().await
        {
            tracing::warn!(error = %format!("{e:#}"), "service process did not stop cleanly");
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Err(e)) => tracing::warn!(error = %e, "service stopped with an error"),
                Err(e) => tracing::warn!(error = %e, "service task failed"),
                Ok(Ok(())) => {}
            }
        }
        if let Some(proxies) = self.proxies.take() {
            proxies.postgres.shutdown().await;
            proxies.redis.shutdown().await;
        }
        if let Some(stack) = self.stack.take() {
            stack.shutdown().await;
        }
    }
}

impl Drop for LocalService {
    fn drop(&mut self) {
        // A drop without `stop` (an error path): abort serving; the stack's own drop removes
        // the servers.
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Load-test settings: cheap password hashing (the run measures the API, not argon2) and
/// everything else as in production, rate limits included. Dependencies are reached through
/// the fault proxies when there are any. Seeded defects are ordinary service configuration:
/// the in-process service takes `HRMS__DEFECTS__*` from the environment, as the `hrms` binary
/// does.
fn settings(stack: &Stack, proxies: Option<&Proxies>) -> anyhow::Result<Settings> {
    let mut s = Settings {
        defects: defects_from_env()?,
        ..Settings::default()
    };
    s.server.bind = ([127, 0, 0, 1], 0).into();
    s.server.shutdown_grace = Duration::from_secs(5);
    s.database.url = stack.postgres.url().clone();
    s.redis.url = stack.redis.url().clone();
    if let Some(p) = proxies {
        s.database.url = through(&s.database.url, &p.postgres);
        s.redis.url = through(&s.redis.url, &p.redis);
    }
    s.auth.argon2 = Argon2Settings::CHEAP;
    Ok(s)
}

/// Tiers in the order seeded tenants get them: largest first, so that a small data set is not
/// all throttled by the free tier, while four tenants or more cover every tier.
pub(crate) const TIERS_LARGEST_FIRST: [Tier; 4] = [
    Tier::Enterprise,
    Tier::Professional,
    Tier::Starter,
    Tier::Free,
];

/// The profile's data set. Tiers are assigned largest first so that the small profile's two
/// tenants are not both throttled by the free tier, while medium and larger cover every tier.
fn seed_spec(plan: &LoadPlan, seed: u64) -> SeedSpec {
    let employees = plan.size.employees_per_tenant as usize;
    SeedSpec {
        tenants: plan.size.tenants as usize,
        employees_per_tenant: employees,
        // One department (and manager) per ~12 employees, at least one, at most eight.
        departments_per_tenant: (employees / 12).clamp(1, 8),
        seed,
        tiers: TIERS_LARGEST_FIRST.to_vec(),
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    }
}

/// The seeder's layout (documented in `hrms::seed`): employee 0 is the HR admin, employees
/// 1..=D manage departments 0..D, and employee `e` belongs to department `e % D`.
fn group(role: Role, e: usize, departments: usize) -> Option<u32> {
    if departments == 0 {
        return None;
    }
    let g = match role {
        Role::Manager => e.checked_sub(1)?,
        _ => e % departments,
    };
    u32::try_from(g).ok()
}

/// The scenarios' fixture of what the seeder wrote.
pub fn fixture(seeded: &SeededData) -> Fixture {
    let role = |r: hrms::auth::Role| match r {
        hrms::auth::Role::Employee => Role::Employee,
        hrms::auth::Role::Manager => Role::Manager,
        hrms::auth::Role::HrAdmin => Role::HrAdmin,
    };
    Fixture {
        tenants: seeded
            .tenants
            .iter()
            .map(|t| TenantFixture {
                id: Some(t.id.to_string()),
                marker: t.marker.clone(),
                users: t
                    .users
                    .iter()
                    .enumerate()
                    .map(|(e, u)| UserCredential {
                        email: u.email.clone(),
                        password: u.password.clone(),
                        role: role(u.role),
                        employee_id: Some(u.employee_id.to_string()),
                        group: group(role(u.role), e, t.department_ids.len()),
                    })
                    .collect(),
                employee_ids: t.employee_ids.iter().map(|id| id.to_string()).collect(),
                department_ids: t.department_ids.iter().map(|id| id.to_string()).collect(),
                share: share_of(t.tier),
            })
            .collect(),
    }
}

/// Virtual users per tier, relative: bigger plans have more people logging in. Their ratios
/// follow the tiers' rate budgets, so every tenant sees load its plan can carry.
fn share_of(tier: Tier) -> u32 {
    match tier {
        Tier::Enterprise => 8,
        Tier::Professional => 4,
        Tier::Starter => 2,
        Tier::Free => 1,
    }
}

/// Polls `/health/ready` until it answers 200 or `deadline` passes.
pub async fn wait_ready(base_url: &str, deadline: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building the HTTP client")?;
    let started = Instant::now();
    let url = format!("{base_url}/health/ready");
    loop {
        let last = match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("status {}", r.status()),
            Err(e) => e.to_string(),
        };
        if started.elapsed() >= deadline {
            anyhow::bail!("{url} not ready after {deadline:?}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
