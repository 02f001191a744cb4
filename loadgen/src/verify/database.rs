//! Behind the API, local only (it needs the database verify provisioned): migrations applied
//! and none pending, row-level security on every tenant table the application role can read,
//! the service's pool within Postgres's `max_connections`.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use super::Context;
use super::support::Finding;
use crate::run::scrape;

pub(super) const LOCAL_ONLY: &str = "local only: needs the database of the stack verify started";

pub(super) async fn connect(ctx: &Context<'_>) -> Option<anyhow::Result<PgPool>> {
    let url = ctx.local.as_ref()?.stack()?.postgres.url().clone();
    Some(
        async move {
            let options: PgConnectOptions = url.as_str().parse()?;
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            anyhow::Ok(pool)
        }
        .await,
    )
}

pub async fn migrations(ctx: &Context<'_>) -> Finding {
    let pool = match connect(ctx).await {
        None => return Finding::skip(LOCAL_ONLY),
        Some(Err(e)) => return Finding::error(&e),
        Some(Ok(pool)) => pool,
    };
    let rows =
        sqlx::query("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await;
    pool.close().await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return Finding::fail(format!("reading _sqlx_migrations: {e}"), Vec::new()),
    };
    let applied: Vec<(i64, Vec<u8>, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let embedded: Vec<_> = hrms::db::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let mut problems = Vec::new();
    for m in &embedded {
        match applied.iter().find(|(v, _, _)| *v == m.version) {
            None => problems.push(format!("{} {} is pending", m.version, m.description)),
            Some((_, _, false)) => problems.push(format!("{} {} failed", m.version, m.description)),
            Some((_, sum, true)) if sum.as_slice() != &*m.checksum => problems.push(format!(
                "{} {} was applied with another checksum (edited after it ran)",
                m.version, m.description
            )),
            Some(_) => {}
        }
    }
    for (version, _, _) in &applied {
        if !embedded.iter().any(|m| m.version == *version) {
            problems.push(format!(
                "{version} is applied but not in this build (a newer one ran?)"
            ));
        }
    }
    let evidence = vec![
        format!(
            "embedded: {}",
            embedded
                .iter()
                .map(|m| m.version.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "applied: {}",
            applied
                .iter()
                .map(|(v, _, ok)| format!("{v}{}", if *ok { "" } else { " (failed)" }))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    Finding::judge(
        format!(
            "{} of {} applied with matching checksums, none pending",
            applied.len(),
            embedded.len()
        ),
        problems,
        evidence,
    )
}

pub async fn row_level_security(ctx: &Context<'_>) -> Finding {
    let pool = match connect(ctx).await {
        None => return Finding::skip(LOCAL_ONLY),
        Some(Err(e)) => return Finding::error(&e),
        Some(Ok(pool)) => pool,
    };
    // The tables the application role (`hrms_app`, which every tenant transaction switches
    // to) may read and that hold a tenant_id; a table it cannot read needs no policy.
    let rows = sqlx::query(
        "SELECT c.relname::text, c.relrowsecurity, \
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                       AND a.attname IN ('tenant_id') AND NOT a.attisdropped) \
           AND has_table_privilege('hrms_app', c.oid, 'SELECT') \
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await;
    pool.close().await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return Finding::fail(format!("reading pg_class: {e}"), Vec::new()),
    };
    let mut problems = Vec::new();
    let mut covered = Vec::new();
    for r in &rows {
        let (table, enabled, policies): (String, bool, i64) = (r.get(0), r.get(1), r.get(2));
        if !enabled {
            problems.push(format!("{table}: row-level security is off"));
        } else if policies == 0 {
            problems.push(format!("{table}: row-level security on but no policy"));
        } else {
            covered.push(table);
        }
    }
    if rows.is_empty() {
        problems.push("no tenant table readable by hrms_app was found".into());
    }
    Finding::judge(
        format!("{} tenant tables behind policies", covered.len()),
        problems,
        vec![format!("covered: {}", covered.join(", "))],
    )
}

pub async fn pool_size(ctx: &Context<'_>) -> Finding {
    let pool = match connect(ctx).await {
        None => return Finding::skip(LOCAL_ONLY),
        Some(Err(e)) => return Finding::error(&e),
        Some(Ok(pool)) => pool,
    };
    let limits = async {
        let max: String = sqlx::query_scalar("SHOW max_connections")
            .fetch_one(&pool)
            .await?;
        let reserved: String = sqlx::query_scalar("SHOW superuser_reserved_connections")
            .fetch_one(&pool)
            .await?;
        anyhow::Ok((max.parse::<u64>()?, reserved.parse::<u64>()?))
    }
    .await;
    pool.close().await;
    let (max, reserved) = match limits {
        Ok(l) => l,
        Err(e) => return Finding::error(&e),
    };
    let text = scrape::fetch(
        ctx.client(),
        &format!("{}/metrics", ctx.base_url),
        Duration::from_secs(5),
    )
    .await;
    let pool_max = text.as_deref().and_then(|t| {
        scrape::samples(t)
            .find(|s| s.name == "hrms_db_pool_max")
            .map(|s| s.value as u64)
    });
    let Some(pool_max) = pool_max else {
        return Finding::fail("/metrics has no hrms_db_pool_max", Vec::new());
    };
    let usable = max.saturating_sub(reserved);
    let evidence = vec![
        format!("hrms_db_pool_max {pool_max}"),
        format!(
            "max_connections {max}, superuser_reserved_connections {reserved}: {usable} for clients"
        ),
    ];
    if pool_max <= usable {
        Finding::pass(
            format!("pool {pool_max} ≤ {usable} usable connections"),
            evidence,
        )
    } else {
        Finding::fail(
            format!("pool {pool_max} > {usable} usable connections"),
            evidence,
        )
    }
}
