use hrms::auth::Role;
use reqwest::StatusCode;

use crate::helpers::{json, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ready_and_openapi_answer() {
    let app = spawn_app().await;
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status(), StatusCode::OK);
    let ready = json(app.get("/health/ready", None).await).await;
    assert_eq!(ready["postgres"], true);
    assert_eq!(ready["redis"], true);
    let doc = json(app.get("/openapi.json", None).await).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    for path in [
        "/auth/login",
        "/employees",
        "/employees/{id}",
        "/payroll/runs",
        "/admin/tenants/{id}/limits",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_requests_pool_queue_ratelimit_and_rss() {
    let app = spawn_app().await;
    let token = app.token(0, Role::Employee).await;
    assert_eq!(
        app.get("/employees", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/employees/not-a-uuid", Some(&token))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let tenant = app.tenant(0).id.to_string();
    for needle in [
        "hrms_http_requests_total{method=\"GET\",route=\"/employees\",status=\"200\"} 1",
        "hrms_http_requests_total{method=\"GET\",route=\"/employees/{id}\",status=\"400\"} 1",
        "hrms_http_request_duration_seconds_bucket{",
        "hrms_db_pool_max 10",
        "hrms_db_pool_in_use",
        "hrms_db_pool_connections",
        "hrms_job_queue_depth 0",
        "hrms_process_resident_memory_bytes",
        // What the health alert reads beside `up`: both dependencies answer.
        "hrms_dependency_up{dependency=\"postgres\"} 1",
        "hrms_dependency_up{dependency=\"redis\"} 1",
        &format!("hrms_rate_limit_usage_ratio{{tenant=\"{tenant}\",class=\"read\"}}"),
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
}
