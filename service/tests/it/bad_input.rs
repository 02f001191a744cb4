//! Malformed input of every kind gets a 4xx with our error shape; never a 500.

use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

/// Asserts a 422 `invalid_text` whose message names `field`.
async fn assert_invalid_text(response: reqwest::Response, field: &str, what: &str) {
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}"
    );
    let body = crate::helpers::json(response).await;
    assert_eq!(body["error"]["code"], "invalid_text", "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{what}: {message} names {field}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_input_refuses_nul_with_422_naming_the_field() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let staff = app.tenant(0).user(Role::Employee).unwrap().clone();
    let staff_token = app.login(&staff.email, &staff.password).await;
    let emp = app.tenant(0).employee_ids[3];
    let nul = "a\u{0}b";
    let person = json!({"first_name": "Ada", "last_name": "Nul", "email": "ada.nul@example.com"});
    let with = |field: &str| {
        let mut body = person.clone();
        body[field] = json!(nul);
        body
    };
    // JSON bodies: every string field of every write, plus the login.
    let bodies: Vec<(&str, &str, Option<&str>, Value, &str)> = vec![
        (
            "POST",
            "/employees",
            Some(&hr),
            with("first_name"),
            "first_name",
        ),
        (
            "POST",
            "/employees",
            Some(&hr),
            with("last_name"),
            "last_name",
        ),
        ("POST", "/employees", Some(&hr), with("email"), "email"),
        (
            "POST",
            "/employees",
            Some(&hr),
            with("job_title"),
            "job_title",
        ),
        (
            "POST",
            "/employees",
            Some(&hr),
            with("password"),
            "password",
        ),
        (
            "PATCH",
            "/employees/{emp}",
            Some(&hr),
            json!({"first_name": nul}),
            "first_name",
        ),
        (
            "PATCH",
            "/employees/{emp}",
            Some(&hr),
            json!({"last_name": nul}),
            "last_name",
        ),
        (
            "PATCH",
            "/employees/{emp}",
            Some(&hr),
            json!({"job_title": nul}),
            "job_title",
        ),
        (
            "POST",
            "/departments",
            Some(&hr),
            json!({"name": nul}),
            "name",
        ),
        (
            "POST",
            "/leave/requests",
            Some(&staff_token),
            json!({"leave_type": "annual", "start_date": "2026-05-01", "end_date": "2026-05-01", "reason": nul}),
            "reason",
        ),
        (
            "POST",
            "/auth/login",
            None,
            json!({"email": format!("{}\u{0}", staff.email), "password": "x"}),
            "email",
        ),
        (
            "POST",
            "/auth/login",
            None,
            json!({"email": staff.email, "password": nul}),
            "password",
        ),
        // A string where the type wants something else, and in a field name: still the gate's.
        (
            "POST",
            "/payroll/runs",
            Some(&hr),
            json!({"period_start": nul, "period_end": "2026-01-31"}),
            "period_start",
        ),
        (
            "POST",
            "/departments",
            Some(&hr),
            json!({"name": "ok", "x\u{0}": 1}),
            "field name",
        ),
    ];
    for (method, path, token, body, field) in bodies {
        let path = path.replace("{emp}", &emp.to_string());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .send(method.clone(), &path, token, Some(&body), None)
            .await;
        assert_invalid_text(response, field, &format!("{method} {path} {field}")).await;
    }
    // Query strings: values and names, on every list that takes text or any parameter.
    let queries = [
        ("/employees?q=%00", "q"),
        ("/employees?q=ok&q2%00=1", "query parameter name"),
        ("/departments?page=%00", "page"),
        ("/leave/requests?status=%00", "status"),
        ("/employees/{emp}/attendance?from=%00", "from"),
    ];
    for (path, field) in queries {
        let path = path.replace("{emp}", &emp.to_string());
        let response = app.get(&path, Some(&hr)).await;
        assert_invalid_text(response, field, &path).await;
    }
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM employees")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 24, "no refused input created a row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_limits_and_control_characters_are_422_and_the_rest_of_unicode_is_stored() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let refused = [
        json!({"first_name": "a\u{7}b", "last_name": "x", "email": "c1@example.com"}),
        json!({"first_name": "a".repeat(hrms::text::NAME_MAX + 1), "last_name": "x", "email": "c2@example.com"}),
        json!({"first_name": "a", "last_name": "x", "email": "not-an-address"}),
        json!({"first_name": "a", "last_name": "x", "email": "c3@example.com", "password": "short"}),
    ];
    for body in refused {
        let response = app.post("/employees", Some(&hr), &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        error_code(response).await;
    }
    // Everything else of Unicode is fine: astral planes, combining marks, RTL, U+FFFF.
    let exotic = "𝔘𝔫𝔦 ́ عربى \u{FFFF}\u{10FFFF}";
    let response = app
        .post(
            "/employees",
            Some(&hr),
            &json!({"first_name": exotic, "last_name": "x", "email": "c4@example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = crate::helpers::json(response).await;
    assert_eq!(created["first_name"], exotic.trim());
    // Search text may hold any control character but NUL: it is matched, never stored.
    let response = app.get("/employees?q=%01%7F%1B", Some(&hr)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .get(&format!("/employees?q={}", "a".repeat(101)), Some(&hr))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    error_code(response).await;
}
