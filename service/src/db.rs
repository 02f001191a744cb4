//! Postgres access: the pool, migrations, and the tenant-scoped transaction every
//! tenant route uses.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres, Transaction};

use crate::config::DatabaseSettings;
use crate::cost::Measure;
use crate::ids::TenantId;

/// The embedded migrations (`service/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The role tenant transactions switch to (created by the migrations, no BYPASSRLS).
pub const APP_ROLE: &str = "hrms_app";

/// A transaction running as [`APP_ROLE`] with `app.tenant_id` set: row-level security
/// confines it to one tenant whatever its queries say.
pub type TenantTx = Transaction<'static, Postgres>;

/// Builds the pool lazily: connections open on first use, so a database that is down at
/// this moment costs 503s, not a crash.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_url(&settings.url)?
        .application_name("hrms")
        // A server-side bound on every statement: a stuck query frees its connection.
        .options([(
            "statement_timeout",
            format!("{}ms", settings.statement_timeout.as_millis()),
        )]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(settings.acquire_timeout)
        // Pings a pooled connection before handing it out, so connections that died with a
        // restarted database are replaced instead of failing one request each.
        .test_before_acquire(true)
        .connect_lazy_with(options))
}

/// Every connection the pool may open is checked out: whoever asks now queues for one that
/// another request returns. Read without a lock, so a hand-out racing it may be miscounted;
/// a starved pool is exhausted for most of its requests, a healthy one for a few.
pub fn exhausted(pool: &PgPool) -> bool {
    pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections()
}

/// Opens a transaction confined to `tenant` by row-level security.
///
/// One round trip sets both: `set_config('role', ..)` is `SET LOCAL ROLE`, and the `true`
/// makes both settings end with the transaction, so a pooled connection never carries a
/// tenant into its next user.
pub async fn begin_tenant(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    let mut tx = crate::cost::pool_wait(exhausted(pool), pool.begin()).await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true), set_config('role', $2, true)")
        .bind(tenant.to_string())
        .bind(APP_ROLE)
        .execute(&mut *tx)
        .measured()
        .await?;
    Ok(tx)
}

/// Opens a transaction as [`APP_ROLE`] without a tenant (sees no tenant rows): for login,
/// whose lookup goes through the `auth_lookup_user` SECURITY DEFINER function.
pub async fn begin_anonymous(pool: &PgPool) -> Result<TenantTx, sqlx::Error> {
    let mut tx = crate::cost::pool_wait(exhausted(pool), pool.begin()).await?;
    sqlx::query("SELECT set_config('role', $1, true)")
        .bind(APP_ROLE)
        .execute(&mut *tx)
        .measured()
        .await?;
    Ok(tx)
}
