//! The seeded *performance* defects' code (the switches are in `defects.rs`): realistic
//! mistakes that make the service slow or hungry without making it wrong, for the harness's
//! diagnosis to name. Each is called from the code it breaks, at a line marked
//! `SEEDED DEFECT`; with every switch off none of this runs.

use std::sync::Mutex;
use std::time::Duration;

use sqlx::postgres::PgRow;

use crate::config::DatabaseSettings;
use crate::cost::Measure;
use crate::db::TenantTx;
use crate::defects::Defects;
use crate::ids::{EmployeeId, TenantId};

/// `pool_starvation`: the pool a forgotten "temporary" setting left at two connections.
pub const STARVED_POOL: u32 = 2;

/// `slow_endpoint`: how long the blocking call holds a runtime worker thread.
pub const BLOCKING_CALL: Duration = Duration::from_millis(30);

/// `lock_contention`: the slow step done while the hot row is locked.
pub const LOCK_HELD: Duration = Duration::from_millis(40);

/// `memory_leak`: bytes kept per request.
pub const LEAKED_PER_REQUEST: usize = 4096;

/// `unbounded_queue`: how long a worker sleeps after each job instead of taking the next.
pub const WORKER_NAP: Duration = Duration::from_secs(2);

/// The database settings the service actually uses: with `pool_starvation` on, a pool of
/// [`STARVED_POOL`] whatever was configured.
pub fn database_settings(settings: &DatabaseSettings, defects: &Defects) -> DatabaseSettings {
    let mut settings = settings.clone();
    if defects.pool_starvation {
        // SEEDED DEFECT `pool_starvation`.
        settings.max_connections = STARVED_POOL;
        settings.min_connections = settings.min_connections.min(STARVED_POOL);
    }
    settings
}

/// `n_plus_one`: the page's rows fetched again one statement each (an ORM's lazy load).
pub async fn load_one_by_one<T>(
    tx: &mut TenantTx,
    columns: &str,
    tenant: TenantId,
    ids: impl IntoIterator<Item = EmployeeId>,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let sql = format!("SELECT {columns} FROM employees WHERE tenant_id = $1 AND id = $2");
    let mut out = Vec::new();
    for id in ids {
        let row: T = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(tenant)
            .bind(id)
            .fetch_one(&mut **tx)
            .measured()
            .await?;
        out.push(row);
    }
    Ok(out)
}

/// `missing_index`: the list's statements planned as if `employees` had no index, so every
/// list scans all tenants' employees and sorts its tenant's. Writing the filter so that no
/// index fits it (a cast, a function of the column) would not do: the row-level-security
/// policy's own `tenant_id = app_current_tenant()` reaches the index whatever the query
/// says. Switched off for this transaction only (`set_config(…, true)` is `SET LOCAL`).
pub async fn plan_without_indexes(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT set_config('enable_indexscan', 'off', true), \
         set_config('enable_bitmapscan', 'off', true), \
         set_config('enable_indexonlyscan', 'off', true)",
    )
    .execute(&mut **tx)
    .measured()
    .await?;
    Ok(())
}

/// `lock_contention`: every clock-in bumps a per-tenant counter row (the tenant's first
/// department) first, then does a slow step while still holding its lock, so a tenant's
/// clock-ins queue behind each other.
pub async fn hot_row(tx: &mut TenantTx, tenant: TenantId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE departments SET name = name WHERE id = \
         (SELECT id FROM departments WHERE tenant_id = $1 ORDER BY id LIMIT 1)",
    )
    .bind(tenant)
    .execute(&mut **tx)
    .measured()
    .await?;
    sqlx::query("SELECT pg_sleep($1)")
        .bind(LOCK_HELD.as_secs_f64())
        .execute(&mut **tx)
        .measured()
        .await?;
    Ok(())
}

/// `memory_leak`: a "per-request cache" that nothing ever evicts. Process-wide (as such
/// caches usually are), so it outlives an application rebuilt in the same process.
static LEAK: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// Keeps [`LEAKED_PER_REQUEST`] bytes for good. Filled, not zeroed, so the pages are
/// really resident (a zeroed allocation may be lazily mapped and never counted in RSS).
pub fn leak_request() {
    let kept = vec![0xA5_u8; LEAKED_PER_REQUEST].into_boxed_slice();
    if let Ok(mut leak) = LEAK.lock() {
        leak.push(kept);
    }
}

/// `slow_endpoint`: a synchronous call (a blocking client, a CPU-bound render) on the async
/// runtime's worker thread: the request waits, and so does every request on that thread.
pub fn blocking_call() {
    std::thread::sleep(BLOCKING_CALL);
}
