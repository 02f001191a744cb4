//! Payroll runs: exactly one payslip per active employee, also across worker restarts.

use std::time::Duration;

use hrms::auth::Role;
use hrms::ids::TenantId;
use hrms::seed::SeedSpec;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    POLL_DEADLINE, TestApp, json, poll_until, spawn_app, spawn_app_with, test_seed,
};

async fn start_run(app: &TestApp, token: &str) -> Uuid {
    let r = app
        .post(
            "/payroll/runs",
            Some(token),
            &json!({"period_start": "2026-01-01", "period_end": "2026-01-31"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    json(r).await["id"].as_str().unwrap().parse().unwrap()
}

async fn wait_completed(app: &TestApp, token: &str, run: Uuid) -> Value {
    poll_until(POLL_DEADLINE, &format!("run {run} completed"), || async {
        let r = json(app.get(&format!("/payroll/runs/{run}"), Some(token)).await).await;
        if r["status"] == "completed" {
            Ok(r)
        } else {
            Err(r)
        }
    })
    .await
}

/// (payslips, distinct employees, active employees) of a run, straight from the database.
async fn slip_counts(app: &TestApp, tenant: TenantId, run: Uuid) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM payslips WHERE run_id = $2), \
                (SELECT count(DISTINCT employee_id) FROM payslips WHERE run_id = $2), \
                (SELECT count(*) FROM employees WHERE tenant_id = $1 AND status = 'active')",
    )
    .bind(tenant)
    .bind(run)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_pays_every_active_employee_once() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let leaver = app.tenant(0).employee_ids[11];
    assert_eq!(
        app.post(
            &format!("/employees/{leaver}/deactivate"),
            Some(&hr),
            &Value::Null
        )
        .await
        .status(),
        StatusCode::OK
    );
    let run = start_run(&app, &hr).await;
    let done = wait_completed(&app, &hr, run).await;
    assert_eq!(done["payslip_count"], 11);
    assert_eq!(slip_counts(&app, app.tenant(0).id, run).await, (11, 11, 11));

    let slips = json(
        app.get(
            &format!("/payroll/runs/{run}/payslips?per_page=100"),
            Some(&hr),
        )
        .await,
    )
    .await;
    assert_eq!(slips["total"], 11);
    assert!(
        slips["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["employee_id"] != leaver.to_string())
    );
    let slip = &slips["items"][0];
    assert_eq!(
        slip["net_cents"].as_i64().unwrap(),
        slip["gross_cents"].as_i64().unwrap() - slip["tax_cents"].as_i64().unwrap()
    );

    // Employees see their own payslip only.
    let me = app.tenant(0).user(Role::Employee).unwrap().clone();
    let token = app.login(&me.email, &me.password).await;
    let own = json(
        app.get(&format!("/payroll/runs/{run}/payslips"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(own["total"], 1);
    let own_id = own["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/payslips/{own_id}"), Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    let other = slips["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["employee_id"] != me.employee_id.to_string())
        .unwrap();
    assert_eq!(
        app.get(
            &format!("/payslips/{}", other["id"].as_str().unwrap()),
            Some(&token)
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/payroll/runs/{run}"), Some(&token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

/// A slow run (batches of 4 with a pause) over 60 employees: long enough to interrupt.
async fn slow_payroll_app() -> TestApp {
    let seed = SeedSpec {
        tenants: 1,
        employees_per_tenant: 60,
        ..test_seed()
    };
    spawn_app_with(seed, |s| {
        s.jobs.workers = 1;
        s.jobs.batch_size = 4;
        s.jobs.batch_pause = Duration::from_millis(100);
        s.server.shutdown_grace = Duration::from_secs(10);
    })
    .await
}

/// Waits until some but not all payslips of `run` exist.
async fn wait_mid_run(app: &TestApp, run: Uuid) -> i64 {
    let n = poll_until(POLL_DEADLINE, "the run started", || async {
        match slip_counts(app, app.tenant(0).id, run).await {
            (0, _, _) => Err("no payslips yet"),
            (n, _, _) => Ok(n),
        }
    })
    .await;
    assert!(
        n < 60,
        "the run finished before it could be interrupted ({n})"
    );
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_worker_leaves_no_gap_and_no_duplicate() {
    let mut app = slow_payroll_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let run = start_run(&app, &hr).await;
    let partial = wait_mid_run(&app, run).await;
    app.crash().await;
    let (after_crash, _, _) = slip_counts(&app, app.tenant(0).id, run).await;
    assert!(
        after_crash < 60,
        "crash happened mid-run ({partial} → {after_crash})"
    );
    app.start_again().await;
    let done = wait_completed(&app, &hr, run).await;
    assert_eq!(done["payslip_count"], 60);
    assert_eq!(slip_counts(&app, app.tenant(0).id, run).await, (60, 60, 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_requeues_the_running_job() {
    let mut app = slow_payroll_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let run = start_run(&app, &hr).await;
    wait_mid_run(&app, run).await;
    app.stop().await;
    let (stopped_at, _, _) = slip_counts(&app, app.tenant(0).id, run).await;
    assert!(stopped_at < 60, "stopped mid-run");
    let mut redis = redis::Client::open(app.stack.redis.url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let queued: u64 = redis::cmd("LLEN")
        .arg(hrms::jobs::QUEUE_KEY)
        .query_async(&mut redis)
        .await
        .unwrap();
    let processing: u64 = redis::cmd("LLEN")
        .arg(hrms::jobs::PROCESSING_KEY)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        (queued, processing),
        (1, 0),
        "the interrupted job went back to the queue"
    );
    app.start_again().await;
    wait_completed(&app, &hr, run).await;
    assert_eq!(slip_counts(&app, app.tenant(0).id, run).await, (60, 60, 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_request_retried_queues_one_run() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let body = json!({"period_start": "2026-02-01", "period_end": "2026-02-28"});
    let a = json(
        app.send(
            reqwest::Method::POST,
            "/payroll/runs",
            Some(&hr),
            Some(&body),
            Some("feb"),
        )
        .await,
    )
    .await;
    let b = json(
        app.send(
            reqwest::Method::POST,
            "/payroll/runs",
            Some(&hr),
            Some(&body),
            Some("feb"),
        )
        .await,
    )
    .await;
    assert_eq!(a["id"], b["id"]);
    let (runs,): (i64,) = sqlx::query_as("SELECT count(*) FROM payroll_runs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(runs, 1);
}
