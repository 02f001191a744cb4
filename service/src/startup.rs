//! Building and running the application (zero2prod style): [`Application::build`] wires
//! every part and binds the listener, [`Application::port`] tells which port was picked,
//! [`Application::run_until_stopped`] serves until the shutdown future resolves.
//!
//! Everything that runs the service inside its own process (the service's tests, the
//! harness's in-process service, the benches) does it one way: [`Application::spawn`] (or
//! [`RunningService::start`]) → [`RunningService`], a handle with the address, the state, a
//! readiness poll and the ways to stop (graceful, or a simulated crash).

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::auth::{PasswordError, Passwords, TokenKeys};
use crate::config::Settings;
use crate::jobs::{JobQueue, Worker};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::state::{AppState, Inner};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database URL is unusable.
    #[error("database configuration")]
    Database(#[source] sqlx::Error),
    /// Migrations failed (or the database stayed unreachable past the deadline).
    #[error("migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The Redis URL is unusable.
    #[error("redis configuration")]
    Redis(#[from] redis::RedisError),
    /// The argon2 parameters are invalid.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Stored rate-limit overrides could not be loaded.
    #[error("loading rate-limit overrides: {0}")]
    Overrides(String),
    /// Binding or serving failed.
    #[error("listener")]
    Io(#[from] std::io::Error),
}

/// How long start-up keeps retrying an unreachable database before giving up: long enough
/// for a database container started alongside us, short enough to fail visibly.
const STARTUP_DB_DEADLINE: Duration = Duration::from_secs(30);

/// A built application: listener bound, state wired, not yet serving.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    settings: Settings,
}

impl Application {
    /// Connects, migrates, loads overrides and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // SEEDED DEFECT `pool_starvation` (inside `database_settings`).
        let database =
            crate::perf_defects::database_settings(&settings.database, &settings.defects);
        let db = crate::db::pool(&database).map_err(StartupError::Database)?;
        if settings.database.migrate {
            migrate_with_retry(&db).await?;
        }
        let redis = redis_manager(&settings)?;
        let limiter = RateLimiter::new(Some(redis.clone()), settings.rate_limit.clone());
        let loaded = crate::routes::admin::load_overrides(&db, &limiter)
            .await
            .map_err(|e| StartupError::Overrides(e.to_string()))?;
        let passwords = Passwords::new(settings.auth.argon2)?;
        let dummy_hash = {
            let p = passwords.clone();
            tokio::task::spawn_blocking(move || p.hash("not-a-real-password"))
                .await
                .map_err(|e| StartupError::Io(std::io::Error::other(e)))??
        };
        let listener = TcpListener::bind(settings.server.bind).await?;
        let addr = listener.local_addr()?;
        let port = addr.port();
        let state = AppState::new(Inner {
            jobs: JobQueue::new(redis.clone()),
            tokens: TokenKeys::new(&settings.auth.jwt_secret, settings.auth.token_ttl),
            operator_token: settings.auth.operator_token.clone(),
            probe_timeout: Duration::from_secs(1),
            server: settings.server.clone(),
            defects: settings.defects,
            cache: crate::cache::ResponseCache::default(),
            accounts: crate::sessions::AccountStatus::default(),
            write_behind: settings
                .defects
                .ack_before_durable
                .then(|| crate::write_behind::WriteBehind::start(db.clone())),
            metrics: std::sync::Arc::new(Metrics::new()),
            db,
            redis,
            passwords,
            dummy_hash,
            limiter,
        });
        settings.defects.announce();
        tracing::info!(port, overrides = loaded, "hrms built");
        Ok(Self {
            listener,
            addr,
            state,
            settings,
        })
    }

    /// The bound port (the real one when the config asked for port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The shared state (tests reach the pool and the limiter through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves HTTP and runs the payroll workers until `shutdown` resolves, then drains:
    /// stops accepting, lets in-flight requests finish and workers reach a batch boundary
    /// (their job goes back on the queue), each within `server.shutdown_grace`.
    ///
    /// Dropping this future instead (a crash, as tests simulate) aborts the workers without
    /// requeueing: their jobs stay in the processing list and the next start recovers them.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Self {
            listener,
            state,
            settings,
            ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = spawn_workers(&state, &settings, &stop_rx).await;
        let router = crate::routes::router(state);
        let graceful = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutdown requested: draining");
            let _ = stop_tx.send(true);
        });
        let grace = settings.server.shutdown_grace;
        let mut stopped = stop_rx.clone();
        let deadline = async move {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = graceful.into_future() => served?,
            () = deadline => tracing::warn!("drain deadline passed; dropping in-flight requests"),
        }
        drain_workers(workers, grace).await;
        tracing::info!("stopped");
        Ok(())
    }
}

mod running;

pub use running::{NotReady, RunningService, StopError, wait_ready};

fn redis_manager(settings: &Settings) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(settings.redis.url.as_str())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(settings.redis.connect_timeout))
        .set_response_timeout(Some(settings.redis.response_timeout))
        // Reconnect promptly after an outage instead of backing off for minutes.
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    // Lazy: a Redis that is down at start costs degraded rate limiting and 503s on payroll,
    // not a failed start.
    ConnectionManager::new_lazy_with_config(client, config)
}

async fn migrate_with_retry(db: &PgPool) -> Result<(), StartupError> {
    let started = Instant::now();
    loop {
        match crate::db::MIGRATOR.run(db).await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::Execute(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_),
            )) if started.elapsed() < STARTUP_DB_DEADLINE => {
                tracing::warn!("database not reachable yet; retrying migrations");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

async fn spawn_workers(
    state: &AppState,
    settings: &Settings,
    stop: &watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    if settings.jobs.workers == 0 {
        return set;
    }
    match state.jobs.recover_orphans().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "requeued jobs left by a stopped worker"),
        Err(err) => tracing::warn!(error = %err, "could not recover orphaned jobs (redis down?)"),
    }
    let worker = Worker {
        pool: state.db.clone(),
        queue: state.jobs.clone(),
        settings: settings.jobs.clone(),
        metrics: state.metrics.clone(),
        defects: state.defects,
    };
    for _ in 0..settings.jobs.workers {
        set.spawn(worker.clone().run(stop.clone()));
    }
    set
}

async fn drain_workers(mut workers: JoinSet<()>, grace: Duration) {
    let all_done = async { while workers.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all_done).await.is_err() {
        tracing::warn!("workers did not stop in time; aborting (jobs recover at next start)");
        workers.abort_all();
    }
}
