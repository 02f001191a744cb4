//! Row-level security is a second wall: a query that forgets its tenant filter, run the way
//! the app runs queries (`hrms_app` + `app.tenant_id`), still sees one tenant only.

use hrms::ids::TenantId;
use sqlx::Row;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rls_confines_unfiltered_queries_to_the_current_tenant() {
    let app = spawn_app().await;
    let a = app.tenant(0).id;
    let b = app.tenant(1).id;
    let (everyone,): (i64,) = sqlx::query_as("SELECT count(*) FROM employees")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(everyone, 24, "the superuser sees both tenants");

    let mut tx = hrms::db::begin_tenant(&app.pool, a).await.unwrap();
    let role: String = sqlx::query("SELECT current_user::text")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "hrms_app");
    // No WHERE tenant_id at all: RLS filters.
    let rows: Vec<(TenantId,)> = sqlx::query_as("SELECT tenant_id FROM employees")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|(t,)| *t == a));
    let (tenants,): (i64,) = sqlx::query_as("SELECT count(*) FROM tenants")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(tenants, 1);
    // Updates of B's rows touch nothing.
    let touched = sqlx::query("UPDATE employees SET job_title = 'pwned' WHERE tenant_id = $1")
        .bind(b)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(touched, 0);
    // Writing a row for B is refused by WITH CHECK.
    let insert =
        sqlx::query("INSERT INTO departments (id, tenant_id, name) VALUES ($1, $2, 'Smuggled')")
            .bind(uuid::Uuid::new_v4())
            .bind(b)
            .execute(&mut *tx)
            .await;
    let err = insert.expect_err("RLS must refuse a row of another tenant");
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    // Without a tenant, the app role sees nothing; and it cannot read platform tables.
    let mut tx = hrms::db::begin_anonymous(&app.pool).await.unwrap();
    let (visible,): (i64,) = sqlx::query_as("SELECT count(*) FROM employees")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0);
    drop(tx);
    let mut tx = hrms::db::begin_anonymous(&app.pool).await.unwrap();
    let denied = sqlx::query("SELECT count(*) FROM tenant_rate_limits")
        .fetch_one(&mut *tx)
        .await;
    assert!(denied.is_err(), "hrms_app has no grant on platform tables");
    drop(tx);

    let (pwned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM employees WHERE job_title = 'pwned'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(pwned, 0);
    let (bypass,): (bool,) =
        sqlx::query_as("SELECT rolbypassrls FROM pg_roles WHERE rolname = 'hrms_app'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!bypass);
}
