//! The `job_flood` fault: a producer faster than the payroll workers, kept up for the fault's
//! duration (see [`gauntlet_chaos::JobFlood`] for why its jobs are harmless copies).
//!
//! It is the queue's side of the seed's job-queue alert, the way a noisy neighbour is the rate
//! limiter's: the queue is topped up to `depth` every [`TICK`] while the fault lasts, whatever
//! the workers take, and then left alone, so the backlog drains at the workers' own pace and
//! the alert's resolution measures that drain.

use std::time::Duration;

use anyhow::Context;
use gauntlet_chaos::JobFlood;
use hrms::jobs::{JobQueue, PayrollJob};
use sqlx::Connection;
use tokio::task::JoinHandle;
use url::Url;

/// How often the queue is topped up: often enough that workers draining hundreds of jobs a
/// second cannot take it below the alert's 1000 between two top-ups.
const TICK: Duration = Duration::from_millis(100);
/// At most this many jobs are pushed in one top-up, and this many top-ups happen at most, so
/// a flood is bounded in count even if its removal never came.
const MAX_PER_TICK: u64 = 20_000;
const MAX_TICKS: u32 = 6_000;

/// A running flood; dropping it stops the producer (the jobs already queued stay).
#[derive(Debug)]
pub(super) struct RunningFlood {
    producer: JoinHandle<()>,
}

impl Drop for RunningFlood {
    fn drop(&mut self) {
        self.producer.abort();
    }
}

/// Starts keeping the payroll queue of the service on `redis` at `flood.depth` jobs, copies of
/// the job of a completed payroll run read from `postgres`. Refused when no run is complete
/// yet (the experiment's load starts runs before its fault).
pub(super) async fn start(
    flood: JobFlood,
    redis: &Url,
    postgres: &Url,
) -> anyhow::Result<RunningFlood> {
    let job = completed_run(postgres).await?;
    let client = redis::Client::open(redis.as_str()).context("the Redis URL")?;
    let connection = tokio::time::timeout(
        Duration::from_secs(5),
        redis::aio::ConnectionManager::new(client),
    )
    .await
    .context("connecting to Redis for the job flood: timed out")?
    .context("connecting to Redis for the job flood")?;
    let queue = JobQueue::new(connection);
    let depth = u64::from(flood.depth);
    let producer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        for _ in 0..MAX_TICKS {
            tick.tick().await;
            let missing = match queue.depth().await {
                Ok(now) => depth.saturating_sub(now).min(MAX_PER_TICK),
                Err(e) => {
                    tracing::debug!(error = %e, "job flood: reading the queue's depth");
                    continue;
                }
            };
            if missing > 0
                && let Err(e) = queue.enqueue_copies(&job, missing).await
            {
                tracing::debug!(error = %e, "job flood: pushing jobs");
            }
        }
    });
    Ok(RunningFlood { producer })
}

/// The job of a completed payroll run (superuser connection: it reads across tenants).
async fn completed_run(postgres: &Url) -> anyhow::Result<PayrollJob> {
    let mut db = tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::PgConnection::connect(postgres.as_str()),
    )
    .await
    .context("connecting to Postgres for the job flood: timed out")?
    .context("connecting to Postgres for the job flood")?;
    let row: Option<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
        "SELECT tenant_id, id FROM payroll_runs WHERE status = 'completed' \
         ORDER BY completed_at DESC LIMIT 1",
    )
    .fetch_optional(&mut db)
    .await
    .context("reading a completed payroll run")?;
    let (tenant, run) = row.context(
        "no payroll run is complete yet, and the flood's jobs are copies of a completed run's \
         (start the fault later, or give the load an hr_admin that starts payroll runs)",
    )?;
    Ok(PayrollJob {
        tenant_id: hrms::ids::TenantId::from_uuid(tenant),
        run_id: run,
        attempts: 0,
    })
}
