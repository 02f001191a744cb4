//! `db.index_use`: a tenant's employee list reads its own rows through an index, so its cost
//! does not grow with the other tenants' data. Local only (it writes to the database).
//!
//! Verify's tables are small (12 employees a tenant), and for tables that small Postgres plans
//! a sequential scan whatever indexes exist: a list that has lost its index costs nothing
//! there and is found in production, where the other tenants' rows are. So the check gives the
//! database the rows first: a scratch tenant with [`SCRATCH_ROWS`] employees (made once and
//! reused, statistics refreshed), then a bounded burst of the first tenant's list, and reads
//! from `pg_stat_statements` how many buffer pages the statements on `employees` touched per
//! list. An indexed list touches a few pages; one planned without its index reads the whole
//! table every time. (`pg_stat_statements` counts at the end of each statement; the table
//! counters of `pg_stat_user_tables` reach the view up to ten seconds late in Postgres 15.)

use std::time::Duration;

use gauntlet_scenarios::hrms::Role;
use sqlx::{PgPool, Row};

use super::Context;
use super::bottlenecks::{BurstShape, burst};
use super::database::{LOCAL_ONLY, connect};
use super::support::Finding;

/// The other tenant's employees: enough that a full scan is a real cost, few enough to insert
/// in well under a second.
const SCRATCH_ROWS: i64 = 20_000;
const SCRATCH_NAME: &str = "verify: other tenants' rows";
const LISTS: usize = 60;
const IN_FLIGHT: usize = 4;
/// Pages touched per list, as a share of the table's pages, above which the list is taken
/// for a scan: an indexed list of one tenant's page of 50 touches a few pages of a table of
/// hundreds.
const MAX_TABLE_SHARE_PER_LIST: f64 = 0.25;

pub async fn index_use(ctx: &Context<'_>) -> Finding {
    let pool = match connect(ctx).await {
        None => return Finding::skip(LOCAL_ONLY),
        Some(Err(e)) => return Finding::error(&e),
        Some(Ok(pool)) => pool,
    };
    let finding = measure(ctx, &pool).await;
    pool.close().await;
    finding.unwrap_or_else(|e| Finding::error(&e))
}

async fn measure(ctx: &Context<'_>, pool: &PgPool) -> anyhow::Result<Finding> {
    let table = ensure_scratch_tenant(pool).await?;
    // The view needs the extension in this database; loaded or not, `pages_touched` says.
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(pool)
        .await;
    let token = ctx.token(ctx.home()?, Role::HrAdmin).await?;
    let Some(before) = pages_touched(pool).await else {
        return Ok(Finding::skip(
            "pg_stat_statements is not loaded on this Postgres (shared_preload_libraries)",
        ));
    };
    let (client, url) = (
        ctx.client().clone(),
        format!("{}/employees?per_page=50", ctx.base_url),
    );
    let shape = BurstShape {
        requests: LISTS,
        in_flight: IN_FLIGHT,
        within: Duration::from_secs(10),
        pause: Duration::ZERO,
    };
    let seen = burst(shape, move |_| client.get(&url).bearer_auth(&token)).await;
    let after = pages_touched(pool)
        .await
        .ok_or_else(|| anyhow::anyhow!("pg_stat_statements stopped answering"))?;
    if seen.answered == 0 {
        return Ok(Finding::fail("no list was answered", Vec::new()));
    }
    let per_list = (after - before) as f64 / seen.answered as f64;
    let share = per_list / table.pages.max(1) as f64;
    let evidence = vec![format!(
        "employees: {} rows in {} pages ({SCRATCH_ROWS} rows of a scratch tenant); {} GET \
         /employees?per_page=50 of the first tenant: the statements on employees touched \
         {per_list:.0} pages per list ({:.0} % of the table)",
        table.rows,
        table.pages,
        seen.answered,
        100.0 * share
    )];
    Ok(if share > MAX_TABLE_SHARE_PER_LIST {
        Finding::fail(
            format!(
                "each employee list touched {per_list:.0} pages, {:.0} % of the employees table: \
                 it reads every tenant's rows instead of its tenant's index, so its cost grows \
                 with the other tenants' data",
                100.0 * share
            ),
            evidence,
        )
    } else {
        Finding::pass(
            format!(
                "the list reads its tenant's rows through an index ({per_list:.0} pages of {})",
                table.pages
            ),
            evidence,
        )
    })
}

/// The employees table as the planner sees it.
struct Table {
    rows: i64,
    pages: i64,
}

/// The scratch tenant and its employees, made once per database; the statistics refreshed so
/// the planner knows the table's size.
async fn ensure_scratch_tenant(pool: &PgPool) -> anyhow::Result<Table> {
    let exists: bool = sqlx::query("SELECT EXISTS (SELECT 1 FROM tenants WHERE name = $1)")
        .bind(SCRATCH_NAME)
        .fetch_one(pool)
        .await?
        .get(0);
    if !exists {
        let mut tx = pool.begin().await?;
        let tenant: uuid::Uuid = sqlx::query(
            "INSERT INTO tenants (id, name, tier, marker) \
             VALUES (gen_random_uuid(), $1, 'free', 'verify-scratch-' || gen_random_uuid()) \
             RETURNING id",
        )
        .bind(SCRATCH_NAME)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        sqlx::query(
            "INSERT INTO employees (id, tenant_id, first_name, last_name, email) \
             SELECT gen_random_uuid(), $1, 'Scratch', 'Row ' || g, \
                    'scratch-' || g || '@verify.invalid' \
             FROM generate_series(1, $2) AS g",
        )
        .bind(tenant)
        .bind(SCRATCH_ROWS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    sqlx::query("ANALYZE employees").execute(pool).await?;
    let row = sqlx::query(
        "SELECT reltuples::bigint, relpages::bigint FROM pg_class WHERE relname = 'employees'",
    )
    .fetch_one(pool)
    .await?;
    Ok(Table {
        rows: row.get(0),
        pages: row.get(1),
    })
}

/// Buffer pages touched so far by the statements that read `employees` (hit or read), as
/// `pg_stat_statements` counts them; `None` without the extension.
async fn pages_touched(pool: &PgPool) -> Option<i64> {
    let pages = sqlx::query(
        "SELECT coalesce(sum(shared_blks_hit + shared_blks_read), 0)::bigint \
         FROM pg_stat_statements WHERE query ILIKE '%from employees%' AND dbid = \
         (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(pool)
    .await;
    match pages {
        Ok(row) => Some(row.get(0)),
        Err(e) => {
            tracing::debug!(error = %e, "pg_stat_statements");
            None
        }
    }
}
