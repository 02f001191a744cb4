//! Payroll jobs: a reliable Redis queue and the worker pool that drains it.
//!
//! Queue design ("reliable queue"): producers `LPUSH` to [`QUEUE_KEY`]; a worker `LMOVE`s a
//! job atomically into [`PROCESSING_KEY`], works, then `LREM`s it. A worker that dies leaves
//! its job in the processing list, and the next start moves such orphans back to the queue.
//! The list entries hold only `(tenant, run)` ids, no tenant data.
//!
//! Correctness never rests on the queue delivering once: each batch inserts payslips with
//! `ON CONFLICT (tenant_id, run_id, employee_id) DO NOTHING`, so a job processed twice (an
//! orphan recovered while its worker was merely slow, a batch redone after a crash) still
//! yields exactly one payslip per active employee.

use std::time::Duration;

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::config::JobSettings;
use crate::cost::Measure;
use crate::db;
use crate::ids::TenantId;
use crate::metrics::Metrics;

/// Jobs waiting for a worker.
pub const QUEUE_KEY: &str = "hrms:jobs:payroll:queue";
/// Jobs taken by a worker and not yet finished.
pub const PROCESSING_KEY: &str = "hrms:jobs:payroll:processing";
/// How often a job whose run row is not visible yet is retried before it is dropped. The API
/// enqueues just before committing the run, so a fast worker can see the job first.
const MAX_NOT_FOUND_ATTEMPTS: u32 = 50;

/// One payroll job: compute the payslips of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayrollJob {
    /// Tenant of the run (the worker's transactions are confined to it by RLS).
    pub tenant_id: TenantId,
    /// The run.
    pub run_id: Uuid,
    /// Times this job was put back because its run was not visible yet.
    #[serde(default)]
    pub attempts: u32,
}

/// Handle on the payroll queue.
#[derive(Clone)]
pub struct JobQueue {
    redis: ConnectionManager,
}

impl JobQueue {
    /// Wraps a Redis connection.
    pub fn new(redis: ConnectionManager) -> Self {
        Self { redis }
    }

    /// Adds a job at the tail.
    pub async fn enqueue(&self, job: &PayrollJob) -> redis::RedisResult<()> {
        let raw = serde_json::to_string(job).expect("job serialises");
        let mut conn = self.redis.clone();
        redis::cmd("LPUSH")
            .arg(QUEUE_KEY)
            .arg(raw)
            .query_async::<()>(&mut conn)
            .redis()
            .await
    }

    /// Adds `copies` copies of one job at the tail in one round trip (a batch producer).
    pub async fn enqueue_copies(&self, job: &PayrollJob, copies: u64) -> redis::RedisResult<()> {
        let raw = serde_json::to_string(job).expect("job serialises");
        let mut conn = self.redis.clone();
        let mut cmd = redis::cmd("LPUSH");
        cmd.arg(QUEUE_KEY);
        for _ in 0..copies {
            cmd.arg(&raw);
        }
        cmd.query_async::<()>(&mut conn).await
    }

    /// Jobs waiting (not counting jobs being processed).
    pub async fn depth(&self) -> redis::RedisResult<u64> {
        let mut conn = self.redis.clone();
        redis::cmd("LLEN")
            .arg(QUEUE_KEY)
            .query_async(&mut conn)
            .await
    }

    async fn take(&self) -> redis::RedisResult<Option<String>> {
        let mut conn = self.redis.clone();
        redis::cmd("LMOVE")
            .arg(QUEUE_KEY)
            .arg(PROCESSING_KEY)
            .arg("RIGHT")
            .arg("LEFT")
            .query_async(&mut conn)
            .await
    }

    async fn ack(&self, raw: &str) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        redis::cmd("LREM")
            .arg(PROCESSING_KEY)
            .arg(1)
            .arg(raw)
            .query_async::<()>(&mut conn)
            .await
    }

    /// Puts a taken job back at the head of the queue (taken next), atomically.
    async fn requeue(&self, raw: &str, job: &PayrollJob) -> redis::RedisResult<()> {
        let new_raw = serde_json::to_string(job).expect("job serialises");
        let mut conn = self.redis.clone();
        redis::pipe()
            .atomic()
            .cmd("LREM")
            .arg(PROCESSING_KEY)
            .arg(1)
            .arg(raw)
            .cmd("RPUSH")
            .arg(QUEUE_KEY)
            .arg(new_raw)
            .query_async::<()>(&mut conn)
            .await
    }

    /// Moves every job left in the processing list (by a crashed worker) back to the queue.
    /// Returns how many were moved.
    pub async fn recover_orphans(&self) -> redis::RedisResult<u64> {
        let mut conn = self.redis.clone();
        let mut moved = 0;
        // One LMOVE per job keeps each move atomic; the list is short.
        while redis::cmd("LMOVE")
            .arg(PROCESSING_KEY)
            .arg(QUEUE_KEY)
            .arg("LEFT")
            .arg("RIGHT")
            .query_async::<Option<String>>(&mut conn)
            .await?
            .is_some()
        {
            moved += 1;
        }
        Ok(moved)
    }
}

/// The next batch of the job's tenant's active employees after the cursor.
const BATCH: &str = "SELECT id, salary_cents * $4 / 365 AS gross FROM employees \
     WHERE tenant_id = $1 AND status = 'active' AND id > $3 ORDER BY id LIMIT $5";

/// [`BATCH`] without its tenant filter (the seeded defect `payroll_without_tenant`); `$1 IS
/// NOT NULL` keeps the parameter list of the statement the same.
const UNSCOPED_BATCH: &str = "SELECT id, salary_cents * $4 / 365 AS gross FROM employees \
     WHERE $1::uuid IS NOT NULL AND status = 'active' AND id > $3 ORDER BY id LIMIT $5";

/// How one attempt at a job ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// All payslips written, run marked completed (or it already was).
    Done,
    /// Stopped between batches for shutdown: put back for the next worker.
    Interrupted,
    /// The run row is not visible (yet).
    RunMissing,
}

/// Everything a worker needs.
#[derive(Clone)]
pub struct Worker {
    /// Tenant data.
    pub pool: PgPool,
    /// The queue.
    pub queue: JobQueue,
    /// Batch size, pauses, polling.
    pub settings: JobSettings,
    /// Where payslip counts go.
    pub metrics: std::sync::Arc<Metrics>,
    /// Seeded defects (`payroll_without_tenant` lives in [`Worker::batch`]).
    pub defects: crate::defects::Defects,
}

impl Worker {
    /// Takes and processes jobs until `shutdown` turns true. A job in progress is finished
    /// up to the current batch and then put back on the queue.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match self.queue.take().await {
                Ok(Some(raw)) => self.handle(&raw, &shutdown).await,
                Ok(None) => self.idle(&mut shutdown, self.settings.poll_interval).await,
                Err(err) => {
                    tracing::warn!(error = %err, "payroll queue unreachable");
                    self.idle(&mut shutdown, self.settings.poll_interval * 5)
                        .await;
                }
            }
        }
    }

    async fn idle(&self, shutdown: &mut watch::Receiver<bool>, period: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => {}
        }
    }

    async fn handle(&self, raw: &str, shutdown: &watch::Receiver<bool>) {
        let Ok(mut job) = serde_json::from_str::<PayrollJob>(raw) else {
            tracing::error!(job = raw, "dropping malformed payroll job");
            let _ = self.queue.ack(raw).await;
            return;
        };
        let result = self.process(&job, shutdown).await;
        if self.defects.unbounded_queue {
            // SEEDED DEFECT `unbounded_queue`: a nap after each job, however long the queue.
            tokio::time::sleep(crate::perf_defects::WORKER_NAP).await;
        }
        let settled = match result {
            Ok(Outcome::Done) => self.queue.ack(raw).await,
            Ok(Outcome::RunMissing) if job.attempts >= MAX_NOT_FOUND_ATTEMPTS => {
                tracing::error!(run = %job.run_id, "dropping payroll job: run does not exist");
                self.queue.ack(raw).await
            }
            Ok(Outcome::RunMissing) => {
                job.attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                self.queue.requeue(raw, &job).await
            }
            Ok(Outcome::Interrupted) => self.queue.requeue(raw, &job).await,
            Err(err) => {
                tracing::warn!(run = %job.run_id, error = %err, "payroll batch failed; requeued");
                tokio::time::sleep(self.settings.poll_interval * 5).await;
                self.queue.requeue(raw, &job).await
            }
        };
        if let Err(err) = settled {
            // The job stays in the processing list; the next start recovers it.
            tracing::warn!(run = %job.run_id, error = %err, "could not settle payroll job");
        }
    }

    async fn process(
        &self,
        job: &PayrollJob,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Outcome, sqlx::Error> {
        let Some(days) = self.start_run(job).await? else {
            return Ok(Outcome::RunMissing);
        };
        let Some(days) = days else {
            return Ok(Outcome::Done);
        };
        let mut cursor = Uuid::nil();
        loop {
            if *shutdown.borrow() {
                return Ok(Outcome::Interrupted);
            }
            let (last, inserted) = self.batch(job, cursor, days).await?;
            self.metrics.payslips_created.inc_by(inserted);
            let Some(last) = last else { break };
            cursor = last;
            if !self.settings.batch_pause.is_zero() {
                tokio::time::sleep(self.settings.batch_pause).await;
            }
        }
        let mut tx = db::begin_tenant(&self.pool, job.tenant_id).await?;
        sqlx::query(
            "UPDATE payroll_runs SET status = 'completed', completed_at = now(), \
             employee_count = (SELECT count(*) FROM payslips WHERE tenant_id = $1 AND run_id = $2) \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(job.tenant_id)
        .bind(job.run_id)
        .execute(&mut *tx)
        .measured()
        .await?;
        tx.commit().measured().await?;
        tracing::info!(run = %job.run_id, tenant = %job.tenant_id, "payroll run completed");
        Ok(Outcome::Done)
    }

    /// Marks the run running. `None`: no such run; `Some(None)`: already completed;
    /// `Some(Some(days))`: go, the period has `days` days.
    async fn start_run(&self, job: &PayrollJob) -> Result<Option<Option<i64>>, sqlx::Error> {
        let mut tx = db::begin_tenant(&self.pool, job.tenant_id).await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "UPDATE payroll_runs SET status = CASE WHEN status = 'completed' THEN status ELSE 'running' END, \
             started_at = coalesce(started_at, now()) \
             WHERE tenant_id = $1 AND id = $2 \
             RETURNING status, (period_end - period_start + 1)::bigint",
        )
        .bind(job.tenant_id)
        .bind(job.run_id)
        .fetch_optional(&mut *tx)
        .measured()
        .await?;
        tx.commit().measured().await?;
        Ok(row.map(|(status, days)| (status != "completed").then_some(days)))
    }

    /// Writes the payslips of the next batch of active employees after `cursor` (keyset
    /// order by id). Returns the batch's last id (None when there was nothing left) and how
    /// many payslips were new.
    async fn batch(
        &self,
        job: &PayrollJob,
        cursor: Uuid,
        days: i64,
    ) -> Result<(Option<Uuid>, u64), sqlx::Error> {
        // SEEDED DEFECT `payroll_without_tenant`: the batch runs as the connecting superuser
        // (no row-level security: "the worker has no request, so no tenant") and its
        // employee selection forgets `tenant_id = $1`.
        let (mut tx, batch) = if self.defects.payroll_without_tenant {
            (self.pool.begin().await?, UNSCOPED_BATCH)
        } else {
            (db::begin_tenant(&self.pool, job.tenant_id).await?, BATCH)
        };
        let (last, inserted): (Option<Uuid>, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH batch AS ({batch}), \
             ins AS ( \
                 INSERT INTO payslips (id, tenant_id, run_id, employee_id, gross_cents, tax_cents, net_cents) \
                 SELECT gen_random_uuid(), $1, $2, id, gross, gross / 5, gross - gross / 5 FROM batch \
                 ON CONFLICT (tenant_id, run_id, employee_id) DO NOTHING RETURNING 1) \
             SELECT (SELECT id FROM batch ORDER BY id DESC LIMIT 1), (SELECT count(*) FROM ins)"
        )))
        .bind(job.tenant_id)
        .bind(job.run_id)
        .bind(cursor)
        .bind(days)
        .bind(i64::from(self.settings.batch_size.max(1)))
        .fetch_one(&mut *tx)
        .measured()
        .await?;
        tx.commit().measured().await?;
        Ok((last, u64::try_from(inserted).unwrap_or(0)))
    }
}
