//! Access that must end: deactivation ends logins and tokens, nobody decides their own leave,
//! HR admins can make throwaway logins, and every list refuses parameters it does not know.

use std::time::{Duration, Instant};

use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, json, spawn_app};

/// Creates an employee with a login in tenant 0 and returns `(employee id, email, password)`.
async fn throwaway(app: &TestApp, hr: &str, name: &str) -> (String, String, String) {
    let email = format!("{name}@throwaway.example.com");
    let password = "a long enough password".to_owned();
    let response = app
        .post(
            "/employees",
            Some(hr),
            &json!({"first_name": name, "last_name": "Throwaway", "email": email, "password": password}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = json(response).await;
    (created["id"].as_str().unwrap().to_owned(), email, password)
}

async fn try_login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.post(
        "/auth/login",
        None,
        &json!({"email": email, "password": password}),
    )
    .await
    .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employee_created_with_a_password_logs_in_as_an_employee_and_emails_stay_unique() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let (id, email, password) = throwaway(&app, &hr, "fresh").await;
    let response = app
        .post(
            "/auth/login",
            None,
            &json!({"email": email.to_uppercase(), "password": password}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let login = json(response).await;
    assert_eq!(login["role"], "employee");
    assert_eq!(login["employee_id"], id.as_str());
    assert_eq!(
        try_login(&app, &email, "the wrong password").await,
        StatusCode::UNAUTHORIZED
    );
    // Logins are global: the same e-mail with a password in another tenant is a conflict, and
    // nothing of that attempt is left behind.
    let other_hr = app.token(1, Role::HrAdmin).await;
    let response = app
        .post(
            "/employees",
            Some(&other_hr),
            &json!({"first_name": "Dup", "last_name": "X", "email": email, "password": password}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(response).await, "duplicate");
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM employees WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the refused create left no employee");
    // Without a password there is no login, as before.
    let response = app
        .post(
            "/employees",
            Some(&hr),
            &json!({"first_name": "No", "last_name": "Login", "email": "nologin@throwaway.example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        try_login(&app, "nologin@throwaway.example.com", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an empty password is not even a password"
    );
    assert_eq!(
        try_login(&app, "nologin@throwaway.example.com", "anything at all").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_employee_can_neither_log_in_nor_use_an_old_token() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let (id, email, password) = throwaway(&app, &hr, "leaver").await;
    let old = app.login(&email, &password).await;
    let response = app.get("/employees?per_page=1", Some(&old)).await;
    assert_eq!(response.status(), StatusCode::OK, "works while active");
    let response = app
        .post(
            &format!("/employees/{id}/deactivate"),
            Some(&hr),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The deactivating process forgets the account at once: the very next request is refused.
    let reads = app.get("/employees?per_page=1", Some(&old)).await;
    assert_eq!(reads.status(), StatusCode::UNAUTHORIZED);
    error_code(reads).await;
    let writes = app
        .post("/attendance/clock-in", Some(&old), &json!({}))
        .await;
    assert_eq!(writes.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        try_login(&app, &email, &password).await,
        StatusCode::UNAUTHORIZED
    );
    // Everybody else is unaffected.
    let response = app.get("/employees?per_page=1", Some(&hr)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivation_by_another_process_ends_tokens_within_the_documented_bound() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let (id, email, password) = throwaway(&app, &hr, "elsewhere").await;
    let token = app.login(&email, &password).await;
    // Cache the account as active on this process.
    let response = app.get("/employees?per_page=1", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Another process deactivates: this one hears nothing and must find out by itself.
    sqlx::query("UPDATE employees SET status = 'inactive' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let started = Instant::now();
    let bound = hrms::sessions::TTL + Duration::from_secs(1);
    assert!(
        app.wait_for_status(
            "/employees?per_page=1",
            Some(&token),
            StatusCode::UNAUTHORIZED,
            bound
        )
        .await,
        "the token still worked {bound:?} after the deactivation"
    );
    println!("refused after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_approves_or_rejects_their_own_leave_request() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    // The seed grants balances for the current year only.
    let y = chrono::Datelike::year(&chrono::Utc::now());
    let request = app
        .post(
            "/leave/requests",
            Some(&hr),
            &json!({"leave_type": "annual", "start_date": format!("{y}-06-01"), "end_date": format!("{y}-06-02")}),
        )
        .await;
    assert_eq!(request.status(), StatusCode::CREATED);
    let id = json(request).await["id"].as_str().unwrap().to_owned();
    for verb in ["approve", "reject"] {
        let response = app
            .post(
                &format!("/leave/requests/{id}/{verb}"),
                Some(&hr),
                &json!({}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{verb}");
        assert_eq!(error_code(response).await, "self_decision");
    }
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM leave_requests WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "pending", "the request was not decided");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_answers_an_unknown_query_parameter_with_400() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let emp = app.tenant(0).employee_ids[0];
    let run = uuid::Uuid::new_v4();
    let lists = [
        "/employees".to_owned(),
        "/departments".to_owned(),
        "/leave/requests".to_owned(),
        format!("/employees/{emp}/attendance"),
        format!("/payroll/runs/{run}/payslips"),
    ];
    for list in lists {
        let response = app
            .send(
                Method::GET,
                &format!("{list}?bogus=1"),
                Some(&hr),
                None,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{list}");
        let body: Value = json(response).await;
        assert_eq!(body["error"]["code"], "invalid_query", "{list}: {body}");
    }
}
