//! Tenant A's token against tenant B's ids: always 404, never B's data, B's rows unchanged.

use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{POLL_DEADLINE, TestApp, error_code, json, poll_until, spawn_app};

/// Creates in tenant B one of everything that has an id: leave request, shift, payroll run
/// with payslips.
async fn populate_b(app: &TestApp) -> (Uuid, Uuid, Uuid) {
    let b_employee = app.token(1, Role::Employee).await;
    let leave = app
        .post(
            "/leave/requests",
            Some(&b_employee),
            &json!({"leave_type": "annual", "start_date": "2026-07-06", "end_date": "2026-07-07"}),
        )
        .await;
    assert_eq!(leave.status(), StatusCode::CREATED);
    let leave_id: Uuid = json(leave).await["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.post("/attendance/clock-in", Some(&b_employee), &Value::Null)
            .await
            .status(),
        StatusCode::CREATED
    );
    let b_hr = app.token(1, Role::HrAdmin).await;
    let run = json(
        app.post(
            "/payroll/runs",
            Some(&b_hr),
            &json!({"period_start": "2026-01-01", "period_end": "2026-01-31"}),
        )
        .await,
    )
    .await;
    let run_id: Uuid = run["id"].as_str().unwrap().parse().unwrap();
    poll_until(POLL_DEADLINE, "B's payroll run completed", || async {
        let r = json(
            app.get(&format!("/payroll/runs/{run_id}"), Some(&b_hr))
                .await,
        )
        .await;
        if r["status"] == "completed" {
            Ok(())
        } else {
            Err(r)
        }
    })
    .await;
    let slips = json(
        app.get(&format!("/payroll/runs/{run_id}/payslips"), Some(&b_hr))
            .await,
    )
    .await;
    let slip_id: Uuid = slips["items"][0]["id"].as_str().unwrap().parse().unwrap();
    (leave_id, run_id, slip_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_a_cannot_read_or_touch_tenant_b() {
    let app = spawn_app().await;
    let (leave_id, run_id, slip_id) = populate_b(&app).await;
    let b = app.tenant(1).clone();
    let b_emp = b.employee_ids[3];
    let b_dept = b.department_ids[0];
    let a_hr = app.token(0, Role::HrAdmin).await;
    let before: (String, String, i64) = sqlx::query_as(
        "SELECT first_name, status, (SELECT count(*) FROM leave_requests WHERE status = 'pending') FROM employees WHERE id = $1")
        .bind(b_emp).fetch_one(&app.pool).await.unwrap();

    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/employees/{b_emp}"), None),
        (
            Method::PATCH,
            format!("/employees/{b_emp}"),
            Some(json!({"first_name": "Hijacked"})),
        ),
        (Method::POST, format!("/employees/{b_emp}/deactivate"), None),
        (Method::GET, format!("/employees/{b_emp}/attendance"), None),
        (
            Method::GET,
            format!("/employees/{b_emp}/leave-balances"),
            None,
        ),
        (Method::GET, format!("/departments/{b_dept}"), None),
        (
            Method::POST,
            format!("/leave/requests/{leave_id}/approve"),
            None,
        ),
        (
            Method::POST,
            format!("/leave/requests/{leave_id}/reject"),
            None,
        ),
        (Method::GET, format!("/payroll/runs/{run_id}"), None),
        (
            Method::GET,
            format!("/payroll/runs/{run_id}/payslips"),
            None,
        ),
        (Method::GET, format!("/payslips/{slip_id}"), None),
    ];
    for (method, path, body) in probes {
        let response = app
            .send(method.clone(), &path, Some(&a_hr), body.as_ref(), None)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains(&b.marker),
            "{method} {path} leaked B's marker"
        );
        assert!(text.contains("not_found"), "{method} {path}: {text}");
    }

    // Lists only ever show A's rows.
    for path in [
        "/employees?per_page=100",
        "/departments?per_page=100",
        "/leave/requests?per_page=100",
    ] {
        let text = app.get(path, Some(&a_hr)).await.text().await.unwrap();
        assert!(
            !text.contains(&b.marker) && !text.contains(&leave_id.to_string()),
            "{path} leaked B's rows"
        );
    }
    // Pointing at B's department from A is refused like a missing one.
    let cross = app.post("/employees", Some(&a_hr),
        &json!({"first_name": "X", "last_name": "Y", "email": "x.y@example.com", "department_id": b_dept})).await;
    assert_eq!(cross.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(cross).await, "unknown_reference");

    let after: (String, String, i64) = sqlx::query_as(
        "SELECT first_name, status, (SELECT count(*) FROM leave_requests WHERE status = 'pending') FROM employees WHERE id = $1")
        .bind(b_emp).fetch_one(&app.pool).await.unwrap();
    assert_eq!(before, after, "B's rows unchanged");
}
