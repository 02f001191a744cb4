use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{OPERATOR_TOKEN, error_code, json, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_issues_a_token_for_the_users_tenant_and_role() {
    let app = spawn_app().await;
    let admin = app.tenant(1).user(Role::HrAdmin).unwrap().clone();
    let body = json(
        app.post(
            "/auth/login",
            None,
            &json!({"email": admin.email, "password": admin.password}),
        )
        .await,
    )
    .await;
    assert_eq!(body["tenant_id"], app.tenant(1).id.to_string());
    assert_eq!(body["role"], "hr_admin");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/employees", Some(token)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_tokens_get_401_in_our_shape() {
    let app = spawn_app().await;
    let user = app.tenant(0).user(Role::Employee).unwrap().clone();
    let wrong = app
        .post(
            "/auth/login",
            None,
            &json!({"email": user.email, "password": "nope"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(wrong).await, "unauthorized");
    let unknown = app
        .post(
            "/auth/login",
            None,
            &json!({"email": "ghost@example.com", "password": "x"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/employees", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let garbage = app.get("/employees", Some("not.a.jwt")).await;
    assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(garbage).await, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_enforced_within_a_tenant() {
    let app = spawn_app().await;
    let employee = app.token(0, Role::Employee).await;
    let body = json!({"first_name": "A", "last_name": "B", "email": "a.b@example.com"});
    let refused = app.post("/employees", Some(&employee), &body).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(refused).await, "forbidden");
    let run = app
        .post(
            "/payroll/runs",
            Some(&employee),
            &json!({"period_start": "2026-01-01", "period_end": "2026-01-31"}),
        )
        .await;
    assert_eq!(run.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_the_operator_token() {
    let app = spawn_app().await;
    let path = format!("/admin/tenants/{}/limits", app.tenant(0).id);
    let hr = app.token(0, Role::HrAdmin).await;
    for token in [None, Some("wrong"), Some(hr.as_str())] {
        let r = app.send(Method::GET, &path, token, None, None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "token {token:?}");
    }
    let ok = app
        .send(Method::GET, &path, Some(OPERATOR_TOKEN), None, None)
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let missing = app
        .send(
            Method::GET,
            &format!("/admin/tenants/{}/limits", uuid::Uuid::new_v4()),
            Some(OPERATOR_TOKEN),
            None,
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
