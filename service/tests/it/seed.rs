//! Seeding at harness scale is fast and deterministic.

use std::time::{Duration, Instant};

use gauntlet_testcontainers::{ProvisionConfig, Stack};
use hrms::seed::SeedSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tenants_of_two_hundred_seed_in_seconds() {
    let stack = Stack::provision(&ProvisionConfig::from_env().unwrap())
        .await
        .unwrap();
    let db = hrms::config::DatabaseSettings {
        url: stack.postgres.url().clone(),
        ..Default::default()
    };
    let pool = hrms::db::pool(&db).unwrap();
    hrms::db::MIGRATOR.run(&pool).await.unwrap();
    let spec = SeedSpec {
        tenants: 50,
        employees_per_tenant: 200,
        departments_per_tenant: 8,
        ..SeedSpec::default()
    };
    let started = Instant::now();
    let data = hrms::seed::seed(&pool, &spec).await.unwrap();
    let took = started.elapsed();
    eprintln!("seeded 50 x 200 in {took:?}");
    assert!(took < Duration::from_secs(30), "seeding took {took:?}");
    let (employees, users, balances): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM employees), (SELECT count(*) FROM users), (SELECT count(*) FROM leave_balances)")
        .fetch_one(&pool).await.unwrap();
    assert_eq!((employees, users, balances), (10_000, 10_000, 30_000));
    assert_eq!(data.tenants.len(), 50);
    let (managed,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM departments WHERE manager_employee_id IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(managed, 400);
    // Seeding the same spec again collides (same ids): determinism, reported as an error.
    assert!(hrms::seed::seed(&pool, &spec).await.is_err());
    stack.shutdown().await;
}
