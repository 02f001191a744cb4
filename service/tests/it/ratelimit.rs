//! Per-tenant rate limiting through the real HTTP stack: tiers, classes, overrides, 429
//! headers, and what happens when Redis dies.

use hrms::auth::Role;
use hrms::config::Settings;
use hrms::ratelimit::ClassLimits;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    OPERATOR_TOKEN, POLL_DEADLINE, TestApp, error_code, json, poll_until, spawn_app_with, test_seed,
};

/// Buckets that barely refill, so counts within a test are exact.
fn limits(capacity: u32) -> ClassLimits {
    ClassLimits {
        capacity,
        refill_per_sec: 0.001,
    }
}

/// Tenant 0 is on `free`, tenant 1 on `starter` (the seed cycles tiers).
fn tiny_tiers(s: &mut Settings) {
    let t = &mut s.rate_limit.tiers;
    t.free.read = limits(3);
    t.free.write = limits(2);
    t.free.heavy = limits(1);
    t.starter.read = limits(6);
    t.starter.write = limits(4);
    t.starter.heavy = limits(2);
}

async fn count_ok(app: &TestApp, token: &str, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        if app.get("/employees?per_page=1", Some(token)).await.status() == StatusCode::OK {
            ok += 1;
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_and_classes_have_their_own_budgets() {
    let app = spawn_app_with(test_seed(), tiny_tiers).await;
    let free = app.token(0, Role::HrAdmin).await;
    let starter = app.token(1, Role::HrAdmin).await;
    assert_eq!(count_ok(&app, &free, 10).await, 3, "free tier: 3 reads");
    assert_eq!(
        count_ok(&app, &starter, 10).await,
        6,
        "starter tier: 6 reads, unaffected by tenant 0"
    );

    let limited = app.get("/employees", Some(&free)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = limited.headers().clone();
    assert_eq!(h["ratelimit-limit"], "3");
    assert_eq!(h["ratelimit-remaining"], "0");
    assert!(h.contains_key("ratelimit-reset"));
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(error_code(limited).await, "rate_limited");

    // Reads exhausted; the write and heavy budgets are separate.
    let run = json!({"period_start": "2026-01-01", "period_end": "2026-01-31"});
    assert_eq!(
        app.post("/payroll/runs", Some(&free), &run).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.post("/payroll/runs", Some(&free), &run).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "heavy: 1"
    );
    let dept = app
        .post("/departments", Some(&free), &json!({"name": "Budgeted"}))
        .await;
    assert_eq!(
        dept.status(),
        StatusCode::CREATED,
        "write budget untouched by reads and heavy"
    );
    assert_eq!(dept.headers()["ratelimit-limit"], "2");

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let tenant = app.tenant(0).id;
    assert!(
        metrics.contains(&format!(
            "hrms_rate_limited_total{{tenant=\"{tenant}\",class=\"read\"}} 8"
        )),
        "{metrics}"
    );
    // Exhausted at the last read, less the little its slow refill has added back since: the
    // gauge is the bucket now, so a tenant that stopped sending does not stay "near its limit".
    let usage_line = format!("hrms_rate_limit_usage_ratio{{tenant=\"{tenant}\",class=\"read\"}} ");
    let usage: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(usage_line.as_str()))
        .unwrap_or_else(|| panic!("no {usage_line}in {metrics}"))
        .parse()
        .expect("a number");
    assert!(usage > 0.9 && usage <= 1.0, "{usage}");
    assert!(
        metrics.contains(&format!(
            "hrms_rate_limit_warnings{{tenant=\"{tenant}\",class=\"read\"}} 1"
        )),
        "crossing 90% is recorded once: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_overrides_apply_and_persist() {
    let mut app = spawn_app_with(test_seed(), tiny_tiers).await;
    let tenant = app.tenant(0).id;
    let path = format!("/admin/tenants/{tenant}/limits");
    let body = json!({"read": {"capacity": 8, "refill_per_sec": 0.001}});
    let put = app
        .send(Method::PUT, &path, Some(OPERATOR_TOKEN), Some(&body), None)
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let bad = app
        .send(
            Method::PUT,
            &path,
            Some(OPERATOR_TOKEN),
            Some(&json!({"read": {"capacity": 0, "refill_per_sec": 1.0}})),
            None,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let token = app.token(0, Role::Employee).await;
    assert_eq!(
        count_ok(&app, &token, 10).await,
        8,
        "the override replaces the tier's 3"
    );

    assert_eq!(
        app.get("/admin/rate-limits/usage", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let usage = json(
        app.send(
            Method::GET,
            "/admin/rate-limits/usage",
            Some(OPERATOR_TOKEN),
            None,
            None,
        )
        .await,
    )
    .await;
    let row = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["tenant"] == tenant.to_string() && u["class"] == "read")
        .expect("usage row")
        .clone();
    assert_eq!(row["limited"], 2);

    // Overrides are persisted and loaded again at start.
    app.stop().await;
    app.start_again().await;
    let stored = json(
        app.send(Method::GET, &path, Some(OPERATOR_TOKEN), None, None)
            .await,
    )
    .await;
    assert_eq!(stored["read"]["capacity"], 8);
    assert!(stored["write"].is_null());
    let limited = app.get("/employees", Some(&token)).await;
    assert_eq!(
        limited.headers()["ratelimit-limit"],
        "8",
        "reloaded override in force"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_open_by_default_and_recovers() {
    let app = spawn_app_with(test_seed(), |s| s.rate_limit.tiers.free.read = limits(1000)).await;
    let token = app.token(0, Role::Employee).await;
    assert_eq!(
        app.get("/employees", Some(&token)).await.status(),
        StatusCode::OK
    );
    app.stack.redis.kill().await.expect("kill redis");
    for _ in 0..5 {
        let r = app.get("/employees", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::OK, "fail-open keeps serving");
    }
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(ready).await["redis"], false);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        !metrics.contains("hrms_rate_limit_degraded_total 0\n"),
        "degraded decisions are counted"
    );
    let hr = app.token(0, Role::HrAdmin).await;
    let run = app
        .post(
            "/payroll/runs",
            Some(&hr),
            &json!({"period_start": "2026-01-01", "period_end": "2026-01-31"}),
        )
        .await;
    assert_eq!(
        run.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no queue, no run"
    );
    assert_eq!(error_code(run).await, "unavailable");
    let (runs,): (i64,) = sqlx::query_as("SELECT count(*) FROM payroll_runs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(runs, 0, "the failed request left no run behind");

    app.stack.redis.start().await.expect("start redis");
    assert!(
        app.wait_for_status("/health/ready", None, StatusCode::OK, POLL_DEADLINE)
            .await,
        "ready again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_closed_when_configured() {
    let app = spawn_app_with(test_seed(), |s| s.rate_limit.fail_open = false).await;
    let token = app.token(0, Role::Employee).await;
    assert_eq!(
        app.get("/employees", Some(&token)).await.status(),
        StatusCode::OK
    );
    app.stack.redis.kill().await.expect("kill redis");
    let refused = poll_until(POLL_DEADLINE, "failed closed", || async {
        let r = app.get("/employees", Some(&token)).await;
        match r.status() {
            StatusCode::SERVICE_UNAVAILABLE => Ok(r),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(error_code(refused).await, "unavailable");
    app.stack.redis.start().await.expect("start redis");
    assert!(
        app.wait_for_status("/employees", Some(&token), StatusCode::OK, POLL_DEADLINE)
            .await,
        "serves again"
    );
}
