//! Malformed input of every kind gets a 4xx with our error shape; never a 500.

use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_4xx_json() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let cases: Vec<(&str, String, &str, StatusCode)> = vec![
        ("malformed json", "{\"first_name\": ".into(), "application/json", StatusCode::BAD_REQUEST),
        ("wrong type", r#"{"first_name": 1, "last_name": "x", "email": "a@b.co"}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("unknown field", r#"{"first_name": "a", "last_name": "b", "email": "a@b.co", "is_admin": true}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("missing field", r#"{"first_name": "a"}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("bad uuid in body", r#"{"first_name": "a", "last_name": "b", "email": "a@b.co", "department_id": "nope"}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("invalid date", r#"{"first_name": "a", "last_name": "b", "email": "a@b.co", "hired_on": "2026-02-30"}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("not json", "first_name=a".into(), "application/x-www-form-urlencoded", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("empty name", r#"{"first_name": " ", "last_name": "b", "email": "a@b.co"}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("huge salary", r#"{"first_name": "a", "last_name": "b", "email": "a@b.co", "salary_cents": 99999999999999999999}"#.into(), "application/json", StatusCode::UNPROCESSABLE_ENTITY),
        ("oversize", format!(r#"{{"first_name": "{}", "last_name": "b", "email": "a@b.co"}}"#, "a".repeat(200_000)), "application/json", StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (name, body, content_type, expected) in cases {
        let response = app.post_raw("/employees", &hr, content_type, body).await;
        assert_eq!(response.status(), expected, "{name}");
        error_code(response).await;
    }
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM employees")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 24, "no bad input created a row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_queries_and_routes_get_4xx_json() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let emp = app.tenant(0).employee_ids[0];
    let cases: Vec<(Method, String, StatusCode)> = vec![
        (
            Method::GET,
            "/employees/not-a-uuid".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/employees?page=0".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/employees?per_page=1000".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/employees?page=-1".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/employees?status=retired".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/employees?department_id=xyz".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/employees?bogus=1".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/employees/{emp}/attendance?from=2026-13-01"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            format!("/employees/{emp}/attendance?from=2026-03-01&to=2026-01-01"),
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "/payslips/123".into(), StatusCode::BAD_REQUEST),
        (Method::GET, "/no/such/route".into(), StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            "/employees".into(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, expected) in cases {
        let response = app.send(method.clone(), &path, Some(&hr), None, None).await;
        assert_eq!(response.status(), expected, "{method} {path}");
        error_code(response).await;
    }
    let bad_leave = app
        .post(
            "/leave/requests",
            Some(&hr),
            &json!({"leave_type": "annual", "start_date": "2026-05-10", "end_date": "2026-05-01"}),
        )
        .await;
    assert_eq!(bad_leave.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_type = app.post("/leave/requests", Some(&hr), &json!({"leave_type": "gardening", "start_date": "2026-05-01", "end_date": "2026-05-02"})).await;
    assert_eq!(bad_type.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_run = app
        .post(
            "/payroll/runs",
            Some(&hr),
            &json!({"period_start": "2026-02-01", "period_end": "2026-01-01"}),
        )
        .await;
    assert_eq!(bad_run.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
