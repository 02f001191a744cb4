//! A Postgres and a Redis, provisioned together: what a run or a test asks for.

use std::time::{Duration, Instant};

use crate::{
    Backend, Role, Server,
    config::ProvisionConfig,
    detect::{self, Plan},
    docker::DockerServer,
    error::ProvisionError,
    native::NativeServer,
    server::Inner,
};

/// Postgres and Redis, running. Dropping the stack removes both.
#[derive(Debug)]
pub struct Stack {
    /// The database.
    pub postgres: Server,
    /// The cache, queue and rate-limit store.
    pub redis: Server,
    /// Wall time from `provision` being called to both answering.
    pub time_to_ready: Duration,
}

impl Stack {
    /// Provisions both servers with the configured backend and waits until they answer.
    pub async fn provision(config: &ProvisionConfig) -> Result<Self, ProvisionError> {
        let started = Instant::now();
        let plan = detect::plan(config).await?;
        let (postgres, redis) = match plan {
            Plan::Docker {
                docker,
                postgres,
                redis,
            } => {
                let timeout = config.ready_timeout;
                let extras = crate::docker::Extras {
                    volume: config
                        .backup_volume
                        .then(|| format!("gauntlet-drill-{}-{}", std::process::id(), unique())),
                    data_size: config.postgres_data_size,
                    ..Default::default()
                };
                let (pg, rd) = tokio::try_join!(
                    DockerServer::start_with(
                        docker.clone(),
                        Role::Postgres,
                        &postgres,
                        timeout,
                        extras
                    ),
                    DockerServer::start_new(docker, Role::Redis, &redis, timeout),
                )?;
                (
                    Server::new(Role::Postgres, pg.url().clone(), Inner::Docker(pg)),
                    Server::new(Role::Redis, rd.url().clone(), Inner::Docker(rd)),
                )
            }
            Plan::Native(bins) => {
                let timeout = config.ready_timeout;
                let (pg, rd) = tokio::try_join!(
                    NativeServer::start_new(
                        Role::Postgres,
                        &bins,
                        timeout,
                        config.postgres_data_size
                    ),
                    NativeServer::start_new(Role::Redis, &bins, timeout, None),
                )?;
                (
                    Server::new(Role::Postgres, pg.url().clone(), Inner::Native(pg)),
                    Server::new(Role::Redis, rd.url().clone(), Inner::Native(rd)),
                )
            }
            Plan::External { postgres, redis } => {
                let timeout = config.ready_timeout;
                let pg = Server::new(Role::Postgres, postgres, Inner::External);
                let rd = Server::new(Role::Redis, redis, Inner::External);
                // Someone else's servers: we only check that they answer.
                tokio::try_join!(pg.wait_ready(timeout), rd.wait_ready(timeout)).map_err(|e| {
                    match e {
                        crate::ControlError::NotReady(inner) => inner,
                        other => ProvisionError::InvalidConfig(other.to_string()),
                    }
                })?;
                (pg, rd)
            }
        };
        let time_to_ready = started.elapsed();
        tracing::info!(
            backend = %postgres.backend(),
            postgres = %crate::redact(postgres.url()),
            redis = %redis.url(),
            ms = time_to_ready.as_millis() as u64,
            "dependencies ready"
        );
        Ok(Self {
            postgres,
            redis,
            time_to_ready,
        })
    }

    /// The backend that provided the servers.
    pub fn backend(&self) -> Backend {
        self.postgres.backend()
    }

    /// The server playing `role`.
    pub fn server(&self, role: Role) -> &Server {
        match role {
            Role::Postgres => &self.postgres,
            Role::Redis => &self.redis,
        }
    }

    /// Removes both servers and waits until they are gone.
    pub async fn shutdown(self) {
        let Self {
            postgres, redis, ..
        } = self;
        for server in [postgres, redis] {
            let role = server.role();
            if let Err(e) = server.shutdown().await {
                tracing::warn!(%role, error = %e, "clean-up failed");
            }
        }
    }
}

/// A number no other drill volume of this process has.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}
