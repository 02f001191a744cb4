//! The write-behind buffer of the seeded defect `ack_before_durable` (see [`crate::defects`]).
//!
//! A clock-in is answered 201 as soon as it is queued here; a background task writes the
//! queue to Postgres once per [`FLUSH_EVERY`]. A flush that fails (Postgres down, a conflicting
//! open shift) drops its batch with a log line: exactly the mistake a real write-behind cache
//! makes when it is not backed by a durable log. Off by default; only built when the defect is
//! switched on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::cost::Measure;
use crate::db;
use crate::ids::{EmployeeId, TenantId};

/// How long an acknowledged clock-in may wait in memory.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// A shift acknowledged but not yet written.
#[derive(Debug, Clone)]
pub struct PendingShift {
    /// The id already returned to the client.
    pub id: Uuid,
    /// Whose tenant.
    pub tenant: TenantId,
    /// Whose shift.
    pub employee: EmployeeId,
    /// The clock-in time already returned to the client.
    pub clock_in: DateTime<Utc>,
}

/// The queue's sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct WriteBehind {
    queue: mpsc::UnboundedSender<PendingShift>,
}

impl WriteBehind {
    /// Starts the flusher on the current runtime; it ends when every sender is gone.
    pub fn start(pool: PgPool) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(flush_forever(pool, rx));
        Self { queue }
    }

    /// Queues a shift; the caller acknowledges it at once (the defect).
    pub fn enqueue(&self, shift: PendingShift) {
        if self.queue.send(shift).is_err() {
            tracing::warn!("write-behind flusher gone; shift dropped");
        }
    }
}

async fn flush_forever(pool: PgPool, mut rx: mpsc::UnboundedReceiver<PendingShift>) {
    let mut batch = Vec::new();
    loop {
        tokio::time::sleep(FLUSH_EVERY).await;
        if rx.recv_many(&mut batch, 10_000).await == 0 {
            return;
        }
        for shift in batch.drain(..) {
            if let Err(e) = write(&pool, &shift).await {
                tracing::warn!(error = %e, shift = %shift.id, "write-behind flush failed; shift dropped");
            }
        }
    }
}

async fn write(pool: &PgPool, s: &PendingShift) -> Result<(), sqlx::Error> {
    let mut tx = db::begin_tenant(pool, s.tenant).await?;
    sqlx::query(
        "INSERT INTO attendance (id, tenant_id, employee_id, clock_in) VALUES ($1, $2, $3, $4)",
    )
    .bind(s.id)
    .bind(s.tenant)
    .bind(s.employee)
    .bind(s.clock_in)
    .execute(&mut *tx)
    .measured()
    .await?;
    tx.commit().measured().await
}
